/**
 * What the memory map shows: one category per page, in priority order. When a map cell covers
 * several pages it shows the highest category among them, so rare but important pages (KHO
 * metadata, corruption) stay visible at any zoom. The numeric value is the palette byte the host
 * sends for each cell.
 */

export const PageCategory = {
  Hole: 0,
  FreeMovable: 1,
  FreeUnmovable: 2,
  FreeCma: 3,
  Scratch: 4,
  Firmware: 5,
  MemblockReserved: 6,
  Memmap: 7,
  PageTables: 8,
  KernelImage: 9,
  Initrd: 10,
  KernelAlloc: 11,
  Vmalloc: 12,
  Memfd: 13,
  Restored: 14,
  Leaked: 15,
  Preserved: 16,
  KhoMetadata: 17,
  Corrupted: 18,
} as const;
export type PageCategory = (typeof PageCategory)[keyof typeof PageCategory];
export const PAGE_CATEGORY_COUNT = 19;

export interface CategoryStyle {
  readonly id: PageCategory;
  readonly key: keyof typeof PageCategory;
  readonly label: string;
  /** CSS colour, #rrggbb. */
  readonly color: string;
  readonly description: string;
}

/**
 * Hues are spread so any two categories differ by at least ΔE 24 (CIE76): the free kinds stay dark,
 * the kernel's own pages each get a hue of their own, KHO's story (scratch violet, preserved
 * yellow, metadata pink, restored green, corrupted red) stays brightest.
 */
const styles: Array<[keyof typeof PageCategory, string, string, string]> = [
  [
    'Hole',
    'hole / not RAM',
    '#1b1e24',
    'No RAM behind these page frames (e820 hole or reserved by firmware outside RAM).',
  ],
  ['FreeMovable', 'free · movable', '#2f5d3a', 'In the buddy allocator, pageblock migratetype MOVABLE.'],
  ['FreeUnmovable', 'free · unmovable', '#2e4570', 'In the buddy allocator, pageblock migratetype UNMOVABLE.'],
  [
    'FreeCma',
    'free · CMA',
    '#5c2f57',
    'In the buddy allocator, pageblock migratetype CMA (only movable allocations land here).',
  ],
  ['Scratch', 'KHO scratch', '#8c6cf0', 'Inside a KHO scratch area (free or in use).'],
  [
    'Firmware',
    'firmware reserved',
    '#74777f',
    'Reserved by the firmware memory map or the first 1 MiB that x86 always reserves.',
  ],
  [
    'MemblockReserved',
    'memblock reserved',
    '#8b5a2b',
    'Reserved in memblock by an early allocation (per-node data, percpu, boot allocations).',
  ],
  ['Memmap', 'memmap (struct page)', '#a8a83c', 'The struct page array: 64 bytes for every 4 KiB page.'],
  ['PageTables', 'page tables', '#c06080', 'Kernel page tables (direct map and kernel mappings).'],
  ['KernelImage', 'kernel image', '#d9a520', 'The kernel image: text, rodata, data and bss.'],
  ['Initrd', 'initrd', '#8fd3e8', 'The initial ramdisk handed over by the boot loader.'],
  ['KernelAlloc', 'kernel pages', '#f07a30', 'Pages the running kernel allocated (alloc_pages, folios, slab).'],
  ['Vmalloc', 'vmalloc', '#2fb8a8', 'Order-0 pages backing a vmalloc area.'],
  ['Memfd', 'memfd folios', '#3f8ff0', 'Folios in a memfd (shmem) page cache.'],
  ['Restored', 'restored', '#6ccf6c', 'Preserved by the previous kernel and restored by this one.'],
  [
    'Leaked',
    'preserved, not restored',
    '#fff7d0',
    'Preserved by the previous kernel but never restored: reserved until the next boot.',
  ],
  ['Preserved', 'preserved', '#e0e04a', 'Marked for preservation across kexec (KHO).'],
  [
    'KhoMetadata',
    'KHO metadata',
    '#ff8fd0',
    'KHO and LUO structures that cross the kexec: FDTs, tracker chunks, records.',
  ],
  ['Corrupted', 'corrupted', '#ff3b3b', 'Contents differ from what was preserved.'],
];

export const CATEGORY_STYLES: readonly CategoryStyle[] = styles.map(([key, label, color, description]) => ({
  id: PageCategory[key],
  key,
  label,
  color,
  description,
}));

/** Packed RGBA (little-endian ABGR, ready for a Uint32Array over ImageData) for each category. */
export function paletteRgba(): Uint32Array {
  const out = new Uint32Array(PAGE_CATEGORY_COUNT);
  for (const s of CATEGORY_STYLES) {
    const v = parseInt(s.color.slice(1), 16);
    const r = (v >> 16) & 0xff;
    const g = (v >> 8) & 0xff;
    const b = v & 0xff;
    out[s.id] = ((0xff << 24) | (b << 16) | (g << 8) | r) >>> 0;
  }
  return out;
}
