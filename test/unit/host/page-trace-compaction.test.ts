/**
 * The page-state trace stays bounded under churn (electron/kernel/mm/page-trace.ts compaction) and
 * the host map read from it (electron/host/page-map.ts) stays equal to a per-page model of every
 * event the kernel recorded — whether the map follows the trace closely or falls behind across
 * compactions.
 */
import { describe, expect, it } from 'vitest';
import { pageMap } from '../../../electron/host/page-map';
import { ALLOC_FAILED } from '../../../electron/kernel/mm/buddy';
import type { Kernel } from '../../../electron/kernel/kernel';
import { Machine } from '../../../electron/kernel/machine';
import { MIGRATE_UNMOVABLE } from '../../../electron/kernel/mm/page-flags';
import {
  EVENT_WORDS,
  PageState,
  PageTrace,
  changedSince,
  markTrace,
  rangesOverlap,
} from '../../../electron/kernel/mm/page-trace';
import { Rng } from '../../../electron/kernel/lib/rng';
import { MachineConfigSchema } from '../../../shared/machine-config';

/** Every event as it was recorded, applied page by page: what the trace must still describe. */
class PerPageModel {
  readonly code: Float64Array;
  constructor(nrPages: number) {
    this.code = new Float64Array(nrPages).fill(-1);
  }
  record(pfn: number, count: number, state: number, arg = 0): void {
    if (count > 0) this.code.fill(state + 8 * arg, pfn, pfn + count);
  }
  /** The model as a trace of its runs (a plain log page-map.ts can read; never compacted). */
  asTrace(): Pick<PageTrace, 'events' | 'length' | 'generation'> {
    const runs: number[] = [];
    for (let p = 0; p < this.code.length;) {
      const c = this.code[p]!;
      let q = p + 1;
      while (q < this.code.length && this.code[q] === c) q++;
      if (c >= 0) runs.push(p, q - p, c);
      p = q;
    }
    return { events: Float64Array.from(runs), length: runs.length / EVENT_WORDS, generation: 0 };
  }
}

/** The trace's current state per page (-1: never covered), read back from its events. */
function statesOf(t: PageTrace, nrPages: number): Float64Array {
  const out = new Float64Array(nrPages).fill(-1);
  for (let i = 0; i < t.length; i++) {
    const at = i * EVENT_WORDS;
    out.fill(t.events[at + 2]!, t.events[at]!, t.events[at]! + t.events[at + 1]!);
  }
  return out;
}

/** Records every event of `k` into `model` too. */
function shadow(k: Kernel, model: PerPageModel): void {
  const trace = k.pages.trace;
  const record = trace.record.bind(trace);
  trace.record = (pfn, count, state, arg = 0) => {
    model.record(pfn, count, state, arg);
    record(pfn, count, state, arg);
  };
}

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): string {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `pfn ${i}: ${a[i]} vs ${b[i]}`;
  return '';
}

describe('PageTrace.compact(): the log rewritten as the current state of each page', () => {
  it('keeps what every page last became, over random overlapping events (property, seeded)', () => {
    let compactions = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new Rng(seed);
      const nr = 512;
      const t = new PageTrace();
      const model = new PerPageModel(nr);
      for (let i = 0; i < 3000; i++) {
        const pfn = rng.u32() % nr;
        const count = 1 + (rng.u32() % (rng.u32() % 4 === 0 ? 64 : 3));
        const end = Math.min(nr, pfn + count);
        const state = (rng.u32() % 3) as PageState;
        const arg = rng.u32() % 3;
        t.record(pfn, end - pfn, state, arg);
        model.record(pfn, end - pfn, state, arg);
        if (i % 700 === 699) t.compact();
      }
      t.compact();
      compactions += t.generation;
      expect(firstDifference(statesOf(t, nr), model.code), `seed ${seed}`).toBe('');
      // Runs come out in pfn order, disjoint, each differing from a touching neighbour.
      for (let i = 1; i < t.length; i++) {
        const prevEnd = t.events[(i - 1) * EVENT_WORDS]! + t.events[(i - 1) * EVENT_WORDS + 1]!;
        expect(t.events[i * EVENT_WORDS]!).toBeGreaterThanOrEqual(prevEnd);
        if (t.events[i * EVENT_WORDS] === prevEnd)
          expect(t.events[i * EVENT_WORDS + 2]).not.toBe(t.events[(i - 1) * EVENT_WORDS + 2]);
      }
    }
    expect(compactions).toBeGreaterThan(20);
  });

  it('declines when the current state needs more runs than the log has events, keeping the log as it was', () => {
    const t = new PageTrace();
    t.record(0, 10_000, PageState.Free);
    for (let p = 0; p < 10_000; p += 2) t.record(p, 1, PageState.Owned, 1); // every other page: 10,000 runs
    const before = t.events.slice(0, t.length * EVENT_WORDS);
    t.compact();
    expect(t.generation).toBe(0);
    expect(t.events.slice(0, t.length * EVENT_WORDS)).toEqual(before);
    // Not retried until the log has doubled.
    t.maybeCompact();
    expect(t.settled).toBe(t.length);
  });
});

describe('trace compaction under churn, at step boundaries: buddy allocator alloc_pages()/__free_pages() on 8 GiB', () => {
  // Not a performance limit: a million allocator calls on a loaded CI box.
  it(
    '1,000,000 order-0 allocations and frees at scattered pfns keep the trace under 2 MiB and the map equal to the per-page model',
    { timeout: 300_000 },
    () => {
      const m = new Machine(MachineConfigSchema.parse({ ram: '8G', seed: 7 }));
      expect(m.boot()).toBeNull();
      const k = m.kernel!;
      const model = new PerPageModel(k.pages.nrPages);
      // The trace so far as the model's starting point, then every event from here on.
      const start = statesOf(k.pages.trace, k.pages.nrPages);
      model.code.set(start);
      shadow(k, model);
      const owner = k.owners.id('kernel', 'churn');
      const rng = new Rng(11);
      const live: number[] = [];
      let peak = 0;
      let failures = 0;
      let generations = k.pages.trace.generation;
      for (let i = 0; i < 1_000_000; i++) {
        // A working set of ~8,000 pages freed in random order: the freed pfns scatter the next allocations.
        if (live.length < 8192 || rng.u32() % 2 === 0) {
          const pfn = k.buddy.allocPages(0, MIGRATE_UNMOVABLE, 0, owner, false);
          if (pfn === ALLOC_FAILED) failures++;
          else live.push(pfn);
        } else {
          const j = rng.u32() % live.length;
          const pfn = live[j]!;
          live[j] = live[live.length - 1]!;
          live.pop();
          if (k.buddy.freePages(pfn, 0)) failures++;
        }
        if (k.pages.trace.byteLength > peak) peak = k.pages.trace.byteLength;
        // A step boundary, as the timeline sees one: the trace may compact; the host map reads now and then.
        if (i % 10_000 === 0) k.pages.trace.maybeCompact();
        if (i % 250_000 === 0) pageMap(k);
      }
      expect(failures).toBe(0);
      generations = k.pages.trace.generation - generations;
      expect(generations).toBeGreaterThan(0);
      expect(peak).toBeLessThan(2 * 2 ** 20);
      const got = pageMap(k).toBytes();
      const fromModel = { ...k, pages: { ...k.pages, nrPages: k.pages.nrPages, trace: model.asTrace() } } as Kernel;
      const want = pageMap(fromModel).toBytes();
      expect(firstDifference(got, want)).toBe('');
      expect(firstDifference(statesOf(k.pages.trace, k.pages.nrPages), model.code)).toBe('');
    },
  );
});

describe('changedSince(): the pages a step changed, from the trace (mm_page_alloc/mm_page_free as ranges)', () => {
  it('counts new events whole, and of an event merged into only the pages it grew by', () => {
    const t = new PageTrace();
    t.record(100, 10, PageState.Owned, 7);
    t.record(500, 4, PageState.Free, 0);
    const mark = markTrace(t);
    t.record(110, 5, PageState.Owned, 7); // merges into [100, 110): grows it by [110, 115)
    t.record(503, 2, PageState.Owned, 9); // new, overlapping the free range
    t.record(90, 2, PageState.Reserved);
    expect([...changedSince(mark, t)]).toEqual([90, 92, 110, 115, 503, 505]);
    // A state replaced over exactly the last event's range: the whole range changed.
    const m2 = markTrace(t);
    t.record(90, 2, PageState.KhoPreserved);
    expect([...changedSince(m2, t)]).toEqual([90, 92]);
    // Nothing recorded: nothing changed; no mark (no kernel before): the whole log.
    expect([...changedSince(markTrace(t), t)]).toEqual([]);
    expect([...changedSince(null, t)]).toEqual([90, 92, 100, 115, 500, 505]);
    expect([...changedSince(mark, null)]).toEqual([]);
  });

  it('rangesOverlap() finds a block touching any pair, and none beside them', () => {
    const r = Float64Array.from([10, 20, 40, 41]);
    expect(rangesOverlap(r, 0, 10)).toBe(false);
    expect(rangesOverlap(r, 0, 11)).toBe(true);
    expect(rangesOverlap(r, 19, 1)).toBe(true);
    expect(rangesOverlap(r, 20, 20)).toBe(false);
    expect(rangesOverlap(r, 20, 21)).toBe(true);
    expect(rangesOverlap(r, 41, 100)).toBe(false);
    expect(rangesOverlap(new Float64Array(0), 0, 1)).toBe(false);
  });
});
