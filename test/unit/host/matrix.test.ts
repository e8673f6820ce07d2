/**
 * The compatibility matrix: a cell per pair of kernel releases, classified from the machines
 * themselves. The expectations come from the profiles' fields, so a release added to
 * KERNEL_PROFILES is covered by the parametrised cell test without an edit here.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KernelProfile, KERNEL_PROFILES } from '../../../electron/kernel/profile';
import { matrixReleases, runCell, runMatrix } from '../../../electron/host/matrix';
import { builtinScenario } from '../../../electron/host/host';
import {
  MATRIX_DEFAULT_SCENARIO,
  type MatrixOutcome,
  type MatrixResult,
  matrixCell,
  planCell,
} from '../../../shared/matrix';
import type { CommandInput } from '../../../shared/commands';
import type { KernelRelease } from '../../../shared/machine-config';
import { type Scenario, ScenarioSchema } from '../../../shared/scenario';
import { cli, scratchDir } from '../cli/run-cli';

const dir = scratchDir('kho-lab-matrix-');

function builtin(name: string): Scenario {
  const s = builtinScenario(name);
  if (!s.ok) throw new Error(s.error.message);
  return s.value;
}

const DEFAULT = builtin(MATRIX_DEFAULT_SCENARIO);

function cell(s: Scenario, from: KernelRelease, to: KernelRelease) {
  const plan = planCell(s, from, to);
  if (!plan.ok) throw new Error(plan.error.message);
  return runCell(plan.value, from, to);
}

/**
 * The compatible a profile names for one format, wherever the profile keeps it (a field of its
 * own, or a format object inside it): the first string matching `re`, depth first.
 */
function compatibleIn(p: unknown, re: RegExp): string | undefined {
  if (typeof p === 'string') return re.test(p) ? p : undefined;
  if (!p || typeof p !== 'object') return undefined;
  for (const v of Object.values(p)) {
    const found = compatibleIn(v, re);
    if (found) return found;
  }
  return undefined;
}

/** The KHO root FDT compatible a profile writes and accepts (kho-v1 … kho-v4). */
const khoCompatible = (p: KernelProfile): string => compatibleIn(p, /^kho-v\d+$/)!;

/**
 * The LUO wire format a profile writes and reads. Profiles that name none are era C's `luo-v1`
 * FDT (kernel/liveupdate/luo_core.c: LUO_FDT_COMPATIBLE).
 */
const luoFormat = (p: KernelProfile): string => compatibleIn(p, /^luo-v\d+$/) ?? 'luo-v1';

/**
 * What the pair of real kernels does with the default scenario's handover:
 * kho_populate() refuses a root compatible other than its own (kernel/liveupdate/kexec_handover.c);
 * with KHO taken, liveupdate_early_init() panics on a LUO tree it cannot read (luo_core.c:
 * luo_restore_fail()); with both formats equal, the session and its memfds cross.
 */
function expected(a: KernelProfile, b: KernelProfile): MatrixOutcome {
  if (khoCompatible(a) !== khoCompatible(b)) return 'refused';
  if (luoFormat(a) !== luoFormat(b)) return 'panic';
  return 'carried';
}

const PAIRS = Object.values(KERNEL_PROFILES).flatMap((a) => Object.values(KERNEL_PROFILES).map((b) => [a, b] as const));

describe('matrix cells (kho_populate(), liveupdate_early_init() across releases)', () => {
  it.each(PAIRS.map(([a, b]) => [a.name, b.name, expected(a, b), a, b] as const))(
    '%s → %s: %s',
    (from, to, outcome, a, b) => {
      const c = cell(DEFAULT, from, to);
      expect(c.from).toBe(from);
      expect(c.to).toBe(to);
      expect(c.outcome, `${c.outcome}: ${c.reason}`).toBe(outcome);
      expect(c.wrote).toBe(khoCompatible(a));
      if (outcome === 'carried') {
        // Both memfds of session "vmm" arrived and the guest's 8 MiB matched its checksums.
        expect(c.carried).toMatchObject({ sessions: ['vmm'], files: 2, bytesVerified: 8 << 20 });
        expect(c.carried!.khoBlocks).toBeGreaterThan(0);
        expect(c.step).toBeNull();
      }
      if (outcome === 'refused') {
        expect(c.short).toBe(`${khoCompatible(a)} ≠ ${khoCompatible(b)}`);
        expect(c.carried).toBeNull();
      }
      // The cell opens just after the next kernel's boot.
      expect(DEFAULT.steps[c.openAt - 1]!.op).toBe('boot');
      expect(DEFAULT.steps.slice(0, c.openAt - 1).some((s) => s.op === 'reboot')).toBe(true);
    },
  );

  it('runMatrix covers KERNEL_PROFILES × KERNEL_PROFILES, row-major: rows are from, columns to', () => {
    const r = runMatrix(DEFAULT);
    expect(r.ok).toBe(true);
    const m = (r as { value: MatrixResult }).value;
    const names = Object.values(KERNEL_PROFILES).map((p) => p.name);
    expect(m.releases).toEqual(names);
    expect(matrixReleases()).toEqual(names);
    expect(m.cells).toHaveLength(names.length ** 2);
    names.forEach((from, i) =>
      names.forEach((to, j) => expect(m.cells[i * names.length + j]).toMatchObject({ from, to })),
    );
    expect(matrixCell(m, names[0]!, names.at(-1)!)).toBe(m.cells[names.length - 1]);
  });
});

/** The default scenario with `extra` steps between kexec -e and the next boot. */
function withBeforeBoot(extra: CommandInput[]): Scenario {
  const boot = DEFAULT.steps.findIndex((s, i) => i > 0 && s.op === 'boot');
  const steps = [...DEFAULT.steps.slice(0, boot), ...extra, ...DEFAULT.steps.slice(boot)];
  return ScenarioSchema.parse({ ...DEFAULT, steps });
}

describe('classification from the machine', () => {
  const r = DEFAULT.machine.kernel;

  it('refused: kho_populate() rejects a root compatible it does not know; the reason names both and its own message', () => {
    const c = cell(withBeforeBoot([{ op: 'poke', fdt: 'root', property: 'compatible', string: 'kho-v9' }]), r, r);
    expect(c.outcome).toBe('refused');
    expect(c.wrote).toBe('kho-v9');
    expect(c.short).toBe(`kho-v9 ≠ ${khoCompatible(KERNEL_PROFILES[r])}`);
    expect(c.reason).toMatch(/^kho-v9 ≠ kho-v\d: disabling KHO revival/);
    expect(c.detail.some((l) => /incompatible with/.test(l))).toBe(true);
    expect(c.step).toBe(c.openAt);
  });

  it('panic: luo_restore_fail() on an incompatible LUO FDT stops the next kernel', () => {
    const c = cell(withBeforeBoot([{ op: 'poke', fdt: 'LUO', property: 'compatible', string: 'luo-v0' }]), r, r);
    expect(c.outcome).toBe('panic');
    expect(c.reason).toMatch(/disabling live update/);
    expect(c.detail.some((l) => /Kernel panic - not syncing/.test(l))).toBe(true);
  });

  it('lost: 7.0 propagates luo_file_deserialize() -ENOENT, so /dev/liveupdate opens with EIO; an expected errno is not counted as carried', () => {
    const s = builtin('luo-unknown-format');
    const seven = cell(s, '6.19', '7.0');
    expect(seven.outcome).toBe('lost');
    expect(seven.reason).toMatch(/^open\(\/dev\/liveupdate\): EIO/);
    expect(seven.short).toMatch(/^step \d+ luo_open: EIO$/);
    expect(seven.carried!.khoBlocks).toBeGreaterThan(0);
    const six = cell(s, '7.0', '6.19');
    expect(six.outcome).toBe('carried');
    // RETRIEVE_FD answered the ENOENT the scenario expects: a session crossed, no file did.
    expect(six.carried).toMatchObject({ sessions: ['test-session'], files: 0 });
  });

  it('failed: a step before the kexec that fails on the first kernel', () => {
    const steps = [{ op: 'boot' }, { op: 'vfree', name: 'nothing' }, ...DEFAULT.steps.slice(1)];
    const c = cell(ScenarioSchema.parse({ ...DEFAULT, steps }), r, r);
    expect(c.outcome).toBe('failed');
    expect(c.step).toBe(2);
    expect(c.short).toBe('step 2 vfree: ENOENT');
    expect(c.reason).toMatch(/^vfree: ENOENT/);
  });

  it('planCell: the cold boot is `from`; only the kexec_load before the first kexec -e loads `to`', () => {
    const s = builtin('kho-chain');
    const plan = planCell(s, '6.19', '7.0');
    expect(plan.ok).toBe(true);
    const { scenario, reboot, boot } = (plan as { value: { scenario: Scenario; reboot: number; boot: number } }).value;
    expect(scenario.machine.kernel).toBe('6.19');
    const loads = scenario.steps.flatMap((x, i) => (x.op === 'kexec_load' ? [[i, x.kernel] as const] : []));
    expect(loads).toHaveLength(2);
    expect(loads[0]).toEqual([loads[0]![0], '7.0']);
    expect(loads[0]![0]).toBeLessThan(reboot);
    expect(loads[1]![1]).toBeUndefined();
    expect(scenario.steps[boot]!.op).toBe('boot');
    expect(s.steps.every((x) => x.op !== 'kexec_load' || x.kernel === undefined)).toBe(true);
  });

  it('a scenario with no kexec is refused before anything runs, naming what is missing', () => {
    const boot = runMatrix(builtin('boot'));
    expect(boot.ok).toBe(false);
    expect(!boot.ok && boot.error.message).toMatch(/no kexec -e \(reboot\) step/);
    const noNext = runMatrix(builtin('luo-freeze-fails'));
    expect(!noNext.ok && noNext.error.message).toMatch(/never boots the next kernel/);
  });
});

describe('kho-lab-sim matrix', () => {
  it('prints the N×N table with a legend and a note per cell; --json writes the result', async () => {
    const json = join(dir, 'm.json');
    const r = await cli('matrix', '--json', json);
    expect(r.code).toBe(0);
    const names = Object.keys(KERNEL_PROFILES);
    const head = r.out.find((l) => l.startsWith('from \\ to'))!;
    expect(head.split(/\s{2,}/)).toEqual(['from \\ to', ...names]);
    for (const n of names)
      expect(r.out.some((l) => l.startsWith(`${n} `) && /carried|refused|panic/.test(l))).toBe(true);
    expect(r.out.some((l) => /^ {2}refused {2}/.test(l))).toBe(true);
    expect(r.out.filter((l) => /^[\d.]+ → [\d.]+: (carried|refused|panic|lost|failed)/.test(l))).toHaveLength(
      names.length ** 2,
    );
    const m = JSON.parse(readFileSync(json, 'utf8')) as MatrixResult;
    expect(m.cells).toHaveLength(names.length ** 2);
    expect(m.scenario.name).toBe(MATRIX_DEFAULT_SCENARIO);
  });

  it('bad input exits 2: an unknown scenario, one with no kexec, a stray option', async () => {
    const unknown = await cli('matrix', 'builtin:nope');
    expect(unknown.code).toBe(2);
    expect(unknown.err.join('\n')).toMatch(/unknown built-in scenario "nope"/);
    const noKexec = await cli('matrix', 'builtin:boot');
    expect(noKexec.code).toBe(2);
    expect(noKexec.err.join('\n')).toMatch(/nothing crosses a kexec/);
    const stray = await cli('matrix', '--ram', '1G');
    expect(stray.code).toBe(2);
    expect(stray.err.join('\n')).toMatch(/--ram does not go with matrix/);
    const missing = await cli('matrix', join(dir, 'missing.json'));
    expect(missing.code).toBe(2);
  });
});
