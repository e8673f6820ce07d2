/**
 * DOC: poke — simulator fault injection into simulated RAM (issue 9, item 8; being built).
 */
import type { Command } from '../../shared/commands';
import type { Machine } from '../kernel/machine';
import type { Outcome } from './apply';

export function applyPoke(_machine: Machine, cmd: Extract<Command, { op: 'poke' }>): Outcome {
  return { ok: false, errno: 'EINVAL', message: `poke ${cmd.phys ?? cmd.fdt ?? ''}: EINVAL (not built yet)` };
}
