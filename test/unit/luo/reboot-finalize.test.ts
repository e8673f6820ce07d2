/**
 * liveupdate_reboot() (kernel/liveupdate/luo_core.c) calls kho_finalize() at `kexec -e` even
 * when userspace finalized already: the dmesg then shows a second "KHO finalized" line, and the
 * simulator explains it with a kho-lab note just before it.
 */
import { describe, expect, it } from 'vitest';
import { bootKho, kexecLoad, logLines } from '../kho/helpers';

describe('liveupdate_reboot() finalizes KHO again', () => {
  it('liveupdate_reboot(): after an explicit kho_finalize(), kexec -e notes the second finalize as kho-lab', () => {
    const { m, k } = bootKho({ cmdline: 'kho=on kho_scratch=64M,32M,16M liveupdate=on' });
    expect(k.khoOut!.finalize()).toBeNull();
    kexecLoad(m);
    const seq = m.log.events.at(-1)!.seq;
    expect(m.kexecReboot()).toBeNull();
    const lines = logLines(m, 'info', seq);
    const note = lines.findIndex((l) => l.startsWith('liveupdate_reboot() finalized KHO again'));
    expect(note).toBeGreaterThanOrEqual(0);
    expect(lines[note + 1]).toMatch(/^KHO finalized: /);
    expect(m.log.events.find((e) => e.seq > seq && e.msg === lines[note])!.subsys).toBe('kho-lab');
  });

  it('liveupdate_reboot(): the only finalize at kexec -e has no note', () => {
    const { m } = bootKho({ cmdline: 'kho=on kho_scratch=64M,32M,16M liveupdate=on' });
    kexecLoad(m);
    const seq = m.log.events.at(-1)!.seq;
    expect(m.kexecReboot()).toBeNull();
    const lines = logLines(m, 'info', seq);
    expect(lines.some((l) => l.startsWith('KHO finalized: '))).toBe(true);
    expect(lines.some((l) => l.includes('finalized KHO again'))).toBe(false);
  });
});
