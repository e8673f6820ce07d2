/**
 * DOC: workload plans
 *
 * What the workload panel asks the machine to do, as command sequences. The timeline is the
 * source of truth: which processes are alive and which fds they hold follow from the steps in
 * effect, exactly as the host applied them.
 */
import type { Command, CommandInput } from '../../../shared/commands';
import type { StepInfo } from '../../../shared/views';

/** Adds and removes names as the steps in effect that succeeded say, in order. */
function track(
  steps: readonly StepInfo[],
  cursor: number,
  change: (c: Command) => ['add' | 'delete', string] | null,
): string[] {
  const live = new Set<string>();
  for (const s of steps.slice(0, cursor)) {
    if (!s.ok) continue;
    const ch = change(s.command);
    if (ch) live[ch[0]](ch[1]);
  }
  return [...live];
}

/** Processes spawned and not exited by the steps in effect. */
export function liveProcesses(steps: readonly StepInfo[], cursor: number): Set<string> {
  return new Set(
    track(steps, cursor, (c) => (c.op === 'spawn' ? ['add', c.name] : c.op === 'exit' ? ['delete', c.process] : null)),
  );
}

/** Tags with live alloc_pages allocations (allocated, not freed with every=1). */
export function liveTags(steps: readonly StepInfo[], cursor: number): string[] {
  return track(steps, cursor, (c) =>
    c.op === 'alloc_pages' ? ['add', c.tag] : c.op === 'free_pages' && c.every === 1 ? ['delete', c.tag] : null,
  );
}

/** vmalloc areas created and not freed. */
export function liveVmallocs(steps: readonly StepInfo[], cursor: number): string[] {
  return track(steps, cursor, (c) =>
    c.op === 'vmalloc' ? ['add', c.name] : c.op === 'vfree' ? ['delete', c.name] : null,
  );
}

/** The fd a successful memfd_create step returned. */
export function fdFromStep(step: StepInfo): number | null {
  if (!step.ok || step.command.op !== 'memfd_create') return null;
  return step.returned ?? null;
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
    const c = s.command;
    if (!s.ok) continue;
    if (c.op === 'spawn' && c.name === process) fds.clear();
    else if (c.op === 'memfd_create' && c.process === process) fds.add(fdFromStep(s) ?? lowestFree(fds));
    else if (c.op === 'close' && c.process === process) fds.delete(c.fd);
    else if (c.op === 'exit' && c.process === process) fds.clear();
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
function memfdPrelude(req: MemfdRequest, alive: ReadonlySet<string>): CommandInput[] {
  const cmds: CommandInput[] = [];
  if (!alive.has(req.process)) cmds.push({ op: 'spawn', name: req.process });
  cmds.push({ op: 'memfd_create', process: req.process, name: req.name, size: req.size });
  return cmds;
}

/** Fills the whole memfd with random bytes from the machine's RNG. */
function memfdFill(req: MemfdRequest, fd: number): CommandInput {
  return { op: 'write', process: req.process, fd, offset: 0, length: req.size, data: { random: true } };
}

type Run = (command: CommandInput) => Promise<{ ok: true; value: { step: StepInfo } } | { ok: false }>;

/**
 * Creates a memfd of `req.size` bytes in `req.process` and fills it with random data: spawn if
 * needed, memfd_create, write. Stops at the first refused step (the transcript shows its errno).
 * Answers the fd, or null when a step was refused.
 */
export async function createFilledMemfd(
  run: Run,
  steps: readonly StepInfo[],
  cursor: number,
  req: MemfdRequest,
): Promise<number | null> {
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
