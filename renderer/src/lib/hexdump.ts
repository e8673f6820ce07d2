/**
 * DOC: hex dumps
 *
 * Rows of a hex dump as kernel developers read them (`xxd -g4`, `hexdump -C`): bytes in memory
 * order grouped in fours, an ASCII column, and a row of `*` for a run of identical rows. Each row
 * can carry a label and a note, so a structure's fields can be annotated next to its bytes.
 */

export interface HexRow {
  kind: 'bytes' | 'heading' | 'skip';
  /** Offset of the row's first byte from the start of the dump. */
  offset: number;
  /** Bytes in memory order, four per group: `d00dfeed 00000150`. Empty for headings. */
  hex: string;
  ascii: string;
  /** Number of bytes on the row (or skipped by a `*` row). */
  length: number;
  /** Field or region name (a heading's text). */
  label?: string;
  /** The decoded value, in C or dtc notation. */
  note?: string;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `d00dfeed 00000150`: bytes in memory order, a space between groups. */
export function hexGroups(bytes: Uint8Array, group = 4): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0 && i % group === 0) s += ' ';
    s += HEX[bytes[i]!];
  }
  return s;
}

/** Printable ASCII as itself, everything else as '.', like hexdump -C. */
export function asciiOf(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  return s;
}

export function bytesRow(bytes: Uint8Array, offset: number, label?: string, note?: string): HexRow {
  const row: HexRow = { kind: 'bytes', offset, hex: hexGroups(bytes), ascii: asciiOf(bytes), length: bytes.length };
  if (label !== undefined) row.label = label;
  if (note !== undefined) row.note = note;
  return row;
}

export function headingRow(offset: number, label: string, note?: string): HexRow {
  return { kind: 'heading', offset, hex: '', ascii: '', length: 0, label, ...(note !== undefined ? { note } : {}) };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Plain rows of `width` bytes over [start, end) of `bytes`; with `collapse`, a run of rows equal
 * to the one before becomes one `*` row, as hexdump prints it.
 */
export function hexRows(bytes: Uint8Array, start = 0, end = bytes.length, opts: { width?: number; collapse?: boolean } = {}): HexRow[] {
  const width = opts.width ?? 16;
  const collapse = opts.collapse ?? true;
  const rows: HexRow[] = [];
  let prev: Uint8Array | null = null;
  let skip: HexRow | null = null;
  for (let off = start; off < end; off += width) {
    const line = bytes.subarray(off, Math.min(end, off + width));
    if (collapse && prev && sameBytes(line, prev)) {
      if (!skip) {
        skip = { kind: 'skip', offset: off, hex: '*', ascii: '', length: 0 };
        rows.push(skip);
      }
      skip.length += line.length;
      continue;
    }
    skip = null;
    prev = line;
    rows.push(bytesRow(line, off));
  }
  return rows;
}

/** Offset column text: at least `digits` hex digits, no prefix (as xxd prints it). */
export function offsetText(offset: number, digits = 4): string {
  return offset.toString(16).padStart(digits, '0');
}

/** Little-endian u64 at `off` as a Number (physical addresses fit in 52 bits). */
export function u64le(b: Uint8Array, off: number): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return v.getUint32(off, true) + v.getUint32(off + 4, true) * 2 ** 32;
}

export function u32le(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}

export function u32be(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, false);
}

/** A physical address as the kernel prints it with %pa: `0x0000000038c0e000`. */
export const physText = (phys: number): string => '0x' + phys.toString(16).padStart(16, '0');
