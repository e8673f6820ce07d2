/**
 * The engine host (SimApi): stepping, errno reporting, `expect`, time travel by replay, views,
 * scenario loading with precise error messages, built-in scenarios and determinism.
 */
import { describe, expect, it } from 'vitest';
import { Host, builtinScenario } from '../../../electron/host/host';
import { BUILTIN_SCENARIOS } from '../../../electron/host/builtins';
import type { Result } from '../../../shared/api';
import type { CommandInput } from '../../../shared/commands';
import { PAGE_SIZE } from '../../../shared/units';

/** Unwraps a Result, failing the test with the host's message. */
async function must<T>(p: Promise<Result<T>>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

async function failure<T>(p: Promise<Result<T>>): Promise<{ code: string; message: string }> {
  const r = await p;
  if (r.ok) throw new Error('expected the call to fail');
  return r.error;
}

async function hostWith(ram: string, steps: CommandInput[], nodes = 1): Promise<Host> {
  const host = new Host();
  await must(host.newMachine({ ram, nodes, seed: 11 }));
  for (const s of steps) await must(host.run(s));
  return host;
}

const WORKLOAD: CommandInput[] = [
  { op: 'boot' },
  { op: 'spawn', name: 'vmm' },
  { op: 'memfd_create', process: 'vmm', name: 'guest', size: '8M' },
  { op: 'write', process: 'vmm', fd: 3, data: { random: true } },
  { op: 'alloc_pages', tag: 'slab', order: 1, count: 300 },
  { op: 'vmalloc', name: 'ring', size: '1M' },
  { op: 'free_pages', tag: 'slab', every: 3 },
  { op: 'fallocate', process: 'vmm', fd: 3, offset: '1M', length: '2M', punchHole: true },
];

/** Everything a client can observe about the current state. */
async function observe(host: Host) {
  const state = await must(host.state());
  const report = await must(host.report());
  const view = await must(host.mapView({ firstPfn: 0, pagesPerCell: 16, cells: Math.ceil(state.maxPfn / 16) }));
  return {
    summary: state.summary,
    cursor: state.cursor,
    ramHash: report.ramHash,
    cells: Buffer.from(view.cells).toString('base64'),
  };
}

describe('Host.run', () => {
  it('memfd_create returns the lowest free fd and spawn the pid, as StepInfo.returned', async () => {
    const host = await hostWith('128M', [{ op: 'boot' }]);
    const spawn = await must(host.run({ op: 'spawn', name: 'vmm' }));
    expect(spawn.step.returned).toBe(1000);
    const a = await must(host.run({ op: 'memfd_create', process: 'vmm', name: 'a' }));
    const b = await must(host.run({ op: 'memfd_create', process: 'vmm', name: 'b' }));
    expect([a.step.returned, b.step.returned]).toEqual([3, 4]);
    await must(host.run({ op: 'close', process: 'vmm', fd: 3 }));
    expect((await must(host.run({ op: 'memfd_create', process: 'vmm', name: 'c' }))).step.returned).toBe(3);
    const refused = await must(host.run({ op: 'memfd_create', process: 'nobody', name: 'x' }));
    expect(refused.step.returned).toBeUndefined();
    expect(refused.step.errno).toBe('ESRCH');
  });

  it('returns the step, the new state and the events the step logged', async () => {
    const host = await hostWith('64M', []);
    const out = await must(host.run({ op: 'boot' }));
    expect(out.step).toMatchObject({ index: 1, label: 'boot', ok: true });
    expect(out.step.errno).toBeUndefined();
    expect(out.state.booted).toBe(true);
    expect(out.state.cursor).toBe(1);
    expect(out.state.summary!.managedPages).toBeGreaterThan(0);
    expect(out.events.length).toBeGreaterThan(5);
    expect(out.events.every((e) => e.step === 1)).toBe(true);
    expect(out.events.some((e) => /Linux version/.test(e.msg))).toBe(true);
    const next = await must(host.run({ op: 'spawn', name: 'a' }));
    expect(next.events.every((e) => e.seq > out.events[out.events.length - 1]!.seq)).toBe(true);
  });

  it('a command the kernel refuses reports its errno and the machine keeps running', async () => {
    const host = await hostWith('64M', []);
    const early = await must(host.run({ op: 'spawn', name: 'vmm' }));
    expect(early.step).toMatchObject({ ok: false, errno: 'EINVAL' });
    await must(host.run({ op: 'boot' }));
    await must(host.run({ op: 'spawn', name: 'vmm' }));
    const bad = await must(host.run({ op: 'close', process: 'vmm', fd: 9 }));
    expect(bad.step).toMatchObject({ ok: false, errno: 'EBADF' });
    expect(bad.step.message).toMatch(/close: EBADF/);
    const enoent = await must(host.run({ op: 'vfree', name: 'nothing' }));
    expect(enoent.step.errno).toBe('ENOENT');
    const again = await must(host.run({ op: 'memfd_create', process: 'vmm', name: 'x' }));
    expect(again.step).toMatchObject({ ok: true });
    expect(again.step.message).toMatch(/fd 3/);
    expect(again.state.booted).toBe(true);
    expect(again.state.cursor).toBe(6);
  });

  it('refuses an invalid command without touching the timeline', async () => {
    const host = await hostWith('64M', [{ op: 'boot' }]);
    const err = await failure(host.run({ op: 'explode' } as unknown as CommandInput));
    expect(err.code).toBe('invalid-argument');
    const err2 = await failure(host.run({ op: 'alloc_pages', tag: 't', order: 11 }));
    expect(err2.code).toBe('invalid-argument');
    expect((await must(host.state())).cursor).toBe(1);
  });

  it('expect: passes only when the kernel answers exactly that errno', async () => {
    const host = await hostWith('64M', [{ op: 'boot' }]);
    const asExpected = await must(
      host.run({ op: 'alloc_pages', tag: 'all', order: 10, count: 100_000, expect: 'ENOMEM' }),
    );
    expect(asExpected.step).toMatchObject({ ok: true, errno: 'ENOMEM' });
    expect(asExpected.step.message).toMatch(/as expected/);
    const succeeded = await must(host.run({ op: 'spawn', name: 'p', expect: 'ENOMEM' }));
    expect(succeeded.step.ok).toBe(false);
    expect(succeeded.step.message).toMatch(/expected ENOMEM, got success/);
    const wrong = await must(host.run({ op: 'close', process: 'p', fd: 3, expect: 'ENOMEM' }));
    expect(wrong.step).toMatchObject({ ok: false, errno: 'EBADF' });
    expect(wrong.step.message).toMatch(/expected ENOMEM, got EBADF/);
    const report = await must(host.report());
    expect(report.ok).toBe(false);
  });

  it('expect_free checks pass or fail without changing the machine', async () => {
    const host = await hostWith('64M', [{ op: 'boot' }]);
    const before = (await must(host.report())).ramHash;
    expect((await must(host.run({ op: 'expect_free', atLeast: '1M' }))).step.ok).toBe(true);
    expect((await must(host.run({ op: 'expect_free', atLeast: '1T' }))).step.ok).toBe(false);
    expect((await must(host.run({ op: 'expect_free', migratetype: 'CMA', atMost: 0 }))).step.ok).toBe(true);
    expect((await must(host.run({ op: 'expect_free', atMost: '1M' }))).step.message).toMatch(/expected at most 1 MiB/);
    expect((await must(host.report())).ramHash).toBe(before);
  });
});

describe('Host memfd checks', () => {
  it('verify_memfd passes after writes, punch holes and page-aligned shrinks', async () => {
    const host = await hostWith('64M', [
      { op: 'boot' },
      { op: 'spawn', name: 'p' },
      { op: 'memfd_create', process: 'p', name: 'm', size: '64K' },
      { op: 'write', process: 'p', fd: 3, data: { text: 'abc' }, offset: 100 },
      { op: 'write', process: 'p', fd: 3, data: { random: true }, offset: '8K', length: '20K' },
      { op: 'fallocate', process: 'p', fd: 3, offset: 5000, length: '9K', punchHole: true },
      { op: 'ftruncate', process: 'p', fd: 3, size: '16K' },
    ]);
    const r = await must(host.run({ op: 'verify_memfd', process: 'p', fd: 3 }));
    expect(r.step.message).toMatch(/all \d+ written pages match/);
    expect(r.step.ok).toBe(true);
  });

  it('alloc_pages under a tag keeps its order; free_pages every n frees every n-th block', async () => {
    const host = await hostWith('64M', [{ op: 'boot' }, { op: 'alloc_pages', tag: 't', order: 2, count: 10 }]);
    const mismatch = await must(host.run({ op: 'alloc_pages', tag: 't', order: 3 }));
    expect(mismatch.step).toMatchObject({ ok: false, errno: 'EINVAL' });
    const freed = await must(host.run({ op: 'free_pages', tag: 't', every: 3 }));
    expect(freed.step.message).toBe('freed 4 blocks of order 2; 6 left under t');
    expect((await must(host.run({ op: 'free_pages', tag: 't' }))).step.message).toBe(
      'freed 6 blocks of order 2; 0 left under t',
    );
    expect((await must(host.run({ op: 'free_pages', tag: 't' }))).step.errno).toBe('ENOENT');
    const r = await must(host.report());
    expect(r.events.some((e) => e.subsys === 'BUG')).toBe(false);
  });

  // Product bug (see the report): the ftruncate step re-records no checksum (remember(p, inode, 0, 0)),
  // but shmem zeroed the tail of the new last page, so verify_memfd reports intact data as corrupt.
  it('verify_memfd passes after an ftruncate to a size that is not a page multiple', async () => {
    const host = await hostWith('64M', [
      { op: 'boot' },
      { op: 'spawn', name: 'p' },
      { op: 'memfd_create', process: 'p', name: 'm', size: '8K' },
      { op: 'write', process: 'p', fd: 3, data: { fill: 1 } },
      { op: 'ftruncate', process: 'p', fd: 3, size: 5000 },
    ]);
    const r = await must(host.run({ op: 'verify_memfd', process: 'p', fd: 3 }));
    expect(r.step.message).toMatch(/all \d+ written pages match/);
    expect(r.step.ok).toBe(true);
  });
});

describe('Host time travel', () => {
  it('goto back and forward replays to the identical state (summary, RAM hash, map bytes)', async () => {
    const host = await hostWith('128M', WORKLOAD);
    const atEnd = await observe(host);
    await must(host.goto(4));
    const at4 = await observe(host);
    expect(at4.cursor).toBe(4);
    expect(at4.ramHash).not.toBe(atEnd.ramHash);
    await must(host.goto(WORKLOAD.length));
    expect(await observe(host)).toEqual(atEnd);
    await must(host.goto(0));
    expect((await must(host.state())).booted).toBe(false);
    await must(host.goto(4));
    expect(await observe(host)).toEqual(at4);
    // A fresh host that ran only the first 4 steps agrees.
    expect(await observe(await hostWith('128M', WORKLOAD.slice(0, 4)))).toEqual(at4);
  });

  it('running a step after going back drops the redo history', async () => {
    const host = await hostWith('64M', WORKLOAD.slice(0, 4));
    await must(host.goto(2));
    await must(host.run({ op: 'spawn', name: 'other' }));
    const state = await must(host.state());
    expect(state.steps.map((s) => s.label)).toEqual(['boot', 'spawn vmm', 'spawn other']);
    expect((await must(host.scenario())).steps.length).toBe(3);
    expect((await failure(host.goto(4))).code).toBe('invalid-argument');
    expect((await failure(host.goto(-1))).message).toMatch(/outside the timeline \(0\.\.3\)/);
  });

  it('scenario() replays to the same RAM hash', async () => {
    const host = await hostWith('128M', WORKLOAD);
    const s = await must(host.scenario());
    const hash = (await must(host.report())).ramHash;
    const other = new Host();
    await must(other.loadScenario(JSON.stringify(s), 'exported.json'));
    expect((await must(other.report())).ramHash).toBe(hash);
  });
});

describe('Host views', () => {
  it('mapView never returns more than `cells` bytes, also past the end of RAM', async () => {
    const host = await hostWith('64M', [{ op: 'boot' }]);
    const { maxPfn } = await must(host.state());
    for (const req of [
      { firstPfn: 0, pagesPerCell: 1, cells: 10 },
      { firstPfn: 0, pagesPerCell: 4096, cells: 100 },
      { firstPfn: maxPfn - 3, pagesPerCell: 7, cells: 50 },
      { firstPfn: maxPfn + 100, pagesPerCell: 1, cells: 8 },
      { firstPfn: 17, pagesPerCell: 333, cells: 1 },
    ]) {
      const v = await must(host.mapView(req));
      expect(v.cells.length).toBe(req.cells);
      expect(v.firstPfn).toBe(req.firstPfn);
      if (req.firstPfn >= maxPfn) expect(Array.from(v.cells).every((c) => c === 0)).toBe(true);
    }
    const whole = await must(host.mapView({ firstPfn: 0, pagesPerCell: maxPfn, cells: 1 }));
    expect(whole.cells[0]).toBeGreaterThan(0);
  });

  it('page() describes a page and errors beyond max_pfn', async () => {
    const host = await hostWith('64M', [{ op: 'boot' }]);
    const { maxPfn } = await must(host.state());
    const kernelText = await must(host.page((16 << 20) / PAGE_SIZE));
    expect(kernelText.flags).toContain('PG_reserved');
    expect(kernelText.owner).toBe('kernel text');
    expect(kernelText.memblock).toMatch(/^reserved /);
    expect((await must(host.page(maxPfn - 1))).pfn).toBe(maxPfn - 1);
    for (const pfn of [maxPfn, maxPfn + 1, 2 ** 40]) {
      const e = await failure(host.page(pfn));
      expect(e.code).toBe('invalid-argument');
      expect(e.message).toMatch(/beyond the end of RAM/);
    }
  });

  it('readPhys reads RAM and refuses ranges past its end; events pages through the log', async () => {
    const host = await hostWith('64M', [{ op: 'boot' }]);
    const { maxPfn, lastEventSeq } = await must(host.state());
    expect((await must(host.readPhys(0, 64))).length).toBe(64);
    expect((await failure(host.readPhys(maxPfn * PAGE_SIZE - 10, 11))).code).toBe('invalid-argument');
    const page1 = await must(host.events(0, 3));
    expect(page1.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await must(host.events(lastEventSeq, 10))).length).toBe(0);
  });
});

describe('Host scenarios', () => {
  it.each([
    ['{"steps": [', /^bad\.json: not valid JSON/],
    ['{"steps":[{"op":"boot"},{"op":"frobnicate"}]}', /^bad\.json: steps\[1\]\.op: unknown step op/],
    [
      '{"steps":[{"op":"boot"},{"op":"memfd_create","process":"p","name":"n","size":true}]}',
      /^bad\.json: steps\[1\]\.size: /,
    ],
    [
      '{"steps":[{"op":"boot"},{"op":"memfd_create","process":"p","name":"n","size":"12Q"}]}',
      /^bad\.json: steps\[1\]\.size: expected a size/,
    ],
    ['{"steps":[{"op":"boot","extra":1}]}', /^bad\.json: steps\[0\]: .*extra/],
    ['{"machine":{"ram":"63M"},"steps":[]}', /^bad\.json: machine\.ram: RAM size 63 MiB is below the minimum/],
    ['{"name":"x"}', /^bad\.json: steps: /],
  ])('loadScenario(%s) is refused naming the source and the JSON path', async (text, message) => {
    const host = new Host();
    const e = await failure(host.loadScenario(text, 'bad.json'));
    expect(e.code).toBe('invalid-argument');
    expect(e.message).toMatch(message);
  });

  /** Built-ins that exist to show a failure, and the failure they must report. */
  const FAILING: Record<string, RegExp> = {
    'test-kho-forgot-one': /KHO restore failed: folio 3 \(order \d+\) at pfn 0x[0-9a-f]+/,
  };

  it.each(Object.keys(FAILING))('builtin %s fails with its intended message, and only there', async (name) => {
    const host = new Host();
    await must(host.loadBuiltin(name));
    const report = await must(host.report());
    expect(report.ok).toBe(false);
    const bad = report.steps.filter((s) => !s.ok);
    expect(bad).toHaveLength(1);
    expect(bad[0]!.message).toMatch(FAILING[name]!);
  });

  /**
   * The 7.x selftests past the 6.19 limits (819 sessions, 128 files) need 7.2's LUO storage
   * (branch q-luo72); test/unit/luo/selftests7x.test.ts runs them once this build's 7.2 has it.
   */
  const NEED_72_STORAGE = new Set([
    'luo-preserve-many-sessions',
    'luo-preserve-many-files',
    'luo-stress-sessions',
    'luo-stress-files',
  ]);

  it.each(Object.keys(BUILTIN_SCENARIOS).filter((n) => !FAILING[n] && !NEED_72_STORAGE.has(n)))(
    'builtin %s runs and every step passes',
    async (name) => {
      const host = new Host();
      const state = await must(host.loadBuiltin(name));
      const report = await must(host.report());
      expect(report.steps.filter((s) => !s.ok)).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.scenario).toBe(name);
      const expanded = await must(Promise.resolve(builtinScenario(name))); // repeats expanded
      expect(state.cursor).toBe(expanded.steps.length);
      // The failure scenarios get their point across with `expect`.
      const expected = report.steps.filter((s) => s.command.expect);
      for (const s of expected) expect(s.errno).toBe(s.command.expect);
      if (name === 'fragmentation' || name === 'memfd-enomem') expect(expected.length).toBeGreaterThan(0);
    },
  );

  it('unknown builtins are refused with the list of known ones', async () => {
    const e = await failure(new Host().loadBuiltin('nope'));
    expect(e.code).toBe('invalid-argument');
    expect(e.message).toMatch(/unknown built-in scenario "nope"; known: boot, fragmentation, memfd-enomem/);
  });

  it('loading the same builtin twice gives the same RAM hash and identical events', async () => {
    const a = new Host();
    const b = new Host();
    await must(a.loadBuiltin('memfd-enomem'));
    await must(b.loadBuiltin('memfd-enomem'));
    const ra = await must(a.report());
    const rb = await must(b.report());
    expect(rb.ramHash).toBe(ra.ramHash);
    expect(rb.events).toEqual(ra.events);
    expect(rb.summary).toEqual(ra.summary);
    await must(a.loadBuiltin('memfd-enomem'));
    expect((await must(a.report())).ramHash).toBe(ra.ramHash);
  });

  it('lists the builtins with their descriptions', async () => {
    const list = await must(new Host().builtins());
    expect(list.map((b) => b.name)).toEqual(Object.keys(BUILTIN_SCENARIOS));
    expect(list.every((b) => b.description.length > 10)).toBe(true);
  });
});
