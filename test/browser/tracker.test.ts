/**
 * The Tracker tab of the simulated Inspector on the real engine host. 7.2 (builtin
 * luo-kexec-simple): the outgoing radix tree live in RAM — nodes per level, leaves with their
 * first key and bits set, and a click on a preserved block selects its page and shows its way from
 * the root table to its bit (L5 … leaf, the bit "set (preserved)"); in the next kernel the incoming
 * tree as kho_mem_retrieve() read it at early boot. 6.19 (builtin test-kho): the chunk list.
 * Screenshots: test-results/browser/tracker-radix.png, tracker-radix-incoming.png, tracker-chunks.png.
 */
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import type { SimApi } from '../../shared/api';
import { Host, builtinScenario } from '../../electron/host/host';
import Inspector from '../../renderer/src/components/Inspector.svelte';
import { until } from '../until';
import { useMounted } from './fixtures/harness';
import '../../renderer/src/app.css'; // the app's look, for the screenshots

const SHOTS = '../../test-results/browser';
const q = (sel: string) => document.querySelector<HTMLElement>(sel);
const text = (sel: string) => q(sel)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
const crumbs = () =>
  [...document.querySelectorAll('[data-testid="record-chain"] .crumb')].map((b) => b.textContent!.trim());
const settle = () => until(() => (flushSync(), true), 'a flush', { between: () => Promise.resolve() });

const mount = useMounted();

async function hostAt(name: string, kernel: string, at?: number): Promise<Host> {
  const s = builtinScenario(name);
  if (!s.ok) throw new Error(s.error.message);
  const host = new Host();
  const r = await host.loadScenario(JSON.stringify({ ...s.value, machine: { ...s.value.machine, kernel } }), 'test');
  if (!r.ok) throw new Error(r.error.message);
  if (at !== undefined) await host.goto(at);
  return host;
}

/** The Inspector on the Tracker tab; `goto` records the pages it selects. */
async function mountTracker(host: Host): Promise<{ target: HTMLElement; selected: number[] }> {
  const kho = await host.kho();
  if (!kho.ok) throw new Error(kho.error.message);
  const selected: number[] = [];
  await page.viewport(1280, 900);
  const target = document.body.appendChild(document.createElement('div'));
  target.style.cssText = 'width: 560px; height: 860px';
  mount(Inspector, {
    target,
    props: {
      api: host as unknown as Pick<SimApi, 'fdt' | 'chunks' | 'records' | 'pageBytes' | 'debugfs'>,
      kho: kho.value,
      luo: null,
      revision: 1,
      page: null,
      selectedPfn: null,
      maxPfn: 1 << 18,
      ongoto: (pfn: number) => void selected.push(pfn),
      tab: 'tracker',
    },
  });
  await settle();
  return { target, selected };
}

describe('Tracker tab, 7.2: the radix tree (kho_radix_walk_tree())', () => {
  it('outgoing: levels, leaves with keys, a block → its page and its path L5 … leaf to the bit', async () => {
    const host = await hostAt('luo-kexec-simple', '7.2', 3);
    const { target, selected } = await mountTracker(host);
    await until(() => !!q('[data-testid="radix-tracker"]'), 'the radix tracker');
    await until(() => q('[data-testid="struct-viewer"]')?.dataset.kind === 'kho-radix-node', 'the root node');
    expect(text('[data-testid="tracker-summary"]')).toMatch(/^Radix tree: \d+ preserved blocks, \d+ tree pages/);
    // One root table, and at least one node on every level down to the leaves.
    const counts = [...document.querySelectorAll('[data-testid="radix-levels"] tbody td')].map((td) =>
      Number(td.textContent),
    );
    expect(counts).toHaveLength(6);
    expect(counts[0]).toBe(1);
    for (const c of counts) expect(c).toBeGreaterThan(0);
    const leafRows = document.querySelectorAll('[data-testid="radix-leaves"] tbody tr');
    expect(leafRows.length).toBe(counts[5]);
    expect(leafRows[0]!.textContent).toMatch(/0x[0-9a-f]+/);

    const rows = [...document.querySelectorAll<HTMLElement>('[data-testid="tracker-blocks"] tr[data-block]')];
    expect(rows.length).toBeGreaterThan(1);
    const row = rows.at(-1)!;
    const phys = row.querySelectorAll('td')[1]!.textContent!.trim();
    row.click();
    await until(() => crumbs().length === 6, 'the six nodes of the path');
    expect(crumbs()).toEqual(['L5 table', 'L4 table', 'L3 table', 'L2 table', 'L1 table', 'leaf']);
    await until(() => text('[data-testid="record-chain"]').includes('kho_radix_leaf'), 'the leaf');
    expect(q('[data-testid="record-chain"] tr.hl')!.textContent).toContain(`${phys} order`);
    expect(q('[data-testid="record-chain"] tr.hl')!.textContent).toContain('set (preserved)');
    expect(selected.at(-1)).toBe(Number(phys) / 4096); // the block's page is selected
    await page.screenshot({ path: `${SHOTS}/tracker-radix.png`, element: target });

    // A leaf of the list opens on its own.
    (document.querySelector('[data-testid="radix-leaves"] tbody tr') as HTMLElement).click();
    await until(() => crumbs().join() === 'leaf', 'the leaf alone');
  });

  it('incoming: the tree as read at early boot, marked so; a block’s path is followed in that copy', async () => {
    const host = await hostAt('luo-kexec-simple', '7.2');
    const { target } = await mountTracker(host);
    await until(() => !!q('[data-testid="radix-tracker"]'), 'the radix tracker');
    const heads = [...document.querySelectorAll<HTMLButtonElement>('[data-testid="radix-tracker"] .head')];
    expect(heads.map((h) => h.textContent!.trim())).toEqual(['outgoing', 'incoming (read at early boot)']);
    heads[1]!.click();
    await until(() => !!q('[data-testid="radix-read-at-boot"]'), 'the early-boot marker');
    await until(() => text('[data-testid="struct-viewer"]').includes('as the kernel read them at early boot'), 'copy');
    (document.querySelector('[data-testid="tracker-blocks"] tr[data-block]') as HTMLElement).click();
    await until(() => crumbs().length === 6, 'the path in the copy');
    await until(() => (q('[data-testid="record-chain"] tr.hl')?.textContent ?? '').includes('set (preserved)'), 'bit');
    await page.screenshot({ path: `${SHOTS}/tracker-radix-incoming.png`, element: target });
  });
});

describe('Tracker tab, 7.2, after kexec -e', () => {
  it('no kernel runs: the tree the handed-over FDT names, from RAM, as the next kernel will walk it', async () => {
    const s = builtinScenario('luo-kexec-simple');
    if (!s.ok) throw new Error(s.error.message);
    const reboot = s.value.steps!.findIndex((st) => 'op' in st && st.op === 'reboot');
    const host = await hostAt('luo-kexec-simple', '7.2', reboot + 1);
    await mountTracker(host);
    await until(() => !!q('[data-testid="radix-tracker"]'), 'the radix tracker');
    const heads = [...document.querySelectorAll<HTMLButtonElement>('[data-testid="radix-tracker"] .head')];
    expect(heads.map((h) => h.textContent!.trim())).toEqual(['handed over (the next kernel will walk it)']);
    await until(() => q('[data-testid="struct-viewer"]')?.dataset.kind === 'kho-radix-node', 'the root node');
    expect(text('[data-testid="struct-viewer"]')).toContain('as in RAM');
  });
});

describe('Tracker tab, 6.19: the chunk list (kho_mem_serialize())', () => {
  it('test-kho after kho_finalize: the chunk viewer, not a radix tree', async () => {
    const host = await hostAt('test-kho', '6.19', 3);
    const { target } = await mountTracker(host);
    await until(() => !!q('[data-testid="chunk-hex"]'), 'the chunk page');
    expect(q('[data-testid="radix-tracker"]')).toBeNull();
    expect(text('[data-testid="chunk-viewer"]')).toMatch(/\d+ chunk pages? · \d+ bitmaps/);
    await page.screenshot({ path: `${SHOTS}/tracker-chunks.png`, element: target });
  });
});
