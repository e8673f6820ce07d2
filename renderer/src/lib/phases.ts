/**
 * DOC: KHO phases
 *
 * Which part of the Kexec HandOver story each timeline step belongs to, and which kernel
 * generation ran it. Derived from the steps alone (the timeline is the source of truth): a
 * successful `boot` starts a new generation; a `boot` after a successful `kexec -e` is the new
 * kernel's early boot in scratch, where it deserializes the handover; `insmod test_kho` in a
 * cold-booted kernel preserves, in a KHO-booted kernel it restores and verifies. LUO's ioctls
 * follow the same story (kernel/liveupdate/luo_session.c, luo_file.c): PRESERVE_FD preserves;
 * RETRIEVE_SESSION, RETRIEVE_FD and FINISH restore.
 */
import type { Command } from '../../../shared/commands';
import type { StepInfo } from '../../../shared/views';

export type KhoPhase =
  'boot' | 'workload' | 'preserve' | 'finalize' | 'kexec-load' | 'reboot' | 'early-boot' | 'restore';

export interface PhaseInfo {
  id: KhoPhase;
  label: string;
  /** What happens in this phase, for tooltips. */
  description: string;
  /** CSS colour of the phase tag. */
  color: string;
}

/** The phases in story order. */
export const PHASES: readonly PhaseInfo[] = [
  {
    id: 'boot',
    label: 'boot',
    description: 'Cold boot: memblock, KHO scratch reservation (kho=on), buddy allocator.',
    color: '#7a6bb8',
  },
  {
    id: 'workload',
    label: 'workload',
    description: 'Processes, memfds and kernel allocations the handover may carry.',
    color: '#4a9be0',
  },
  {
    id: 'preserve',
    label: 'preserve',
    description: 'kho_preserve_folio()/kho_add_subtree(): mark memory to carry across kexec.',
    color: '#e0e04a',
  },
  {
    id: 'finalize',
    label: 'finalize',
    description: 'kho_finalize(): serialize the preservation bitmaps into the kho-v1 chunk list and the root FDT.',
    color: '#ff8fd0',
  },
  {
    id: 'kexec-load',
    label: 'kexec load',
    description: 'kexec_file_load(): place the next kernel, initrd, boot params and the scratch array in scratch.',
    color: '#d9773b',
  },
  {
    id: 'reboot',
    label: 'reboot',
    description: 'kexec -e: the old kernel is gone, RAM is left as it was.',
    color: '#ff6b6b',
  },
  {
    id: 'early-boot',
    label: 'early boot · deserialize',
    description: 'The new kernel boots inside scratch, reads the KHO FDT and reserves the preserved blocks.',
    color: '#3fa7a0',
  },
  {
    id: 'restore',
    label: 'restore · verify',
    description: 'kho_restore_folio(): the new kernel takes the preserved memory back and checks it.',
    color: '#6ccf6c',
  },
];

export const PHASE_BY_ID: Readonly<Record<KhoPhase, PhaseInfo>> = Object.fromEntries(
  PHASES.map((p) => [p.id, p]),
) as Record<KhoPhase, PhaseInfo>;

export interface StepPhase {
  phase: KhoPhase;
  /** The kernel generation the step ran in (1 = the cold-booted kernel); null when no kernel ran it. */
  generation: number | null;
}

/** Machine state while walking the steps: the running generation, and whether it was KHO-booted. */
interface Walk {
  generation: number;
  running: boolean;
  /** The running kernel came from kexec -e (a KHO boot), not from power-on. */
  khoBooted: boolean;
  /** kexec -e happened and no kernel has booted since. */
  jumped: boolean;
}

function phaseOf(c: Command, w: Walk): KhoPhase {
  switch (c.op) {
    case 'boot':
      return w.jumped ? 'early-boot' : 'boot';
    case 'insmod':
      return w.khoBooted || w.jumped ? 'restore' : 'preserve';
    case 'luo_preserve_fd':
      return 'preserve';
    case 'luo_retrieve_session':
    case 'luo_retrieve_fd':
    case 'luo_finish':
      return 'restore';
    case 'kho_finalize':
      return 'finalize';
    case 'kexec_load':
      return 'kexec-load';
    case 'reboot':
      return 'reboot';
    default:
      return 'workload';
  }
}

/** The phase and generation of every step (including redo history past the cursor). */
export function stepPhases(steps: readonly StepInfo[]): StepPhase[] {
  const w: Walk = { generation: 0, running: false, khoBooted: false, jumped: false };
  return steps.map((s) => {
    const c = s.command;
    const phase = phaseOf(c, w);
    let generation: number | null = w.running ? w.generation : null;
    if (c.op === 'boot' && s.ok && !w.running) {
      w.generation++;
      w.running = true;
      w.khoBooted = w.jumped;
      w.jumped = false;
      generation = w.generation;
    } else if (c.op === 'boot' && !s.ok) {
      generation = w.running ? w.generation : null;
    } else if (c.op === 'reboot' && s.ok && w.running) {
      w.running = false;
      w.khoBooted = false;
      w.jumped = true;
    }
    return { phase, generation };
  });
}

export interface PhaseGroup {
  phase: KhoPhase;
  generation: number | null;
  /** Indices into the steps, consecutive. */
  first: number;
  last: number;
}

/** Consecutive steps with the same phase and generation, as the timeline groups them. */
export function phaseGroups(phases: readonly StepPhase[]): PhaseGroup[] {
  const groups: PhaseGroup[] = [];
  phases.forEach((p, i) => {
    const g = groups.at(-1);
    if (g && g.phase === p.phase && g.generation === p.generation && g.last === i - 1) g.last = i;
    else groups.push({ phase: p.phase, generation: p.generation, first: i, last: i });
  });
  return groups;
}

/** The phase of the step just before the cursor (the one in effect), or null at power-on. */
export function currentPhase(phases: readonly StepPhase[], cursor: number): StepPhase | null {
  return cursor > 0 ? (phases[cursor - 1] ?? null) : null;
}

/** Phases that steps in effect have reached, for the phase strip. */
export function reachedPhases(phases: readonly StepPhase[], cursor: number): Set<KhoPhase> {
  return new Set(phases.slice(0, cursor).map((p) => p.phase));
}

/**
 * Where clicking a phase in the strip jumps: just after the last step of that phase's most recent
 * run of steps at or before the cursor, else the first run after it. Null when no step has the phase.
 */
export function cursorForPhase(phases: readonly StepPhase[], cursor: number, phase: KhoPhase): number | null {
  const groups = phaseGroups(phases).filter((g) => g.phase === phase);
  if (groups.length === 0) return null;
  const before = groups.filter((g) => g.first < cursor);
  const g = before.at(-1) ?? groups[0]!;
  return g.last + 1;
}

/** "kernel 2" / "no kernel", for the timeline's generation tags. */
export function generationLabel(generation: number | null): string {
  return generation === null ? 'no kernel' : `kernel ${generation}`;
}
