/**
 * DOC: the memory map of a running kernel
 *
 * The kernel reports page-state changes as range events (electron/kernel/mm/page-trace.ts); the
 * host turns them into map categories here, when a view asks — never while the kernel runs, so a
 * replay of a hundred steps paints nothing until the UI looks. One CategoryMap per kernel
 * generation, kept beside it (not in it: timeline snapshots copy kernel state only). A kernel
 * restored from a checkpoint is a new object: its map is a copy of the one kept beside the
 * checkpoint (rememberMap / recallMap), or else rebuilt from its whole trace.
 */
import type { Machine } from '../kernel/machine';
import { PageCategory } from '../../shared/palette';
import type { Kernel } from '../kernel/kernel';
import { MIGRATE_CMA, MIGRATE_MOVABLE } from '../kernel/mm/page-flags';
import type { OwnerKind, OwnerRegistry } from '../kernel/mm/owners';
import { EVENT_WORDS, FREE_SCRATCH, LOOKBACK, PageState, eventArg, eventState } from '../kernel/mm/page-trace';
import type { PageTable } from '../kernel/mm/page-table';
import { CategoryMap } from './category-map';

/** How the map colours an owner's pages, by the owner's kind. */
const KIND_CATEGORY: Record<OwnerKind, PageCategory> = {
  firmware: PageCategory.Firmware,
  memblock: PageCategory.MemblockReserved,
  memmap: PageCategory.Memmap,
  pgtable: PageCategory.PageTables,
  'kernel-image': PageCategory.KernelImage,
  initrd: PageCategory.Initrd,
  kernel: PageCategory.KernelAlloc,
  vmalloc: PageCategory.Vmalloc,
  memfd: PageCategory.Memfd,
  kho: PageCategory.KhoMetadata,
};

/** A free page's category: scratch, or its pageblock's migratetype. */
export function freeCategory(freeState: number): PageCategory {
  if (freeState === FREE_SCRATCH) return PageCategory.Scratch;
  if (freeState === MIGRATE_MOVABLE) return PageCategory.FreeMovable;
  if (freeState === MIGRATE_CMA) return PageCategory.FreeCma;
  return PageCategory.FreeUnmovable;
}

/** An owner's category (owner 0, nobody, draws as a hole). */
export function ownerCategory(owners: OwnerRegistry, id: number): PageCategory {
  const o = id === 0 ? undefined : owners.get(id);
  return o ? KIND_CATEGORY[o.kind] : PageCategory.Hole;
}

const STATE_CATEGORY: Partial<Record<PageState, PageCategory>> = {
  [PageState.Reserved]: PageCategory.MemblockReserved,
  [PageState.KhoPreserved]: PageCategory.Preserved,
  [PageState.KhoRestored]: PageCategory.Restored,
  [PageState.KhoUnrestored]: PageCategory.Leaked,
  [PageState.Corrupted]: PageCategory.Corrupted,
};

interface Tracked {
  map: CategoryMap;
  /** Events of the trace applied so far. */
  applied: number;
  /** The last LOOKBACK events as applied: the kernel may still extend or replace them. */
  tail: Float64Array;
  /** Category per owner id, filled as owners appear (an owner's kind never changes). */
  ownerCats: number[];
  /** The trace's generation when last read: a compaction rewrote the log, which is then read whole. */
  generation: number;
}

const maps = new WeakMap<PageTable, Tracked>();

/** The category map of kernel `k`, brought up to date with its trace. */
export function pageMap(k: Kernel): CategoryMap {
  const pages = k.pages;
  let t = maps.get(pages);
  if (!t) {
    t = { map: new CategoryMap(pages.nrPages), applied: 0, tail: new Float64Array(0), ownerCats: [], generation: 0 };
    maps.set(pages, t);
  }
  const trace = pages.trace;
  const ev = trace.events;
  // Re-apply from the first of the last events read that has changed since, then everything new.
  const tailFrom = t.applied - t.tail.length / EVENT_WORDS;
  let from = t.applied;
  if (t.generation !== trace.generation) from = 0;
  else
    for (let i = 0; i < t.tail.length; i++)
      if (t.tail[i] !== ev[tailFrom * EVENT_WORDS + i]) {
        from = tailFrom + Math.floor(i / EVENT_WORDS);
        break;
      }
  const map = t.map;
  for (let i = from; i < trace.length; i++) {
    const at = i * EVENT_WORDS;
    const code = ev[at + 2]!;
    const state = eventState(code);
    let cat: number;
    if (state === PageState.Free) cat = freeCategory(eventArg(code));
    else if (state === PageState.Owned) {
      const id = eventArg(code);
      cat = t.ownerCats[id] ?? (t.ownerCats[id] = ownerCategory(k.owners, id));
    } else cat = STATE_CATEGORY[state]!;
    map.assign(ev[at]!, ev[at + 1]!, cat);
  }
  t.applied = trace.length;
  t.generation = trace.generation;
  const keep = Math.min(LOOKBACK, trace.length);
  t.tail = ev.slice((trace.length - keep) * EVENT_WORDS, trace.length * EVENT_WORDS);
  return map;
}

/** Maps kept beside timeline checkpoints, by snapshot. */
const atCheckpoint = new WeakMap<object, Tracked>();

/** Keeps a copy of the map of `m`'s kernel, brought up to date, beside checkpoint `snap` of `m`. */
export function rememberMap(snap: object, m: Machine): void {
  const k = m.kernel;
  if (!k) return;
  pageMap(k);
  const t = maps.get(k.pages)!;
  atCheckpoint.set(snap, { ...t, map: t.map.clone(), tail: t.tail.slice(), ownerCats: [] });
}

/** Gives `m`, just restored from checkpoint `snap`, a copy of the map kept beside it. */
export function recallMap(snap: object, m: Machine): void {
  const k = m.kernel;
  const t = atCheckpoint.get(snap);
  if (!k || !t) return;
  maps.set(k.pages, { ...t, map: t.map.clone(), tail: t.tail.slice(), ownerCats: [] });
}
