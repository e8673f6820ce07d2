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

  get byteLength(): number {
    return this.events.byteLength;
  }
}
