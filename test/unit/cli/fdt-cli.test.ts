/**
 * `kho-lab-sim fdt FILE [--dts]`: a good DTB prints its tree with KHO's u64s decoded (or dtc's
 * DTS) and exits 0; a missing, empty, truncated or garbage file exits 2 naming the file and the
 * problem.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, scratchDir } from './run-cli';
import { EXIT_BAD_INPUT, EXIT_OK } from '../../../electron/cli';
import { encodeFdt, fdtString, fdtU64le } from '../../../electron/kernel/lib/fdt';

const dir = scratchDir('kho-lab-fdt-cli-');

function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const encoded = encodeFdt(
  {
    name: '',
    props: [
      { name: 'compatible', value: fdtString('kho-v1') },
      { name: 'preserved-memory-map', value: fdtU64le(0x116be4000n) },
    ],
    children: [
      { name: 'kho_test', props: [{ name: 'fdt', value: fdtU64le(0x12345000n) }], children: [] },
      {
        name: 'luo',
        props: [
          { name: 'preserved-data', value: fdtU64le(0x2000010n) },
          { name: 'blob-size', value: fdtU64le(8192n) },
          { name: 'fdt', value: fdtString('oops') },
        ],
        children: [],
      },
    ],
  },
  { memReserve: [[0x1000000n, 0x4000n]] },
);
if (!encoded.ok) throw new Error(encoded.message);
const KHO = encoded.bytes;

describe('kho-lab-sim fdt', () => {
  it('prints the header and the tree with KHO properties decoded', async () => {
    const path = file('kho.dtb', KHO);
    const r = await cli('fdt', path);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toEqual([
      `${path}: flattened devicetree v17, ${KHO.length} bytes (struct 168, strings 61), boot cpu 0`,
      '/memreserve/ 0x1000000 0x4000',
      '/',
      '  compatible = "kho-v1"',
      '  preserved-memory-map = 0x116be4000 (u64 little-endian: physical address, pfn 0x116be4)',
      '  kho_test/',
      '    fdt = 0x12345000 (u64 little-endian: physical address, pfn 0x12345)',
      '  luo/',
      '    preserved-data = 0x2000010 (u64 little-endian: physical address, pfn 0x2000 + 0x10)',
      '    blob-size = 0x2000 (u64 little-endian: 8192 bytes)',
      '    fdt = "oops" (expected an 8-byte u64, got 5 bytes)',
    ]);
  });

  it('--dts prints what dtc prints for the same file', async () => {
    const path = file('dts.dtb', KHO);
    const r = await cli('fdt', path, '--dts');
    expect(r.code).toBe(EXIT_OK);
    const dtc = execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', path]).toString('utf8');
    expect(r.out.join('\n') + '\n').toBe(dtc);
  });

  it.each([
    [
      'garbage',
      () => new Uint8Array([0x12, 0x34, 0x56, 0x78, 1, 2, 3]),
      'not a flattened devicetree: bad magic 0x12345678 at offset 0x0 (expected 0xd00dfeed) [FDT_ERR_BADMAGIC]',
    ],
    ['empty', () => new Uint8Array(0), 'not a flattened devicetree: empty: 0 bytes [FDT_ERR_TRUNCATED]'],
    [
      'truncated',
      () => KHO.subarray(0, 100),
      `corrupt flattened devicetree: truncated: totalsize at offset 0x4 is ${KHO.length} bytes but only 100 are present [FDT_ERR_TRUNCATED]`,
    ],
  ])('refuses a %s file with exit 2 and a message naming it', async (what, bytes, message) => {
    const path = file(`${what}.dtb`, bytes());
    const r = await cli('fdt', path);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.out).toEqual([]);
    expect(r.err).toEqual([`${path}: ${message}`]);
  });

  it('refuses a missing file with exit 2', async () => {
    const path = join(dir, 'nope.dtb');
    const r = await cli('fdt', path);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toEqual([`${path}: cannot read: ENOENT`]);
  });

  it('shows usage for a missing file argument or a foreign option, and run refuses --dts', async () => {
    for (const argv of [
      ['fdt'],
      ['fdt', 'a.dtb', '--quiet'],
      ['fdt', 'a.dtb', 'b.dtb'],
      ['run', 'builtin:boot', '--dts'],
    ]) {
      const r = await cli(...argv);
      expect(r.code).toBe(EXIT_BAD_INPUT);
      expect(r.err.join('\n')).toContain('kho-lab-sim fdt FILE [--dts]');
    }
  });
});
