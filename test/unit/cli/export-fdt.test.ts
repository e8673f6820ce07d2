/**
 * `run … --export-fdt FILE`: the KHO root FDT the scenario ends with, as a real DTB that Debian's
 * dtc decompiles, with the addresses the simulated kernel reports; bad input exits 2 and leaves
 * no file behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, scratchDir } from './run-cli';
import { EXIT_BAD_INPUT, EXIT_OK } from '../../../electron/cli';
import { Host } from '../../../electron/host/host';

const dir = scratchDir('kho-lab-export-fdt-');

/** dtc shows a little-endian u64 as two big-endian cells of its byte-swapped halves. */
function dtcCells(phys: number): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(phys));
  return `<0x${b.readUInt32BE(0).toString(16)} 0x${b.readUInt32BE(4).toString(16).padStart(2, '0')}>`;
}

describe('--export-fdt', () => {
  it('writes the incoming root FDT of builtin:test-kho, which dtc shows with kho-v1, the map and kho_test', async () => {
    const out = join(dir, 'kho.dtb');
    expect((await cli('run', 'builtin:test-kho', '--quiet', '--export-fdt', out)).code).toBe(EXIT_OK);
    const host = new Host();
    await host.loadBuiltin('test-kho');
    const kho = await host.kho();
    if (!kho.ok) throw new Error(kho.error.message);
    const incoming = kho.value.incoming!;
    const fdt = await host.fdt(incoming.fdtPhys);
    if (!fdt.ok) throw new Error(fdt.error.message);
    expect(new Uint8Array(readFileSync(out))).toEqual(fdt.value.bytes);
    const dts = execFileSync('dtc', ['-I', 'dtb', '-O', 'dts', out], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(dts).toContain('compatible = "kho-v1";');
    expect(dts).toMatch(/preserved-memory-map = <0x[0-9a-f]+ 0x[0-9a-f]+>;/);
    const kt = incoming.subtrees.find((s) => s.name === 'kho_test')!;
    expect(dts).toContain(`kho_test {\n\t\tfdt = ${dtcCells(kt.phys)};`);
  });

  it('writes the outgoing root FDT when the machine never jumped', async () => {
    const out = join(dir, 'out.dtb');
    const scen = join(dir, 'one.json');
    writeFileSync(
      scen,
      JSON.stringify({
        machine: { ram: '256M', cmdline: 'kho=on' },
        steps: [{ op: 'boot' }, { op: 'insmod', module: 'test_kho' }],
      }),
    );
    expect((await cli('run', scen, '--quiet', '--export-fdt', out)).code).toBe(EXIT_OK);
    const dts = execFileSync('dtc', ['-I', 'dtb', '-O', 'dts', out], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(dts).toContain('kho_test {');
    expect(dts).toContain('preserved-memory-map = <0x00 0x00>;'); // not finalized yet
  });

  it('refuses a machine without KHO, and an unwritable path, with exit 2 and no file left', async () => {
    const noKho = await cli('run', 'builtin:boot', '--quiet', '--export-fdt', join(dir, 'none.dtb'));
    expect(noKho.code).toBe(EXIT_BAD_INPUT);
    expect(noKho.err.join('\n')).toMatch(/no KHO root FDT \(boot with kho=on\)/);
    expect(existsSync(join(dir, 'none.dtb'))).toBe(false);
    const bad = await cli('run', 'builtin:test-kho', '--quiet', '--export-fdt', join(dir, 'missing-dir', 'x.dtb'));
    expect(bad.code).toBe(EXIT_BAD_INPUT);
    expect(bad.err.join('\n')).toMatch(/--export-fdt: cannot write .*x\.dtb: ENOENT/);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
