/**
 * DOC: `matrix` — the cross-release compatibility matrix
 *
 *   npm run sim -- matrix [SCENARIO] [--json FILE]
 *
 * Runs SCENARIO (a file or builtin:NAME; default builtin:luo-vmm-memfd) from every kernel release
 * into every release (electron/host/matrix.ts) and prints the N×N table — rows: the kernel that
 * preserved, columns: the kernel it kexec'd into — a legend, and a note per cell with the full
 * reason: what crossed, or the next kernel's own message. Exit status 0 when the table was printed
 * (whatever the cells say), 2 for bad input: an unknown or unreadable scenario, one with no kexec.
 */
import {
  MATRIX_DEFAULT_SCENARIO,
  MATRIX_OUTCOMES,
  type MatrixResult,
  OUTCOME_LEGEND,
  cellNote,
  matrixRows,
} from '../shared/matrix';
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

/** What `matrix` prints: the heading, the table, the legend and one note per cell. */
export function matrixLines(m: MatrixResult): string[] {
  const n = m.releases.length;
  const lines = [
    `compatibility matrix of ${m.scenario.name}: ${n}×${n} runs (rows: the kernel that preserved, columns: the kernel it kexec'd into)`,
    '',
    ...table(matrixRows(m)),
    '',
    ...MATRIX_OUTCOMES.map((o) => `  ${o.padEnd(8)} ${OUTCOME_LEGEND[o]}`),
    '',
  ];
  for (const c of m.cells) {
    lines.push(cellNote(c));
    if (c.outcome !== 'carried') for (const d of c.detail) lines.push(`    ${d}`);
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
  return ok(0);
}
