/**
 * Loads the real-kernel fixtures under test/abi/fixtures (see PROVENANCE.md there). Tests read
 * only these copies, never ../shared at run time.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { PAGE_SIZE } from '../../../shared/units';
import { SparseMemory } from '../../../electron/kernel/abi/phys-reader';

const DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

export const fixture = (path: string): Uint8Array => new Uint8Array(readFileSync(DIR + path));
export const fixtureJson = <T>(path: string): T => JSON.parse(readFileSync(DIR + path, 'utf8')) as T;

/** The QEMU guest had 1 GiB of RAM. */
const GUEST_RAM = 1 << 30;

/** A page set cut from a dump (tools/cut-pages.py) as strict memory: other pages read as missing. */
export function dumpPages(path: string): SparseMemory {
  const raw = gunzipSync(readFileSync(DIR + path));
  if (raw.subarray(0, 8).toString('latin1') !== 'KHOPAGES') throw new Error(`${path} is not a KHOPAGES file`);
  const mem = new SparseMemory(GUEST_RAM, true);
  for (let off = 8; off + 8 + PAGE_SIZE <= raw.length; off += 8 + PAGE_SIZE) {
    const phys = Number(raw.readBigUInt64LE(off));
    mem.write(phys, new Uint8Array(raw.subarray(off + 8, off + 8 + PAGE_SIZE)));
  }
  return mem;
}

export const hexn = (s: string): number => Number.parseInt(s, 16);
