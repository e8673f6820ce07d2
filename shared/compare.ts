/**
 * DOC: the memfd format comparison (issue: "the three array formats of the memfd debate, side by
 * side")
 *
 * The user describes memfds — size, folio orders, how sparse, how many — and the host preserves
 * them in each format in turn on one booted machine, reads back what each format wrote (from RAM,
 * as the next kernel would) and reports the metadata's cost, where it lies, what limit stopped a
 * format and what the next kernel would have to do to restore it.
 */
import { z } from 'zod';
import { SizeSchema } from './machine-config';
import { GiB, PAGE_SIZE, formatBytes } from './units';

const COMPARE_MAX_BYTES = 128 * GiB;

export const MemfdCompareSpecSchema = z
  .object({
    /** Size of each memfd. */
    size: SizeSchema.superRefine((n, ctx) => {
      if (n < PAGE_SIZE || n % PAGE_SIZE)
        ctx.addIssue({ code: 'custom', message: `memfd size ${n} must be a positive multiple of 4 KiB` });
      else if (n > COMPARE_MAX_BYTES)
        ctx.addIssue({
          code: 'custom',
          message: `memfd size ${formatBytes(n)} is above the ${formatBytes(COMPARE_MAX_BYTES)} the compare machine can hold`,
        });
    }),
    /** Folio order the page cache uses: 0 (4 KiB), 9 (2 MiB) or a seeded mix of both per 2 MiB. */
    order: z.enum(['0', '9', 'mixed']).default('0'),
    /** Fraction of the file left as holes (per folio), chosen by the seeded RNG. */
    sparse: z.number().min(0).max(0.9999).default(0),
    files: z.number().int().min(1).max(16).default(1),
    /**
     * 'fill': memfd_pin_folios() fills holes, as every patch does; 'keep': the pin variant the v3
     * patch's comment foresaw (simulator option luo.memfd_keep_holes), so sparseness reaches the format.
     */
    holes: z.enum(['fill', 'keep']).default('keep'),
    seed: z.number().int().min(0).max(0xffffffff).default(1),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.size * s.files > COMPARE_MAX_BYTES)
      ctx.addIssue({
        code: 'custom',
        path: ['files'],
        message: `${s.files} files of ${formatBytes(s.size)} exceed ${formatBytes(COMPARE_MAX_BYTES)}`,
      });
  });

export type MemfdCompareSpecInput = z.input<typeof MemfdCompareSpecSchema>;
export type MemfdCompareSpec = z.output<typeof MemfdCompareSpecSchema>;

/** One kind of metadata block of a format: how many, their size, and how they are restored. */
export interface MetaGroup {
  what: string;
  blocks: number;
  pages: number;
  /** kho_restore_folio or kho_restore_pages. */
  restore: string;
}

export interface FormatResult {
  compatible: string;
  origin: string;
  ok: boolean;
  /** The errno of the first refused PRESERVE_FD. */
  errno: string | null;
  /** That refusal as a shell shows it, with the kernel's reason. */
  error: string | null;
  /** The limit the error comes from, when it is one ("one FDT folio ≤ MAX_PAGE_ORDER"). */
  limit: string | null;
  dataFolios: number;
  dataPages: number;
  metaPages: number;
  metaBytes: number;
  /** Bytes the format's records really use; the rest of metaBytes is slack in its pages. */
  usedBytes: number;
  /** metaBytes / dataFolios. */
  bytesPerFolio: number;
  /** KHO tracker bitmaps (one page each) that mark this format's preserved blocks, data and metadata. */
  trackerPages: number;
  groups: MetaGroup[];
  /** Metadata blocks in physical order, merged into runs: [first pfn, pages] pairs. */
  layout: Array<[number, number]>;
  /** What the next kernel does to rebuild the files, in order. */
  restoreSteps: string[];
  preserveMs: number;
}

export interface MemfdCompare {
  spec: MemfdCompareSpec;
  /** The machine the formats ran on. */
  ramBytes: number;
  maxPfn: number;
  populatedPages: number;
  formats: FormatResult[];
  elapsedMs: number;
}

/** The table as text, one row per measure and a column per format (what the CLI prints). */
export function compareRows(c: MemfdCompare): Array<[string, ...string[]]> {
  const f = c.formats;
  const n = (v: number) => v.toLocaleString('en-US');
  return [
    ['format', ...f.map((x) => x.compatible)],
    ['what it is', ...f.map((x) => x.origin)],
    ['result', ...f.map((x) => (x.ok ? 'preserved' : `refused: ${x.errno ?? 'failed'}`))],
    ['limit hit', ...f.map((x) => x.limit ?? '—')],
    ['data folios', ...f.map((x) => (x.ok ? n(x.dataFolios) : '—'))],
    ['metadata pages', ...f.map((x) => (x.ok ? n(x.metaPages) : '—'))],
    ['metadata bytes', ...f.map((x) => (x.ok ? formatBytes(x.metaBytes) : '—'))],
    ['bytes used in them', ...f.map((x) => (x.ok ? formatBytes(x.usedBytes) : '—'))],
    ['bytes per folio', ...f.map((x) => (x.ok ? x.bytesPerFolio.toFixed(1) : '—'))],
    ['KHO bitmap pages', ...f.map((x) => (x.ok ? n(x.trackerPages) : '—'))],
    ['preserve time', ...f.map((x) => `${x.preserveMs.toFixed(0)} ms`)],
  ];
}

/** One row per format with raw numbers, for a spreadsheet. */
export function compareCsv(c: MemfdCompare): string {
  const esc = (v: string | number | boolean | null) => {
    const s = v === null ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const cols = [
    'compatible',
    'origin',
    'ok',
    'errno',
    'error',
    'limit',
    'dataFolios',
    'dataPages',
    'metaPages',
    'metaBytes',
    'usedBytes',
    'bytesPerFolio',
    'trackerPages',
    'preserveMs',
  ] as const;
  const lines = [cols.join(','), ...c.formats.map((f) => cols.map((k) => esc(f[k])).join(','))];
  return lines.join('\n') + '\n';
}
