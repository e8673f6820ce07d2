/**
 * Linux 7.3's kho_memory_init() (kernel/liveupdate/kexec_handover.c): in a kdump kernel
 * (is_kdump_kernel(), i.e. booted with `elfcorehdr=`) KHO stays off: "KHO: disabled in the kdump
 * kernel", no scratch, no KHO for LUO. 7.2 has no such check.
 */
import { describe, expect, it } from 'vitest';
import { bootKho, logLines } from './helpers';

const CMDLINE = 'kho=on kho_scratch=64M,32M,16M liveupdate=on elfcorehdr=0x7f000000';

describe('kho_memory_init() in a kdump kernel', () => {
  it('7.3: "KHO: disabled in the kdump kernel", no scratch reserved, LUO disabled with KHO', () => {
    const { m, k } = bootKho({ kernel: '7.3', cmdline: CMDLINE });
    expect(logLines(m, 'info')).toContain('disabled in the kdump kernel');
    expect(m.log.events.find((e) => e.msg === 'disabled in the kdump kernel')!.subsys).toBe('KHO');
    expect(k.khoOut).toBeNull();
    expect(k.luo).toBeNull();
    expect(logLines(m, 'warn')).toContain('Disabling liveupdate because KHO is disabled');
    expect(k.pages.pageblockScratch.some((v) => v !== 0)).toBe(false);
    // elfcorehdr= is an early_param the kernel knows: not passed to user space as unknown
    expect(logLines(m, 'info').some((l) => l.startsWith('Unknown kernel command line parameters'))).toBe(false);
  });

  it('7.2: no kdump check, KHO comes up as usual', () => {
    const { m, k } = bootKho({ kernel: '7.2', cmdline: CMDLINE });
    expect(logLines(m, 'info')).not.toContain('disabled in the kdump kernel');
    expect(k.khoOut).not.toBeNull();
  });
});
