/**
 * DOC: page-state trace
 *
 * The kernel does not draw. Whatever changes what a range of pages is — handed to the buddy
 * allocator, allocated to an owner, reserved by memblock, preserved or restored by KHO — is
 * recorded here as one range event, as a tracepoint would report it (mm_page_alloc and
 * mm_page_free in include/trace/events/kmem.h, but for a range). The host reads the log and keeps
 * the memory map from it, lazily, when a view asks (electron/host/page-map.ts). The log is plain
 * data — a typed array and a count — so timeline snapshots copy it with the rest of the kernel.
 *
 * Events are appended, with one economy: a new event next to one of the last LOOKBACK events in
 * the same state, and overlapping no event after that one, extends it (runs of order-0 pages
 * allocated side by side cost one event); a new event inside such an event is dropped; and a new
 * event over exactly the last one's range replaces it. Only the last LOOKBACK events ever change,
 * so a reader that re-reads them sees every change.
 *
 * The log is also kept bounded under churn (a million order-0 allocations and frees at scattered
 * pfns merge into nothing): when it would grow, it is compacted instead — rewritten as the pages'
 * current states, one event per run of pages in the same state, in pfn order (a page no event
 * ever covered stays uncovered). Its size is then proportional to how fragmented the memory is,
 * not to how long the kernel has run. A compaction bumps `generation`: a reader that sees a new
 * generation re-reads the log from the start, which covers every page that ever changed, so
 * whatever it had built is brought up to date.
 */

/** What a range of pages became. */
export const PageState = {
  /** Given to the buddy allocator; `arg` is its free state (freeState()). */
  Free: 0,
  /** Allocated or reserved for an owner; `arg` is the owner id (mm/owners.ts). */
  Owned: 1,
  /** Reserved by memblock for nobody in particular. */
  Reserved: 2,
  /** kho_preserve_*() marked it. */
  KhoPreserved: 3,
  /** kho_restore_*() handed it back. */
  KhoRestored: 4,
  /** Preserved by the previous kernel and not restored (yet) in this one. */
  KhoUnrestored: 5,
  /** Its bytes were damaged on purpose (a fault the lab injects). */
  Corrupted: 6,
} as const;
export type PageState = (typeof PageState)[keyof typeof PageState];

/** The free state of a page in a KHO scratch area, whatever its pageblock's migratetype. */
export const FREE_SCRATCH = 7;

/** Events a new one may merge into, counted from the end. */
export const LOOKBACK = 4;

/** Events below which the log is never compacted (small logs just grow). */
export const COMPACT_MIN_EVENTS = 4096;

/** Numbers per event: first pfn, page count, code (state + 8 × arg). */
export const EVENT_WORDS = 3;
const STATE_BITS = 8;

export function eventState(code: number): PageState {
  return (code % STATE_BITS) as PageState;
}

export function eventArg(code: number): number {
  return Math.floor(code / STATE_BITS);
}

export class PageTrace {
  /** EVENT_WORDS numbers per event; only the first `length` events are meaningful. */
  events = new Float64Array(EVENT_WORDS * 256);
  length = 0;
  /** Compactions so far: a reader keeping a position in the log starts over when this changes. */
  generation = 0;
  /** The length after the last compaction or attempt: the next waits for the log to double. */
  settled = 0;

  /** Records that pages [pfn, pfn + count) became `state` (with `arg`, see PageState). */
  record(pfn: number, count: number, state: PageState, arg = 0): void {
    if (count <= 0) return;
    const code = state + STATE_BITS * arg;
    const e = this.events;
    const n = this.length;
    const end = pfn + count;
    // Merge into one of the last few events when nothing after it overlaps the new range.
    for (let j = n - 1; j >= 0 && j >= n - LOOKBACK; j--) {
      const at = j * EVENT_WORDS;
      const jStart = e[at]!;
      const jEnd = jStart + e[at + 1]!;
      if (e[at + 2] === code) {
        if (pfn >= jStart && end <= jEnd) return;
        if (pfn <= jEnd && end >= jStart) {
          const lo = Math.min(pfn, jStart);
          e[at] = lo;
          e[at + 1] = Math.max(end, jEnd) - lo;
          return;
        }
      } else if (j === n - 1 && pfn === jStart && end === jEnd) {
        e[at + 2] = code;
        return;
      }
      if (pfn < jEnd && end > jStart) break; // overlaps: the new event must come after this one
    }
    if ((n + 1) * EVENT_WORDS > e.length) {
      const grown = new Float64Array(e.length * 2);
      grown.set(e);
      this.events = grown;
    }
    const at = n * EVENT_WORDS;
    this.events[at] = pfn;
    this.events[at + 1] = count;
    this.events[at + 2] = code;
    this.length = n + 1;
  }

  /**
   * Compacts the log if it has at least doubled since last time (and is not small): the
   * timeline calls it after every step, so the cost is amortised over the events recorded.
   */
  maybeCompact(): void {
    if (this.length < COMPACT_MIN_EVENTS || this.length < 2 * this.settled) return;
    this.compact();
  }

  /**
   * Rewrites the log as the current state of every page it covers — one event per run of pages
   * whose last event has the same code, in pfn order — if that at least halves it (fragmented
   * memory may need more runs than the layered log has events). O(n log n) in events, never in
   * pages.
   */
  compact(): void {
    const n = this.length;
    const e = this.events;
    // Elementary segments between consecutive distinct event edges.
    const edges = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      edges[2 * i] = e[i * EVENT_WORDS]!;
      edges[2 * i + 1] = e[i * EVENT_WORDS]! + e[i * EVENT_WORDS + 1]!;
    }
    edges.sort();
    let m = 0;
    for (let i = 0; i < edges.length; i++) if (m === 0 || edges[i] !== edges[m - 1]) edges[m++] = edges[i]!;
    const segs = Math.max(0, m - 1);
    // The newest event covering each segment wins: walk events newest first and give each the
    // segments no newer event took; `next` skips taken segments (union-find with path halving).
    const code = new Float64Array(segs).fill(-1);
    const next = new Int32Array(segs + 1);
    for (let i = 0; i <= segs; i++) next[i] = i;
    for (let i = n - 1; i >= 0; i--) {
      const lo = e[i * EVENT_WORDS]!;
      const last = lowerBound(edges, m, lo + e[i * EVENT_WORDS + 1]!);
      for (let s = find(next, lowerBound(edges, m, lo)); s < last; s = find(next, s)) {
        code[s] = e[i * EVENT_WORDS + 2]!;
        next[s] = s + 1;
      }
    }
    // Runs of equal code over adjacent segments become one event each.
    const limit = n >> 1;
    const runs = new Float64Array(Math.max(256, 2 * limit) * EVENT_WORDS);
    let out = 0;
    for (let s = 0; s < segs; s++) {
      const c = code[s]!;
      if (c < 0) continue;
      const prev = (out - 1) * EVENT_WORDS;
      if (out > 0 && runs[prev + 2] === c && runs[prev]! + runs[prev + 1]! === edges[s]) {
        runs[prev + 1]! += edges[s + 1]! - edges[s]!;
        continue;
      }
      if (out === limit) {
        this.settled = n; // no gain: keep the layered log, and wait for it to double
        return;
      }
      runs[out * EVENT_WORDS] = edges[s]!;
      runs[out * EVENT_WORDS + 1] = edges[s + 1]! - edges[s]!;
      runs[out * EVENT_WORDS + 2] = c;
      out++;
    }
    this.events = runs;
    this.length = out;
    this.settled = out;
    this.generation++;
  }

  get byteLength(): number {
    return this.events.byteLength;
  }
}

/** The representative of `x`: the first segment at or after it not yet taken. */
function find(next: Int32Array, x: number): number {
  while (next[x] !== x) {
    next[x] = next[next[x]!]!;
    x = next[x]!;
  }
  return x;
}

/** The first index in sorted `a[0..n)` whose value is ≥ `x`. */
function lowerBound(a: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where a log stood before a step: its length and a copy of the events record() may still change. */
export interface TraceMark {
  readonly trace: PageTrace;
  readonly length: number;
  /** The last LOOKBACK events (EVENT_WORDS numbers each), from event `length - tail.length / EVENT_WORDS`. */
  readonly tail: Float64Array;
}

export function markTrace(trace: PageTrace): TraceMark {
  const from = Math.max(0, trace.length - LOOKBACK) * EVENT_WORDS;
  return { trace, length: trace.length, tail: trace.events.slice(from, trace.length * EVENT_WORDS) };
}

/**
 * The pages whose state changed since `mark` (null: before any kernel ran), as sorted, disjoint
 * [first, end) pairs: the events recorded since, and of an event merged into since, only the part
 * it grew by. A log other than the marked one (a kernel booted since) counts whole. Read before the
 * log is compacted (compaction rewrites it, it changes no page).
 */
export function changedSince(mark: TraceMark | null, now: PageTrace | null): Float64Array {
  if (!now) return new Float64Array(0);
  const e = now.events;
  const ranges: number[] = [];
  let from = 0;
  if (mark && mark.trace === now) {
    from = mark.length;
    const first = mark.length - mark.tail.length / EVENT_WORDS;
    for (let j = first; j < mark.length; j++) {
      const at = j * EVENT_WORDS;
      const old = (j - first) * EVENT_WORDS;
      const [lo0, hi0, code0] = [mark.tail[old]!, mark.tail[old]! + mark.tail[old + 1]!, mark.tail[old + 2]!];
      const [lo, hi] = [e[at]!, e[at]! + e[at + 1]!];
      if (e[at + 2] !== code0) ranges.push(lo, hi);
      else {
        // A merge only widens an event: the pages it gained lie on either side of the old range.
        if (lo < lo0) ranges.push(lo, lo0);
        if (hi > hi0) ranges.push(hi0, hi);
      }
    }
  }
  for (let j = from; j < now.length; j++)
    ranges.push(e[j * EVENT_WORDS]!, e[j * EVENT_WORDS]! + e[j * EVENT_WORDS + 1]!);
  return mergeRanges(ranges);
}

/** [first, end) pairs sorted by first, overlapping or touching ones merged. */
function mergeRanges(pairs: number[]): Float64Array {
  const order = Array.from({ length: pairs.length / 2 }, (_, i) => i).sort((a, b) => pairs[2 * a]! - pairs[2 * b]!);
  const out: number[] = [];
  for (const i of order) {
    const lo = pairs[2 * i]!;
    const hi = pairs[2 * i + 1]!;
    if (out.length && lo <= out[out.length - 1]!) out[out.length - 1] = Math.max(out[out.length - 1]!, hi);
    else out.push(lo, hi);
  }
  return Float64Array.from(out);
}

/** Whether sorted, disjoint [first, end) pairs `ranges` overlap [pfn, pfn + pages). */
export function rangesOverlap(ranges: Float64Array, pfn: number, pages: number): boolean {
  // The last pair starting before the block's end is the only one that can reach into it.
  let lo = 0;
  let hi = ranges.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[2 * mid]! < pfn + pages) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && ranges[2 * (lo - 1) + 1]! > pfn;
}
