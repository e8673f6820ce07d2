/**
 * `run … --export-vmcore FILE [--at STEP] [--vmcore-all]`: the default step (right after the last
 * kexec -e, else the end), --at, --dump-level, and bad input — an unknown step, an unwritable path,
 * a bad dump level — each exits 2 with a clear message and leaves no file behind.
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, scratchDir } from './run-cli';
import { EXIT_BAD_INPUT, EXIT_OK } from '../../../electron/cli';

const dir = scratchDir('kho-lab-export-vmcore-');
const noTemp = () => expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
/** The VMCOREINFO lines of a written vmcore (the note follows the program headers). */
function vmcoreinfo(file: string): Record<string, string> {
  const b = readFileSync(file);
  expect(b.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  const noteOff = Number(b.readBigUInt64LE(64 + 8));
  const descsz = b.readUInt32LE(noteOff + 4);
  const text = b.subarray(noteOff + 24, noteOff + 24 + descsz).toString('utf8');
  return Object.fromEntries(
    text
      .trimEnd()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
}

describe('--export-vmcore', () => {
  it('by default writes RAM right after the last kexec -e, before the next kernel boots', async () => {
    const file = join(dir, 'default.vmcore');
    const r = await cli('run', 'builtin:test-kho', '--quiet', '--export-vmcore', file);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out.at(-1)).toMatch(
      /^vmcore: .*default\.vmcore — RAM after step 5, dump level 25, \d+ pages, [\d.]+ [KM]iB$/,
    );
    expect(vmcoreinfo(file)).toMatchObject({ KHO_LAB_STEP: '5', KHO_LAB_KERNEL_RUNNING: '0', KHO_LAB_GENERATION: '1' });
    noTemp();
  });

  it('--at N writes RAM after step N; a scenario without a reboot defaults to its end', async () => {
    const at2 = join(dir, 'at2.vmcore');
    expect((await cli('run', 'builtin:test-kho', '--quiet', '--export-vmcore', at2, '--at', '2')).code).toBe(EXIT_OK);
    expect(vmcoreinfo(at2)).toMatchObject({ KHO_LAB_STEP: '2', KHO_LAB_KERNEL_RUNNING: '1' });
    const scen = join(dir, 'no-reboot.json');
    writeFileSync(
      scen,
      JSON.stringify({
        machine: { ram: '256M' },
        steps: [{ op: 'boot' }, { op: 'spawn', name: 'a' }, { op: 'spawn', name: 'b' }],
      }),
    );
    const end = join(dir, 'end.vmcore');
    const r = await cli('run', scen, '--quiet', '--export-vmcore', end);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out.at(-1)).toMatch(/after step 3,/);
    expect(vmcoreinfo(end)).toMatchObject({ KHO_LAB_STEP: '3', KHO_LAB_KERNEL_RUNNING: '1' });
    expect(vmcoreinfo(end).KHO_FDT_PHYS).toBeUndefined(); // no KHO: no handoff lines
  });

  it('refuses an unknown step with exit 2 and writes nothing', async () => {
    for (const at of ['0', '8', '99', 'two', '-1']) {
      const file = join(dir, `bad-at-${at}.vmcore`);
      const r = await cli('run', 'builtin:test-kho', '--quiet', '--export-vmcore', file, '--at', at);
      expect(r.code, at).toBe(EXIT_BAD_INPUT);
      expect(r.err.join('\n')).toContain(`--at: "${at}" is not a step of this scenario (steps are numbered 1..7`);
      expect(existsSync(file)).toBe(false);
    }
    noTemp();
  });

  it('refuses an unwritable path with exit 2 and leaves nothing half-written', async () => {
    const file = join(dir, 'missing-dir', 'x.vmcore');
    const r = await cli('run', 'builtin:test-kho', '--quiet', '--export-vmcore', file);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err.join('\n')).toMatch(/--export-vmcore: cannot write .*x\.vmcore: ENOENT/);
    const onDir = await cli('run', 'builtin:test-kho', '--quiet', '--export-vmcore', dir);
    expect(onDir.code).toBe(EXIT_BAD_INPUT);
    expect(onDir.err.join('\n')).toMatch(/--export-vmcore: cannot write .*: (EISDIR|ENOTEMPTY|EEXIST)/);
    noTemp();
  });

  it('--vmcore-all exports every RAM page, zero pages as holes: an 8 GiB machine stays small on disk', async () => {
    const small = join(dir, 'all.vmcore');
    const ok = await cli(
      'run',
      'builtin:fragmentation',
      '--quiet',
      '--export-vmcore',
      small,
      '--vmcore-all',
      '--at',
      '1',
    );
    expect(ok.code).toBe(EXIT_OK);
    expect(ok.out.at(-1)).toMatch(/dump level 0,/);
    expect(statSync(small).size).toBeGreaterThan(127 * 1024 * 1024); // builtin:fragmentation has 128 MiB
    const big = join(dir, 'big.vmcore');
    const r = await cli('run', 'builtin:boot', '--quiet', '--ram', '8G', '--export-vmcore', big, '--vmcore-all');
    expect(r.code).toBe(EXIT_OK);
    const st = statSync(big);
    expect(st.size).toBeGreaterThan(8 * 2 ** 30 - 2 ** 30); // every RAM page (8 GiB less the PCI hole)
    expect(st.blocks * 512).toBeLessThan(st.size / 4); // the zero pages were seeked over
    rmSync(big);
    noTemp();
  });

  it('--dump-level N filters as makedumpfile -d; a bad level or one with --vmcore-all exits 2', async () => {
    const file = join(dir, 'level.vmcore');
    const r = await cli('run', 'builtin:test-kho', '--quiet', '--export-vmcore', file, '--dump-level', '31');
    expect(r.code).toBe(EXIT_OK);
    expect(r.out.at(-1)).toMatch(/dump level 31,/);
    for (const bad of ['32', '-1', 'x']) {
      const e = await cli('run', 'builtin:test-kho', '--quiet', '--export-vmcore', file, '--dump-level', bad);
      expect(e.code, bad).toBe(EXIT_BAD_INPUT);
      expect(e.err.join('\n')).toContain(`--dump-level: "${bad}" is not 0–31`);
    }
    const both = await cli(
      'run',
      'builtin:test-kho',
      '--quiet',
      '--export-vmcore',
      file,
      '--dump-level',
      '1',
      '--vmcore-all',
    );
    expect(both.code).toBe(EXIT_BAD_INPUT);
    expect(both.err.join('\n')).toContain('--dump-level and --vmcore-all are exclusive');
  });

  it('--at and --vmcore-all need --export-vmcore', async () => {
    expect((await cli('run', 'builtin:boot', '--quiet', '--at', '1')).code).toBe(EXIT_BAD_INPUT);
    const r = await cli('run', 'builtin:boot', '--quiet', '--vmcore-all');
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err.join('\n')).toContain('--at, --dump-level and --vmcore-all go with --export-vmcore FILE');
  });
});
