/**
 * Interop: the ELF reader sees the same PT_LOADs binutils' readelf sees, on KHO Lab's own vmcore
 * and on the real kernel's preserved-pages core in ../shared/realkernel (skipped when absent).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readElfCore } from '../../../electron/host/dump/elf-core';
import { bytesSource } from '../../../electron/host/dump/source';
import { scratchDir } from '../cli/run-cli';
import { simDump } from './sim-dump';

const REAL = join(__dirname, '../../../../shared/realkernel/runs/artefacts/decoded/k1-machine_kexec.preserved.elf');
const dir = scratchDir('kho-lab-readelf-');
const simCore = join(dir, 'sim.vmcore');
let hasReadelf = true;
try {
  execFileSync('readelf', ['--version']);
} catch {
  hasReadelf = false;
}

beforeAll(async () => {
  writeFileSync(simCore, (await simDump()).bytes);
});

function readelfLoads(path: string): Array<{ offset: number; paddr: number; filesz: number; memsz: number }> {
  const out = execFileSync('readelf', ['-lW', path], { encoding: 'utf8' });
  return [...out.matchAll(/^\s+LOAD\s+(0x[0-9a-f]+) 0x[0-9a-f]+ (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+)/gm)].map(
    (m) => ({
      offset: Number(m[1]),
      paddr: Number(m[2]),
      filesz: Number(m[3]),
      memsz: Number(m[4]),
    }),
  );
}

describe.skipIf(!hasReadelf)('readelf -l agrees with readElfCore', () => {
  it("on KHO Lab's vmcore export", () => {
    const mine = readElfCore(bytesSource(readFileSync(simCore))).loads.map(({ offset, paddr, filesz, memsz }) => ({
      offset,
      paddr,
      filesz,
      memsz,
    }));
    expect(mine.length).toBeGreaterThan(1);
    expect(mine).toEqual(readelfLoads(simCore));
  });

  it.skipIf(!existsSync(REAL))("on the real 7.2 kernel's preserved-pages core (78 PT_LOADs)", () => {
    const mine = readElfCore(bytesSource(readFileSync(REAL))).loads.map(({ offset, paddr, filesz, memsz }) => ({
      offset,
      paddr,
      filesz,
      memsz,
    }));
    expect(mine).toHaveLength(78);
    expect(mine).toEqual(readelfLoads(REAL));
  });
});
