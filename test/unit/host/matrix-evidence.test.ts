/**
 * The matrix beside the real runs (shared/real-evidence.ts): every hop a real pair of kernels made
 * must agree with KHO Lab's cell of the same releases, for every built-in scenario that stands for
 * a selftest the run ran — same outcome, and every kernel line the real next kernel printed. Every
 * release and patched kernel a real run names must be modelled: a hop the build cannot run fails.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinScenario } from '../../../electron/host/host';
import { matrixReleases, runCell } from '../../../electron/host/matrix';
import type { MatrixResult } from '../../../shared/matrix';
import { planCell, planVariant } from '../../../shared/matrix';
import type { KernelRelease } from '../../../shared/machine-config';
import {
  REAL_RUNS,
  type RealHop,
  SCENARIO_SELFTEST,
  checkHop,
  hopLabel,
  isVariantHop,
  lineKey,
  realHops,
  realMark,
} from '../../../shared/real-evidence';
import type { Scenario } from '../../../shared/scenario';
import { cli, scratchDir } from '../cli/run-cli';

const dir = scratchDir('kho-lab-matrix-evidence-');
const known = new Set<string>(matrixReleases());

function builtin(name: string): Scenario {
  const s = builtinScenario(name);
  if (!s.ok) throw new Error(s.error.message);
  return s.value;
}

/** The built-in scenarios standing for a selftest this run ran. */
const scenariosFor = (h: RealHop): string[] =>
  Object.entries(SCENARIO_SELFTEST)
    .filter(([, test]) => h.run.tests.split(',').includes(test))
    .map(([name]) => name);

const gridHops = realHops().filter((h) => !isVariantHop(h));
const variantHops = realHops().filter(isVariantHop);

describe('real runs beside the matrix cells (kho_populate(), liveupdate_early_init(), kho_kexec_metadata)', () => {
  it.each(gridHops.map((h) => [`${hopLabel(h)} (${h.run.log})`, h] as const))(
    '%s: the simulated cell agrees',
    (_name, h) => {
      expect(
        [h.from, h.to].filter((r) => !known.has(r)),
        'releases this build does not model',
      ).toEqual([]);
      const scenarios = scenariosFor(h);
      expect(scenarios.length).toBeGreaterThan(0);
      for (const name of scenarios) {
        const plan = planCell(builtin(name), h.from as KernelRelease, h.to as KernelRelease);
        if (!plan.ok) throw new Error(plan.error.message);
        const c = runCell(plan.value, h.from as KernelRelease, h.to as KernelRelease);
        const check = checkHop(h, name, c);
        expect(check.compared, `${name}: ${check.unchecked}`).toBe(true);
        expect(check.why, `${name} ${h.from} → ${h.to}`).toEqual([]);
        expect(check.agrees).toBe(true);
      }
    },
  );

  it.each(variantHops.map((h) => [hopLabel(h), h] as const))(
    '%s: the patched kernel, run by the variant scenario, says what the real one said',
    (_name, h) => {
      const { plan } = planVariant(builtin('luo-kexec-simple'), h);
      if (!plan.ok) throw new Error(plan.error.message);
      const c = runCell(plan.value, h.from as KernelRelease, h.to as KernelRelease);
      const check = checkHop(h, 'luo-kexec-simple', c);
      expect(check.why).toEqual([]);
    },
  );
});

describe('checkHop: what counts as agreeing', () => {
  const hop = gridHops.find((h) => h.run.id === 'all')!;

  it('lineKey sets aside the point release and addresses, nothing else', () => {
    expect(lineKey('KHO: exec from: 7.2.13 (count 1)')).toBe(lineKey('KHO: exec from: 7.2.0-kholab (count 1)'));
    expect(lineKey('KHO: exec from: 7.3.4 (count 1)')).not.toBe(lineKey('KHO: exec from: 7.2.13 (count 1)'));
    expect(lineKey("KHO: setup: handover FDT (0x324000) is incompatible with 'kho-v5': 1")).toBe(
      lineKey("KHO: setup: handover FDT (0x39401000) is incompatible with 'kho-v5': 1"),
    );
    expect(lineKey('KHO: disabling KHO revival')).not.toBe(lineKey('KHO: disabling KHO revival: -22'));
  });

  it('another outcome, or a missing kernel line, disagrees and says which', () => {
    const log = [
      'KHO: found kexec handover data.',
      'luo: Retrieved live update data, liveupdate number: 1',
      'KHO: exec from: 7.2.0-kholab (count 1)',
    ];
    expect(checkHop(hop, 'luo-kexec-simple', { outcome: 'carried', log })).toMatchObject({ agrees: true, why: [] });
    const panic = checkHop(hop, 'luo-kexec-simple', { outcome: 'panic', log });
    expect(panic.agrees).toBe(false);
    expect(panic.why).toEqual(['the real kernels carried, KHO Lab says panic']);
    const quiet = checkHop(hop, 'luo-kexec-simple', { outcome: 'carried', log: log.slice(0, 1) });
    expect(quiet.why).toEqual([
      'KHO Lab never prints "luo: Retrieved live update data, liveupdate number: 1"',
      'KHO Lab never prints "KHO: exec from: 7.2.13 (count 1)"',
    ]);
    // test_kho's line is required only of test-kho.
    expect(checkHop(hop, 'test-kho', { outcome: 'carried', log }).why).toEqual([
      'KHO Lab never prints "test_kho: KHO restore succeeded"',
    ]);
    expect(realMark([panic])).toBe('✗REAL');
    expect(realMark([checkHop(hop, 'luo-kexec-simple', { outcome: 'carried', log })])).toBe('✓real');
  });

  it('a scenario that stands for no selftest, or a run that did not run it, is shown but not compared', () => {
    const other = checkHop(hop, 'kho-chain', { outcome: 'panic', log: [] });
    expect(other).toMatchObject({ compared: false, agrees: false, why: [] });
    expect(other.unchecked).toMatch(/kho-chain stands for none/);
    const khoOnly = gridHops.find((h) => h.run.id === 'kho')!;
    expect(checkHop(khoOnly, 'luo-vmm-memfd', { outcome: 'carried', log: [] }).unchecked).toMatch(
      /did not run luo_simple/,
    );
    expect(realMark([other])).toBe('');
    // A panic in LUO's restore is no evidence for a scenario that hands no LUO state over.
    const real = variantHops.find((h) => h.toVariant === 'luo-v6')!;
    const luo6 = realHops([{ ...real.run, tests: 'kho,luo_simple' }])[0]!;
    expect(checkHop(luo6, 'test-kho', { outcome: 'carried', log: [] }).unchecked).toMatch(
      /panicked on the LUO state, which test-kho does not hand over/,
    );
    expect(checkHop(luo6, 'luo-kexec-simple', { outcome: 'carried', log: [] }).compared).toBe(true);
  });

  it('a chain: the second kexec counts 2, so only the first kexec must match the counting lines', () => {
    const second = gridHops.find((h) => h.run.id === 'chain' && h.hop === 2)!;
    const c = checkHop(second, 'luo-kexec-simple', { outcome: 'carried', log: ['KHO: found kexec handover data.'] });
    expect(c.agrees).toBe(true);
    expect(c.pairs.filter((p) => p.real.by === 'kernel').map((p) => [p.real.text, p.required])).toEqual([
      ['KHO: found kexec handover data.', true],
      ['luo: Retrieved live update data, liveupdate number: 2', false],
      ['KHO: exec from: 7.2.13 (count 2)', false],
    ]);
  });

  it('the evidence covers every run the brief names, with its outcome', () => {
    expect(REAL_RUNS.map((r) => `${r.id}:${r.outcome}`)).toEqual([
      'all:carried',
      'kho:carried',
      'luo_simple:carried',
      'luo_multi:carried',
      'chain:carried',
      '72to73:carried',
      '73to72:carried',
      '73to73-all:carried',
      '73to73-chain:carried',
      '72to73to72-chain:carried',
      '73to72to73-chain:carried',
      '72to73kho5:refused',
      '73kho5to72:refused',
      '72to73luo6:panic',
      '73luo6to72:panic',
    ]);
    expect(variantHops.map((h) => `${h.from}${h.fromVariant ?? ''}→${h.to}${h.toVariant ?? ''}`)).toEqual([
      '7.2→7.3kho-v5',
      '7.3kho-v5→7.2',
      '7.2→7.3luo-v6',
      '7.3luo-v6→7.2',
    ]);
  });
});

describe('kho-lab-sim matrix with the real evidence', () => {
  it('marks 7.2 → 7.2 "✓real", prints the real lines beside KHO Lab\'s; --json carries the evidence and the variant rows', async () => {
    const json = join(dir, 'm.json');
    const r = await cli('matrix', '--json', json);
    expect(r.code, r.err.join('\n')).toBe(0);
    const row = r.out.find((l) => l.startsWith('7.2 '))!;
    expect(row).toMatch(/carried: 2 files, 8 MiB ✓real$/);
    expect(r.out).toContain(
      '  ✓real    real Linux kernels did the same across a real kexec in QEMU, printing the lines shown',
    );
    const at = r.out.findIndex((l) =>
      l.includes('real: 7.2.13 → 7.2.13 (realkernel/logs/all.console.log): carried — ✓ agrees'),
    );
    expect(at).toBeGreaterThan(0);
    expect(r.out[at + 2]).toMatch(/^ {6}KHO: found kexec handover data\. +KHO: found kexec handover data\.$/);
    expect(r.out[at + 4]).toMatch(/^ {6}KHO: exec from: 7\.2\.13 \(count 1\) +KHO: exec from: 7\.2\.\S+ \(count 1\)$/);
    expect(r.out).toContain(
      'real runs with a patched kernel (a compatible bumped by a one-line patch; not cells of the grid):',
    );
    expect(
      r.out.some((l) =>
        l.startsWith('    reproduce: machine {"kernel":"7.2"}, kexec_load {"kernel":"7.3","variant":"kho-v5"}'),
      ),
    ).toBe(true);
    const m = JSON.parse((await import('node:fs')).readFileSync(json, 'utf8')) as MatrixResult;
    const cell = m.cells.find((c) => c.from === '7.2' && c.to === '7.2')!;
    expect(cell.real.map((x) => x.run)).toEqual(['all', 'kho', 'luo_simple', 'luo_multi', 'chain', 'chain']);
    expect(cell.real.filter((x) => x.compared).every((x) => x.agrees)).toBe(true);
    expect(cell.log).toContain('KHO: found kexec handover data.');
    expect(m.variants).toHaveLength(4);
    expect(m.variants.map((v) => v.real.run)).toEqual(['72to73kho5', '73kho5to72', '72to73luo6', '73luo6to72']);
  });

  it('exits 1 and says so loudly when a real run disagrees (a root compatible poked to kho-v9: refused, the real 7.2 carried)', async () => {
    const base = builtin('luo-vmm-memfd');
    const boot = base.steps.findIndex((s, i) => i > 0 && s.op === 'boot');
    const steps = [
      ...base.steps.slice(0, boot),
      { op: 'poke', fdt: 'root', property: 'compatible', string: 'kho-v9' },
      ...base.steps.slice(boot),
    ];
    const file = join(dir, 'luo-vmm-memfd.json');
    writeFileSync(file, JSON.stringify({ name: 'luo-vmm-memfd', machine: base.machine, steps }));
    const r = await cli('matrix', file);
    expect(r.code).toBe(1);
    expect(r.out.find((l) => l.startsWith('7.2 '))).toMatch(/refused: kho-v9 ≠ kho-v4 ✗REAL$/);
    expect(r.out.some((l) => /✗ \d+ REAL RUN\(S\) DISAGREE WITH THE SIMULATOR/.test(l))).toBe(true);
    expect(r.out).toContain('      ✗ the real kernels carried, KHO Lab says refused');
  });
});
