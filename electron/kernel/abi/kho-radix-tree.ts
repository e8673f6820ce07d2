/**
 * DOC: the KHO radix tree, 7.1's preserved-memory tracker (kho-v2 … kho-v4)
 *
 * From Linux 7.1 ("Make KHO Stateless") KHO tracks preserved memory in one radix tree that lives
 * in ordinary pages and is handed over in place: the root FDT's `preserved-memory-map` holds the
 * physical address of the root node, and the next kernel walks it from RAM. Layout, from
 * include/linux/kho/abi/kexec_handover.h (7.1, 7.2; 7.3 moved it to abi/radix_tree.h and renamed
 * KHO_ORDER_0_LOG2 to KHO_RADIX_KEY_WIDTH = 53 without changing a byte):
 *
 * - every node is one 4 KiB page. Levels 5 … 1 are `struct kho_radix_node { u64 table[512]; }`
 *   holding the physical address of a child page (0 = none); level 0 is
 *   `struct kho_radix_leaf`, a 32768-bit bitmap (bit i = bit i%64 of little-endian word i/64);
 * - a preserved block (phys, order) is the key `1 << (52 - order) | phys >> (12 + order)`: an
 *   order bit above the order-normalised frame number. Key bits 0–14 pick the leaf bit, bits
 *   15+9(l-1) … pick the index at level l, so the depth is KHO_TREE_MAX_DEPTH = 6;
 * - the walk (kernel/liveupdate/kexec_handover.c: kho_radix_walk_tree(), __kho_radix_walk_tree(),
 *   kho_radix_walk_leaf()) goes depth first in ascending index order, so in ascending key order:
 *   higher orders first, then ascending address. Decoding (kho_radix_decode_key()) takes the
 *   order from the highest set bit.
 *
 * The writer models kho_radix_add_page()/kho_radix_del_page(): missing tables are allocated on
 * the way down, nodes are never freed, deleting a block that is not there only warns. The real
 * 7.2.13 does not preserve the tree pages themselves; the next kernel reads them before
 * kho_memory_init() hands them back to the allocator.
 *
 * The walker reads through a PhysReader and checks what the kernel does not: a pointer outside
 * RAM, a misaligned node, a node reached twice (a cycle or shared subtree, which would make the
 * kernel's walk revisit it without end) and keys that decode to no valid block. Each becomes an
 * AbiError with checkedByKernel = false.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { AbiError, hex } from './abi-error';
import { getU64, putU64 } from './bytes';
import type { PhysReader, PhysWriter } from './phys-reader';
import { setBitRange } from '../lib/bitset';

/** KHO_ORDER_0_LOG2 = 64 - PAGE_SHIFT: the key bit of an order-0 block. */
const KHO_ORDER_0_LOG2 = 52;
/** KHO_TABLE_SIZE_LOG2: 512 u64 entries per table node. */
const KHO_TABLE_SIZE_LOG2 = 9;
const KHO_TABLE_ENTRIES = 1 << KHO_TABLE_SIZE_LOG2;
/** KHO_BITMAP_SIZE_LOG2 = PAGE_SHIFT + 3: 32768 bits per leaf. */
const KHO_BITMAP_SIZE_LOG2 = 15;
const KHO_BITMAP_BITS = 1 << KHO_BITMAP_SIZE_LOG2;
/** KHO_TREE_MAX_DEPTH: levels 5 … 1 are tables, level 0 the bitmap. */
export const KHO_TREE_MAX_DEPTH = 6;
const KHO_ROOT_LEVEL = KHO_TREE_MAX_DEPTH - 1;
/** Physical addresses above 52 bits do not exist on x86_64 or arm64 (MAX_PHYSMEM_BITS). */
const PHYS_LIMIT = 2 ** 52;

/** 2^n for n = 0 … 64, so the hot paths need no Math.pow. */
const POW2 = Array.from({ length: 65 }, (_, n) => 2 ** n);

/** kho_radix_encode_key(): null when (phys, order) is not a block (misaligned, out of range). */
export function encodeRadixKey(phys: number, order: number): number | null {
  if (!(order >= 0 && order <= KHO_ORDER_0_LOG2 && (order | 0) === order)) return null;
  const frame = phys / POW2[12 + order]!;
  if (!(phys >= 0 && phys < PHYS_LIMIT) || Math.floor(frame) !== frame) return null;
  return POW2[KHO_ORDER_0_LOG2 - order]! + frame;
}

/** Position of the highest set bit (fls64(key) - 1) of a positive safe integer. */
function highestBit(key: number): number {
  let p = Math.floor(Math.log2(key));
  if (2 ** p > key) p--;
  else if (2 ** (p + 1) <= key) p++;
  return p;
}

/** kho_radix_decode_key(): the block a key stands for, or null for a key no block encodes to. */
export function decodeRadixKey(key: number): { phys: number; order: number } | null {
  if (!Number.isSafeInteger(key) || key <= 0) return null;
  const top = highestBit(key);
  const order = KHO_ORDER_0_LOG2 - top;
  if (order < 0) return null;
  const phys = (key - 2 ** top) * 2 ** (12 + order);
  if (phys >= PHYS_LIMIT) return null;
  return { phys, order };
}

/** kho_radix_get_table_index(): the index at table level 1 … 5. */
const radixTableIndex = (key: number, level: number): number =>
  Math.floor(key / 2 ** ((level - 1) * KHO_TABLE_SIZE_LOG2 + KHO_BITMAP_SIZE_LOG2)) % KHO_TABLE_ENTRIES;

/** kho_radix_get_bitmap_index(): the bit in the leaf. */
const radixBitmapIndex = (key: number): number => key % KHO_BITMAP_BITS;

/** The way to a block, for inspectors: table indices from the root (level 5) down to level 1, then the leaf bit. */
export function radixPath(phys: number, order: number): { key: number; indices: number[]; bit: number } | null {
  const key = encodeRadixKey(phys, order);
  if (key === null) return null;
  const indices: number[] = [];
  for (let level = KHO_ROOT_LEVEL; level >= 1; level--) indices.push(radixTableIndex(key, level));
  return { key, indices, bit: radixBitmapIndex(key) };
}

// ---------------------------------------------------------------------------------------------
// Writing

/** What the tree writes through to: physical memory, and the page allocator its nodes come from. */
export interface RadixTreeMemory extends PhysWriter {
  /** A page for a new node (its physical address), or null for -ENOMEM. */
  alloc(): number | null;
  free(phys: number): void;
}

/**
 * The outgoing kernel's tree (struct kho_radix_tree): every change is written through to RAM, so
 * the bytes are always what a kexec at that moment would hand over. A shadow of each node's
 * children keeps lookups off the RAM reader.
 */
export class RadixTreeWriter {
  private readonly tables = new Map<number, Float64Array>();
  /** Leaf → its bytes, or null when the memory has live frames to write (no shadow copy kept). */
  private readonly leaves = new Map<number, Uint8Array | null>();
  /** key >> 15 → leaf phys: most changes touch the leaf of the previous one. */
  private readonly leafOf = new Map<number, number>();
  private readonly byte = new Uint8Array(1);
  private lastPrefix = -1;
  private lastLeaf = 0;

  private constructor(
    private readonly mem: RadixTreeMemory,
    /** Physical address of the root node: the value of `preserved-memory-map`. */
    readonly root: number,
  ) {
    this.tables.set(root, new Float64Array(KHO_TABLE_ENTRIES));
  }

  /** kho_init()'s root allocation: a zeroed page, or ENOMEM. */
  static create(
    mem: PhysWriter,
    alloc: () => number | null,
    free: (phys: number) => void = () => {},
  ): RadixTreeWriter | AbiError {
    return RadixTreeWriter.createOn({
      read: (phys, length) => mem.read(phys, length),
      write: (phys, data) => mem.write(phys, data),
      ...(mem.frame ? { frame: (phys: number) => mem.frame!(phys) } : {}),
      alloc,
      free,
    });
  }

  /**
   * The same, on a memory object of the caller's: a kernel passes one whose methods live on its
   * prototype, so its state holds no closures (the timeline snapshots it).
   */
  static createOn(mem: RadixTreeMemory): RadixTreeWriter | AbiError {
    const root = mem.alloc();
    if (root === null) return new AbiError('out-of-ram', 'no page for the radix tree root', 'ENOMEM');
    mem.write(root, new Uint8Array(PAGE_SIZE));
    return new RadixTreeWriter(mem, root);
  }

  /** Every page of the tree: tables (levels 5 … 1) then leaves. */
  pages(): { tables: number[]; leaves: number[] } {
    return { tables: [...this.tables.keys()], leaves: [...this.leaves.keys()] };
  }

  private leafFor(key: number, create: boolean): number | AbiError | null {
    const prefix = Math.floor(key / KHO_BITMAP_BITS);
    if (prefix === this.lastPrefix) return this.lastLeaf;
    const cached = this.leafOf.get(prefix);
    if (cached !== undefined) {
      this.lastPrefix = prefix;
      this.lastLeaf = cached;
      return cached;
    }
    let node = this.root;
    const fresh: number[] = [];
    let anchor: { node: number; idx: number } | null = null;
    for (let level = KHO_ROOT_LEVEL; level >= 1; level--) {
      const idx = radixTableIndex(key, level);
      const table = this.tables.get(node)!;
      let child = table[idx]!;
      if (child === 0) {
        if (!create) return null;
        const page = this.mem.alloc();
        if (page === null) {
          // kho_radix_add_page(): free what this call allocated and clear the anchor entry.
          if (anchor) this.link(anchor.node, anchor.idx, 0);
          for (const p of fresh) {
            this.tables.delete(p);
            this.leaves.delete(p);
            this.mem.free(p);
          }
          return new AbiError('out-of-ram', `no page for a level-${level - 1} radix node`, 'ENOMEM');
        }
        this.mem.write(page, new Uint8Array(PAGE_SIZE));
        // A leaf's shadow is only needed when bits cannot be flipped in the live frame.
        if (level === 1) this.leaves.set(page, this.mem.frame ? null : new Uint8Array(PAGE_SIZE));
        else this.tables.set(page, new Float64Array(KHO_TABLE_ENTRIES));
        anchor ??= { node, idx };
        fresh.push(page);
        this.link(node, idx, page);
        child = page;
      }
      node = child;
    }
    this.leafOf.set(prefix, node);
    this.lastPrefix = prefix;
    this.lastLeaf = node;
    return node;
  }

  private link(node: number, idx: number, child: number): void {
    this.tables.get(node)![idx] = child;
    const b = new Uint8Array(8);
    putU64(b, 0, child);
    this.mem.write(node + idx * 8, b);
  }

  private setBit(leaf: number, bit: number, on: boolean): void {
    const i = bit >>> 3;
    const mask = 1 << (bit & 7);
    const live = this.mem.frame?.(leaf);
    if (live) {
      live[i] = on ? live[i]! | mask : live[i]! & ~mask;
      return;
    }
    const bytes = this.leaves.get(leaf)!;
    bytes[i] = on ? bytes[i]! | mask : bytes[i]! & ~mask;
    this.byte[0] = bytes[i]!;
    this.mem.write(leaf + i, this.byte);
  }

  /** kho_radix_add_page(): 0, or ENOMEM (nothing changed), or EINVAL for a block that is not one. */
  add(phys: number, order: number): 0 | AbiError {
    const key = encodeRadixKey(phys, order);
    if (key === null) return new AbiError('bad-key', `${hex(phys)} is not an order-${order} block`, 'EINVAL', phys);
    const leaf = this.leafFor(key, true);
    if (leaf instanceof AbiError) return leaf;
    this.setBit(leaf!, radixBitmapIndex(key), true);
    return 0;
  }

  /**
   * kho_radix_add_page() of the `count` blocks of `order` from `phys` (phys, phys + 2^order pages,
   * …), whose keys follow on: a leaf at a time, each leaf's bits set as one range. Returns how
   * many were added before the first failure and that failure (nothing of the failing block
   * changed), as that many calls would.
   */
  addRange(phys: number, order: number, count: number): { done: number; error: AbiError | null } {
    const key = encodeRadixKey(phys, order);
    const size = POW2[12 + order]!;
    if (key === null || !(phys + (count - 1) * size < PHYS_LIMIT)) {
      // Not a run of blocks this codec can key: block by block, so the error names the first bad one.
      for (let i = 0; i < count; i++) {
        const r = this.add(phys + i * size, order);
        if (r !== 0) return { done: i, error: r };
      }
      return { done: count, error: null };
    }
    let done = 0;
    while (done < count) {
      const k = key + done;
      const bit = radixBitmapIndex(k);
      const n = Math.min(count - done, KHO_BITMAP_BITS - bit);
      const leaf = this.leafFor(k, true);
      if (leaf instanceof AbiError) return { done, error: leaf };
      const live = this.mem.frame?.(leaf!);
      if (live) setBitRange(live, bit, bit + n);
      else {
        const bytes = this.leaves.get(leaf!)!;
        setBitRange(bytes, bit, bit + n);
        const from = bit >>> 3;
        this.mem.write(leaf! + from, bytes.subarray(from, ((bit + n - 1) >>> 3) + 1));
      }
      done += n;
    }
    return { done, error: null };
  }

  /** kho_radix_del_page(): false when the path does not exist (the kernel WARNs and returns). */
  del(phys: number, order: number): boolean {
    const key = encodeRadixKey(phys, order);
    if (key === null) return false;
    const leaf = this.leafFor(key, false);
    if (leaf === null || leaf instanceof AbiError) return false;
    this.setBit(leaf, radixBitmapIndex(key), false);
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Walking

export interface RadixWalkVisitor {
  /** Each preserved block in walk order; a non-zero return stops the walk, as the kernel's callback does. */
  entry?(phys: number, order: number): number | void;
  /**
   * Instead of entry(): each run of `count` blocks of `order` side by side from `phys` (set bits
   * next to each other in a leaf), in walk order, found a word at a time. A non-zero return stops
   * the walk; the run's blocks count as walked.
   */
  run?(phys: number, order: number, count: number): number | void;
  /**
   * Each tree page before its children: level 5 (root) … 1 for tables, 0 for leaves, with the
   * lowest key under it (a leaf's keys are keyStart + bit). For inspectors.
   */
  node?(phys: number, level: number, keyStart: number): void;
}

export interface RadixWalkSummary {
  tablePages: number;
  leafPages: number;
  entries: number;
  /** The callback's non-zero return that stopped the walk, or 0. */
  stoppedWith: number;
}

/** Reads one node page, refusing what the kernel would dereference blindly. */
function readNode(
  mem: PhysReader,
  phys: number,
  level: number,
  seen: Set<number>,
  parent: string,
): Uint8Array | AbiError {
  const what = level === 0 ? 'leaf' : `level-${level} table`;
  if (!Number.isSafeInteger(phys))
    return new AbiError('out-of-ram', `${parent} holds a pointer beyond 2^53`, 'EINVAL', undefined, undefined, false);
  if (phys % PAGE_SIZE !== 0)
    return new AbiError(
      'misaligned',
      `${what} at ${hex(phys)} (from ${parent}) is not page-aligned`,
      'EINVAL',
      phys,
      undefined,
      false,
    );
  if (seen.has(phys))
    return new AbiError(
      'cycle',
      `${what} at ${hex(phys)} (from ${parent}) was already visited: the tree has a cycle or a shared node`,
      'EINVAL',
      phys,
      undefined,
      false,
    );
  seen.add(phys);
  const page = mem.read(phys, PAGE_SIZE);
  if (!page)
    return new AbiError(
      'out-of-ram',
      `${what} at ${hex(phys)} (from ${parent}) is outside RAM`,
      'EINVAL',
      phys,
      undefined,
      false,
    );
  return page;
}

/**
 * kho_radix_walk_tree() over the tree at `root`, read from `mem`. Callbacks already made stay made
 * when a later node turns out to be corrupt, as the kernel reserves blocks while it walks.
 */
export function walkRadixTree(
  mem: PhysReader,
  root: number,
  visitor: RadixWalkVisitor = {},
): RadixWalkSummary | AbiError {
  const sum: RadixWalkSummary = { tablePages: 0, leafPages: 0, entries: 0, stoppedWith: 0 };
  const seen = new Set<number>();

  const walkLeaf = (phys: number, start: number, parent: string): number | AbiError => {
    const page = readNode(mem, phys, 0, seen, parent);
    if (page instanceof AbiError) return page;
    sum.leafPages++;
    visitor.node?.(phys, 0, start);
    const words =
      page.byteOffset % 4 === 0
        ? new Uint32Array(page.buffer, page.byteOffset, PAGE_SIZE / 4)
        : new Uint32Array(page.slice().buffer);
    // Every key of a leaf above 2^15 has the same order bit, so its blocks are base + bit × size.
    const first = start >= KHO_BITMAP_BITS ? decodeRadixKey(start) : null;
    const size = first ? 2 ** (12 + first.order) : 0;
    if (first && visitor.run) {
      // Every key of the leaf has the first's order bit; only an address past 2^52 is refused.
      const limit = Math.max(0, Math.ceil((PHYS_LIMIT - first.phys) / size));
      let r: number | AbiError = 0;
      forEachBitRun(words, (from, to) => {
        const upto = Math.min(to, limit);
        if (upto > from) {
          sum.entries += upto - from;
          r = visitor.run!(first.phys + from * size, first.order, upto - from) || 0;
          if (r) return r;
        }
        if (upto < to) {
          r = new AbiError(
            'bad-key',
            `leaf ${hex(phys)} bit ${Math.max(from, limit)} gives key ${hex(start + Math.max(from, limit))}, which is no (phys, order)`,
            'EINVAL',
            phys,
            undefined,
            false,
          );
          return 1;
        }
      });
      return r;
    }
    for (let w = 0; w < words.length; w++) {
      let bits = words[w]!;
      while (bits !== 0) {
        const low = bits & -bits;
        const bit = w * 32 + (31 - Math.clz32(low));
        bits ^= low;
        let bphys: number;
        let border: number;
        if (first) {
          bphys = first.phys + bit * size;
          border = first.order;
        } else {
          const d = decodeRadixKey(start + bit);
          bphys = d ? d.phys : PHYS_LIMIT;
          border = d ? d.order : 0;
        }
        if (bphys >= PHYS_LIMIT)
          return new AbiError(
            'bad-key',
            `leaf ${hex(phys)} bit ${bit} gives key ${hex(start + bit)}, which is no (phys, order)`,
            'EINVAL',
            phys,
            undefined,
            false,
          );
        sum.entries++;
        const r = visitor.run ? visitor.run(bphys, border, 1) : visitor.entry?.(bphys, border);
        if (r) return r;
      }
    }
    return 0;
  };

  const walkTable = (phys: number, level: number, start: number, parent: string): number | AbiError => {
    const page = readNode(mem, phys, level, seen, parent);
    if (page instanceof AbiError) return page;
    sum.tablePages++;
    visitor.node?.(phys, level, start);
    const shift = 2 ** ((level - 1) * KHO_TABLE_SIZE_LOG2 + KHO_BITMAP_SIZE_LOG2);
    for (let i = 0; i < KHO_TABLE_ENTRIES; i++) {
      if (getU32Pair0(page, i)) continue;
      const child = getU64(page, i * 8);
      const key = start + i * shift;
      // A key at or above 2^53 has its order bit above KHO_ORDER_0_LOG2: no block encodes to it.
      if (key >= 2 ** (KHO_ORDER_0_LOG2 + 1)) {
        return new AbiError(
          'bad-key',
          `level-${level} table ${hex(phys)} has entry ${i}, beyond any key`,
          'EINVAL',
          phys,
          undefined,
          false,
        );
      }
      const from = `entry ${i} of the level-${level} table at ${hex(phys)}`;
      const r = level === 1 ? walkLeaf(child, key, from) : walkTable(child, level - 1, key, from);
      if (r !== 0) return r;
    }
    return 0;
  };

  if (!Number.isSafeInteger(root) || root === 0)
    return new AbiError(
      'bad-value',
      `radix tree root ${Number.isNaN(root) ? 'beyond 2^53' : hex(root)} is not a page`,
      'EINVAL',
    );
  const r = walkTable(root, KHO_ROOT_LEVEL, 0, 'preserved-memory-map');
  if (r instanceof AbiError) return r;
  sum.stoppedWith = r;
  return sum;
}

/** Lowest set bit of a 32-bit word (32 for 0). */
const ctz32 = (x: number): number => (x === 0 ? 32 : 31 - Math.clz32(x & -x));

/**
 * Each run of set bits [from, to) of a bitmap of 32-bit words, ascending, a word at a time (runs
 * may cross words); a non-zero return from `visit` stops the walk.
 */
export function forEachBitRun(words: Uint32Array, visit: (from: number, to: number) => number | void): void {
  let runStart = -1;
  for (let w = 0; w < words.length; w++) {
    let bits = words[w]!;
    if (runStart >= 0) {
      if (bits === 0xffffffff) continue;
      const zero = ctz32(~bits);
      if (visit(runStart, w * 32 + zero)) return;
      runStart = -1;
      bits &= -1 << zero;
    }
    while (bits !== 0) {
      const b = ctz32(bits);
      const len = ctz32(~(bits >>> b));
      if (b + len >= 32) {
        runStart = w * 32 + b;
        break;
      }
      if (visit(w * 32 + b, w * 32 + b + len)) return;
      bits &= -1 << (b + len);
    }
  }
  if (runStart >= 0) visit(runStart, words.length * 32);
}

/** True when table entry i is 0 (both halves zero), without building a number. */
const getU32Pair0 = (b: Uint8Array, i: number): boolean => {
  const o = i * 8;
  return (b[o]! | b[o + 1]! | b[o + 2]! | b[o + 3]! | b[o + 4]! | b[o + 5]! | b[o + 6]! | b[o + 7]!) === 0;
};
