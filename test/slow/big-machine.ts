/** Shared by the slow tests: scenarios run straight on a Machine (no timeline), and the host check. */
import { totalmem } from 'node:os';
import { CommandSchema, type CommandInput } from '../../shared/commands';
import { capacityProblem } from '../../shared/machine-config';
import { ScenarioSchema, type ScenarioInput } from '../../shared/scenario';
import { Machine } from '../../electron/kernel/machine';
import { machineLayout } from '../../electron/kernel/layout';
import { applyCommand } from '../../electron/host/apply';

/** Why this host cannot run `s` (too little memory), or null. */
export function hostTooSmall(s: ScenarioInput): string | null {
  const config = ScenarioSchema.parse(s).machine;
  return capacityProblem(config, machineLayout(config).maxPfn, totalmem());
}

/**
 * Runs every step of `s` on a fresh Machine — no timeline, so no checkpoints beside a terabyte of
 * page state — and returns it with the first failing step's message (null when all passed).
 */
export function runScenario(s: ScenarioInput, onStep?: (c: CommandInput, ms: number) => void) {
  const scenario = ScenarioSchema.parse(s);
  const m = new Machine(scenario.machine);
  for (const [i, c] of scenario.steps.entries()) {
    const t0 = performance.now();
    const r = applyCommand(m, CommandSchema.parse(c));
    onStep?.(c, performance.now() - t0);
    if (!r.ok) return { m, failed: `step ${i + 1} (${c.op}): ${r.error.message}` };
  }
  return { m, failed: null };
}
