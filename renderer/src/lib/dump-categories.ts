/**
 * DOC: what a dump's map colours mean
 *
 * A memory dump's map is painted by what its handover says about each page
 * (electron/host/dump/dump-session.ts), not by a kernel's page state: the palette's categories
 * mean other things there. One table for every legend of a dump — the dump panel, the map's own
 * legend, and both sides of the side-by-side view.
 */
import { type CategoryStyle, PageCategory } from '../../../shared/palette';
import type { LegendEntry } from './palette-legend';

export interface DumpCategory {
  cat: PageCategory;
  label: string;
  /** What it says about a page, for a tooltip or a line under the label. */
  what: string;
}

export const DUMP_CATEGORIES: readonly DumpCategory[] = [
  {
    cat: PageCategory.KhoMetadata,
    label: 'handover metadata',
    what: 'root FDT, sub-blobs, tracker pages, LUO blocks and records',
  },
  { cat: PageCategory.Preserved, label: 'preserved', what: 'a block the tracker preserves' },
  { cat: PageCategory.Scratch, label: 'scratch', what: 'a KHO scratch area of the handover' },
  {
    cat: PageCategory.FreeUnmovable,
    label: 'other RAM in the dump',
    what: 'the handover says nothing about it (free, or the old kernel’s)',
  },
  { cat: PageCategory.Hole, label: 'not in the dump', what: 'no PT_LOAD covers it' },
];

/** The map legend's entries as a dump names them. */
export function dumpLegendEntries(entries: readonly LegendEntry[]): LegendEntry[] {
  return entries.map((e) => {
    const d = DUMP_CATEGORIES.find((x) => x.cat === e.style.id);
    const style: CategoryStyle = d ? { ...e.style, label: d.label, description: d.what } : e.style;
    return { ...e, style };
  });
}
