/**
 * DOC: the timeline
 *
 * Every step ever taken, as a tree: a node is one applied command, its parent the step before.
 * The current branch runs from power-on to a tip (a leaf); the cursor is a node on it. Taking an
 * action while stepped back does not cut the later steps off: it starts a new branch beside them,
 * and the old one stays in the tree, listed by branches() and reachable with switchTo().
 *
 * Going to a step restores the nearest checkpoint at or before it (timeline-snapshot.ts) and
 * replays the few steps after it; the machine is deterministic, so the replay lands on the same
 * state as one from power-on (the fingerprint tests prove it on every built-in). Checkpoints are
 * placed by replay cost, not by step count: one is taken as soon as the work since the last one
 * (the measured time of the steps) reaches a bound, and that bound leaves room for what a restore
 * costs on this machine, so that going to any step costs a restore plus at most ~30 ms of replay.
 * A single step dearer than the bound gets a checkpoint right after it, and so does a kexec -e
 * (no kernel runs until the next boot: the checkpoint is little more than RAM, and the next
 * kernel's steps then never restore the previous kernel's objects). The checkpoints live
 * within a memory budget (the cheapest spans are merged first when it is exceeded). A replay
 * yields to the event loop every few tens of milliseconds (so a cancel can arrive, with a progress
 * report) and stops at the next step boundary once cancel() is called.
 */
import type { Command } from '../../shared/commands';
import { describeCommand } from '../../shared/commands';
import type { MachineConfig } from '../../shared/machine-config';
import type { BranchInfo, Progress, StepInfo } from '../../shared/views';
import { Machine, ProgressRelay } from '../kernel/machine';
import { SNAPSHOT_OBJECT_BYTES, type Snapshot, SnapshotError, Snapshotter } from './timeline-snapshot';
import { recallMap, rememberMap } from './page-map';
import { changedSince, markTrace, rangesOverlap } from '../kernel/mm/page-trace';

export interface TimelineOptions {
  onProgress?: (p: Progress) => void;
  /** Lets pending messages (a cancel) in during a long replay; the worker entry points supply it. */
  yieldToEvents?: () => Promise<void>;
  /** A clock in milliseconds for step costs and yields (performance.now in the app). */
  now?: () => number;
  /** Host memory the checkpoints may hold, bytes. */
  checkpointBudget?: number;
  /** Replay cost, ms, after which the next step is checkpointed (fixed: the default adapts to restore cost). */
  checkpointEveryMs?: number;
}

export const DEFAULT_CHECKPOINT_BUDGET = 1024 ** 3;
/** What one move (a restore plus its replay) should cost at most, ms. */
const MOVE_TARGET_MS = 70;
/** Replay between checkpoints, ms: at most this much, and never less than the floor. */
const MAX_REPLAY_MS = 30;
const MIN_REPLAY_MS = 20;
/** Yield to the event loop (and report progress) after this much replay. */
const YIELD_EVERY_MS = 30;

export interface StepNode {
  readonly id: number;
  readonly parent: StepNode | null;
  readonly depth: number;
  readonly command: Command | null;
  /** The outcome, once the step has been applied (a cancelled load leaves later steps unrun). */
  info: StepInfo | null;
  readonly children: StepNode[];
  /** What applying the step cost, ms. */
  cost: number;
  checkpoint: Snapshot<Machine> | null;
  /** Pages whose state the step changed (page-trace.ts: changedSince()), from its first run. */
  changed: Float64Array | null;
}

/** Applies one command to the machine as step `index` (1-based). */
export type ApplyStep = (machine: Machine, command: Command, index: number) => StepInfo;

/** How a move ended. */
export type MoveResult = 'done' | 'cancelled';

/** ProgressRelay.sink is the host's callback, not machine state. */
const transient = (owner: object, key: string) => key === 'sink' && owner instanceof ProgressRelay;

export class Timeline {
  private nextId = 0;
  readonly root: StepNode;
  cursor: StepNode;
  /** The leaf the current branch ends in. */
  tip: StepNode;
  machine: Machine;
  /** Bumped whenever the machine is replaced (fresh or restored): event numbering may change. */
  epoch = 0;
  private readonly snapshotter = new Snapshotter(transient);
  /** Why checkpoints are off (state a snapshot cannot copy), or null. */
  checkpointsOff: string | null = null;
  /** Replay cost since the machine was last restored or checkpointed, ms. */
  private sinceCheckpoint = 0;
  /** What a restore costs on this machine, ms: measured ones smoothed (half a take's cost until then). */
  private restoreMs = 0;
  private restores = 0;
  /** The clock when applyNode() last finished: a replay times each step from the end of the last. */
  private lastEnd = 0;
  /** Host bytes per shared buffer block held by the checkpoints, with how many checkpoints hold it. */
  private readonly held = new Map<Uint8Array, number>();
  private heldBytes = 0;
  /** Where the cursor was on each branch when the user left it, by tip id. */
  private readonly leftAt = new Map<number, StepNode>();
  private cancelRequested = false;
  /** True while a replay runs: the only time cancel() has anything to stop. */
  busy = false;

  constructor(
    readonly config: MachineConfig,
    commands: readonly Command[],
    private readonly applyStep: ApplyStep,
    private readonly opts: TimelineOptions = {},
  ) {
    this.root = this.node(null, null);
    let last = this.root;
    for (const c of commands) last = this.node(last, c);
    this.cursor = this.root;
    this.tip = last;
    this.machine = this.attach(new Machine(this.config));
    // Power-on is a checkpoint too: restoring it reuses the memory of the machine it replaces.
    this.checkpoint(this.root);
  }

  private node(parent: StepNode | null, command: Command | null): StepNode {
    const n: StepNode = {
      id: this.nextId++,
      parent,
      depth: parent ? parent.depth + 1 : 0,
      command,
      info: null,
      children: [],
      cost: 0,
      checkpoint: null,
      changed: null,
    };
    parent?.children.push(n);
    return n;
  }

  private get clock(): () => number {
    return this.opts.now ?? (() => Date.now());
  }

  private attach(m: Machine): Machine {
    m.onProgress = (label, done, total) => this.opts.onProgress?.({ label, done, total });
    this.epoch++;
    this.sinceCheckpoint = 0;
    return m;
  }

  /** The current branch, power-on excluded: node i is step i + 1. */
  path(): StepNode[] {
    const out: StepNode[] = [];
    for (let n: StepNode | null = this.tip; n && n.parent; n = n.parent) out.push(n);
    return out.reverse();
  }

  /** The steps of the current branch; unrun ones (a cancelled load) are marked pending. */
  steps(): StepInfo[] {
    return this.path().map(
      (n) =>
        n.info ?? {
          index: n.depth,
          label: describeCommand(n.command!),
          command: n.command!,
          ok: true,
          message: 'not run yet',
          pending: true,
        },
    );
  }

  /** Asks a running replay to stop at the next step boundary. Returns whether one was running. */
  cancel(): boolean {
    if (!this.busy) return false;
    this.cancelRequested = true;
    return true;
  }

  /**
   * Applies `node`'s command to `m`, then lets the page-state trace compact itself: at a step
   * boundary, so a step replayed lands on the same trace as the step first taken.
   */
  private step(m: Machine, node: StepNode): StepInfo {
    const mark = node.changed ? null : m.kernel ? markTrace(m.kernel.pages.trace) : null;
    const info = this.applyStep(m, node.command!, node.depth);
    node.changed ??= changedSince(mark, m.kernel?.pages.trace ?? null);
    m.kernel?.pages.trace.maybeCompact();
    return info;
  }

  /**
   * The last step of the current branch in (`after`, `upTo`] that changed the state of a page of
   * [pfn, pfn + pages) — allocated, freed, reserved, preserved or restored it — or null.
   */
  lastChange(after: number, upTo: number, pfn: number, pages: number): number | null {
    const path = this.path();
    for (let d = Math.min(upTo, path.length); d > after; d--) {
      const changed = path[d - 1]!.changed;
      if (changed && rangesOverlap(changed, pfn, pages)) return d;
    }
    return null;
  }

  /**
   * Applies `node` (a child of the cursor) to the live machine and moves the cursor to it. A
   * replay passes `t0`, the end of the step before, so a step's cost includes the replay's own
   * overhead and a step costs one clock reading (the bench's CPU clock is a system call).
   */
  private applyNode(node: StepNode, t0 = this.clock()): StepInfo {
    const firstRun = node.info === null;
    node.info = this.step(this.machine, node);
    this.lastEnd = this.clock();
    node.cost = this.lastEnd - t0;
    this.cursor = node;
    this.sinceCheckpoint += node.cost;
    // Only where a step is first run: the spans of steps already taken were bounded then, and a
    // take in the middle of a move back would make the user wait for it.
    // Between kexec -e and the next boot no kernel runs: a checkpoint there holds RAM and little
    // else, costs little to take and restore, and spares the next kernel's moves a restore of the
    // old one (whose objects the jump dropped, so its buffers could not be reused).
    const kernelGone = this.machine.kernel === null && node.parent?.checkpoint === null;
    if (firstRun && (this.sinceCheckpoint >= this.replayBound() || kernelGone)) {
      this.checkpoint(node);
      this.lastEnd = this.clock();
    }
    return node.info;
  }

  /**
   * How much replay may separate two checkpoints, ms: what is left of a move's target once the
   * restore is paid, within [MIN_REPLAY_MS, MAX_REPLAY_MS] (a 17 GiB machine restores in tens of
   * ms, a 1 GiB one in a few).
   */
  replayBound(): number {
    if (this.opts.checkpointEveryMs !== undefined) return this.opts.checkpointEveryMs;
    return Math.min(MAX_REPLAY_MS, Math.max(MIN_REPLAY_MS, MOVE_TARGET_MS - this.restoreMs));
  }

  /** Takes a checkpoint of the live machine at `node` (the cursor), evicting old ones over budget. */
  private checkpoint(node: StepNode): void {
    if (this.checkpointsOff !== null || node.checkpoint) return;
    if ((this.opts.checkpointBudget ?? DEFAULT_CHECKPOINT_BUDGET) === 0) return;
    const t0 = this.clock();
    try {
      node.checkpoint = this.snapshotter.take(this.machine);
      rememberMap(node.checkpoint, this.machine);
      // Until a restore is measured, a take stands in for it: the same walk, but a take also
      // compares every block, and measured restores cost about half of it.
      if (this.restores === 0) this.restoreMs = (this.clock() - t0) / 2;
    } catch (e) {
      if (!(e instanceof SnapshotError)) throw e;
      this.checkpointsOff = e.message;
      return;
    }
    this.hold(node.checkpoint, 1);
    this.sinceCheckpoint = 0;
    this.evict();
  }

  /** Restores checkpoint `cp` in place of the live machine (whose buffers it reuses), timing it. */
  private restore(cp: Snapshot<Machine>): Machine {
    const t0 = this.clock();
    const m = this.snapshotter.restore(cp, this.machine);
    recallMap(cp, m);
    const ms = this.clock() - t0;
    // Smoothed: one restore slowed by a garbage collection should not crowd the checkpoints.
    this.restoreMs = this.restores++ === 0 ? ms : (this.restoreMs + ms) / 2;
    return m;
  }

  /** Counts a checkpoint's blocks in (+1) or out (-1) of the bytes held. */
  private hold(snap: Snapshot<Machine>, by: 1 | -1): void {
    this.heldBytes += by * snap.objects * SNAPSHOT_OBJECT_BYTES;
    for (const b of snap.buffers)
      for (const block of b.blocks) {
        if (!block) continue;
        const n = (this.held.get(block) ?? 0) + by;
        if (n === 0) {
          this.held.delete(block);
          this.heldBytes -= block.byteLength;
        } else {
          if (n === 1 && by === 1) this.heldBytes += block.byteLength;
          this.held.set(block, n);
        }
      }
  }

  /**
   * Every node of the tree, parents before children. Iterative: a scenario of thousands of steps
   * is a path thousands of nodes deep.
   */
  private nodes(): StepNode[] {
    const out: StepNode[] = [];
    const stack: StepNode[] = [this.root];
    while (stack.length) {
      const n = stack.pop()!;
      out.push(n);
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
    }
    return out;
  }

  /** Every node holding a checkpoint. */
  checkpoints(): StepNode[] {
    return this.nodes().filter((n) => n.checkpoint);
  }

  /** Host bytes the checkpoints hold (kept as they come and go; snapshotBytes() counts the same). */
  checkpointBytes(): number {
    return this.heldBytes;
  }

  /**
   * Drops checkpoints until they fit the budget: first those off the current branch, then the
   * ones whose loss costs least replay (the cheapest span back to the checkpoint before them).
   */
  private evict(): void {
    const budget = this.opts.checkpointBudget ?? DEFAULT_CHECKPOINT_BUDGET;
    if (this.heldBytes <= budget) return;
    const onPath = new Set(this.path());
    while (this.heldBytes > budget) {
      const all = this.checkpoints().filter((n) => n !== this.root);
      if (all.length === 0) return;
      const span = (n: StepNode) => {
        let cost = 0;
        for (let p: StepNode | null = n; p && (p === n || !p.checkpoint); p = p.parent) cost += p.cost;
        return (onPath.has(n) ? 1e12 : 0) + cost;
      };
      const victim = all.reduce((a, b) => (span(b) < span(a) ? b : a));
      this.hold(victim.checkpoint!, -1);
      victim.checkpoint = null;
    }
  }

  /** Runs `command` at the cursor. With later steps on the branch, they stay: this starts a new branch. */
  run(command: Command): StepInfo {
    const next = this.path()[this.cursor.depth];
    let node: StepNode;
    if (next && JSON.stringify(next.command) === JSON.stringify(command))
      node = next; // the same step again: redo
    else {
      node = this.node(this.cursor, command);
      if (this.cursor !== this.tip) this.leftAt.set(this.tip.id, this.cursor);
      this.tip = node;
    }
    return this.applyNode(node);
  }

  /** Moves the cursor to step `depth` of the current branch. */
  goto(depth: number): Promise<MoveResult> {
    return this.moveTo(depth === 0 ? this.root : this.path()[depth - 1]!);
  }

  /** Makes the branch ending in leaf `tipId` current, with the cursor where it was left. */
  switchTo(tipId: number): Promise<MoveResult> | null {
    const leaf = this.leaves().find((n) => n.id === tipId);
    if (!leaf) return null;
    if (leaf === this.tip) return Promise.resolve('done');
    this.leftAt.set(this.tip.id, this.cursor);
    const target = this.leftAt.get(leaf.id) ?? commonAncestor(leaf, this.cursor);
    this.tip = leaf;
    return this.moveTo(target);
  }

  private leaves(): StepNode[] {
    const out: StepNode[] = [];
    for (const n of this.nodes()) if (n.children.length === 0) out.push(n);
    return out;
  }

  /** Every branch: the current one first, then the others by the step they leave it at. */
  branches(): BranchInfo[] {
    const current = new Set(this.path());
    return this.leaves()
      .map((leaf): BranchInfo => {
        let fork: StepNode = leaf;
        while (!current.has(fork) && fork.parent) fork = fork.parent;
        const first = leaf === this.tip ? null : ancestorAt(leaf, fork.depth + 1);
        return {
          id: leaf.id,
          current: leaf === this.tip,
          steps: leaf.depth,
          forkAt: leaf === this.tip ? leaf.depth : fork.depth,
          firstStep: first?.command ? describeCommand(first.command) : '',
          lastStep: leaf.command ? describeCommand(leaf.command) : 'power on',
        };
      })
      .sort((a, b) => Number(b.current) - Number(a.current) || a.forkAt - b.forkAt || a.id - b.id);
  }

  /**
   * Moves the cursor to `target`: forward from the live machine when it lies ahead on the path,
   * else from the nearest checkpoint before it (power-on at worst), replaying the steps between.
   */
  async moveTo(target: StepNode): Promise<MoveResult> {
    if (target === this.cursor) return 'done';
    const ahead = isAncestor(this.cursor, target);
    let from: StepNode | null = null;
    for (let n: StepNode | null = target; n; n = n.parent)
      if (n.checkpoint || n === this.root) {
        from = n;
        break;
      }
    if (!ahead || from!.depth > this.cursor.depth) {
      const cp = from!.checkpoint;
      // The machine at the cursor is dropped: the restore reuses its buffers.
      this.machine = this.attach(cp ? this.restore(cp) : new Machine(this.config));
      this.cursor = from!;
    }
    const todo: StepNode[] = [];
    for (let n: StepNode = target; n !== this.cursor; n = n.parent!) todo.push(n);
    todo.reverse();
    return this.replay(todo);
  }

  /** Replays `nodes` (a chain starting at a child of the cursor), cancelably. */
  async replay(nodes: readonly StepNode[]): Promise<MoveResult> {
    this.busy = true;
    this.cancelRequested = false;
    try {
      let lastYield = this.clock();
      this.lastEnd = lastYield;
      for (let i = 0; i < nodes.length; i++) {
        // Progress at the start and then with each yield: a report per step would cost more than
        // the step itself in a replay of thousands of small ones (each is a message to the UI).
        const due = i === 0 || this.lastEnd - lastYield >= YIELD_EVERY_MS;
        if (due && nodes.length > 1)
          this.opts.onProgress?.({
            label: `replaying step ${nodes[i]!.depth}`,
            done: i,
            total: nodes.length,
            cancelable: true,
          });
        if (due && i > 0) {
          await this.opts.yieldToEvents?.();
          lastYield = this.lastEnd = this.clock();
        }
        if (this.cancelRequested) return 'cancelled';
        this.applyNode(nodes[i]!, this.lastEnd);
      }
      return 'done';
    } finally {
      this.busy = false;
      this.cancelRequested = false;
    }
  }

  /** The machine machineAt() built last, and its node: a node's state never changes, so it stays valid. */
  private side: { id: number; machine: Machine } | null = null;

  /**
   * The machine as it was after step `depth` of the current branch, built beside the live one
   * from the nearest checkpoint (the live machine and the cursor are untouched). The last one is
   * kept, reusing its buffers for the next (a 16 GiB machine's page arrays are not allocated twice
   * over): the page inspector asks for the same earlier state page after page. Read it, never step it.
   */
  machineAt(depth: number): Machine {
    const target = depth === 0 ? this.root : this.path()[depth - 1]!;
    if (target === this.cursor) return this.machine;
    if (this.side?.id === target.id) return this.side.machine;
    let from: StepNode = target;
    while (!from.checkpoint && from !== this.root) from = from.parent!;
    const old = this.side?.machine;
    this.side = null;
    const m = from.checkpoint ? this.snapshotter.restore(from.checkpoint, old) : new Machine(this.config);
    const todo: StepNode[] = [];
    for (let n: StepNode = target; n !== from; n = n.parent!) todo.push(n);
    for (const n of todo.reverse()) this.step(m, n);
    this.side = { id: target.id, machine: m };
    return m;
  }

  /** Runs every unrun step of the current branch (a freshly loaded scenario). */
  runAll(): Promise<MoveResult> {
    return this.goto(this.tip.depth);
  }
}

function isAncestor(a: StepNode, b: StepNode): boolean {
  for (let n: StepNode | null = b; n; n = n.parent) if (n === a) return true;
  return false;
}

function ancestorAt(n: StepNode, depth: number): StepNode | null {
  let p: StepNode | null = n;
  while (p && p.depth > depth) p = p.parent;
  return p && p.depth === depth ? p : null;
}

function commonAncestor(a: StepNode, b: StepNode): StepNode {
  const seen = new Set<StepNode>();
  for (let n: StepNode | null = a; n; n = n.parent) seen.add(n);
  let n: StepNode = b;
  while (!seen.has(n)) n = n.parent!;
  return n;
}
