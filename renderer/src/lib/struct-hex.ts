/**
 * DOC: annotated structs as hex
 *
 * The struct viewer's model, for any AnnotatedStruct (shared/views.ts) — the one annotated hex
 * view of every inspector: every field becomes a span of bytes with a key and a colour (one
 * colour per field of a struct type, so `token` has the same colour in every luo_file_ser), and
 * the bytes become hex lines whose cells know their span, so hovering a field in the table can
 * light up its bytes and the other way round. Runs of identical lines no field covers collapse
 * into one `*` line, as hexdump prints them.
 */
import type { AnnotatedStruct, StructField } from '../../../shared/views';

/** Printable ASCII as itself, everything else as '.', like hexdump -C. */
function asciiOf(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  return s;
}

/** Offset column text: at least `digits` hex digits, no prefix (as xxd prints it). */
export const offsetText = (offset: number, digits = 4): string => offset.toString(16).padStart(digits, '0');

/** A physical address as the kernel prints it with %pa: `0x0000000038c0e000`. */
export const physText = (phys: number): string => '0x' + phys.toString(16).padStart(16, '0');

export interface FieldSpan {
  /** `h.count`, `3.token`, `s1.4`: the header's fields, element i's, or field j of section i. */
  key: string;
  /** Array element index; null for a header field. */
  element: number | null;
  field: StructField;
  /** Index into SPAN_COLORS. */
  color: number;
}

/** Field colours, in field order within a struct. */
export const SPAN_COLORS = [
  '#9fd0ff',
  '#ffd27f',
  '#9be59b',
  '#ff9fd0',
  '#c7a8ff',
  '#7fe0d8',
  '#ffb38a',
  '#d8e07f',
] as const;

export function fieldSpans(s: AnnotatedStruct): FieldSpan[] {
  const spans: FieldSpan[] = [];
  s.header?.fields.forEach((field, i) =>
    spans.push({ key: `h.${field.name}`, element: null, field, color: i % SPAN_COLORS.length }),
  );
  // Element fields continue the colours after the header's, so a header and its array differ.
  const base = s.header?.fields.length ?? 0;
  s.array?.elements.forEach((fields, e) =>
    fields.forEach((field, i) =>
      spans.push({ key: `${e}.${field.name}`, element: e, field, color: (base + i) % SPAN_COLORS.length }),
    ),
  );
  // Sections (an FDT's blocks) have no repeating type: neighbouring fields take turns.
  s.sections?.forEach((sec, si) =>
    sec.fields.forEach((field, j) =>
      spans.push({ key: sectionKey(si, j), element: null, field, color: j % SPAN_COLORS.length }),
    ),
  );
  return spans;
}

interface HexCell {
  /** Two hex digits. */
  text: string;
  /** Index of the span the byte belongs to, or -1 (padding, bytes no field covers). */
  span: number;
  /** The byte starts a group of four (a gap before it), as `xxd -g4` prints. */
  groupStart: boolean;
  /** The byte is the first of an array element (the viewer marks where each element begins). */
  elementStart: boolean;
}

export interface StructLine {
  offset: number;
  cells: HexCell[];
  ascii: string;
  /** A `*` line: this many bytes repeat the line above and belong to no field (cells is empty). */
  skipped?: number;
}

/** The key of field `j` of section `i`. */
export const sectionKey = (i: number, j: number): string => `s${i}.${j}`;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Hex lines of `width` bytes over the whole record, each byte tagged with its field span. */
export function structLines(s: AnnotatedStruct, spans: readonly FieldSpan[], width = 16): StructLine[] {
  const owner = new Int32Array(s.bytes.length).fill(-1);
  spans.forEach((sp, i) => owner.fill(i, sp.field.offset, Math.min(s.bytes.length, sp.field.offset + sp.field.size)));
  const starts = new Set<number>();
  if (s.array) for (let e = 0; e < s.array.elements.length; e++) starts.add(s.array.offset + e * s.array.stride);
  const lines: StructLine[] = [];
  let last: StructLine | null = null;
  let skip: StructLine | null = null;
  for (let off = 0; off < s.bytes.length; off += width) {
    const end = Math.min(s.bytes.length, off + width);
    const bare = owner.subarray(off, end).every((o) => o < 0);
    const repeats =
      last !== null &&
      last.cells.length === end - off &&
      last.cells.every((c) => c.span < 0) &&
      s.bytes.subarray(off, end).every((b, i) => b === s.bytes[last!.offset + i]);
    if (bare && repeats) {
      if (!skip) lines.push((skip = { offset: off, cells: [], ascii: '', skipped: 0 }));
      skip.skipped! += end - off;
      continue;
    }
    const cells: HexCell[] = [];
    for (let i = off; i < end; i++)
      cells.push({
        text: HEX[s.bytes[i]!]!,
        span: owner[i]!,
        groupStart: i > off && (i - off) % 4 === 0,
        elementStart: starts.has(i),
      });
    lines.push((last = { offset: off, cells, ascii: asciiOf(s.bytes.subarray(off, end)) }));
    skip = null;
  }
  return lines;
}

/** Column names of the array table: the field names of the first element. */
export function arrayColumns(s: AnnotatedStruct): string[] {
  return s.array?.elements[0]?.map((f) => f.name) ?? [];
}
