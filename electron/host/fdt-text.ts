/**
 * DOC: FDT as text
 *
 * Two views of a decoded devicetree (electron/kernel/lib/fdt.ts) for the inspector and the CLI:
 *
 * - fdtToDts(): DTS source exactly as `dtc -I dtb -O dts` (dtc 1.6) prints it, so a person can
 *   diff our view against the real tool. dtc has no type information in a blob and guesses:
 *   printable NUL-terminated text is a string, a multiple of 4 bytes is <cells>, else [bytes].
 * - describeFdt(): a tree listing that also decodes KHO's properties. They are native-endian
 *   u64s (include/linux/kho/abi/kexec_handover.h; kernel/liveupdate/kexec_handover.c:
 *   kho_add_subtree()), which dtc can only show as two byte-swapped cells.
 *
 * Both are bounded by the size of their input: a blob can make a printer repeat bytes it holds
 * once (indentation per nesting level, one long property name shared by every property through
 * the strings block), so each printer stops at OUTPUT_PER_INPUT_BYTE characters per byte of the
 * tree's smallest encoding (fdtInputBytes()) and ends with a line saying so.
 */
import { fdtWalk, readStringList, readU64le, type FdtMemReserve, type FdtNode } from '../kernel/lib/fdt';

const C_ESCAPES: Record<number, string> = {
  7: '\\a',
  8: '\\b',
  9: '\\t',
  10: '\\n',
  11: '\\v',
  12: '\\f',
  13: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
  0: '\\0',
};
const isPrint = (c: number): boolean => c >= 0x20 && c <= 0x7e;
/** dtc's isstring(): printable, NUL, or one of \a \b \t \n \v \f \r. */
const isStringByte = (c: number): boolean => isPrint(c) || c === 0 || (c >= 7 && c <= 13);
const hex2 = (b: number): string => b.toString(16).padStart(2, '0');

type ValueKind = 'empty' | 'string' | 'cells' | 'bytes';

/** dtc's guess_value_type() for a value read from a blob (no labels or markers there). */
function guessKind(v: Uint8Array): ValueKind {
  if (v.length === 0) return 'empty';
  const nuls = v.reduce((n, c) => n + (c === 0 ? 1 : 0), 0);
  if (v[v.length - 1] === 0 && v.every(isStringByte) && nuls <= v.length - nuls) return 'string';
  return v.length % 4 === 0 ? 'cells' : 'bytes';
}

/** dtc's write_propval_string(): the whole value as one quoted C string, inner NULs as \0. */
function dtsString(v: Uint8Array): string {
  let s = '"';
  for (const c of v.subarray(0, v.length - 1))
    s += C_ESCAPES[c] ?? (isPrint(c) ? String.fromCharCode(c) : `\\x${hex2(c)}`);
  return s + '"';
}

function dtsCells(v: Uint8Array): string {
  const view = new DataView(v.buffer, v.byteOffset, v.length);
  const cells: string[] = [];
  for (let i = 0; i < v.length; i += 4) cells.push(`0x${hex2(view.getUint32(i))}`);
  return `<${cells.join(' ')}>`;
}

/** The right-hand side of `name = …;` as dtc prints it, or null for an empty property. */
function dtsValue(v: Uint8Array): string | null {
  switch (guessKind(v)) {
    case 'empty':
      return null;
    case 'string':
      return dtsString(v);
    case 'cells':
      return dtsCells(v);
    case 'bytes':
      return `[${Array.from(v, hex2).join(' ')}]`;
  }
}

/**
 * Characters of text a printer may write per byte of input. Any tree the kernel will unflatten
 * stays well under it unless it repeats long property names: the worst ordinary case is a node or
 * an empty property at depth 62 (drivers/of/fdt.c's FDT_MAX_DEPTH - 2), 12 bytes of blob and
 * about 130 characters of indentation (~11×); values print at most 4 characters per byte.
 */
export const OUTPUT_PER_INPUT_BYTE = 16;
/** Room for the fixed text (header, `/dts-v1/;`) of a tiny tree. */
const OUTPUT_SLACK = 4096;

/**
 * Bytes the tree needs at least as a blob: 12 per node plus its padded name, 12 per property plus
 * its padded value, 16 per reservation, and each distinct property name once in the strings block
 * unless it is the tail of another name (dtc and encodeFdt() may then share its bytes).
 */
export function fdtInputBytes(root: FdtNode, memReserve: readonly FdtMemReserve[] = []): number {
  const pad4 = (n: number): number => (n + 3) & ~3;
  const names = new Set<string>();
  let bytes = 40 + 16 * (memReserve.length + 1) + 4;
  for (const { kind, node } of fdtWalk(root)) {
    if (kind === 'leave') continue;
    bytes += 8 + pad4(node.name.length + 1);
    for (const p of node.props) {
      bytes += 12 + pad4(p.value.length);
      names.add(p.name);
    }
  }
  // Reversed and sorted, a name that is another's tail sorts right before a name it prefixes.
  const reversed = [...names].map((n) => [...n].reverse().join('')).sort();
  reversed.forEach((r, i) => {
    if (!reversed[i + 1]?.startsWith(r)) bytes += r.length + 1;
  });
  return bytes;
}

/**
 * Collects output up to `limit` characters in all: each piece costs its length plus `perPiece`
 * (the newline a listing adds per line), and room is kept for the closing note.
 */
class BoundedText {
  readonly parts: string[] = [];
  private used = NOTE_ROOM;
  truncated = false;
  constructor(
    readonly limit: number,
    private readonly inputBytes: number,
    private readonly perPiece: number,
  ) {}
  /** Adds `s` if it fits; false once the budget is spent. */
  add(s: string): boolean {
    if (this.truncated) return false;
    if (this.used + s.length + this.perPiece > this.limit) {
      this.truncated = true;
      return false;
    }
    this.used += s.length + this.perPiece;
    this.parts.push(s);
    return true;
  }
  get note(): string {
    return `output truncated at ${this.limit} characters (${OUTPUT_PER_INPUT_BYTE} per byte of the tree's ${this.inputBytes}-byte encoding)`;
  }
}
const NOTE_ROOM = 160;

function budgetFor(
  root: FdtNode,
  memReserve: readonly FdtMemReserve[],
  limit: number | undefined,
  perPiece: number,
): BoundedText {
  const input = fdtInputBytes(root, memReserve);
  return new BoundedText(limit ?? input * OUTPUT_PER_INPUT_BYTE + OUTPUT_SLACK, input, perPiece);
}

const u64hex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

/**
 * DTS source of the tree, byte for byte what `dtc -I dtb -O dts` prints for the same blob; past
 * the output bound (or `limit` characters) it stops with a comment saying it was truncated.
 */
export function fdtToDts(root: FdtNode, memReserve: readonly FdtMemReserve[] = [], limit?: number): string {
  const out = budgetFor(root, memReserve, limit, 0);
  const emit = (s: string): boolean => out.add(s);
  if (!emit('/dts-v1/;\n\n')) return `/* ${out.note} */\n`;
  for (const [addr, size] of memReserve) if (!emit(`/memreserve/\t${u64hex(addr)} ${u64hex(size)};\n`)) break;
  for (const { kind, node, depth } of out.truncated ? [] : fdtWalk(root)) {
    const tabs = '\t'.repeat(depth);
    if (kind === 'leave') {
      if (!emit(`${tabs}};\n`)) break;
      continue;
    }
    // dtc separates every child from what precedes it with a blank line.
    if (!emit(depth === 0 ? '/ {\n' : `\n${tabs}${node.name} {\n`)) break;
    for (const p of node.props) {
      const v = dtsValue(p.value);
      if (!emit(v === null ? `${tabs}\t${p.name};\n` : `${tabs}\t${p.name} = ${v};\n`)) break;
    }
    if (out.truncated) break;
  }
  return out.parts.join('') + (out.truncated ? `/* ${out.note} */\n` : '');
}

/**
 * How KHO's u64 properties read, and LUO's in its "LUO" sub-FDT (include/linux/kho/abi/luo.h):
 * where they may appear and what the number means.
 */
const KHO_U64: Record<string, { where: 'root' | 'subnode'; meaning: 'address' | 'size' | 'count' }> = {
  'preserved-memory-map': { where: 'root', meaning: 'address' },
  fdt: { where: 'subnode', meaning: 'address' },
  'preserved-data': { where: 'subnode', meaning: 'address' },
  'blob-size': { where: 'subnode', meaning: 'size' },
  'liveupdate-number': { where: 'root', meaning: 'count' },
  'luo-session-header': { where: 'subnode', meaning: 'address' },
};

const PAGE_SHIFT = 12n;

function describeU64(v: bigint, meaning: 'address' | 'size' | 'count'): string {
  const hexV = `0x${v.toString(16)}`;
  if (meaning === 'size') return `${hexV} (u64 little-endian: ${v} bytes)`;
  if (meaning === 'count') return `${v} (u64 little-endian)`;
  const offset = v & ((1n << PAGE_SHIFT) - 1n);
  const pfn = `pfn 0x${(v >> PAGE_SHIFT).toString(16)}${offset ? ` + 0x${offset.toString(16)}` : ''}`;
  return `${hexV} (u64 little-endian: physical address, ${pfn})`;
}

/** One property's value for the listing: KHO's u64s decoded, compatible as strings, else DTS. */
export function describeValue(name: string, value: Uint8Array, isRoot: boolean): string | null {
  if (value.length === 0) return null;
  const kho = KHO_U64[name];
  if (kho && (kho.where === 'root') === isRoot) {
    const v = readU64le(value);
    if (v !== null) return describeU64(v, kho.meaning);
    return `${dtsValue(value)} (expected an 8-byte u64, got ${value.length} bytes)`;
  }
  const strings = name === 'compatible' ? readStringList(value) : null;
  if (strings) return strings.map((s) => JSON.stringify(s)).join(', ');
  return dtsValue(value);
}

/**
 * The tree as indented lines: `/`, `name/` per node, `prop = value` under it; past the output
 * bound (or `limit` characters) the last line says the listing was truncated.
 */
export function describeFdt(root: FdtNode, memReserve: readonly FdtMemReserve[] = [], limit?: number): string[] {
  const out = budgetFor(root, memReserve, limit, 1);
  for (const { kind, node, depth } of fdtWalk(root)) {
    if (kind === 'leave') continue;
    const indent = '  '.repeat(depth);
    if (!out.add(depth === 0 ? '/' : `${indent}${node.name}/`)) break;
    for (const p of node.props) {
      const v = describeValue(p.name, p.value, depth === 0);
      if (!out.add(v === null ? `${indent}  ${p.name} (empty)` : `${indent}  ${p.name} = ${v}`)) break;
    }
    if (out.truncated) break;
  }
  return out.truncated ? [...out.parts, `… ${out.note}`] : out.parts;
}
