/**
 * The fixtures are exact copies of the team's real-kernel captures. Runs only where
 * ../shared/realkernel exists beside the checkout; skipped elsewhere (CI, other machines).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures';

const REAL = fileURLToPath(new URL('../../../../shared/realkernel/', import.meta.url));
const COPIES: [string, string][] = [
  ['realkernel-7.2/k1-out-root-fdt.dtb', 'fdt/k1-out-root-fdt.FULL-from-memdump@0x189000.dtb'],
  ['realkernel-7.2/k2-out-root-fdt.dtb', 'fdt/k2-out-root-fdt.from-memdump@0x377000.dtb'],
  ['realkernel-7.2/reserve_mem-k2-in-root-fdt.dtb', 'fdt/reserve_mem-run-k2-in-root-fdt.debugfs.dtb'],
  ['realkernel-7.2/k1-out-root-fdt.debugfs-truncated.dtb', 'fdt/k1-out-root-fdt.debugfs-TRUNCATED-233B.dtb'],
  ['realkernel-7.2/sub-LUO.at-machine_kexec.bin', 'fdt/sub-LUO.k1-at-machine_kexec.serialized.bin'],
  ['realkernel-7.2/sub-LUO.before-kexec.bin', 'fdt/sub-LUO.k1-debugfs-before-kexec.bin'],
  ['realkernel-7.2/sub-kexec-metadata.count1.bin', 'fdt/sub-kexec-metadata.k1-out.count1.bin'],
  ['realkernel-7.2/sub-kexec-metadata.count2.bin', 'fdt/sub-kexec-metadata.k2-out.count2.bin'],
  ['realkernel-7.2/setup_data-kho_data.k2.bin', 'fdt/x86-setup_data-type10-kho_data.k2.bin'],
  ['realkernel-7.3/k1-out-root-fdt.dtb', '7.3/runs/73to72-k1dump/decoded/k1-machine_kexec-root-fdt@2d5000.dtb'],
  [
    'realkernel-7.3/sub-LUO.at-machine_kexec.bin',
    '7.3/runs/73to72-k1dump/decoded/k1-machine_kexec-sub-LUO@21b3000.bin',
  ],
  [
    'realkernel-7.3/sub-kexec-metadata.count1.bin',
    '7.3/runs/73to72-k1dump/decoded/k1-machine_kexec-sub-kexec-metadata@2db000.bin',
  ],
];

describe.skipIf(!existsSync(REAL))('fixture provenance (../shared/realkernel present)', () => {
  it.each(COPIES)('%s is a byte copy of %s', (mine, theirs) => {
    expect(fixture(mine)).toEqual(new Uint8Array(readFileSync(REAL + theirs)));
  });
});
