/**
 * DOC: the cross-release compatibility matrix
 *
 * One scenario that crosses a kexec, run from every kernel release A into every release B: the
 * machine cold-boots A, runs the steps before the first `kexec -e` (the `kexec_load` before it
 * loads an image of B), jumps, boots B and runs the rest. B reads only RAM with its own codecs, so
 * each cell says what the real pair of kernels would do with that handover: it carried the state,
 * refused it (the root compatible or another check failed: KHO revival disabled, memory gone),
 * panicked, or accepted it and still lost something.
 *
 * The host runs the cells (electron/host/matrix.ts); this module holds the types, the plan of one
 * cell (also used by the UI to open a cell's run in the main view) and the table as text. Real runs
 * of the same kernels stand beside the cells (shared/real-evidence.ts): a cell they confirm is
 * marked, and a run with a patched kernel is a variant row with the scenario that reproduces it.
 */
import { z } from 'zod';
import { type Command, CommandSchema } from './commands';
import { type KernelRelease, MachineConfigSchema } from './machine-config';
import { type Result, failure, ok } from './result';
import { type RealCheck, hopReleases, realMark } from './real-evidence';
import { type Scenario, describeIssues } from './scenario';
import { formatBytes } from './units';

/**
 * How a cell ended, worst first:
 * - `failed`: the scenario did not get to the kexec on A (a step before `kexec -e` failed);
 * - `panic`: a kernel panicked (B deserializing what A left, as a release's LUO does on a bad tree);
 * - `refused`: B did not take the KHO handover (its root compatible or another check): nothing crossed;
 * - `lost`: B took the handover, but a later step failed (a session, file or byte did not arrive);
 * - `carried`: every step after the kexec passed.
 */
export const MATRIX_OUTCOMES = ['carried', 'lost', 'refused', 'panic', 'failed'] as const;
export type MatrixOutcome = (typeof MATRIX_OUTCOMES)[number];

/** What reached the other side, counted from the steps that passed after the kexec. */
export interface MatrixCarried {
  /** Sessions the next kernel handed back (LIVEUPDATE_IOCTL_RETRIEVE_SESSION succeeded). */
  sessions: string[];
  /** Files retrieved from them (LIVEUPDATE_SESSION_RETRIEVE_FD succeeded). */
  files: number;
  /** Bytes of the files a passing check compared (expect_content, verify_memfd, expect_checksums). */
  bytesVerified: number;
  /** Preserved blocks the next kernel's KHO found in the handover. */
  khoBlocks: number;
}

export interface MatrixCell {
  from: KernelRelease;
  to: KernelRelease;
  outcome: MatrixOutcome;
  /** A few words for the table cell: "2 files, 8 MiB", "kho-v1 ≠ kho-v4", "step 16 luo_open: EIO". */
  short: string;
  /** One line: what was carried, why it was refused, the panic message, or the failed step. */
  reason: string;
  /** The kernel's own lines behind the outcome (warnings and errors of the next kernel's boot, the panic). */
  detail: string[];
  /** Set when the handover was accepted: what crossed. */
  carried: MatrixCarried | null;
  /** The root compatible the old kernel's handover carried (read from RAM after the jump), or null. */
  wrote: string | null;
  /** The step (1-based) the outcome comes from: the failed step, the boot that refused, the panic. */
  step: number | null;
  /** Where to open this cell's run: the timeline cursor just after the next kernel's boot. */
  openAt: number;
  /** The next kernel's KHO, LUO and test_kho lines, its warnings and its panic, as the console prints them. */
  log: string[];
  /** Real runs of this pair of releases beside the cell (shared/real-evidence.ts); empty when none ran. */
  real: RealCheck[];
}

/**
 * A real run in which one kernel carried a patch that bumps a compatible: not a cell of the grid
 * (no release writes that format), so a row of its own under it, with the scenario that
 * reproduces it on the simulator — the matrix scenario with that kernel's variant named.
 */
export interface MatrixVariantRow extends VariantKernels {
  /** How the scenario names the patched kernels: `machine {…}` and `kexec_load {…}`. */
  reproduce: string;
  /** The simulated run, when this build can run it. */
  cell: MatrixCell | null;
  /** Why it cannot (a release or variant this build does not model). */
  unavailable?: string;
  real: RealCheck;
}

export interface MatrixResult {
  /** The scenario every cell ran (before each cell's kernels were set). */
  scenario: Scenario;
  /** Rows and columns, in profile order. */
  releases: KernelRelease[];
  /** Row-major: cells[i * releases.length + j] ran from releases[i] into releases[j]. */
  cells: MatrixCell[];
  /** The real runs with a patched kernel, each beside its simulated run. */
  variants: MatrixVariantRow[];
  /** Real runs of releases this build does not model, one line each. */
  realElsewhere: string[];
  elapsedMs: number;
}

/** What the UI asks to run: a built-in scenario (default: the VMM memfd) or the session's own scenario. */
export const MatrixRequestSchema = z
  .object({
    builtin: z.string().min(1).max(128).optional(),
    /** The scenario loaded in the session (all of its steps, wherever the cursor is). */
    current: z.literal(true).optional(),
  })
  .strict()
  .refine((r) => !(r.builtin && r.current), { message: 'give either builtin or current, not both' });
export type MatrixRequest = z.output<typeof MatrixRequestSchema>;

/** The built-in scenario the matrix runs when none is named. */
export const MATRIX_DEFAULT_SCENARIO = 'luo-vmm-memfd';

/** One cell's scenario and where its kexec falls. */
export interface CellPlan {
  scenario: Scenario;
  /** Index (0-based) of the first `reboot` (kexec -e). */
  reboot: number;
  /** Index (0-based) of the `boot` that starts the next kernel. */
  boot: number;
}

/**
 * The scenario of the cell from → to: the machine cold-boots `from`, and every `kexec_load` before
 * the first `kexec -e` loads an image of `to` (later ones keep what they say: by default the
 * running kernel's release, i.e. `to`). A scenario with no kexec to cross is refused.
 */
export function planCell(base: Scenario, from: KernelRelease, to: KernelRelease): Result<CellPlan> {
  const reboot = base.steps.findIndex((s) => s.op === 'reboot');
  if (reboot < 0) return failure(`scenario ${base.name} has no kexec -e (reboot) step: nothing crosses a kexec`);
  const boot = base.steps.findIndex((s, i) => i > reboot && s.op === 'boot');
  if (boot < 0)
    return failure(`scenario ${base.name} never boots the next kernel after its kexec -e (step ${reboot + 1})`);
  if (!base.steps.slice(0, reboot).some((s) => s.op === 'kexec_load'))
    return failure(`scenario ${base.name} has no kexec_load before its kexec -e (step ${reboot + 1})`);
  const steps: Command[] = base.steps.map((s, i) => (i < reboot && s.op === 'kexec_load' ? { ...s, kernel: to } : s));
  return ok({
    scenario: { ...base, name: `${base.name} ${from}→${to}`, machine: { ...base.machine, kernel: from }, steps },
    reboot,
    boot,
  });
}

/** The two kernels of a variant row: releases, and the patch each carries. */
export interface VariantKernels {
  from: string;
  to: string;
  fromVariant?: string;
  toVariant?: string;
}

/**
 * The variant row's plan: the matrix scenario with the patched kernel named — kernel 1 in
 * `machine`, the kexec'd kernel in the `kexec_load`s before the jump — validated by this build's
 * schemas, so a release or variant it does not model fails with the schema's own words.
 */
export function planVariant(base: Scenario, h: VariantKernels): { reproduce: string; plan: Result<CellPlan> } {
  const machine = { kernel: h.from, ...(h.fromVariant ? { variant: h.fromVariant } : {}) };
  const load = { kernel: h.to, ...(h.toVariant ? { variant: h.toVariant } : {}) };
  const reproduce = `machine ${JSON.stringify(machine)}, kexec_load ${JSON.stringify(load)}`;
  const cell = planCell(base, h.from as KernelRelease, h.to as KernelRelease);
  if (!cell.ok) return { reproduce, plan: cell };
  const { scenario, reboot } = cell.value;
  const m = MachineConfigSchema.safeParse({ ...scenario.machine, ...machine });
  if (!m.success) return { reproduce, plan: failure(describeIssues('machine', m.error)) };
  const steps: Command[] = [];
  for (const [i, s] of scenario.steps.entries()) {
    if (i >= reboot || s.op !== 'kexec_load') {
      steps.push(s);
      continue;
    }
    const c = CommandSchema.safeParse({ ...s, ...load });
    if (!c.success) return { reproduce, plan: failure(describeIssues(`step ${i + 1} kexec_load`, c.error)) };
    steps.push(c.data);
  }
  const name = `${base.name} ${hopReleases(h)}`;
  return { reproduce, plan: ok({ ...cell.value, scenario: { ...scenario, name, machine: m.data, steps } }) };
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** "2 files, 8 MiB": the table's few words for what crossed. */
export function carriedShort(c: MatrixCarried): string {
  if (c.files) return `${plural(c.files, 'file')}${c.bytesVerified ? `, ${formatBytes(c.bytesVerified)}` : ''}`;
  return c.sessions.length ? plural(c.sessions.length, 'session') : plural(c.khoBlocks, 'block');
}

/** "1 session, 1 file, 17 B verified" — or the KHO blocks when no LUO state crossed. */
export function carriedText(c: MatrixCarried): string {
  const parts: string[] = [];
  if (c.sessions.length) parts.push(plural(c.sessions.length, 'session'));
  if (c.files) parts.push(plural(c.files, 'file'));
  if (c.bytesVerified) parts.push(`${formatBytes(c.bytesVerified)} verified`);
  if (!parts.length) parts.push(`${plural(c.khoBlocks, 'preserved block')} found`);
  return parts.join(', ');
}

/** The cell as the table shows it: the outcome, its few words, and whether a real run confirmed it. */
export function cellText(c: MatrixCell): string {
  const mark = realMark(c.real);
  return `${c.short ? `${c.outcome}: ${c.short}` : c.outcome}${mark ? ` ${mark}` : ''}`;
}

/** The cell as the notes under the table give it: the full reason, and the step it comes from. */
export function cellNote(c: MatrixCell): string {
  return `${c.from} → ${c.to}: ${c.outcome}${c.step !== null ? ` at step ${c.step}` : ''}: ${c.reason}`;
}

/** The cell of `from` → `to`. */
export function matrixCell(m: MatrixResult, from: KernelRelease, to: KernelRelease): MatrixCell | undefined {
  const i = m.releases.indexOf(from);
  const j = m.releases.indexOf(to);
  return i < 0 || j < 0 ? undefined : m.cells[i * m.releases.length + j];
}

/** What each outcome means, for the legend under the table (CLI and UI). */
export const OUTCOME_LEGEND: Readonly<Record<MatrixOutcome, string>> = {
  carried: 'every step after the kexec passed; what crossed (sessions, files, bytes checked)',
  lost: 'the next kernel took the handover, but a later step failed (something did not arrive)',
  refused:
    'the next kernel refused the handover (its own message): KHO revival disabled, preserved memory and sessions gone',
  panic: 'a kernel panicked (the message it printed)',
  failed: 'the scenario failed before the kexec on the first kernel',
};

/** The N×N table as text rows: a header row of targets, then one row per source release. */
export function matrixRows(m: MatrixResult): string[][] {
  const head = ['from \\ to', ...m.releases];
  const rows = m.releases.map((from) => [
    from,
    ...m.releases.map((to) => {
      const c = matrixCell(m, from, to);
      return c ? cellText(c) : '—';
    }),
  ]);
  return [head, ...rows];
}

/** What a cell's real-run mark means (CLI and UI legend). */
export const REAL_LEGEND: readonly (readonly [string, string])[] = [
  ['✓real', 'real Linux kernels did the same across a real kexec in QEMU, printing the lines shown'],
  ['✗REAL', 'a real run of these kernels disagrees with the simulator: a bug to report'],
];
