/**
 * The kernel does not paint (electron/kernel/mm/page-trace.ts): the host's map, built lazily from
 * the kernel's page-state trace (electron/host/page-map.ts), must show every page as the kernel
 * painted it before — on every built-in scenario, at every step, and after a checkpoint restore.
 *
 * The reference is a small model that reads each page's category straight off struct page state,
 * as the old painting left it: KHO's annotations first (a failed step's culprit, a preserved
 * folio, an unrestored block, a restored page), then the owner's kind, then memblock's and the
 * buddy allocator's view of an unowned page.
 */
import { describe, expect, it } from 'vitest';
import { Host } from '../../../electron/host/host';
import { BUILTIN_SCENARIOS } from '../../../electron/host/builtins';
import { freeCategory, ownerCategory, pageMap } from '../../../electron/host/page-map';
import { EVENT_WORDS, type PageTrace, PageState, eventState } from '../../../electron/kernel/mm/page-trace';
import { PG } from '../../../electron/kernel/mm/page-flags';
import type { Kernel } from '../../../electron/kernel/kernel';
import type { Machine } from '../../../electron/kernel/machine';
import { PageCategory } from '../../../shared/palette';

/** What the old painting showed for every page of `k` (see the file comment). */
function referenceMap(k: Kernel, failed: ReadonlySet<number>): Uint8Array {
  const p = k.pages;
  const out = new Uint8Array(p.nrPages);
  const unrestored = new Uint8Array(p.nrPages);
  for (const b of k.khoIn?.unrestored() ?? []) unrestored.fill(1, b.pfn, b.pfn + 2 ** b.order);
  for (let pfn = 0; pfn < p.nrPages; pfn++) {
    const flags = p.flags.get(pfn);
    const head = flags & PG.tail ? p.flags.get(p.compoundHead(pfn)) : flags;
    const owner = p.owner.get(pfn);
    let c: number;
    if (failed.has(pfn)) c = PageCategory.Corrupted;
    else if (owner !== 0 && (flags | head) & PG.kho_preserved) c = PageCategory.Preserved;
    else if (unrestored[pfn]) c = PageCategory.Leaked;
    else if (owner !== 0 && flags & PG.kho_restored) c = PageCategory.Restored;
    else if (owner !== 0) c = ownerCategory(k.owners, owner);
    else if (flags & PG.hole) c = PageCategory.Hole;
    else if (flags & (PG.reserved | PG.noinit)) c = PageCategory.MemblockReserved;
    else c = freeCategory(p.freeState(pfn));
    out[pfn] = c;
  }
  return out;
}

function firstDifference(got: Uint8Array, want: Uint8Array, k: Kernel): string {
  for (let i = 0; i < want.length; i++)
    if (got[i] !== want[i])
      return `pfn ${i}: map ${got[i]}, model ${want[i]} (flags ${k.pages.flags.get(i)}, owner ${k.pages.owner.get(i)})`;
  return '';
}

const machineOf = (h: Host) => (h as unknown as { machine: Machine }).machine;

describe('map equivalence: the host map from the trace equals the per-page model', () => {
  for (const name of Object.keys(BUILTIN_SCENARIOS)) {
    it(`builtin ${name}: every step`, { timeout: 600_000 }, async () => {
      const h = new Host();
      const r = await h.loadBuiltin(name);
      if (!r.ok) throw new Error(r.error.message);
      const n = r.value.steps.length;
      // About a dozen steps of each: the model reads every page in JavaScript.
      const stride = Math.max(1, Math.ceil(n / 12));
      const failed = new Set<number>();
      const steps = [...new Set([...Array.from({ length: Math.floor(n / stride) + 1 }, (_, i) => i * stride), n])];
      let checked = 0;
      for (const i of steps) {
        if ((await h.goto(i)).ok === false) throw new Error(`goto ${i}`);
        const k = machineOf(h).kernel;
        if (!k) continue; // after kexec -e: the jump chain's map, not the kernel's
        // A failed step's culprit block shows until the pages change again: the model takes it from the trace.
        failed.clear();
        for (const ev of traceEvents(k.pages.trace)) {
          if (ev.state === PageState.Corrupted) for (let p = ev.pfn; p < ev.pfn + ev.count; p++) failed.add(p);
          else for (const p of failed) if (p >= ev.pfn && p < ev.pfn + ev.count) failed.delete(p);
        }
        const map = pageMap(k);
        const want = referenceMap(k, failed);
        expect(firstDifference(map.toBytes(), want, k), `${name} step ${i}`).toBe('');
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});

function* traceEvents(t: PageTrace): Generator<{ pfn: number; count: number; state: number }> {
  for (let i = 0; i < t.length; i++) {
    const at = i * EVENT_WORDS;
    yield { pfn: t.events[at]!, count: t.events[at + 1]!, state: eventState(t.events[at + 2]!) };
  }
}
