/**
 * DOC: a page as hex, with its struct overlay and its diff
 *
 * The page inspector's bytes section, as plain functions: the records the host decoded on the
 * page become coloured spans at page offsets (the struct viewer's field colours, struct-hex.ts),
 * the page's 4096 bytes become rows of 16 (shown a window at a time, so a page never renders
 * 4096 cells at once), and each byte says whether it differs from the same page at an earlier
 * state.
 */
import { PAGE_SIZE } from '../../../shared/units';
import type { AnnotatedStruct } from '../../../shared/views';
import { SPAN_COLORS, fieldSpans } from './struct-hex';

/** What the page is diffed against: nothing, the step before the cursor, or the last kexec's RAM. */
export type BytesBase = 'none' | 'step' | 'generation';

export const ROW_BYTES = 16;
/** Rows shown at once: 512 bytes, eight windows per page. */
export const WINDOW_ROWS = 32;
export const WINDOW_BYTES = ROW_BYTES * WINDOW_ROWS;
export const WINDOWS = PAGE_SIZE / WINDOW_BYTES;

/** One field of a record, where it lies in the page. */
export interface OverlaySpan {
  /** Page offsets [start, end), clipped to the page. */
  start: number;
  end: number;
  /** The record's title and the field: `khoser_mem_chunk_hdr`, `order`. */
  record: string;
  field: string;
  value: string;
  color: string;
}

/** The decoded records' fields as spans of the page at `pagePhys`, in offset order. */
export function overlaySpans(records: readonly AnnotatedStruct[], pagePhys: number): OverlaySpan[] {
  const out: OverlaySpan[] = [];
  for (const r of records) {
    // A copy of what the kernel read at early boot is not what RAM holds: it overlays nothing.
    if (r.readAtBoot) continue;
    for (const sp of fieldSpans(r)) {
      const start = r.phys - pagePhys + sp.field.offset;
      const end = start + sp.field.size;
      if (end <= 0 || start >= PAGE_SIZE || sp.field.size <= 0) continue;
      out.push({
        start: Math.max(0, start),
        end: Math.min(PAGE_SIZE, end),
        record: r.title,
        field: sp.element === null ? sp.field.name : `[${sp.element}].${sp.field.name}`,
        value: sp.field.value,
        color: SPAN_COLORS[sp.color]!,
      });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

export interface HexCell {
  text: string;
  /** Index into the overlay spans, or -1. */
  span: number;
  changed: boolean;
  /** The byte before the change (two hex digits), for the tooltip. */
  was?: string;
}

export interface HexRow {
  offset: number;
  cells: HexCell[];
  ascii: string;
  changed: number;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const ascii = (b: number) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.');

/** The rows of window `w` (0 … WINDOWS-1), each byte tagged with its span and whether it changed. */
export function hexRows(
  bytes: Uint8Array,
  base: Uint8Array | null,
  spans: readonly OverlaySpan[],
  w: number,
): HexRow[] {
  const owner = new Int16Array(PAGE_SIZE).fill(-1);
  spans.forEach((s, i) => owner.fill(i, s.start, s.end));
  const rows: HexRow[] = [];
  const first = w * WINDOW_BYTES;
  for (let off = first; off < Math.min(bytes.length, first + WINDOW_BYTES); off += ROW_BYTES) {
    const cells: HexCell[] = [];
    let text = '';
    let changed = 0;
    for (let i = off; i < off + ROW_BYTES; i++) {
      const b = bytes[i]!;
      const diff = base !== null && base[i] !== b;
      if (diff) changed++;
      cells.push({ text: HEX[b]!, span: owner[i]!, changed: diff, ...(diff ? { was: HEX[base[i]!]! } : {}) });
      text += ascii(b);
    }
    rows.push({ offset: off, cells, ascii: text, changed });
  }
  return rows;
}

/** Changed bytes per window, so the window buttons can say where the changes are. */
export function changesPerWindow(bytes: Uint8Array, base: Uint8Array | null): number[] {
  const out = new Array<number>(WINDOWS).fill(0);
  if (!base) return out;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== base[i]) out[Math.floor(i / WINDOW_BYTES)]!++;
  return out;
}

/** Overlay spans that lie (partly) in window `w`. */
export function spansInWindow(spans: readonly OverlaySpan[], w: number): Array<{ span: OverlaySpan; index: number }> {
  const lo = w * WINDOW_BYTES;
  const hi = lo + WINDOW_BYTES;
  return spans.map((span, index) => ({ span, index })).filter(({ span }) => span.start < hi && span.end > lo);
}
