/**
 * `run … --debugfs DIR` against Debian's dtc, as the real 7.2.13's debugfs files were checked: the
 * exported out/fdt is cut at the size kho_init() gave it, and dtc fails on it exactly as on the
 * real kernel ("EOF before reading N bytes of DT blob"), saying what the view says; after a KHO
 * boot there is no out/fdt and in/fdt decompiles whole.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, scratchDir } from '../cli/run-cli';
import { EXIT_BAD_INPUT, EXIT_OK } from '../../../electron/cli';

const dir = scratchDir('kho-lab-debugfs-');
const hasDtc = spawnSync('dtc', ['--version']).status === 0;

describe.skipIf(!hasDtc)('--debugfs DIR and dtc', () => {
  it('7.2 kho_init(): dtc on the exported out/fdt fails as on the real kernel; sub_fdts hold the blob-size bytes', async () => {
    const scen = join(dir, 'boot72.json');
    writeFileSync(
      scen,
      JSON.stringify({
        machine: { kernel: '7.2', ram: '512M', cmdline: 'kho=on liveupdate=on' },
        steps: [{ op: 'boot' }],
      }),
    );
    const out = join(dir, 'cold');
    expect((await cli('run', scen, '--quiet', '--debugfs', out)).code).toBe(EXIT_OK);
    const fdt = join(out, 'kho/out/fdt');
    expect(readFileSync(fdt).length).toBe(233);
    const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', fdt], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('FATAL ERROR: EOF before reading 285 bytes of DT blob');
    expect(readFileSync(join(out, 'kho/out/sub_fdts/LUO')).length).toBe(32);
    expect(readFileSync(join(out, 'kho/out/scratch_phys'), 'utf8')).toMatch(/^(0x[0-9a-f]+\n)+$/);
  });

  it('7.2 after a KHO boot: no out/fdt; in/fdt is the whole kho-v4 root', async () => {
    const out = join(dir, 'kho-boot');
    expect((await cli('run', 'builtin:luo-kexec-simple', '--kernel', '7.2', '--quiet', '--debugfs', out)).code).toBe(
      EXIT_OK,
    );
    expect(existsSync(join(out, 'kho/out/fdt'))).toBe(false);
    expect(existsSync(join(out, 'kho/out/sub_fdts/kexec-metadata'))).toBe(true);
    const dts = execFileSync('dtc', ['-I', 'dtb', '-O', 'dts', join(out, 'kho/in/fdt')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(dts).toContain('compatible = "kho-v4";');
    expect(dts).toContain('kexec-metadata {');
  });

  it('a machine without KHO has no kho/ to export: exit 2 naming why', async () => {
    const scen = join(dir, 'nokho.json');
    writeFileSync(scen, JSON.stringify({ machine: { ram: '256M' }, steps: [{ op: 'boot' }] }));
    const r = await cli('run', scen, '--quiet', '--debugfs', join(dir, 'none'));
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err.join('\n')).toMatch(/--debugfs: KHO is off/);
  });
});
