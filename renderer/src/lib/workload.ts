/**
 * DOC: workload plans
 *
 * What the workload panel asks the machine to do, as command sequences. The timeline is the
 * source of truth: which processes are alive and which fds they hold follow from the steps in
 * effect, exactly as the host applied them.
 */
import type { CommandInput } from '../../../shared/commands';
import type { StepInfo } from '../../../shared/views';

/**
 * A string field of a step's command. shared/commands builds each variant with `z.literal(op)`
 * from a `string` parameter, so `op` is typed as string and `command.op === 'spawn'` does not
 * narrow the union; reading fields by name keeps this module honest until that is fixed.
 */
function arg(s: StepInfo, key: string): string | undefined {
  const v = (s.command as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

/** The named fields of steps with `op`, in effect and successful, as add/remove events. */
function track(steps: readonly StepInfo[], cursor: number, add: [string, string], remove: [string, string], removeIf: (s: StepInfo) => boolean = () => true): string[] {
  const live = new Set<string>();
  for (const s of steps.slice(0, cursor)) {
    if (!s.ok) continue;
    if (s.command.op === add[0]) {
      const v = arg(s, add[1]);
      if (v !== undefined) live.add(v);
    } else if (s.command.op === remove[0] && removeIf(s)) {
      const v = arg(s, remove[1]);
      if (v !== undefined) live.delete(v);
    }
  }
  return [...live];
}

/** Processes spawned and not exited by the steps in effect. */
export function liveProcesses(steps: readonly StepInfo[], cursor: number): Set<string> {
  return new Set(track(steps, cursor, ['spawn', 'name'], ['exit', 'process']));
}

/** Tags with live alloc_pages allocations (allocated, not freed with every=1). */
export function liveTags(steps: readonly StepInfo[], cursor: number): string[] {
  return track(steps, cursor, ['alloc_pages', 'tag'], ['free_pages', 'tag'], (s) => (s.command as { every?: number }).every === 1);
}

/** vmalloc areas created and not freed. */
export function liveVmallocs(steps: readonly StepInfo[], cursor: number): string[] {
  return track(steps, cursor, ['vmalloc', 'name'], ['vfree', 'name']);
}

/**
 * The fd a successful memfd_create step returned, when the host's step message states it the
 * way strace prints a return value (`... = 3`) or as `fd 3`.
 */
export function fdFromStep(step: StepInfo): number | null {
  if (!step.ok || step.command.op !== 'memfd_create') return null;
  const m = /(?:=\s*|\bfd[\s=:]+)(\d+)\b/.exec(step.message);
  return m ? Number(m[1]) : null;
}

/** First fd a process gets: 0, 1 and 2 are stdin, stdout and stderr. */
const FIRST_FD = 3;

/**
 * The fds `process` holds after the steps in effect. The kernel hands out the lowest free fd
 * (POSIX), so replaying memfd_create / close / exit gives the table; an fd stated in a step's
 * message wins over the replay.
 */
export function openFds(steps: readonly StepInfo[], cursor: number, process: string): Set<number> {
  const fds = new Set<number>();
  for (const s of steps.slice(0, cursor)) {
    if (!s.ok) continue;
    const op = s.command.op;
    if (op === 'spawn' && arg(s, 'name') === process) fds.clear();
    if (arg(s, 'process') !== process) continue;
    if (op === 'memfd_create') fds.add(fdFromStep(s) ?? lowestFree(fds));
    else if (op === 'close') fds.delete((s.command as { fd?: number }).fd ?? -1);
    else if (op === 'exit') fds.clear();
  }
  return fds;
}

function lowestFree(fds: ReadonlySet<number>): number {
  let fd = FIRST_FD;
  while (fds.has(fd)) fd++;
  return fd;
}

export interface MemfdRequest {
  process: string;
  name: string;
  /** Size in bytes. */
  size: number;
}

/** spawn (only when the process is not alive) then memfd_create; the write follows once the fd is known. */
export function memfdPrelude(req: MemfdRequest, alive: ReadonlySet<string>): CommandInput[] {
  const cmds: CommandInput[] = [];
  if (!alive.has(req.process)) cmds.push({ op: 'spawn', name: req.process });
  cmds.push({ op: 'memfd_create', process: req.process, name: req.name, size: req.size });
  return cmds;
}

/** Fills the whole memfd with random bytes from the machine's RNG. */
export function memfdFill(req: MemfdRequest, fd: number): CommandInput {
  return { op: 'write', process: req.process, fd, offset: 0, length: req.size, data: { random: true } };
}

type Run = (command: CommandInput) => Promise<{ ok: true; value: { step: StepInfo } } | { ok: false }>;

/**
 * Creates a memfd of `req.size` bytes in `req.process` and fills it with random data: spawn if
 * needed, memfd_create, write. Stops at the first refused step (the transcript shows its errno).
 * Answers the fd, or null when a step was refused.
 */
export async function createFilledMemfd(run: Run, steps: readonly StepInfo[], cursor: number, req: MemfdRequest): Promise<number | null> {
  let fd: number | null = null;
  const alive = liveProcesses(steps, cursor);
  const expected = lowestFree(alive.has(req.process) ? openFds(steps, cursor, req.process) : new Set());
  for (const cmd of memfdPrelude(req, alive)) {
    const r = await run(cmd);
    if (!r.ok || !r.value.step.ok) return null;
    if (cmd.op === 'memfd_create') fd = fdFromStep(r.value.step) ?? expected;
  }
  if (fd === null) return null;
  const w = await run(memfdFill(req, fd));
  return w.ok && w.value.step.ok ? fd : null;
}
