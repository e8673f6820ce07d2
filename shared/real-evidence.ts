/**
 * DOC: real evidence for the compatibility matrix
 *
 * A matrix cell is the simulator's answer for one pair of releases; a real run of that pair
 * (shared/real-evidence-runs.ts) is the real kernels' answer. A hop of a run — kernel n kexecs into
 * kernel n+1 — stands beside the cell of the same releases (and beside a variant row when one of
 * the two kernels was patched). It is compared when the run exercised what the matrix scenario
 * exercises (its selftest, below): then the outcome must be the same, and every kernel line the real
 * next kernel printed must appear in the simulated next kernel's log — equal up to the release's
 * point version ("7.2.13" and KHO Lab's "7.2.0-kholab" are both 7.2) and physical addresses.
 * Selftest lines (userspace verdicts) have no simulated twin: the scenario's passing steps are.
 */
import { REAL_RUNS } from './real-evidence-runs';

export type RealOutcome = 'carried' | 'refused' | 'panic';

export interface RealKernel {
  /** `uname -r`. */
  version: string;
  /** The compatible a one-line patch bumped (7.3/variants/<variant>.patch), when patched. */
  variant?: string;
}

export interface RealLine {
  /** Which kernel of the run printed it: 1 is the cold-booted one, 2 the first kexec'd one, … */
  kernel: number;
  /** `kernel`: printk; `selftest`: a selftest's or the harness's own verdict (userspace). */
  by: 'kernel' | 'selftest';
  /** The line verbatim, without the printk timestamp or the `RK[stage…]` prefix. */
  text: string;
}

export interface RealRun {
  id: string;
  /** The serial log, relative to the realkernel folder. */
  log: string;
  what: string;
  /** The harness's `rktest=` list: kho, liveupdate, luo_simple, luo_multi. */
  tests: string;
  kernels: RealKernel[];
  /** Of every hop (a chain's hops all carried). */
  outcome: RealOutcome;
  lines: RealLine[];
}

export { REAL_RUNS };

/** "7.2.13" → "7.2": the release a version belongs to (KHO Lab's profile names). */
export const releaseOf = (version: string): string => version.split('.').slice(0, 2).join('.');

/** One kexec of a real run: kernel `hop` into kernel `hop + 1`. */
export interface RealHop {
  run: RealRun;
  hop: number;
  from: string;
  to: string;
  fromVariant?: string;
  toVariant?: string;
}

/** Every hop of every real run, in run order. */
export function realHops(runs: readonly RealRun[] = REAL_RUNS): RealHop[] {
  return runs.flatMap((run) =>
    run.kernels.slice(1).map((k, i) => {
      const a = run.kernels[i]!;
      return {
        run,
        hop: i + 1,
        from: releaseOf(a.version),
        to: releaseOf(k.version),
        ...(a.variant ? { fromVariant: a.variant } : {}),
        ...(k.variant ? { toVariant: k.variant } : {}),
      };
    }),
  );
}

export const isVariantHop = (h: RealHop): boolean => h.fromVariant !== undefined || h.toVariant !== undefined;

/** "7.2 → 7.3[kho-v5]". */
export const hopReleases = (h: { from: string; to: string; fromVariant?: string; toVariant?: string }): string =>
  `${h.from}${h.fromVariant ? `[${h.fromVariant}]` : ''} → ${h.to}${h.toVariant ? `[${h.toVariant}]` : ''}`;

/** "7.2.13 → 7.3.4 → 7.2.13, kexec 2" — the real kernels, and which kexec of a chain. */
export function hopLabel(h: RealHop): string {
  const ks = h.run.kernels.map((k) => `${k.version}${k.variant ? `[${k.variant}]` : ''}`).join(' → ');
  return h.run.kernels.length > 2 ? `${ks}, kexec ${h.hop}` : ks;
}

/**
 * The real selftest a built-in matrix scenario stands for: a run that ran it confirms the cell.
 * luo-vmm-memfd, the matrix's default, is luo_kexec_simple's path with other data: one session,
 * memfds preserved, retrieved and compared.
 */
export const SCENARIO_SELFTEST: Readonly<Record<string, string>> = {
  'test-kho': 'kho',
  'luo-kexec-simple': 'luo_simple',
  'luo-multi-session': 'luo_multi',
  'luo-vmm-memfd': 'luo_simple',
};

/** A real line beside the simulated line that says the same, or null when the simulation has none. */
export interface LinePair {
  real: RealLine;
  sim: string | null;
  /** A kernel line the simulation must print for this scenario. */
  required: boolean;
}

/** One real hop beside one simulated cell. */
export interface RealCheck {
  run: string;
  log: string;
  /** The real kernels: "7.2.13 → 7.3.4". */
  label: string;
  hop: number;
  outcome: RealOutcome;
  /** False: shown, not checked — `unchecked` says why. */
  compared: boolean;
  unchecked?: string;
  /** Compared, and the simulation said the same (outcome and every required line). */
  agrees: boolean;
  pairs: LinePair[];
  /** What disagrees, one line each; empty when it agrees or was not compared. */
  why: string[];
}

/** A line as both sides are compared: release point versions and addresses set aside. */
export function lineKey(text: string): string {
  return text
    .replace(/^\[\s*\d+\.\d+\]\s*/, '')
    .replace(/\b(\d+\.\d+)\.\d+(?:-[\w.+~]+)?/g, '$1')
    .replace(/0x[0-9a-f]+/gi, '0x…')
    .trim();
}

/** The real next kernel panicked in LUO (liveupdate_early_init()): only a scenario with LUO state can do the same. */
const luoPanic = (h: RealHop): boolean => h.run.lines.some((l) => l.kernel === h.hop + 1 && l.text.startsWith('luo:'));

/** The lines that count kexecs: a chain's later kexecs count on from the first. */
const COUNTER = /liveupdate number: \d+|\(count \d+\)/;

/**
 * Whether the simulation must print a real kernel line for a scenario standing for `selftest`:
 * test_kho's lines only when it is test_kho, LUO's only when it is a LUO selftest; KHO's and a
 * panic always — except, past a chain's first kexec, the lines with a kexec count (a cell is one
 * kexec: its count is 1).
 */
function lineRequired(line: RealLine, selftest: string | undefined, hop: number): boolean {
  if (line.by !== 'kernel') return false;
  if (hop > 1 && COUNTER.test(line.text)) return false;
  if (line.text.startsWith('test_kho:')) return selftest === 'kho';
  if (line.text.startsWith('luo:')) return selftest?.startsWith('luo_') ?? false;
  return true;
}

/**
 * The real hop `h` beside the simulated cell (its outcome and its next kernel's log lines) of
 * `scenario` (its name picks the selftest it stands for), or beside why nothing was simulated.
 */
export function checkHop(
  h: RealHop,
  scenario: string,
  sim: { outcome: string; log: readonly string[] } | { unavailable: string },
): RealCheck {
  const selftest = SCENARIO_SELFTEST[scenario];
  const ran = 'outcome' in sim ? sim : null;
  const unchecked = !ran
    ? (sim as { unavailable: string }).unavailable
    : selftest === undefined
      ? `${scenario} stands for none of the real runs' selftests (${Object.keys(SCENARIO_SELFTEST).join(', ')} do)`
      : !h.run.tests.split(',').includes(selftest)
        ? `this run did not run ${selftest}, which ${scenario} stands for`
        : h.run.outcome === 'panic' && luoPanic(h) && !selftest.startsWith('luo_')
          ? `the real kernel panicked on the LUO state, which ${scenario} does not hand over`
          : undefined;
  const compared = unchecked === undefined;
  const keys = (ran?.log ?? []).map((l) => [lineKey(l), l] as const);
  const pairs = h.run.lines
    .filter((l) => l.kernel === h.hop + 1)
    .map((real) => ({
      real,
      sim: real.by === 'kernel' ? (keys.find(([k]) => k === lineKey(real.text))?.[1] ?? null) : null,
      required: compared && lineRequired(real, selftest, h.hop),
    }));
  const why: string[] = [];
  if (ran && compared) {
    if (ran.outcome !== h.run.outcome) why.push(`the real kernels ${h.run.outcome}, KHO Lab says ${ran.outcome}`);
    for (const p of pairs) if (p.required && p.sim === null) why.push(`KHO Lab never prints "${p.real.text}"`);
  }
  return {
    run: h.run.id,
    log: h.run.log,
    label: hopLabel(h),
    hop: h.hop,
    outcome: h.run.outcome,
    compared,
    ...(unchecked !== undefined ? { unchecked } : {}),
    agrees: compared && why.length === 0,
    pairs,
    why,
  };
}

/** "✓real" when a compared run agrees, "✗REAL" when one disagrees, "" without compared evidence. */
export function realMark(checks: readonly RealCheck[]): string {
  const compared = checks.filter((c) => c.compared);
  if (!compared.length) return '';
  return compared.every((c) => c.agrees) ? '✓real' : '✗REAL';
}
