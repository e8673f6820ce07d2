/**
 * The committed real evidence (shared/real-evidence-runs.ts) against the real serial logs it
 * quotes: every line occurs verbatim in the named log, printed by the kernel the evidence says,
 * each kernel's `uname -r` is the version recorded, the selftests are the run's `rktest=`, and
 * the outcome is what the log shows. No QEMU boot. Skipped, saying why, without the realkernel folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REALKERNEL } from '../../electron/real-kernel';
import { REAL_RUNS } from '../../shared/real-evidence';

const skip = existsSync(join(REALKERNEL, 'logs')) ? null : `${REALKERNEL}/logs is absent`;
if (skip) console.log(`real evidence: skipped — ${skip}`);

/** A serial log cut at each "Linux version" banner: [0] is the firmware, [n] kernel n's lines. */
function kernelsOf(path: string): string[] {
  const log = readFileSync(join(REALKERNEL, path), 'latin1').replace(/\r/g, '');
  return log.split(/(?=\[\s*0\.000000\] Linux version )/);
}

describe.skipIf(skip !== null)('real evidence, line by line against realkernel/ logs', () => {
  it.each(REAL_RUNS.map((r) => [r.id, r.log, r] as const))('%s (%s)', (_id, _log, run) => {
    const kernels = kernelsOf(run.log);
    expect(kernels.slice(1).map((k) => /Linux version (\S+)/.exec(k)?.[1])).toEqual(run.kernels.map((k) => k.version));
    for (const l of run.lines) {
      const printed = kernels[l.kernel]!.split('\n');
      expect(
        printed.some((p) => p.includes(l.text)),
        `"${l.text}" in kernel ${l.kernel}`,
      ).toBe(true);
      if (l.by === 'kernel')
        expect(printed.some((p) => new RegExp(`^\\[\\s*\\d+\\.\\d+\\] ${esc(l.text)}`).test(p))).toBe(true);
    }
    const cmdline = readFileSync(join(REALKERNEL, run.log.replace('console.log', 'qemu-cmdline.txt')), 'utf8');
    expect(cmdline.replace(/\\/g, '')).toContain(`rktest=${run.tests}`);
    const last = kernels.at(-1)!;
    const outcome = /Kernel panic - not syncing/.test(last)
      ? 'panic'
      : /KHO: disabling KHO revival/.test(last)
        ? 'refused'
        : 'carried';
    expect(outcome).toBe(run.outcome);
    if (outcome === 'carried') expect(last).toMatch(/ALL TESTS PASSED/);
    for (const k of run.kernels)
      if (k.variant) expect(existsSync(join(REALKERNEL, `7.3/variants/${k.variant}.patch`))).toBe(true);
  });
});

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
