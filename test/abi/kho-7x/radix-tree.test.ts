/**
 * The KHO radix tree (include/linux/kho/abi/kexec_handover.h, kernel/liveupdate/kexec_handover.c):
 * key arithmetic from the ABI header, the bytes kho_radix_add_page() leaves, the walk of the real
 * 7.2.13 tree cut from a guest at machine_kexec(), and corrupt trees that must not hang or throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { isAbiError, type AbiError } from '../../../electron/kernel/abi/abi-error';
import { getU64 } from '../../../electron/kernel/abi/bytes';
import {
  KHO_TREE_MAX_DEPTH,
  RadixTreeWriter,
  decodeRadixKey,
  encodeRadixKey,
  radixPath,
  walkRadixTree,
  type RadixWalkSummary,
} from '../../../electron/kernel/abi/kho-radix-tree';
import { SparseMemory, bumpAllocator } from '../../../electron/kernel/abi/phys-reader';
import { dumpPages, fixtureJson, hexn } from './fixtures';

const GiB = 2 ** 30;

function newTree(ram = 64 * GiB): { mem: SparseMemory; tree: RadixTreeWriter } {
  const mem = new SparseMemory(ram);
  const tree = RadixTreeWriter.create(mem, bumpAllocator(16 * 2 ** 20, 32 * 2 ** 20));
  if (isAbiError(tree)) throw new Error(tree.message);
  return { mem, tree };
}

function walkAll(mem: SparseMemory, root: number): { sum: RadixWalkSummary | AbiError; entries: [number, number][] } {
  const entries: [number, number][] = [];
  const sum = walkRadixTree(mem, root, { entry: (p, o) => void entries.push([p, o]) });
  return { sum, entries };
}

describe('kho_radix_encode_key / kho_radix_decode_key', () => {
  it('puts the order bit at 52 - order above the order-normalised frame number', () => {
    expect(encodeRadixKey(4 * GiB, 0)).toBe(0x0010_0000_0010_0000);
    expect(encodeRadixKey(GiB, 9)).toBe(0x0000_0800_0000_0200);
    expect(encodeRadixKey(0, 0)).toBe(2 ** 52);
    expect(decodeRadixKey(0x0000_0800_0000_0200)).toEqual({ phys: GiB, order: 9 });
  });

  it('refuses blocks that are not blocks and keys no block encodes to', () => {
    expect(encodeRadixKey(0x1000, 1)).toBeNull();
    expect(encodeRadixKey(2 ** 52, 0)).toBeNull();
    expect(decodeRadixKey(0)).toBeNull();
    expect(decodeRadixKey(2 ** 53)).toBeNull();
  });

  it('decode inverts encode for every order and aligned address', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 18 }), fc.integer({ min: 0, max: 2 ** 30 }), (order, n) => {
        const phys = (n * 2 ** (12 + order)) % 2 ** 52;
        const key = encodeRadixKey(phys - (phys % 2 ** (12 + order)), order)!;
        expect(decodeRadixKey(key)).toEqual({ phys: phys - (phys % 2 ** (12 + order)), order });
      }),
    );
  });

  it('kho_radix_get_table_index: 4 GiB order 0 is root[2] L4[0] L3[0] L2[0] L1[32] bit 0; 1 GiB order 9 is root[0] L4[2] … bit 512', () => {
    expect(radixPath(4 * GiB, 0)).toEqual({ key: 0x0010_0000_0010_0000, indices: [2, 0, 0, 0, 32], bit: 0 });
    expect(radixPath(GiB, 9)).toEqual({ key: 0x0000_0800_0000_0200, indices: [0, 2, 0, 0, 0], bit: 512 });
    expect(KHO_TREE_MAX_DEPTH).toBe(6);
  });
});

describe('kho_radix_add_page: bytes in RAM', () => {
  it('links one page per level by physical address and sets the leaf bit', () => {
    const { mem, tree } = newTree();
    expect(tree.add(4 * GiB + 3 * PAGE_SIZE, 0)).toBe(0);
    // Root is the first page of the allocator; the path root[2] → L4[0] → L3[0] → L2[0] → L1[32] → bit 3.
    const rd = (p: number, i: number): number => getU64(mem.read(p + i * 8, 8)!, 0);
    const l4 = rd(tree.root, 2);
    const l3 = rd(l4, 0);
    const l2 = rd(l3, 0);
    const l1 = rd(l2, 0);
    const leaf = rd(l1, 32);
    expect([l4, l3, l2, l1, leaf].map((p) => p - tree.root)).toEqual([1, 2, 3, 4, 5].map((i) => i * PAGE_SIZE));
    expect(mem.read(leaf, 1)![0]).toBe(0b1000);
    expect(tree.pages()).toEqual({ tables: [0, 1, 2, 3, 4].map((i) => tree.root + i * PAGE_SIZE), leaves: [leaf] });
  });

  it('writes the same bytes through write() as through a live frame', () => {
    const blocks: [number, number][] = [
      [0x1000, 0],
      [0x20_0000, 9],
      [0x5000, 0],
      [0x4000_0000, 18],
    ];
    const a = newTree();
    const plain = new SparseMemory(64 * GiB);
    const noFrame = { read: plain.read.bind(plain), write: plain.write.bind(plain) };
    const b = RadixTreeWriter.create(noFrame, bumpAllocator(16 * 2 ** 20, 32 * 2 ** 20)) as RadixTreeWriter;
    for (const [p, o] of blocks) {
      a.tree.add(p, o);
      b.add(p, o);
    }
    b.del(0x5000, 0);
    a.tree.del(0x5000, 0);
    expect(plain.framePhys()).toEqual(a.mem.framePhys());
    for (const p of a.mem.framePhys()) expect(plain.read(p, PAGE_SIZE)).toEqual(a.mem.read(p, PAGE_SIZE));
  });

  it('kho_radix_del_page clears the bit, keeps the nodes, and reports a path that does not exist', () => {
    const { mem, tree } = newTree();
    tree.add(0x20_0000, 9);
    expect(tree.del(0x20_0000, 9)).toBe(true);
    expect(tree.del(0x40_0000, 0)).toBe(false);
    const { sum, entries } = walkAll(mem, tree.root);
    expect(entries).toEqual([]);
    expect(sum).toMatchObject({ tablePages: 5, leafPages: 1 });
  });

  it('kho_radix_add_page returns ENOMEM and frees what it allocated when pages run out', () => {
    const mem = new SparseMemory(64 * GiB);
    const freed: number[] = [];
    const tree = RadixTreeWriter.create(
      mem,
      bumpAllocator(0x10_0000, 0x10_0000 + 3 * PAGE_SIZE),
      (p) => void freed.push(p),
    ) as RadixTreeWriter;
    const r = tree.add(0, 0);
    expect(isAbiError(r) && r.errno).toBe('ENOMEM');
    expect(freed).toHaveLength(2);
    expect(getU64(mem.read(tree.root + 2 * 8, 8)!, 0)).toBe(0);
  });
});

describe('kho_radix_walk_tree', () => {
  it('walks higher orders first, then ascending address', () => {
    const { mem, tree } = newTree();
    for (const [p, o] of [
      [0x30_0000, 0],
      [0x20_0000, 9],
      [0x1000, 0],
      [0x4000_0000, 18],
    ] as const)
      tree.add(p, o);
    expect(walkAll(mem, tree.root).entries).toEqual([
      [0x4000_0000, 18],
      [0x20_0000, 9],
      [0x1000, 0],
      [0x30_0000, 0],
    ]);
  });

  it('stops at the first non-zero callback return and passes it back', () => {
    const { mem, tree } = newTree();
    tree.add(0x1000, 0);
    tree.add(0x2000, 0);
    let n = 0;
    const r = walkRadixTree(mem, tree.root, { entry: () => (++n === 1 ? -17 : 0) });
    expect(r).toMatchObject({ stoppedWith: -17, entries: 1 });
  });

  it('reads the real 7.2.13 tree at machine_kexec: 37 tables, 12 leaves, the 49 blocks decode_kho.py found', () => {
    const mem = dumpPages('realkernel-7.2/k1-machine_kexec.pages.gz');
    const want = fixtureJson<{
      radixRoot: string;
      radix: { tablePages: number; leafPages: number; preserved: [string, number][] };
    }>('realkernel-7.2/k1-machine_kexec.expected.json');
    const { sum, entries } = walkAll(mem, hexn(want.radixRoot));
    expect(sum).toEqual({
      tablePages: want.radix.tablePages,
      leafPages: want.radix.leafPages,
      entries: 49,
      stoppedWith: 0,
    });
    const sorted = [...entries].sort((a, b) => a[0] - b[0]);
    expect(sorted).toEqual(want.radix.preserved.map(([p, o]) => [hexn(p), o]));
    // Walk order: the single order-10 block first, then down to order 0 (memblock=debug log order).
    expect(entries[0]).toEqual([0xc0_0000, 10]);
    expect(entries.map(([, o]) => o)).toEqual([...entries.map(([, o]) => o)].sort((a, b) => b - a));
  });
});

describe('kho_radix_walk_tree on corrupt trees (never a hang or an exception)', () => {
  it('a table pointing back at the root is a cycle', () => {
    const { mem, tree } = newTree();
    tree.add(0x1000, 0);
    const l4 = getU64(mem.read(tree.root + 16, 8)!, 0);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(tree.root), true);
    mem.write(l4 + 8, b);
    const r = walkRadixTree(mem, tree.root);
    expect(isAbiError(r) && [r.code, r.checkedByKernel]).toEqual(['cycle', false]);
  });

  it('a child outside RAM, a misaligned child, and a root index beyond any key are refused by name', () => {
    const cases: [number, number, string][] = [
      [2, 128 * GiB, 'out-of-ram'],
      [2, 0x10_0800, 'misaligned'],
      [4, 0x10_0000, 'bad-key'],
    ];
    for (const [idx, child, code] of cases) {
      const mem = new SparseMemory(64 * GiB);
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt(child), true);
      mem.write(0x20_0000 + idx * 8, b);
      const r = walkRadixTree(mem, 0x20_0000);
      expect(isAbiError(r) && r.code).toBe(code);
    }
  });

  it('random blocks survive encode → walk; random byte corruption gives a summary or an AbiError', () => {
    const block = fc
      .tuple(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 2 ** 24 }))
      .map(([o, n]) => [((n >> o) << o) * PAGE_SIZE, o] as const);
    fc.assert(
      fc.property(
        fc.array(block, { maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(4095), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        (blocks, pokes) => {
          const { mem, tree } = newTree();
          const model = new Set<string>();
          for (const [p, o] of blocks) {
            expect(tree.add(p, o)).toBe(0);
            model.add(`${p}:${o}`);
          }
          const { entries } = walkAll(mem, tree.root);
          expect(new Set(entries.map(([p, o]) => `${p}:${o}`))).toEqual(model);
          const pages = [...tree.pages().tables, ...tree.pages().leaves];
          for (const [pi, off, v] of pokes) mem.write(pages[pi % pages.length]! + off, Uint8Array.of(v));
          const r = walkRadixTree(mem, tree.root);
          expect(isAbiError(r) || typeof r.entries === 'number').toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});
