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
    what: 'the root FDT, its sub-blobs, the tracker pages, LUO’s blocks and records',
  },
  {
    cat: PageCategory.Preserved,
    label: 'preserved',
    what: 'a block the tracker preserves (a memfd folio, a test folio)',
  },
  { cat: PageCategory.Scratch, label: 'scratch', what: 'a KHO scratch area the next kernel boots in' },
  {
    cat: PageCategory.FreeUnmovable,
    label: 'other RAM in the dump',
    what: 'RAM the handover says nothing about: free, or the old kernel’s own, lost at the jump',
  },
  {
    cat: PageCategory.Hole,
    label: 'not in the dump',
    what: 'no PT_LOAD covers it: no RAM there (a firmware hole), or a page the dump left out',
  },
];

/** The map legend's entries as a dump names them. */
export function dumpLegendEntries(entries: readonly LegendEntry[]): LegendEntry[] {
  return entries.map((e) => {
    const d = DUMP_CATEGORIES.find((x) => x.cat === e.style.id);
    const style: CategoryStyle = d ? { ...e.style, label: d.label, description: d.what } : e.style;
    return { ...e, style };
  });
}
