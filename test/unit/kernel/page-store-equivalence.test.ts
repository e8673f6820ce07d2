/**
 * Page state proportional to objects (electron/kernel/mm/page-store.ts) is an encoding only: on
 * every built-in scenario, at about eight steps of each, struct page state (flags, order,
 * refcount, owner, pageblock migratetypes) and every page's RAM checksum equal what the per-page
 * typed arrays gave before the change — digests recorded from main at abfa7ee in the golden file,
 * computed the same way, page by page. Re-recorded since for two intended changes only: one seed per
 * pageblock of bulk random contents (RAM), and pfn 0 leaving memblock's RAM (trim_bios_range(): page
 * state only, every RAM digest stayed).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Host } from '../../../electron/host/host';
import { BUILTIN_SCENARIOS } from '../../../electron/host/builtins';
import { Hasher } from '../../../electron/kernel/lib/hash';
import type { Machine } from '../../../electron/kernel/machine';

type Golden = Record<string, Record<string, { pages: string; ram: string }>>;
const golden = JSON.parse(
  readFileSync(new URL('./page-store-equivalence.golden.json', import.meta.url), 'utf8'),
) as Golden;

function digests(m: Machine): { pages: string; ram: string } {
  const ram = new Uint32Array(m.ram.nrPages);
  for (let pfn = 0; pfn < ram.length; pfn++) ram[pfn] = m.ram.checksum(pfn);
  const p = m.kernel?.pages;
  const pages = p
    ? new Hasher()
        .words(p.flags.toArray())
        .words(p.order.toArray())
        .words(p.refcount.toArray())
        .words(p.owner.toArray())
        .words(p.pageblockMigratetype)
        .digest()
    : '';
  return { pages, ram: new Hasher().words(ram).digest() };
}

describe('page store equivalence: every built-in gives the per-page arrays’ page state and RAM', () => {
  it('covers every built-in', () => {
    expect(Object.keys(golden).sort()).toEqual(Object.keys(BUILTIN_SCENARIOS).sort());
  });
  for (const name of Object.keys(BUILTIN_SCENARIOS)) {
    it(`builtin ${name}`, { timeout: 600_000 }, async () => {
      const h = new Host();
      const r = await h.loadBuiltin(name);
      if (!r.ok) throw new Error(r.error.message);
      for (const [step, want] of Object.entries(golden[name]!)) {
        if ((await h.goto(Number(step))).ok === false) throw new Error(`goto ${step}`);
        expect(digests((h as unknown as { machine: Machine }).machine), `${name} step ${step}`).toEqual(want);
      }
    });
  }
});
