/**
 * DOC: `matrix` — the cross-release compatibility matrix
 *
 *   npm run sim -- matrix [SCENARIO] [--json FILE]
 *
 * Runs SCENARIO (a file or builtin:NAME; default builtin:luo-vmm-memfd) from every kernel release
 * into every release (electron/host/matrix.ts) and prints the N×N table — rows: the kernel that
 * preserved, columns: the kernel it kexec'd into — a legend, and a note per cell with the full
 * reason: what crossed, or the next kernel's own message. A cell a real run of the same kernels
 * confirmed (shared/real-evidence.ts) is marked `✓real`, and its note prints the real kernel's lines
 * beside KHO Lab's; runs with a patched kernel follow the table as rows of their own. Exit status 0
 * when the table was printed and no real run disagrees, 1 when one does (a simulator bug: the
 * output says which, loudly), 2 for bad input: an unknown or unreadable scenario, one with no kexec.
 */
import {
  MATRIX_DEFAULT_SCENARIO,
  MATRIX_OUTCOMES,
  type MatrixResult,
  type MatrixVariantRow,
  OUTCOME_LEGEND,
  REAL_LEGEND,
  cellNote,
  matrixRows,
} from '../shared/matrix';
import { type RealCheck, hopReleases } from '../shared/real-evidence';
import { type Result, failure, ok } from '../shared/result';
import type { Scenario } from '../shared/scenario';
import { runMatrix } from './host/matrix';

/** Aligned columns, two spaces apart. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) =>
    r
      .map((cell, col) => cell.padEnd(widths[col]!))
      .join('  ')
      .trimEnd(),
  );
}

const REAL_COLUMN = 56;

/** A real run beside the simulated cell: a heading, then each real line beside KHO Lab's. */
function realLines(r: RealCheck, full: boolean): string[] {
  const verdict = !r.compared ? `shown, not compared: ${r.unchecked}` : r.agrees ? '✓ agrees' : '✗ DISAGREES';
  const head = `    real: ${r.label} (realkernel/${r.log}): ${r.outcome} — ${verdict}`;
  if (!full) return [head];
  const side = (real: string, sim: string) => `      ${real.padEnd(REAL_COLUMN)}  ${sim}`;
  return [
    head,
    side(`real kernel ${r.hop + 1}`, 'KHO Lab'),
    ...r.pairs.map((p) =>
      side(
        p.real.text,
        p.sim ??
          (p.real.by === 'selftest'
            ? '(a selftest verdict: the steps after the kexec)'
            : p.required
              ? '✗ MISSING'
              : '— (not in this scenario)'),
      ),
    ),
    ...r.why.map((w) => `      ✗ ${w}`),
  ];
}

/** Every real run beside a cell: the first compared one line by line, the others one line each. */
function evidenceLines(real: readonly RealCheck[]): string[] {
  const first = real.find((r) => r.compared && !r.agrees) ?? real.find((r) => r.compared) ?? real[0];
  return real.flatMap((r) => realLines(r, r === first || (r.compared && !r.agrees)));
}

function variantLines(v: MatrixVariantRow): string[] {
  const sim = v.cell
    ? `KHO Lab: ${v.cell.outcome}${v.cell.short ? `: ${v.cell.short}` : ''}`
    : `KHO Lab: ${v.unavailable}`;
  return [
    `${hopReleases(v)}: real ${v.real.outcome}; ${sim}`,
    `    reproduce: ${v.reproduce}`,
    ...realLines(v.real, true),
  ];
}

/** The compared real runs that disagree with their cell or variant row. */
export function disagreements(m: MatrixResult): RealCheck[] {
  return [...m.cells.flatMap((c) => c.real), ...m.variants.map((v) => v.real)].filter((r) => r.compared && !r.agrees);
}

/** What `matrix` prints: the heading, the table, the legend, one note per cell, the variant rows. */
export function matrixLines(m: MatrixResult): string[] {
  const n = m.releases.length;
  const lines = [
    `compatibility matrix of ${m.scenario.name}: ${n}×${n} runs (rows: the kernel that preserved, columns: the kernel it kexec'd into)`,
    '',
    ...table(matrixRows(m)),
    '',
    ...MATRIX_OUTCOMES.map((o) => `  ${o.padEnd(8)} ${OUTCOME_LEGEND[o]}`),
    ...REAL_LEGEND.map(([mark, text]) => `  ${mark.padEnd(8)} ${text}`),
    '',
  ];
  for (const c of m.cells) {
    lines.push(cellNote(c));
    if (c.outcome !== 'carried') for (const d of c.detail) lines.push(`    ${d}`);
    lines.push(...evidenceLines(c.real));
  }
  if (m.variants.length) {
    lines.push('', 'real runs with a patched kernel (a compatible bumped by a one-line patch; not cells of the grid):');
    for (const v of m.variants) lines.push(...variantLines(v));
  }
  if (m.realElsewhere.length) {
    lines.push('', 'real runs of releases this build does not model:');
    for (const r of m.realElsewhere) lines.push(`  ${r}`);
  }
  const bad = disagreements(m);
  if (bad.length) {
    lines.push('', `✗ ${bad.length} REAL RUN(S) DISAGREE WITH THE SIMULATOR — a bug to report:`);
    for (const r of bad) lines.push(`  ${r.label} (realkernel/${r.log}): ${r.why.join('; ')}`);
  }
  return lines;
}

export function matrixCommand(
  ref: string | undefined,
  json: string | undefined,
  io: { out: (l: string) => void; progress?: (text: string) => void },
  load: (ref: string) => Result<Scenario>,
  write: (path: string, text: string, option: string) => Result<void>,
): Result<number> {
  const scenario = load(ref ?? `builtin:${MATRIX_DEFAULT_SCENARIO}`);
  if (!scenario.ok) return scenario;
  const m = runMatrix(scenario.value, (label, done, total) => io.progress?.(`${label} (${done}/${total})`));
  if (!m.ok) return failure(m.error.message);
  for (const l of matrixLines(m.value)) io.out(l);
  if (json !== undefined) {
    const written = write(json, JSON.stringify(m.value, null, 2) + '\n', '--json');
    if (!written.ok) return written;
  }
  return ok(disagreements(m.value).length ? 1 : 0);
}
