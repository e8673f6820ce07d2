/**
 * DOC: the memfd comparison's form
 *
 * The fields of "Compare memfd formats" as the user types them, checked with the same
 * MemfdCompareSpecSchema the host parses, so a field shows the host's own message before anything
 * runs. Also the sparseness list a sweep walks, and the file names the exports are offered under.
 */
import { MemfdCompareSpecSchema, type MemfdCompareSpec, type MemfdCompareSpecInput } from '../../../shared/compare';
import { memparseText } from './machine-form';
import { type Result, failure, ok } from '../../../shared/result';

export interface CompareForm {
  /** memparse text: "1G", "512M". */
  size: string;
  order: MemfdCompareSpec['order'];
  /** Number inputs: bind:value leaves null or undefined while the field is empty or not a number. */
  sparse: number;
  files: number;
  holes: MemfdCompareSpec['holes'];
  seed: number;
}

export type CompareField = keyof CompareForm;

/** 1 GiB of 4 KiB folios is 256 folios over what memfd-fdt-v1's one FDT folio holds: its cap shows at once. */
export const DEFAULT_COMPARE_FORM: CompareForm = {
  size: '1G',
  order: '0',
  sparse: 0,
  files: 1,
  holes: 'keep',
  seed: 1,
};

/** What each field accepts, for the hint under it and for messages clearer than zod's generic ones. */
export const FIELD_RANGE: Record<CompareField, string> = {
  size: 'memparse size per memfd: 256M, 1G, 4G (multiple of 4 KiB, ≤ 128 GiB in all)',
  order: '0 = 4 KiB folios, 9 = 2 MiB THP, mixed = each 2 MiB one or the other',
  sparse: 'fraction of the file left as holes, 0 – 0.9999',
  files: '1 – 16 memfds, each preserved with PRESERVE_FD',
  holes: 'keep: holes reach the format · fill: memfd_pin_folios() fills them, as every patch does',
  seed: 'picks the holes and the mixed orders; 0 – 4294967295',
};

export type CompareCheck =
  { ok: true; spec: MemfdCompareSpecInput } | { ok: false; errors: Partial<Record<CompareField | 'form', string>> };

export function checkCompareForm(f: CompareForm): CompareCheck {
  const input = { size: f.size.trim(), order: f.order, sparse: f.sparse, files: f.files, holes: f.holes, seed: f.seed };
  const errors: Partial<Record<CompareField | 'form', string>> = {};
  // An empty number field would take the schema's default; say it is empty instead.
  for (const field of ['sparse', 'files', 'seed'] as const) {
    if (typeof f[field] !== 'number' || !Number.isFinite(f[field])) errors[field] = `expected ${FIELD_RANGE[field]}`;
  }
  const r = MemfdCompareSpecSchema.safeParse(input);
  if (r.success && Object.keys(errors).length === 0) return { ok: true, spec: input };
  if (r.success) return { ok: false, errors };
  for (const issue of r.error.issues) {
    const key = issue.path[0];
    const field = typeof key === 'string' && key in f ? (key as CompareField) : 'form';
    // Range and type issues name the range; the schema's custom messages (size, total) are already specific.
    const generic =
      issue.code === 'too_big' ||
      issue.code === 'too_small' ||
      issue.code === 'invalid_type' ||
      issue.code === 'invalid_value';
    errors[field] ??=
      generic && field !== 'form' && field !== 'size' ? `expected ${FIELD_RANGE[field]}` : issue.message;
  }
  return { ok: false, errors };
}

export const DEFAULT_SWEEP = '0, 0.5, 0.9, 0.99, 0.999';
const MAX_SWEEP_POINTS = 12;

/** "0, 0.5, 0.9" → [0, 0.5, 0.9]: sorted, without repeats, each a valid sparseness. */
export function parseSweep(text: string): Result<number[]> {
  const words = text.split(/[\s,;]+/).filter(Boolean);
  if (words.length < 2) return failure('give at least two sparseness values, e.g. 0, 0.9, 0.99');
  const values = new Set<number>();
  for (const w of words) {
    const v = Number(w);
    if (!Number.isFinite(v) || v < 0 || v > 0.9999) return failure(`"${w}" is not a sparseness from 0 to 0.9999`);
    values.add(v);
  }
  if (values.size > MAX_SWEEP_POINTS) return failure(`at most ${MAX_SWEEP_POINTS} values`);
  return ok([...values].sort((a, b) => a - b));
}

/** "memfd-compare-1G-order0-sparse0.99-keep" (+ "-x4" for 4 files): what the export is of. */
export function exportBase(spec: MemfdCompareSpec, what: 'compare' | 'sweep' = 'compare'): string {
  const sparse = what === 'sweep' ? '' : `-sparse${spec.sparse}`;
  return `memfd-${what}-${memparseText(spec.size)}-order${spec.order}${sparse}-${spec.holes}${spec.files > 1 ? `-x${spec.files}` : ''}`;
}
