/**
 * Kernel N beside kernel N+1 in the app, on the real engine host: the generation diff opened from
 * the Handover tab lists every block the previous kernel handed over (as kho_mem_deserialize() /
 * kho_radix_walk_tree() read it) with what the next kernel made of it, counts per fate, the
 * checksums, and a click opens the block's page in the page inspector with the byte diff against
 * the previous kernel. Screenshots go to test-results/browser/diff-view-*.png.
 */
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import { goTo, okOf, runBuiltin, selectedHead, until, useApp } from './fixtures/app-host';

const SHOTS = '../../test-results/browser';
const mountApp = useApp();

const q = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel);
const text = (sel: string) => q(sel)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
const rows = () => [...document.querySelectorAll<HTMLElement>('[data-testid="diff-row"]')];
const count = (fate: string) => Number(/(\d+)$/.exec(text(`[data-testid="count-${fate}"]`))?.[1] ?? NaN);

/** Opens the diff view from the Handover tab's incoming section. */
async function openFromHandover(): Promise<void> {
  q<HTMLButtonElement>('#tab-handover')!.click();
  await until(() => q('[data-testid="open-generation-diff"]') !== null, 'the Handover tab link');
  q<HTMLButtonElement>('[data-testid="open-generation-diff"]')!.click();
  await until(() => rows().length > 0, 'the diff rows');
}

describe('the diff view on test-kho', () => {
  it.each([
    [1280, 720],
    [1440, 900],
  ])(
    '6.19 at %i×%i: restored ✓ with equal checksums, the sub-FDT folio leaked; a row opens the byte diff',
    async (w, h) => {
      const host = await runBuiltin('test-kho');
      const d = okOf(await host.generationDiff());
      await mountApp(host, w, h);
      await openFromHandover();

      expect(count('restored')).toBe(d.counts.restored);
      expect(count('leaked')).toBe(d.counts.leaked);
      expect(count('overwritten')).toBe(0);
      expect(rows()).toHaveLength(d.blocks.length);
      expect(text('[data-testid="generation-diff"] .sub')).toContain(
        `6.19.0-kholab handed these blocks over at step ${d.beforeStep}`,
      );
      const restored = rows().find((r) => r.dataset.fate === 'restored')!;
      const [before, after] = [...restored.querySelectorAll('td')].slice(2, 4).map((c) => c.textContent);
      expect(before).toMatch(/^0x[0-9a-f]{8}$/);
      expect(after).toBe(before);
      expect(rows().find((r) => r.dataset.fate === 'leaked')!.textContent).toContain('KHOP stamp');
      // Nothing in the dialog spills out of the window.
      const box = q('[data-testid="generation-diff"]')!.getBoundingClientRect();
      expect(box.right).toBeLessThanOrEqual(w);
      expect(box.bottom).toBeLessThanOrEqual(h);
      await page.screenshot({ path: `${SHOTS}/diff-view-test-kho-${w}x${h}.png` });

      // The strip's filter: only the leaked blocks listed.
      q<HTMLButtonElement>('[data-testid="count-leaked"]')!.click();
      flushSync();
      expect(rows().every((r) => r.dataset.fate === 'leaked')).toBe(true);
      q<HTMLButtonElement>('[data-testid="count-leaked"]')!.click();
      flushSync();

      // The filter rebuilt the rows: take the restored one again.
      const again = rows().find((r) => r.dataset.fate === 'restored')!;
      const pfn = again.querySelector('button.pfn')!.textContent!;
      again.querySelector<HTMLButtonElement>('button.pfn')!.click();
      await until(() => q('[data-testid="generation-diff"]') === null, 'the dialog closed');
      await until(() => selectedHead().includes(`pfn_to_page(${pfn})`), 'the block selected');
      await until(
        () => text('[data-testid="diff-summary"]').startsWith('identical to the page at step'),
        'the byte diff',
      );
      expect(q('[aria-label="Diff against"] button[aria-pressed="true"]')!.textContent!.trim()).toBe(
        'one kernel earlier',
      );
      await page.screenshot({ path: `${SHOTS}/diff-view-test-kho-${w}x${h}-page.png` });
    },
    120_000,
  );

  it('7.2 (radix tree): the same story, read with the kho-v3 codecs', async () => {
    const host = await runBuiltin('test-kho', '7.2');
    await mountApp(host, 1280, 720);
    await openFromHandover();
    expect(count('restored')).toBeGreaterThan(10);
    expect(count('overwritten')).toBe(0);
    expect(text('[data-testid="generation-diff"] .sub')).toContain('7.2.0-kholab handed these blocks over');
    await page.screenshot({ path: `${SHOTS}/diff-view-test-kho-7.2.png` });
  }, 120_000);

  it('test-kho-forgot-one: the forgotten folio is overwritten ✗ (never preserved), the rest after it leaked', async () => {
    const host = await runBuiltin('test-kho-forgot-one');
    const d = okOf(await host.generationDiff());
    const forgotten = d.blocks.find((b) => b.notPreserved)!;
    await mountApp(host, 1280, 720);
    await openFromHandover();
    expect(count('overwritten')).toBe(1);
    expect(count('leaked')).toBe(d.counts.leaked);
    const row = rows().find((r) => r.dataset.fate === 'overwritten')!;
    expect(row.textContent).toContain('never preserved (not in the handover)');
    expect(row.querySelector('td.differs')).not.toBeNull();
    await page.screenshot({ path: `${SHOTS}/diff-view-forgot-one.png` });
    row.querySelector<HTMLButtonElement>('button.pfn')!.click();
    await until(
      () => selectedHead().includes(`pfn_to_page(0x${forgotten.pfn.toString(16)})`),
      'the forgotten folio selected',
    );
    await until(() => /bytes changed since step/.test(text('[data-testid="diff-summary"]')), 'its changed bytes');
  }, 120_000);

  it('luo-kexec-simple (opened with G): the memfd folio and the LUO records restored, none overwritten', async () => {
    const host = await runBuiltin('luo-kexec-simple');
    await mountApp(host, 1280, 720);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'g', bubbles: true }));
    await until(() => rows().length > 0, 'the diff rows');
    expect(count('restored')).toBeGreaterThan(0);
    expect(count('overwritten')).toBe(0);
  }, 120_000);

  it('before the next kernel read the handover, the view says why there is nothing to compare', async () => {
    const host = await runBuiltin('test-kho');
    const st = okOf(await host.state());
    okOf(await host.goto(st.steps.findIndex((s) => s.command.op === 'reboot') + 1));
    await mountApp(host, 1280, 720);
    goTo('pfn:1');
    await until(() => q('[data-testid="page-bytes"]') !== null, 'the bytes section');
    await until(() => q('[data-testid="page-bytes"] .gen') !== null, 'the generation diff button');
    q<HTMLButtonElement>('[data-testid="page-bytes"] .gen')!.click();
    await until(() => text('[data-testid="generation-diff"] .error') !== '', 'the refusal');
    expect(text('[data-testid="generation-diff"] .error')).toMatch(/no kernel has read the handover yet/);
  }, 120_000);
});
