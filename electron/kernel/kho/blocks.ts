/**
 * DOC: block decomposition (kernel/liveupdate/kexec_handover.c: kho_preserve_pages, __kho_unpreserve)
 *
 * kho_preserve_pages(), kho_unpreserve_pages() and kho_restore_pages() all cut a page range into
 * the largest naturally aligned power-of-two blocks: order = min(ctz(pfn), ilog2(pages left)).
 * There is no MAX_PAGE_ORDER cap, so restore must see exactly the range that was preserved.
 */
/** One naturally aligned block of that decomposition. */
export interface Block {
  pfn: number;
  order: number;
}

/** The largest naturally aligned blocks covering [pfn, pfn + nr): order = min(ctz(pfn), ilog2(left)). */
export function decompose(pfn: number, nr: number): Block[] {
  const out: Block[] = [];
  const end = pfn + nr;
  while (pfn < end) {
    let order = 0;
    while (pfn % 2 ** (order + 1) === 0 && 2 ** (order + 1) <= end - pfn) order++;
    out.push({ pfn, order });
    pfn += 2 ** order;
  }
  return out;
}
