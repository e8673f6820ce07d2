/**
 * The timeline's checkpoints (electron/host/timeline.ts, timeline-snapshot.ts) and the machine
 * fingerprint (electron/kernel/lib/state-hash.ts): a step reached through a checkpoint is the same
 * machine as the step replayed from power-on, on every built-in scenario.
 */
import { describe, expect, it } from 'vitest';
import { Host } from '../../../electron/host/host';
import { BUILTIN_SCENARIOS } from '../../../electron/host/builtins';
import { Snapshotter, snapshotBytes } from '../../../electron/host/timeline-snapshot';
import { Machine } from '../../../electron/kernel/machine';
import type { Timeline } from '../../../electron/host/timeline';
import type { Kernel } from '../../../electron/kernel/kernel';
import { pageMap } from '../../../electron/host/page-map';
import { MachineConfigSchema } from '../../../shared/machine-config';
import type { Result } from '../../../shared/api';

async function must<T>(p: Promise<Result<T>>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

/** A clock where every reading is 1 ms later: each step costs 1 ms, so checkpoints fall every few steps. */
function tickingClock(): () => number {
  let t = 0;
  return () => (t += 1);
}

const fingerprint = async (h: Host) => (await must(h.report())).ramHash;

describe('checkpoints: a step reached through a checkpoint equals the step replayed from power-on', () => {
  for (const name of Object.keys(BUILTIN_SCENARIOS)) {
    // Not a performance limit: luo-vm replays a 17 GiB machine twice, slow on a loaded CI box.
    it(`builtin ${name}: every step, restored from the checkpoint before it`, { timeout: 600_000 }, async () => {
      // The reference: no checkpoints at all, every step replayed from power-on in one pass.
      const plain = new Host({ checkpointBudget: 0 });
      const loaded = await must(plain.loadBuiltin(name));
      const n = loaded.steps.length;
      // Every step of an ordinary scenario; about 40 of the 7.x selftests' thousands, evenly spread.
      const stride = Math.max(1, Math.ceil(n / 40));
      const ks = [...new Set([...Array.from({ length: Math.floor(n / stride) + 1 }, (_, i) => i * stride), n])];
      expect(plain.checkpointStats().count).toBe(0);
      const expected = new Map<number, string>();
      for (const k of ks) {
        await must(plain.goto(k));
        expected.set(k, await fingerprint(plain));
      }

      // A checkpoint every 3 steps (every `stride` × 3 in the long ones): going backwards restores
      // one and replays at most a few steps.
      const host = new Host({ now: tickingClock(), checkpointEveryMs: 3 * stride });
      await must(host.loadBuiltin(name));
      const stats = host.checkpointStats();
      expect(stats.off).toBeNull();
      if (n >= 3) expect(stats.count).toBeGreaterThan(0);
      for (const k of [...ks].reverse()) {
        await must(host.goto(k));
        expect(await fingerprint(host), `step ${k} of ${n}`).toBe(expected.get(k));
      }
      // Forward again from power-on through restored checkpoints.
      await must(host.goto(n));
      expect(await fingerprint(host)).toBe(expected.get(n));
    });
  }
});

describe('a checkpoint right after kexec -e (kernel/kexec_core.c: machine_kexec(), no kernel runs)', () => {
  it('luo-vmm-memfd: the step of the jump is checkpointed whatever the replay bound, and a move back to the next boot restores it', async () => {
    // A bound no span reaches: only power-on and the jump are checkpointed.
    const host = new Host({ now: tickingClock(), checkpointEveryMs: 1e9 });
    const loaded = await must(host.loadBuiltin('luo-vmm-memfd'));
    const jump = loaded.steps.findIndex((s) => s.command.op === 'reboot') + 1;
    const timeline = (host as unknown as { timeline: Timeline }).timeline;
    expect(timeline.checkpoints().map((n) => n.depth)).toEqual([0, jump]);
    // Stepping back to the next kernel's boot restores the kernel-less machine and boots it again.
    const plain = new Host({ checkpointBudget: 0 });
    await must(plain.loadBuiltin('luo-vmm-memfd'));
    await must(plain.goto(jump + 1));
    await must(host.goto(jump + 1));
    expect(await fingerprint(host)).toBe(await fingerprint(plain));
  });
});

describe('checkpoints across a page-trace compaction (electron/kernel/mm/page-trace.ts)', () => {
  it('alloc_pages()/__free_pages() churn that compacts the trace: every step through a checkpoint equals the replay, and the map follows', async () => {
    const scenario = JSON.stringify({
      name: 'churn',
      machine: { ram: '128M', seed: 3 },
      steps: [
        { op: 'boot' },
        { op: 'alloc_pages', tag: 'a', order: 0, count: 1 << 24, expect: 'ENOMEM' },
        { op: 'free_pages', tag: 'a', every: 2 }, // thousands of one-page events
        { op: 'free_pages', tag: 'a' }, // and back to a few runs: the next boundary compacts
        { op: 'alloc_pages', tag: 'b', order: 0, count: 4096 },
        { op: 'free_pages', tag: 'b', every: 3 },
      ],
    });
    const plain = new Host({ checkpointBudget: 0 });
    const n = (await must(plain.loadScenario(scenario, 'churn.json'))).steps.length;
    const expected: string[] = [];
    for (let k = 0; k <= n; k++) {
      await must(plain.goto(k));
      expected.push(await fingerprint(plain));
    }
    const host = new Host({ now: tickingClock(), checkpointEveryMs: 2 });
    await must(host.loadScenario(scenario, 'churn.json'));
    const k = (host as unknown as { timeline: { machine: Machine } }).timeline.machine.kernel!;
    expect(k.pages.trace.generation).toBeGreaterThan(0);
    for (let at = n; at >= 0; at--) {
      await must(host.goto(at));
      expect(await fingerprint(host), `step ${at}`).toBe(expected[at]);
      const m = (host as unknown as { timeline: { machine: Machine } }).timeline.machine;
      if (!m.kernel) continue;
      // The map kept across compactions and restores equals one read afresh from the trace.
      const fresh = pageMap({ ...m.kernel, pages: Object.create(m.kernel.pages) as typeof m.kernel.pages } as Kernel);
      expect(pageMap(m.kernel).toBytes(), `map at step ${at}`).toEqual(fresh.toBytes());
    }
  });
});

describe('Machine.fingerprint() covers all kernel state (lib/state-hash.ts)', () => {
  it('changes with state outside RAM and page flags: the log, generation, preferred node, WARN_ON_ONCE sites, cmdline, RNG', async () => {
    const h = new Host();
    await must(h.loadBuiltin('test-kho'));
    const m = (h as unknown as { timeline: { machine: Machine } }).timeline.machine;
    const base = m.fingerprint();
    const snap = new Snapshotter((_o, key) => key === 'sink');
    const probe = (mutate: (x: Machine) => void) => {
      const copy = snap.restore(snap.take(m));
      expect(copy.fingerprint()).toBe(base);
      mutate(copy);
      return copy.fingerprint();
    };
    expect(probe((x) => x.log.info('', 'one more line'))).not.toBe(base);
    expect(probe((x) => (x.generation += 1))).not.toBe(base);
    expect(probe((x) => (x.kernel!.preferredNid = 1))).not.toBe(base);
    expect(probe((x) => x.kernel!.warnOnce('mm/page_alloc.c', 'probe'))).not.toBe(base);
    expect(probe((x) => (x.kernel!.cmdline += ' quiet'))).not.toBe(base);
    expect(probe((x) => x.rng.u32())).not.toBe(base);
  });

  it('does not change when the UI reads: map, pages, KHO, LUO, user space and records views', async () => {
    for (const name of ['test-kho', 'luo-kexec-simple']) {
      const h = new Host();
      const s = await must(h.loadBuiltin(name));
      for (const at of [Math.floor(s.steps.length / 2), s.steps.length]) {
        await must(h.goto(at));
        const before = await fingerprint(h);
        const st = await must(h.state());
        await must(h.mapView({ firstPfn: 0, pagesPerCell: 64, cells: Math.ceil(st.maxPfn / 64) }));
        for (let pfn = 0; pfn < st.maxPfn; pfn += 4099) await h.page(pfn);
        const kho = await must(h.kho());
        await must(h.luo());
        await must(h.userspace());
        for (const phys of [kho.outgoing?.fdtPhys, kho.incoming?.fdtPhys]) if (phys) await h.fdt(phys);
        for (const phys of kho.outgoing?.chunkPhys ?? []) await h.chunks(phys);
        expect(await fingerprint(h), `${name} at step ${at}`).toBe(before);
      }
    }
  });
});

describe('Snapshotter', () => {
  it('shares unchanged blocks with the previous snapshot and restores an independent machine', () => {
    const m = new Machine(MachineConfigSchema.parse({ ram: '256M', seed: 3 }));
    m.boot();
    const snap = new Snapshotter();
    const a = snap.take(m);
    const b = snap.take(m);
    // The second snapshot of an unchanged machine adds only its objects, no buffer bytes.
    expect(snapshotBytes([a, b]) - snapshotBytes([a])).toBe(snapshotBytes([b]) - snapshotBytes([b]) + b.objects * 96);
    const copy = snap.restore(a);
    expect(copy).toBeInstanceOf(Machine);
    expect(copy.fingerprint()).toBe(m.fingerprint());
    copy.ram.write(4096 * 100, new Uint8Array([7]));
    copy.kernel!.pages.flags.set(10, copy.kernel!.pages.flags.get(10) ^ 1);
    expect(copy.fingerprint()).not.toBe(m.fingerprint());
    // The snapshot was not touched by the copy's writes.
    expect(snap.restore(a).fingerprint()).toBe(m.fingerprint());
  });

  it('refuses state holding a closure, naming where it is', () => {
    const snap = new Snapshotter();
    const state = { kernel: { pending: [{ done: () => 1, n: { x: new Uint8Array(2) } }] } };
    expect(() => snap.take(state)).toThrow(/function at kernel\.pending\.0\.done/);
  });
});
