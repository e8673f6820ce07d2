/**
 * Units and formatting shared by the host and the UI: page geometry (x86_64, 4 KiB pages),
 * size parsing in the kernel's memparse style, and the number formats kernel developers read.
 */

const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** MAX_PAGE_ORDER on x86_64: the largest buddy block is 2^10 pages = 4 MiB. */
export const MAX_PAGE_ORDER = 10;
export const NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;
/** pageblock_order on x86_64 with 4 KiB pages: 2 MiB pageblocks. */
export const PAGEBLOCK_ORDER = 9;
export const PAGEBLOCK_NR_PAGES = 1 << PAGEBLOCK_ORDER;

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

const SUFFIX: Record<string, number> = { '': 1, K: KiB, M: MiB, G: GiB, T: TiB };

/**
 * Parses a size the way the kernel's memparse() does ("64M", "4G", "0x1000", "512K"), plus the
 * long spellings people type ("64MiB", "4 GB"). Returns null when the text is not a size.
 */
export function parseSize(text: string | number): number | null {
  if (typeof text === 'number') return Number.isSafeInteger(text) && text >= 0 ? text : null;
  const m = /^\s*(0x[0-9a-f]+|\d+)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return null;
  const base = Number(m[1]);
  const mult = SUFFIX[m[2]!.toUpperCase()]!;
  const value = base * mult;
  return Number.isSafeInteger(value) ? value : null;
}

/** "64 MiB", "1.5 GiB", "4 KiB", "123 B": binary units, at most one decimal. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const s = Number.isInteger(v) ? String(v) : v.toFixed(1).replace(/\.0$/, '');
  return `${s} ${units[i]}`;
}

/** 0x-prefixed, zero-padded hexadecimal, as the kernel prints physical addresses (%#018llx). */
export function hex(value: number | bigint, width = 0): string {
  return '0x' + value.toString(16).padStart(width, '0');
}

/** The kernel's resource notation: [mem 0x0000000000100000-0x000000003fffffff] (inclusive end). */
export function memRange(start: number, end: number): string {
  return `[mem ${hex(start, 16)}-${hex(Math.max(start, end - 1), 16)}]`;
}

export const pfnToPhys = (pfn: number): number => pfn * PAGE_SIZE;
export const physToPfn = (phys: number): number => Math.floor(phys / PAGE_SIZE);
