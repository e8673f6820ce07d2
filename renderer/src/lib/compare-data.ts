/**
 * DOC: the memfd comparison, shaped for the view
 *
 * Pure functions between a MemfdCompare (shared/compare.ts) and what the compare view draws: each
 * format's colour and short label, an error split into errno and reason, the series of the bar
 * chart and of a sparseness sweep, and the geometry of the physical-layout strips (runs in pixels,
 * the address ruler, the run under the pointer). Kept out of the components so tests check numbers.
 */
import type { FormatResult, MemfdCompare } from '../../../shared/compare';
import { PAGE_SIZE, hex } from '../../../shared/units';

export interface FormatStyle {
  color: string;
  /** Where it comes from, in a few words: "merged in 6.19". */
  short: string;
  /** How it stores the folio array. */
  note: string;
  merged: boolean;
}

/**
 * The three formats of the memfd debate: mm/memfd_luo.c of Linux 6.19, of LUO patch v3 29/30
 * (memfd FDT), and of its port to the KHO array RFC.
 */
const KNOWN: Record<string, FormatStyle> = {
  'memfd-v1': {
    color: '#5fa8ff',
    short: 'merged in 6.19',
    note: '16 B memfd_luo_folio_ser per folio in a kho_vmalloc array',
    merged: true,
  },
  'memfd-fdt-v1': {
    color: '#e5b454',
    short: 'LUO patch v3 · Aug 2025',
    note: '16 B per folio in one FDT folio ≤ MAX_PAGE_ORDER (4 MiB)',
    merged: false,
  },
  'memfd-karr-v1': {
    color: '#c58af9',
    short: 'KHO array RFC · Sep 2025',
    note: 'kho_array pages of 510 u64 entries, indexed by file offset',
    merged: false,
  },
};
const SPARE_COLORS = ['#3fc7b8', '#e07a5f', '#9fd05a'];

export function formatStyle(f: Pick<FormatResult, 'compatible' | 'origin'>, index: number): FormatStyle {
  return (
    KNOWN[f.compatible] ?? {
      color: SPARE_COLORS[index % SPARE_COLORS.length]!,
      short: f.origin,
      note: '',
      merged: /merged in/.test(f.origin) && !/not merged/.test(f.origin),
    }
  );
}

export const ERROR_COLOR = '#ff6b6b';

/** "ioctl(…): ENOMEM (524288 folios need …)" → its parts; null parts when the text has another shape. */
export function splitError(error: string): { call: string | null; errno: string | null; reason: string } {
  const m = /^(.*?):\s+(E[A-Z0-9]+)(?:\s+\(([\s\S]*)\))?$/.exec(error);
  return m ? { call: m[1]!, errno: m[2]!, reason: m[3] ?? '' } : { call: null, errno: null, reason: error };
}

/** The errno of a failed format ("ENOMEM"), or "failed" when the error names none. */
export const errnoOf = (f: FormatResult): string => (f.error ? (splitError(f.error).errno ?? 'failed') : 'failed');

/** [base^a, base^b] around the values, one power of headroom on top (for labels); [1, 4·base] when empty. */
export function logRange(values: readonly number[], base = 2): [number, number] {
  const v = values.filter((x) => x > 0 && Number.isFinite(x));
  if (v.length === 0) return [1, base ** 2];
  const lo = Math.floor(Math.log(Math.min(...v)) / Math.log(base) + 1e-9);
  const hi = Math.ceil(Math.log(Math.max(...v)) / Math.log(base) - 1e-9);
  return [base ** Math.min(lo, 0), base ** (hi + 1)];
}

/**
 * Powers of two in [min, max] for a log₂ axis, at most `maxTicks` of them: every power when there
 * is room, else every 2nd, 4th… exponent (multiples of the stride, so 4 KiB = 2¹² stays a tick).
 */
export function log2Splits(min: number, max: number, maxTicks: number): number[] {
  if (!(min > 0) || !(max >= min)) return [];
  const lo = Math.ceil(Math.log2(min) - 1e-9);
  const hi = Math.floor(Math.log2(max) + 1e-9);
  let stride = 1;
  while (Math.floor(hi / stride) - Math.ceil(lo / stride) + 1 > Math.max(1, maxTicks)) stride *= 2;
  const out: number[] = [];
  for (let e = Math.ceil(lo / stride) * stride; e <= hi; e += stride) out.push(2 ** e);
  return out;
}

/** "8 B", "4 KiB", "1.5 KiB": an axis value in bytes. */
export function bytesTick(v: number): string {
  if (v >= 1024) {
    const k = v / 1024;
    return `${Number.isInteger(k) ? k : k.toFixed(1)} KiB`;
  }
  return `${Number.isInteger(v) ? v : Number(v.toPrecision(2))} B`;
}

/** The bar chart: x = format index; one series per format with a value at its own index only. */
export function barData(c: MemfdCompare): { x: number[]; series: Array<Array<number | null>> } {
  const x = c.formats.map((_, i) => i);
  const series = c.formats.map((f, i) => x.map((j) => (j === i && f.ok && f.dataFolios > 0 ? f.bytesPerFolio : null)));
  return { x, series };
}

export interface SweepPoint {
  sparse: number;
  result: MemfdCompare;
}

/** Where a sparseness sits on the sweep's x axis: −log10(1 − s), so 0.9, 0.99, 0.999 are evenly spaced. */
export const sweepX = (sparse: number): number => 0 - Math.log10(1 - sparse);

/** A sparseness as the axis and the table print it: 0, 0.5, 0.999. */
export const sparseText = (s: number): string => String(Number(s.toPrecision(6)));

export interface SweepSeries {
  compatibles: string[];
  origins: string[];
  x: number[];
  /** bytes per folio per format and point; null where the format failed or had no folio. */
  y: Array<Array<number | null>>;
  /** The errno per format and point where it failed, else null. */
  failed: Array<Array<string | null>>;
}

/** Points in sparseness order; formats in the order of the first point. */
export function sweepSeries(points: readonly SweepPoint[]): SweepSeries {
  const sorted = [...points].sort((a, b) => a.sparse - b.sparse);
  const first = sorted[0]?.result.formats ?? [];
  const compatibles = first.map((f) => f.compatible);
  const byFormat = (p: SweepPoint, c: string) => p.result.formats.find((f) => f.compatible === c);
  return {
    compatibles,
    origins: first.map((f) => f.origin),
    x: sorted.map((p) => sweepX(p.sparse)),
    y: compatibles.map((c) =>
      sorted.map((p) => {
        const f = byFormat(p, c);
        return f && f.ok && f.dataFolios > 0 ? f.bytesPerFolio : null;
      }),
    ),
    failed: compatibles.map((c) =>
      sorted.map((p) => {
        const f = byFormat(p, c);
        return f && !f.ok ? errnoOf(f) : null;
      }),
    ),
  };
}

/** The sweep as a spreadsheet: one row per sparseness and format, raw numbers. */
export function sweepCsv(points: readonly SweepPoint[]): string {
  const esc = (v: string | number | boolean | null) => {
    const s = v === null ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const cols = [
    'sparse',
    'compatible',
    'ok',
    'error',
    'limit',
    'dataFolios',
    'metaPages',
    'metaBytes',
    'usedBytes',
    'bytesPerFolio',
  ] as const;
  const lines: string[] = [cols.join(',')];
  for (const p of [...points].sort((a, b) => a.sparse - b.sparse)) {
    for (const f of p.result.formats) {
      lines.push(
        [
          p.sparse,
          f.compatible,
          f.ok,
          f.error,
          f.limit,
          f.dataFolios,
          f.metaPages,
          f.metaBytes,
          f.usedBytes,
          f.bytesPerFolio,
        ]
          .map(esc)
          .join(','),
      );
    }
  }
  return lines.join('\n') + '\n';
}

// --- the physical layout strips -----------------------------------------------------------------

/** Page frames [first, end) a strip spans. */
export interface PfnRange {
  first: number;
  end: number;
}

/** Where the metadata of all formats lies: from the lowest run to the end of the highest; null if none. */
export function metadataSpan(formats: readonly FormatResult[]): PfnRange | null {
  let first = Infinity;
  let end = -Infinity;
  for (const f of formats) {
    for (const [pfn, pages] of f.layout) {
      first = Math.min(first, pfn);
      end = Math.max(end, pfn + pages);
    }
  }
  return end > first ? { first, end } : null;
}

/** The whole machine, or the metadata span with a margin of 2% (at least 16 pages) a side, inside [0, maxPfn). */
export function stripRange(mode: 'ram' | 'metadata', maxPfn: number, formats: readonly FormatResult[]): PfnRange {
  const all = { first: 0, end: Math.max(1, maxPfn) };
  const span = mode === 'metadata' ? metadataSpan(formats) : null;
  if (!span) return all;
  const margin = Math.max(16, Math.ceil((span.end - span.first) * 0.02));
  return { first: Math.max(0, span.first - margin), end: Math.min(all.end, span.end + margin) };
}

/**
 * The runs as x/width in CSS pixels across `width`, each at least `minPx` wide so a single page is
 * still seen, and overlapping rectangles merged.
 */
export function runRects(
  layout: readonly (readonly [number, number])[],
  range: PfnRange,
  width: number,
  minPx = 2,
): Array<{ x: number; w: number }> {
  const scale = width / (range.end - range.first);
  const out: Array<{ x: number; w: number }> = [];
  for (const [pfn, pages] of layout) {
    const a = Math.max(pfn, range.first);
    const b = Math.min(pfn + pages, range.end);
    if (b <= a) continue;
    let x = (a - range.first) * scale;
    let w = Math.max(minPx, (b - a) * scale);
    if (x + w > width) x = Math.max(0, width - w);
    const last = out[out.length - 1];
    if (last && x <= last.x + last.w) {
      last.w = Math.max(last.w, x + w - last.x);
      continue;
    }
    w = Math.min(w, width - x);
    out.push({ x, w });
  }
  return out;
}

/** The run that holds `pfn`, or the nearest one within `slack` pages (a pointer is a few pages wide). */
export function runAt(layout: readonly (readonly [number, number])[], pfn: number, slack = 0): [number, number] | null {
  let best: [number, number] | null = null;
  let bestDist = Infinity;
  // Runs are in physical order: binary search for the last run starting at or before pfn + slack.
  let lo = 0;
  let hi = layout.length - 1;
  let idx = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (layout[mid]![0] <= pfn + slack) {
      idx = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  for (let i = Math.max(0, idx - 1); i <= Math.min(layout.length - 1, idx + 1); i++) {
    const [first, pages] = layout[i]!;
    const dist = pfn < first ? first - pfn : pfn >= first + pages ? pfn - (first + pages - 1) : 0;
    if (dist <= slack && dist < bestDist) {
      best = [first, pages];
      bestDist = dist;
    }
  }
  return best;
}

export interface Tick {
  pfn: number;
  /** CSS pixels from the strip's left edge. */
  x: number;
  /** The physical address, as the kernel prints it. */
  label: string;
}

/** Address ticks at a power-of-two stride of pages, at least `minGapPx` apart. */
export function addressTicks(range: PfnRange, width: number, minGapPx = 130): Tick[] {
  const span = range.end - range.first;
  if (width <= 0 || span <= 0) return [];
  const minPages = (span * minGapPx) / width;
  let step = 1;
  while (step < minPages) step *= 2;
  const ticks: Tick[] = [];
  for (let pfn = Math.ceil(range.first / step) * step; pfn <= range.end; pfn += step) {
    ticks.push({ pfn, x: ((pfn - range.first) / span) * width, label: hex(pfn * PAGE_SIZE) });
  }
  return ticks;
}

/** "0x8e400000–0x8e800000": a run of pages as physical addresses, end exclusive. */
export const runText = ([first, pages]: readonly [number, number]): string =>
  `${hex(first * PAGE_SIZE)}–${hex((first + pages) * PAGE_SIZE)}`;
