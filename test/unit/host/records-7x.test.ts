/**
 * The 7.x records read a machine's RAM through recordView() as they read a dump: a radix tree
 * written by the 7.x writer (kho_radix_add_page()) in RAM decodes level by level, the path of a
 * block ends at its bit, a hostile table entry is flagged instead of followed, and a kho_block
 * written by encodeBlockSet() shows its header and entries.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import type { AnnotatedStruct, RecordRequest } from '../../../shared/views';
import { recordView } from '../../../electron/host/records';
import { encodeRadixKey, RadixTreeWriter } from '../../../electron/kernel/abi/kho-radix-tree';
import { encodeBlockSet } from '../../../electron/kernel/abi/kho-block';
import { LUO_FILE_SER, encodeFileSer } from '../../../electron/kernel/abi/luo-v5';
import { SparseMemory, bumpAllocator } from '../../../electron/kernel/abi/phys-reader';
import type { Machine } from '../../../electron/kernel/machine';

const RAM = 64 << 20;

/** A Machine that has only RAM (what the record decoders read). */
const machineOf = (mem: SparseMemory): Machine =>
  ({
    layout: { maxPfn: RAM / PAGE_SIZE },
    ram: { read: (p: number, n: number) => mem.read(p, n)! },
  }) as unknown as Machine;

function rec(m: Machine, req: RecordRequest): AnnotatedStruct {
  const r = recordView(m, req);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}
const all = (r: AnnotatedStruct) => (r.sections ?? []).flatMap((s) => s.fields);

describe('records-7x on simulated RAM', () => {
  it('kho_radix_add_page() then kho_radix_walk_tree(): each level opens the next; the path ends at the block’s bit', () => {
    const mem = new SparseMemory(RAM);
    const tree = RadixTreeWriter.create(mem, bumpAllocator(32 << 20, 33 << 20));
    if (!(tree instanceof RadixTreeWriter)) throw tree;
    expect(tree.add(0x200000, 9)).toBe(0);
    expect(tree.add(0x1234000, 0)).toBe(0);
    const m = machineOf(mem);
    const root = rec(m, { kind: 'kho-radix-node', phys: tree.root, level: 5, keyStart: 0 });
    expect(root.title).toBe('kho_radix_node, level 5: 2 of 512 entries set'); // two orders: two subtrees
    let req: RecordRequest | undefined = {
      kind: 'kho-radix-node',
      phys: tree.root,
      level: 5,
      keyStart: 0,
      pathKey: encodeRadixKey(0x1234000, 0)!,
    };
    const titles: string[] = [];
    let last: AnnotatedStruct | undefined;
    while (req) {
      last = rec(m, req);
      titles.push(last.title);
      req = all(last).find((f) => f.highlight)?.opens;
    }
    expect(titles).toHaveLength(6);
    expect(all(last!).find((f) => f.highlight)!.value).toMatch(
      /^bit \d+ → 0x1234000 order 0 \(4 KiB\): set \(preserved\)/,
    );
    // Unpreserved: the same path now ends at a clear bit.
    tree.del(0x1234000, 0);
    const leaf = rec(m, {
      kind: 'kho-radix-node',
      phys: last!.phys,
      level: 0,
      keyStart: 0,
      pathKey: encodeRadixKey(0x1234000, 0)!,
    });
    expect(all(leaf).find((f) => f.highlight)!.value).toMatch(/CLEAR: not preserved/);
  });

  it('a table entry pointing past RAM is flagged and opens nothing (the kernel would fault)', () => {
    const mem = new SparseMemory(RAM);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, 1n << 40n, true);
    mem.write(0x100000 + 3 * 8, b);
    const r = rec(machineOf(mem), { kind: 'kho-radix-node', phys: 0x100000, level: 5, keyStart: 0 });
    const f = all(r).find((x) => x.name === 'table[3]')!;
    expect(f.problem).toBe('beyond the end of RAM');
    expect(f.opens).toBeUndefined();
  });

  it('kho_block_set_grow(): a block of luo_file_ser shows { next, count } and each file, memfd-v2 data opening its record', () => {
    const mem = new SparseMemory(RAM);
    const files = Array.from({ length: 70 }, (_, i) =>
      encodeFileSer({ compatible: 'memfd-v2', data: BigInt(0x300000 + i * 64), token: BigInt(i) }),
    );
    const set = encodeBlockSet(mem, bumpAllocator(0x400000, 0x500000), LUO_FILE_SER.size, files);
    if ('kind' in set) throw new Error(set.message);
    const first = rec(machineOf(mem), { kind: 'luo-file-blocks', phys: set.headPa });
    expect(first.title).toBe('kho_block of luo_file_ser: 63 of 63 entries');
    expect(first.header!.fields[0]!.opens).toEqual({ kind: 'luo-file-blocks', phys: set.blocks[1]!.pa });
    expect(first.array!.elements[2]!.find((f) => f.name === 'data')!.opens).toEqual({
      kind: 'memfd-v2-ser',
      phys: 0x300000 + 2 * 64,
    });
    const second = rec(machineOf(mem), { kind: 'luo-file-blocks', phys: set.blocks[1]!.pa });
    expect(second.title).toBe('kho_block of luo_file_ser: 7 of 63 entries');
    expect(second.header!.fields[0]!.value).toBe('NULL');
  });
});
