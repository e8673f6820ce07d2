/**
 * builtin:luo-kexec-simple on Linux 7.2 (the selftest luo_kexec_simple): the CLI run exits 0, and
 * the "LUO" entry it hands over is a luo-v5 `struct luo_ser` whose session and file live in
 * kho_block chains (kernel/liveupdate/luo_core.c liveupdate_reboot(), luo_session.c
 * luo_session_serialize()).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CommandSchema } from '../../../shared/commands';
import { MachineConfigSchema } from '../../../shared/machine-config';
import { applyCommand, stepFields } from '../../../electron/host/apply';
import { BUILTIN_SCENARIOS } from '../../../electron/host/builtins';
import { EXIT_OK } from '../../../electron/cli';
import { LUO_SER, decodeLuoV5 } from '../../../electron/kernel/abi/luo-v5';
import { ramReader } from '../../../electron/kernel/abi/phys-reader';
import { Machine } from '../../../electron/kernel/machine';
import { cli, scratchDir } from '../cli/run-cli';

const dir = scratchDir('kho-lab-luo72-');

describe('builtin:luo-kexec-simple --kernel 7.2', () => {
  it('kho-lab-sim run exits 0 and every step passes', async () => {
    const r = await cli('run', 'builtin:luo-kexec-simple', '--kernel', '7.2', '--export-fdt', join(dir, 'k.dtb'));
    expect(r.err).toEqual([]);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out.join('\n')).toMatch(/Linux version 7\.2\.\d+-kholab/);
    expect(r.out.join('\n')).toContain('scenario luo-kexec-simple: PASS');
  });

  it('liveupdate_reboot(): the LUO blob decodes as luo-v5 with the state and test sessions and their memfd-v2 files in blocks', () => {
    const sc = BUILTIN_SCENARIOS['luo-kexec-simple']!;
    const m = new Machine(MachineConfigSchema.parse({ ...sc.machine, kernel: '7.2' }));
    const steps = sc.steps!.map((s) => CommandSchema.parse(s));
    let luoPa = 0;
    for (const c of steps) {
      if (c.op === 'reboot') luoPa = m.kernel!.luo!.fdtPhys;
      const r = stepFields(applyCommand(m, c));
      expect(r.ok, `${c.op}: ${r.message}`).toBe(true);
      if (c.op !== 'reboot') continue;
      const d = decodeLuoV5(ramReader(m.ram), luoPa, LUO_SER.size);
      if ('code' in d) throw new Error(d.message);
      expect([d.compatible, d.liveupdateNum]).toEqual(['luo-v5', 1]);
      expect(d.sessionBlocks).toEqual([{ pa: d.sessionsPa, next: 0, count: 2 }]);
      expect(d.sessions.map((s) => [s.name, s.fileCount, s.fileBlocks.length])).toEqual([
        ['kexec_simple_state', 1, 1],
        ['test-session', 1, 1],
      ]);
      expect(d.sessions.map((s) => s.files.map((f) => [f.compatible, f.token]))).toEqual([
        [['memfd-v2', 999n]],
        [['memfd-v2', 0x1an]],
      ]);
    }
    expect(luoPa).not.toBe(0);
  });
});
