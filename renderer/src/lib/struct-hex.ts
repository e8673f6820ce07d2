/**
 * DOC: annotated structs as hex
 *
 * The struct viewer's model, for any AnnotatedStruct (shared/views.ts): every field becomes a
 * span of bytes with a key and a colour (one colour per field of a struct type, so `token` has
 * the same colour in every luo_file_ser), and the bytes become hex lines whose cells know their
 * span, so hovering a field in the table can light up its bytes and the other way round.
 */
import type { AnnotatedStruct, StructField } from '../../../shared/views';
import { asciiOf } from './hexdump';

export interface FieldSpan {
  /** `h.count`, `3.token`: the header's fields, or element i's. */
  key: string;
  /** Array element index; null for a header field. */
  element: number | null;
  field: StructField;
  /** Index into SPAN_COLORS. */
  color: number;
}

/** Field colours, in field order within a struct. */
export const SPAN_COLORS = ['#9fd0ff', '#ffd27f', '#9be59b', '#ff9fd0', '#c7a8ff', '#7fe0d8', '#ffb38a', '#d8e07f'] as const;

export function fieldSpans(s: AnnotatedStruct): FieldSpan[] {
  const spans: FieldSpan[] = [];
  s.header?.fields.forEach((field, i) => spans.push({ key: `h.${field.name}`, element: null, field, color: i % SPAN_COLORS.length }));
  // Element fields continue the colours after the header's, so a header and its array differ.
  const base = s.header?.fields.length ?? 0;
  s.array?.elements.forEach((fields, e) =>
    fields.forEach((field, i) => spans.push({ key: `${e}.${field.name}`, element: e, field, color: (base + i) % SPAN_COLORS.length })),
  );
  return spans;
}

export interface HexCell {
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
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Hex lines of `width` bytes over the whole record, each byte tagged with its field span. */
export function structLines(s: AnnotatedStruct, spans: readonly FieldSpan[], width = 16): StructLine[] {
  const owner = new Int32Array(s.bytes.length).fill(-1);
  spans.forEach((sp, i) => owner.fill(i, sp.field.offset, Math.min(s.bytes.length, sp.field.offset + sp.field.size)));
  const starts = new Set<number>();
  if (s.array) for (let e = 0; e < s.array.elements.length; e++) starts.add(s.array.offset + e * s.array.stride);
  const lines: StructLine[] = [];
  for (let off = 0; off < s.bytes.length; off += width) {
    const end = Math.min(s.bytes.length, off + width);
    const cells: HexCell[] = [];
    for (let i = off; i < end; i++) cells.push({ text: HEX[s.bytes[i]!]!, span: owner[i]!, groupStart: i > off && (i - off) % 4 === 0, elementStart: starts.has(i) });
    lines.push({ offset: off, cells, ascii: asciiOf(s.bytes.subarray(off, end)) });
  }
  return lines;
}

/** Column names of the array table: the field names of the first element. */
export function arrayColumns(s: AnnotatedStruct): string[] {
  return s.array?.elements[0]?.map((f) => f.name) ?? [];
}
