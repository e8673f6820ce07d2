/**
 * DOC: FDT blobs, annotated
 *
 * Reads a flattened devicetree (the KHO root FDT or a sub-FDT) the way a kernel developer checks
 * one by hand: the header fields, the memory reservation map, the structure block token by token
 * (FDT_BEGIN_NODE, FDT_PROP with its name from the strings block, FDT_END_NODE, FDT_END) and the
 * strings block. All values in an FDT are big-endian; KHO's u64 properties are native-endian
 * (little-endian on x86_64) and are decoded as such.
 */
import { bytesRow, headingRow, hexRows, offsetText, physText, u32be, u64le, type HexRow } from './hexdump';

export const FDT_MAGIC = 0xd00dfeed;
export const FDT_HEADER_SIZE = 40;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;

export const FDT_HEADER_FIELDS = [
  'magic',
  'totalsize',
  'off_dt_struct',
  'off_dt_strings',
  'off_mem_rsvmap',
  'version',
  'last_comp_version',
  'boot_cpuid_phys',
  'size_dt_strings',
  'size_dt_struct',
] as const;
export type FdtHeaderName = (typeof FDT_HEADER_FIELDS)[number];
export type FdtHeader = Record<FdtHeaderName, number>;

/** The header, or a message when the blob is too short or the magic is wrong. */
export function fdtHeader(b: Uint8Array): FdtHeader | string {
  if (b.length < FDT_HEADER_SIZE) return `blob is ${b.length} bytes, shorter than the ${FDT_HEADER_SIZE}-byte header`;
  const h = Object.fromEntries(FDT_HEADER_FIELDS.map((name, i) => [name, u32be(b, i * 4)])) as FdtHeader;
  if (h.magic !== FDT_MAGIC) return `bad magic 0x${h.magic.toString(16).padStart(8, '0')} (expected 0xd00dfeed)`;
  return h;
}

export interface FdtProp {
  /** Node path, '/' for the root: `/kho_test`. */
  path: string;
  name: string;
  value: Uint8Array;
}

interface Token {
  offset: number;
  size: number;
  tag: number;
  name?: string;
  prop?: FdtProp;
  nameoff?: number;
}

function cstr(b: Uint8Array, off: number, end: number): string | null {
  let i = off;
  while (i < end && b[i] !== 0) i++;
  if (i >= end) return null;
  return new TextDecoder().decode(b.subarray(off, i));
}

const align4 = (n: number) => (n + 3) & ~3;

/** Walks the structure block; stops at FDT_END or at the first malformed token. */
function tokens(b: Uint8Array, h: FdtHeader): { tokens: Token[]; error?: string } {
  const start = h.off_dt_struct;
  const end = Math.min(b.length, start + h.size_dt_struct);
  const strStart = h.off_dt_strings;
  const strEnd = Math.min(b.length, strStart + h.size_dt_strings);
  const out: Token[] = [];
  const path: string[] = [];
  let off = start;
  while (off + 4 <= end) {
    const tag = u32be(b, off);
    if (tag === FDT_BEGIN_NODE) {
      const name = cstr(b, off + 4, end);
      if (name === null) return { tokens: out, error: `unterminated node name at 0x${off.toString(16)}` };
      const size = 4 + align4(name.length + 1);
      out.push({ offset: off, size, tag, name });
      path.push(name);
      off += size;
    } else if (tag === FDT_END_NODE) {
      out.push({ offset: off, size: 4, tag });
      path.pop();
      off += 4;
    } else if (tag === FDT_PROP) {
      if (off + 12 > end) return { tokens: out, error: `truncated FDT_PROP at 0x${off.toString(16)}` };
      const len = u32be(b, off + 4);
      const nameoff = u32be(b, off + 8);
      const name = cstr(b, strStart + nameoff, strEnd) ?? `<bad nameoff 0x${nameoff.toString(16)}>`;
      if (off + 12 + len > end) return { tokens: out, error: `property ${name} runs past the structure block` };
      const value = b.subarray(off + 12, off + 12 + len);
      const nodePath = '/' + path.slice(1).join('/');
      const size = 12 + align4(len);
      out.push({ offset: off, size, tag, name, nameoff, prop: { path: nodePath, name, value } });
      off += size;
    } else if (tag === FDT_NOP) {
      out.push({ offset: off, size: 4, tag });
      off += 4;
    } else if (tag === FDT_END) {
      out.push({ offset: off, size: 4, tag });
      return { tokens: out };
    } else {
      return { tokens: out, error: `unknown token 0x${tag.toString(16)} at 0x${off.toString(16)}` };
    }
  }
  return { tokens: out, error: 'no FDT_END token' };
}

/** Every property with its node path, in blob order. */
export function fdtProps(b: Uint8Array): FdtProp[] {
  const h = fdtHeader(b);
  if (typeof h === 'string') return [];
  return tokens(b, h)
    .tokens.map((t) => t.prop)
    .filter((p): p is FdtProp => p !== undefined);
}

/** A KHO u64 property (native-endian physical address) of a node, or null. */
export function fdtU64(b: Uint8Array, path: string, name: string): number | null {
  const p = fdtProps(b).find((x) => x.path === path && x.name === name);
  return p && p.value.length === 8 ? u64le(p.value, 0) : null;
}

/** A property value as dtc would print it, short: "kho-v1", <0x1 0x2>, [01 02]. */
export function propText(v: Uint8Array): string {
  if (v.length === 0) return '(empty)';
  if (v[v.length - 1] === 0) {
    const parts = new TextDecoder().decode(v.subarray(0, v.length - 1)).split('\0');
    if (parts.every((p) => /^[\x20-\x7e]+$/.test(p))) return parts.map((p) => `"${p}"`).join(', ');
  }
  if (v.length % 4 === 0) {
    const cells = [];
    for (let i = 0; i < v.length; i += 4) cells.push('0x' + u32be(v, i).toString(16));
    return `<${cells.join(' ')}>`;
  }
  return `[${Array.from(v, (x) => x.toString(16).padStart(2, '0')).join(' ')}]`;
}

const hx = (v: number) => `0x${v.toString(16)}`;
const HEADER_NOTES: Record<FdtHeaderName, (v: number) => string> = {
  magic: (v) => (v === FDT_MAGIC ? 'FDT_MAGIC' : 'bad magic'),
  totalsize: (v) => `${v} bytes`,
  off_dt_struct: hx,
  off_dt_strings: hx,
  off_mem_rsvmap: hx,
  version: String,
  last_comp_version: String,
  boot_cpuid_phys: String,
  size_dt_strings: (v) => `${v} bytes`,
  size_dt_struct: (v) => `${v} bytes`,
};

const TOKEN_NAMES: Record<number, string> = {
  [FDT_BEGIN_NODE]: 'FDT_BEGIN_NODE',
  [FDT_END_NODE]: 'FDT_END_NODE',
  [FDT_PROP]: 'FDT_PROP',
  [FDT_NOP]: 'FDT_NOP',
  [FDT_END]: 'FDT_END',
};

/** A property value for the annotation: KHO u64s as physical addresses too. */
function valueNote(p: FdtProp): string {
  const dts = propText(p.value);
  if (p.value.length === 8 && (p.name === 'fdt' || p.name === 'preserved-memory-map')) return `${dts} (u64 LE ${hx(u64le(p.value, 0))})`;
  return dts;
}

/** Rows for `size` bytes at `off`, 16 per row, the label and note on the first. */
function rowsFor(b: Uint8Array, off: number, size: number, label?: string, note?: string): HexRow[] {
  const rows: HexRow[] = [];
  for (let o = off; o < off + size; o += 16) {
    const first = o === off;
    rows.push(bytesRow(b.subarray(o, Math.min(off + size, o + 16)), o, first ? label : undefined, first ? note : undefined));
  }
  return rows;
}

/**
 * The blob as annotated hex: a heading per region (header, memory reservation map, structure
 * block, strings block), each header field on its own row, each structure token with its
 * meaning, and the bytes no region covers as plain (collapsed) rows.
 */
export function annotatedFdt(b: Uint8Array): { rows: HexRow[]; error?: string } {
  const h = fdtHeader(b);
  if (typeof h === 'string') return { rows: hexRows(b, 0, Math.min(b.length, 256)), error: h };
  const regions: Array<{ start: number; end: number; rows: HexRow[] }> = [];

  const header: HexRow[] = [headingRow(0, 'header', 'struct fdt_header, be32 fields')];
  FDT_HEADER_FIELDS.forEach((name, i) => header.push(bytesRow(b.subarray(i * 4, i * 4 + 4), i * 4, name, HEADER_NOTES[name](h[name]))));
  regions.push({ start: 0, end: FDT_HEADER_SIZE, rows: header });

  // Memory reservation map: (address, size) big-endian u64 pairs up to a zero pair.
  const rsv: HexRow[] = [headingRow(h.off_mem_rsvmap, 'memory reservation map', 'be64 address, size pairs')];
  let off = h.off_mem_rsvmap;
  for (; off + 16 <= b.length; off += 16) {
    const dv = new DataView(b.buffer, b.byteOffset + off, 16);
    const addr = dv.getUint32(0) * 2 ** 32 + dv.getUint32(4);
    const size = dv.getUint32(8) * 2 ** 32 + dv.getUint32(12);
    const end = addr === 0 && size === 0;
    rsv.push(bytesRow(b.subarray(off, off + 16), off, end ? 'terminator' : '/memreserve/', end ? 'address 0, size 0' : `${physText(addr)} size 0x${size.toString(16)}`));
    if (end) {
      off += 16;
      break;
    }
  }
  regions.push({ start: h.off_mem_rsvmap, end: off, rows: rsv });

  const t = tokens(b, h);
  const struct: HexRow[] = [headingRow(h.off_dt_struct, 'structure block', `${h.size_dt_struct} bytes`)];
  let depth = 0;
  for (const tok of t.tokens) {
    const name = TOKEN_NAMES[tok.tag]!;
    let note = '';
    if (tok.tag === FDT_BEGIN_NODE) note = `${'  '.repeat(depth)}${tok.name === '' ? '/' : tok.name} {`;
    else if (tok.tag === FDT_END_NODE) note = `${'  '.repeat(Math.max(0, depth - 1))}};`;
    else if (tok.tag === FDT_PROP) note = `${'  '.repeat(depth)}${tok.name} = ${valueNote(tok.prop!)}; len ${tok.prop!.value.length} nameoff ${hx(tok.nameoff!)}`;
    if (tok.tag === FDT_BEGIN_NODE) depth++;
    if (tok.tag === FDT_END_NODE) depth--;
    struct.push(...rowsFor(b, tok.offset, tok.size, name, note || undefined));
  }
  regions.push({ start: h.off_dt_struct, end: Math.min(b.length, h.off_dt_struct + h.size_dt_struct), rows: struct });

  const strEnd = Math.min(b.length, h.off_dt_strings + h.size_dt_strings);
  const strings: HexRow[] = [headingRow(h.off_dt_strings, 'strings block', `${h.size_dt_strings} bytes`)];
  for (let o = h.off_dt_strings; o < strEnd; ) {
    const s = cstr(b, o, strEnd);
    const len = s === null ? strEnd - o : s.length + 1;
    strings.push(...rowsFor(b, o, len, `+0x${(o - h.off_dt_strings).toString(16)}`, s === null ? 'unterminated' : `"${s}"`));
    o += len;
  }
  regions.push({ start: h.off_dt_strings, end: strEnd, rows: strings });

  regions.sort((a, c) => a.start - c.start);
  const rows: HexRow[] = [];
  let pos = 0;
  const total = Math.min(b.length, h.totalsize);
  for (const r of regions) {
    if (r.start > pos) rows.push(headingRow(pos, 'free space'), ...hexRows(b, pos, Math.min(r.start, total)));
    rows.push(...r.rows);
    pos = Math.max(pos, r.end);
  }
  if (pos < total) rows.push(headingRow(pos, 'free space', `${total - pos} bytes up to totalsize`), ...hexRows(b, pos, total));
  return t.error ? { rows, error: t.error } : { rows };
}

export { offsetText };
