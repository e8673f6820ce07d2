/**
 * The ELF core reader and physical reads on hand-built cores: every hostile header gets a
 * DumpError naming the field, never a crash, a hang or a huge allocation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PT_LOAD, PT_NOTE, parseNotes, readElfCore } from '../../../electron/host/dump/elf-core';
import { inspectDump } from '../../../electron/host/dump/inspect';
import { PhysMemory } from '../../../electron/host/dump/phys-mem';
import { DumpError, bytesSource } from '../../../electron/host/dump/source';
import { elfNote } from '../../../electron/host/vmcore';
import { core } from './elf-build';

const filled = (n: number, start: number) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

describe('readElfCore', () => {
  it('reads PT_LOADs (p_paddr, p_offset, sizes) and the notes', () => {
    const note = elfNote('VMCOREINFO', 0, new TextEncoder().encode('OSRELEASE=7.2.13\n'));
    const c = readElfCore(
      bytesSource(
        core([
          { type: PT_NOTE, paddr: 0, data: note },
          { type: PT_LOAD, paddr: 0x2000, data: filled(8192, 0) },
        ]),
      ),
    );
    expect(c.loads).toHaveLength(1);
    expect(c.loads[0]).toMatchObject({ paddr: 0x2000, filesz: 8192, memsz: 8192 });
    expect(c.notes).toEqual([{ name: 'VMCOREINFO', type: 0, desc: expect.any(Uint8Array) }]);
  });

  const refusals: Array<[string, Uint8Array, RegExp]> = [
    ['empty file', new Uint8Array(0), /less than an ELF header/],
    ['not ELF', new TextEncoder().encode('#!/bin/sh\n'.padEnd(80, ' ')), /no \\x7fELF magic/],
    ['ELF32', core([{ type: PT_LOAD, paddr: 0, data: filled(16, 0) }], (v) => v.setUint8(4, 1)), /only 64-bit/],
    ['big-endian', core([{ type: PT_LOAD, paddr: 0, data: filled(16, 0) }], (v) => v.setUint8(5, 2)), /little-endian/],
    [
      'an executable',
      core([{ type: PT_LOAD, paddr: 0, data: filled(16, 0) }], (v) => v.setUint16(16, 2, true)),
      /not a core file/,
    ],
    [
      'phentsize 32',
      core([{ type: PT_LOAD, paddr: 0, data: filled(16, 0) }], (v) => v.setUint16(54, 32, true)),
      /e_phentsize/,
    ],
    ['no program headers', core([]), /no program headers/],
    [
      'program headers past the end',
      core([{ type: PT_LOAD, paddr: 0, data: filled(16, 0) }], (v) => v.setUint16(56, 500, true)),
      /truncated dump: 500 program headers/,
    ],
    [
      'a segment past the end',
      core([{ type: PT_LOAD, paddr: 0, data: filled(16, 0) }], (v) => v.setBigUint64(64 + 32, 1n << 30n, true)),
      /truncated dump: program header 0/,
    ],
    [
      'p_offset beyond 2^53',
      core([{ type: PT_LOAD, paddr: 0, data: filled(16, 0) }], (v) => v.setBigUint64(64 + 8, 1n << 60n, true)),
      /p_offset/,
    ],
    ['filesz > memsz', core([{ type: PT_LOAD, paddr: 0, data: filled(16, 0), memsz: 8 }]), /exceeds p_memsz/],
    ['only notes', core([{ type: PT_NOTE, paddr: 0, data: elfNote('CORE', 1, new Uint8Array(8)) }]), /no PT_LOAD/],
    [
      'a note running past its segment',
      core([{ type: PT_NOTE, paddr: 0, data: Uint8Array.from([4, 0, 0, 0, 255, 255, 0, 0, 1, 0, 0, 0]) }]),
      /corrupt ELF note/,
    ],
  ];
  it.each(refusals)('refuses %s with a DumpError naming it', (_name, bytes, message) => {
    expect(() => readElfCore(bytesSource(bytes))).toThrow(DumpError);
    expect(() => readElfCore(bytesSource(bytes))).toThrow(message);
  });

  it('never throws anything but a DumpError on mutated cores (property)', () => {
    const base = core([
      { type: PT_NOTE, paddr: 0, data: elfNote('VMCOREINFO', 0, new TextEncoder().encode('KHO_FDT_PHYS=0x1000\n')) },
      { type: PT_LOAD, paddr: 0, data: filled(3 * 4096, 7) },
    ]);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { maxLength: 12 }),
        fc.nat(base.length),
        (edits, cut) => {
          const b = base.slice(0, Math.max(cut, 1));
          for (const [at, val] of edits) if (at < b.length) b[at] = val;
          try {
            inspectDump(bytesSource(b));
          } catch (e) {
            if (!(e instanceof DumpError)) throw e;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('PhysMemory', () => {
  const b = core([
    { type: PT_LOAD, paddr: 0x10000, data: filled(3 * 4096, 1), memsz: 5 * 4096 },
    { type: PT_LOAD, paddr: 0x0, data: filled(2 * 4096, 100) },
  ]);
  const mem = () => new PhysMemory(bytesSource(b), readElfCore(bytesSource(b)).loads, 2);

  it('resolves a physical address through its PT_LOAD, across cache blocks, and past p_filesz reads zeroes', () => {
    const m = mem();
    expect(Array.from(m.read(0x10000 + 4094, 4))).toEqual([
      (1 + 4094) & 0xff,
      (1 + 4095) & 0xff,
      (1 + 4096) & 0xff,
      (1 + 4097) & 0xff,
    ]);
    expect(Array.from(m.read(0x1000, 2))).toEqual([(100 + 4096) & 0xff, (100 + 4097) & 0xff]);
    expect(m.read(0x10000 + 3 * 4096 - 1, 3)).toEqual(Uint8Array.from([(1 + 3 * 4096 - 1) & 0xff, 0, 0]));
    // A tiny cache evicts and refills without changing what is read.
    for (let i = 0; i < 5; i++) expect(m.read(0x10000 + i * 4096, 1)[0]).toBe(i < 3 ? (1 + i * 4096) & 0xff : 0);
    expect(m.ranges()).toEqual([
      { start: 0, end: 0x2000 },
      { start: 0x10000, end: 0x15000 },
    ]);
  });

  it('a read the dump does not hold is a DumpError naming the address', () => {
    const m = mem();
    expect(m.tryRead(0x2000, 1)).toBeNull();
    expect(() => m.read(0x1ff0, 0x20)).toThrow(/physical memory 0x1ff0\+0x20 is not in the dump/);
    expect(m.covers(Number.NaN, 1)).toBe(false);
  });

  it('scan() visits every page-aligned file byte once, in address order', () => {
    const seen: Array<[number, number]> = [];
    mem().scan((phys, bytes) => seen.push([phys, bytes.length]), 4096);
    expect(seen).toEqual([
      [0, 4096],
      [0x1000, 4096],
      [0x10000, 4096],
      [0x11000, 4096],
      [0x12000, 4096],
    ]);
  });
});

describe('parseNotes', () => {
  it('pads name and desc to 4 bytes, as elfNote() writes them', () => {
    const two = new Uint8Array([
      ...elfNote('CORE', 1, new Uint8Array(5)),
      ...elfNote('VMCOREINFO', 0, new Uint8Array(3)),
    ]);
    expect(parseNotes(two).map((n) => [n.name, n.type, n.desc.length])).toEqual([
      ['CORE', 1, 5],
      ['VMCOREINFO', 0, 3],
    ]);
  });
});
