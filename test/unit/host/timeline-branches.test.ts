/**
 * The branching timeline (electron/host/timeline.ts): an action taken while stepped back starts a
 * branch and keeps the old future; switchBranch() returns to it; cancel() stops a replay, also
 * when it arrives over the worker's message loop while the replay runs (shared/rpc-serve.ts).
 */
import { describe, expect, it } from 'vitest';
import { Host } from '../../../electron/host/host';
import { type Result, validateCall } from '../../../shared/api';
import type { CommandInput } from '../../../shared/commands';
import { createRpcClient, type RpcMessage } from '../../../shared/rpc';
import { type LoopPort, serveApi } from '../../../shared/rpc-serve';
import type { Progress } from '../../../shared/views';

async function must<T>(p: Promise<Result<T>>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

const STEPS: CommandInput[] = [
  { op: 'boot' },
  { op: 'spawn', name: 'vmm' },
  { op: 'memfd_create', process: 'vmm', name: 'guest', size: '4M' },
  { op: 'write', process: 'vmm', fd: 3, data: { random: true } },
  { op: 'alloc_pages', tag: 'slab', order: 0, count: 100 },
];

async function loaded(opts: ConstructorParameters<typeof Host>[0] = {}): Promise<Host> {
  const h = new Host(opts);
  await must(h.newMachine({ ram: '64M', seed: 4 }));
  for (const s of STEPS) await must(h.run(s));
  return h;
}

const hash = async (h: Host) => (await must(h.report())).ramHash;
const labels = async (h: Host) => (await must(h.state())).steps.map((s) => s.label);

describe('Timeline branches', () => {
  it('a key pressed while stepped back (alloc_pages) starts a branch; the old future is listed and kept', async () => {
    const h = await loaded();
    const oldTipHash = await hash(h);
    await must(h.goto(2));
    await must(h.run({ op: 'alloc_pages', tag: 'M', order: 0, count: 1 }));
    const st = await must(h.state());
    expect(st.cursor).toBe(3);
    expect(st.steps.map((s) => s.label)).toEqual(['boot', 'spawn vmm', 'alloc_pages(GFP_KERNEL, order 0) × 1 [M]']);
    expect(st.branches).toHaveLength(2);
    const [current, old] = st.branches!;
    expect(current).toMatchObject({ current: true, steps: 3 });
    expect(old).toMatchObject({
      current: false,
      steps: 5,
      forkAt: 2,
      lastStep: 'alloc_pages(GFP_KERNEL, order 0) × 100 [slab]',
    });
    expect(old!.firstStep).toMatch(/memfd_create\("guest"\)/);

    // Back to the old branch: the cursor is where it was left (step 2), the future is all there.
    const back = await must(h.switchBranch(old!.id));
    expect(back.cursor).toBe(2);
    expect(back.steps).toHaveLength(5);
    await must(h.goto(5));
    expect(await hash(h)).toBe(oldTipHash);
    // …and the new branch is kept in turn.
    expect((await must(h.state())).branches!.filter((b) => !b.current).map((b) => b.steps)).toEqual([3]);
  });

  it('running the next step of the branch again is a redo, not a new branch', async () => {
    const h = await loaded();
    await must(h.goto(3));
    await must(h.run(STEPS[3]!));
    const st = await must(h.state());
    expect(st.branches).toHaveLength(1);
    expect(st.steps).toHaveLength(5);
    expect(st.cursor).toBe(4);
  });

  it('switchBranch refuses an unknown id; a new machine starts a timeline without branches', async () => {
    const h = await loaded();
    const r = await h.switchBranch(999);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/no branch 999/);
    await must(h.goto(1));
    await must(h.run({ op: 'spawn', name: 'other' }));
    expect((await must(h.state())).branches).toHaveLength(2);
    await must(h.newMachine({ ram: '64M' }));
    expect((await must(h.state())).branches).toHaveLength(1);
  });

  it('scenario() and report() follow the current branch', async () => {
    const h = await loaded();
    await must(h.goto(1));
    await must(h.run({ op: 'spawn', name: 'other' }));
    expect((await must(h.scenario())).steps.map((s) => s.op)).toEqual(['boot', 'spawn']);
    expect((await must(h.report())).steps.map((s) => s.label)).toEqual(['boot', 'spawn other']);
    expect(await labels(h)).toEqual(['boot', 'spawn other']);
  });
});

describe('Timeline.cancel()', () => {
  it('stops a replay at the next step: goto answers cancelled and the cursor is where it stopped', async () => {
    let host: Host | null = null;
    const seen: Progress[] = [];
    // A clock where each reading is 40 ms on: the replay reports (and yields) before every step.
    let t = 0;
    const h = await loaded({
      checkpointBudget: 0,
      now: () => (t += 40),
      onProgress: (p) => {
        seen.push(p);
        if (p.cancelable && p.done === 2) void host?.cancel();
      },
    });
    host = h;
    expect((await must(h.cancel())) as boolean).toBe(false); // nothing running
    await must(h.goto(0));
    const r = await h.goto(5);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'cancelled' });
    const st = await must(h.state());
    expect(st.cursor).toBe(2);
    expect(st.steps).toHaveLength(5);
    expect(seen.some((p) => p.cancelable && p.label.startsWith('replaying step'))).toBe(true);
    // Going on afterwards completes, to the same machine as before.
    host = null;
    await must(h.goto(5));
    expect(await hash(h)).toBe(await hash(await loaded()));
  });

  it('a cancelled load keeps the unrun steps as pending redo history', async () => {
    let host: Host | null = null;
    let t = 0;
    const h = new Host({
      checkpointBudget: 0,
      now: () => (t += 40), // every step is due a progress report
      onProgress: (p) => void (p.cancelable && p.done === 1 && host?.cancel()),
    });
    host = h;
    const text = JSON.stringify({ name: 'five', machine: { ram: '64M', seed: 4 }, steps: STEPS });
    const r = await h.loadScenario(text, 'five.json');
    expect(r.ok).toBe(false);
    const st = await must(h.state());
    expect(st.cursor).toBe(1);
    expect(st.steps.map((s) => s.pending ?? false)).toEqual([false, true, true, true, true]);
    host = null;
    await must(h.goto(5));
    expect((await must(h.state())).steps.every((s) => s.ok && !s.pending)).toBe(true);
  });

  it('served over the message loop, cancel overtakes the queue and stops the goto that runs', async () => {
    // A port pair in one process: what the client sends the server receives, and back.
    const toServer = new Set<(m: unknown) => void>();
    const rpc = createRpcClient((req) => setImmediate(() => toServer.forEach((l) => l(req))));
    const port: LoopPort = {
      on: (_e, l) => toServer.add(l),
      postMessage: (m: RpcMessage) => setImmediate(() => rpc.receive(m)),
    };
    let clock = 0;
    serveApi(
      port,
      (onProgress) =>
        new Host({
          onProgress,
          checkpointBudget: 0,
          now: () => (clock += 50), // every step looks slow: the replay yields between steps
          yieldToEvents: () => new Promise((r) => setImmediate(r)),
        }),
    );
    const api = rpc.client;
    await must(api.newMachine({ ram: '64M', seed: 4 }));
    for (const s of STEPS) await must(api.run(s));
    await must(api.goto(0));
    let cancelled: Promise<Result<boolean>> | null = null;
    api.onProgress((p) => {
      if (p.cancelable && !cancelled) cancelled = api.cancel();
    });
    const r = await api.goto(5);
    expect(await cancelled).toEqual({ ok: true, value: true });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('cancelled');
    const st = await must(api.state());
    expect(st.cursor).toBeGreaterThan(0);
    expect(st.cursor).toBeLessThan(5);
  });
});

describe('cancel and switchBranch at the API boundary (validateCall, as main and the workers check)', () => {
  it('accepts cancel() without arguments and switchBranch(id) with a non-negative integer only', () => {
    expect(validateCall('cancel', []).ok).toBe(true);
    const extra = validateCall('cancel', [1]);
    expect(extra.ok).toBe(false);
    expect(validateCall('switchBranch', [3]).ok).toBe(true);
    for (const bad of [[-1], [1.5], ['2'], []]) {
      const r = validateCall('switchBranch', bad);
      expect(r.ok, JSON.stringify(bad)).toBe(false);
      if (!r.ok) expect(r.error.message).toMatch(/^switchBranch: /);
    }
  });
});
