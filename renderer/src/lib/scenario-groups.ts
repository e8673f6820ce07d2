/**
 * DOC: scenario groups
 *
 * The Scenarios menu groups the built-ins by what they are about, read from their names (the
 * built-ins are named by subsystem: `luo-*`, `test-kho*`, `kho-*`): the memory model, KHO, LUO,
 * and the serialization formats compared. Anything else is about memory.
 */
import type { BuiltinScenario } from '../../../shared/views';

export const SCENARIO_GROUPS = ['memory', 'KHO', 'LUO', 'formats'] as const;
export type ScenarioGroup = (typeof SCENARIO_GROUPS)[number];

export function scenarioGroup(name: string): ScenarioGroup {
  if (/format/.test(name)) return 'formats';
  if (/^luo-/.test(name)) return 'LUO';
  if (/^(test-)?kho\b/.test(name)) return 'KHO';
  return 'memory';
}

/** The groups that have scenarios, in menu order, each keeping the host's order. */
export function groupScenarios(
  list: readonly BuiltinScenario[],
): Array<{ group: ScenarioGroup; scenarios: BuiltinScenario[] }> {
  return SCENARIO_GROUPS.map((group) => ({
    group,
    scenarios: list.filter((s) => scenarioGroup(s.name) === group),
  })).filter((g) => g.scenarios.length > 0);
}
