/**
 * The KHO story in the browser preview: load builtin test-kho from the Scenarios menu, go back to
 * the first step and forward through every step, and at each phase check what a kernel developer
 * would look for (scratch on the map, preserved pages, the chunk list, the kexec segments, no
 * kernel after kexec -e, the incoming FDT, restored pages and "KHO restore succeeded"). One
 * screenshot per phase under test-results/e2e/kho-NN-<phase>.png. Any console or page error fails.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { PageCategory } from '../../shared/palette';
import { SHOTS, drawnCount, openApp, pixelsOf, summaryPages, useApp, waitForPaint } from './harness';

useApp();

/** Loads a built-in scenario through the Scenarios menu and waits until all its steps ran. */
async function loadBuiltin(page: Page, name: string, steps: number): Promise<void> {
  if (await page.locator('dialog[open]').count()) {
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
  }
  await page.getByRole('button', { name: 'Scenarios ▾' }).click();
  await page.locator(`[role="menuitem"][data-scenario="${name}"]`).click();
  await atCursor(page, steps, steps);
}

/** Waits until the timeline is at `cursor` of `total` steps, the app is idle and the map repainted. */
async function atCursor(page: Page, cursor: number, total: number): Promise<void> {
  await expect.poll(() => page.locator('.timeline .pos').textContent(), { timeout: 90_000 }).toBe(`${cursor}/${total}`);
  await page.waitForFunction(() => !document.querySelector('[role="progressbar"]'), null, { timeout: 60_000 });
  await page.waitForSelector(
    'button[aria-label="Step forward"]:not([disabled]), button[aria-label="Step back"]:not([disabled])',
  );
  await waitForPaint(page);
}

async function stepForward(page: Page, to: number, total: number): Promise<void> {
  await page.getByRole('button', { name: 'Step forward' }).click();
  await atCursor(page, to, total);
}

/** A button of the workload panel's KHO actions. */
const khoButton = (page: Page, name: string) =>
  page.getByRole('group', { name: 'KHO actions' }).getByRole('button', { name, exact: true });
const tab = (page: Page, name: string) => page.getByRole('tab', { name, exact: true }).click();
const currentPhase = (page: Page) => page.getByTestId('current-phase').textContent();
const logText = (page: Page) => page.getByTestId('event-log').textContent();
const shot = (page: Page, n: number, phase: string) =>
  page.screenshot({ path: join(SHOTS, `kho-${String(n).padStart(2, '0')}-${phase}.png`) });

describe('KHO in the browser preview', () => {
  it('walks test-kho phase by phase: preserve, finalize, kexec, boot from RAM, restore', async () => {
    const { page, problems } = await openApp();
    await loadBuiltin(page, 'test-kho', 7);
    await expect(page.locator('header').textContent()).resolves.toContain('test-kho');
    // The whole run ends with the restore.
    await expect.poll(() => logText(page)).toContain('KHO restore succeeded');

    // Back to the first step (the cold boot), then forward through every step.
    await page
      .locator('.steps li')
      .filter({ hasText: /^\s*1\s*boot/ })
      .getByRole('button')
      .first()
      .click();
    await atCursor(page, 1, 7);

    // 1. Cold boot with kho=on: scratch areas reserved, on the map and in the handover table.
    expect(await currentPhase(page)).toBe('boot · kernel 1');
    expect(await pixelsOf(page, PageCategory.Scratch)).toBeGreaterThan(100);
    // Zoom the map to the KHO part of RAM; the zoom stays while stepping.
    const perCell = () => page.locator('canvas').getAttribute('data-pages-per-cell').then(Number);
    const wholePerCell = await perCell();
    const drawn = await drawnCount(page);
    await page.getByRole('button', { name: 'Zoom to KHO' }).click();
    await waitForPaint(page, drawn);
    expect(await perCell()).toBeLessThan(wholePerCell);
    expect(await pixelsOf(page, PageCategory.Scratch)).toBeGreaterThan(0);
    await tab(page, 'Handover');
    await expect(page.getByTestId('kho-scratch').textContent()).resolves.toMatch(/lowmem\s*0x[0-9a-f]+/);
    expect(await page.getByTestId('kho-generation').textContent()).toMatch(/^1 /);
    await expect(page.getByTestId('kho-outgoing').textContent()).resolves.toMatch(/finalized\s*no/);
    expect(await khoButton(page, 'finalize').isEnabled()).toBe(true);
    expect(await khoButton(page, 'boot next kernel').isDisabled()).toBe(true);
    await shot(page, 1, 'boot');

    // 2. insmod test_kho on a cold boot: ~8 MiB of folios preserved, a kho_test subtree.
    await stepForward(page, 2, 7);
    expect(await currentPhase(page)).toBe('preserve · kernel 1');
    expect(await summaryPages(page, 'Preserved')).toBeGreaterThan(2000);
    expect(await pixelsOf(page, PageCategory.Preserved)).toBeGreaterThan(0);
    const outgoing = page.getByTestId('kho-outgoing');
    // 8 MiB of test_kho folios (2048 pages) plus its array, chunk and sub-FDT pages, KHO's root FDT
    // and LUO's FDT and session block, preserved at boot.
    const preservedPages = async () =>
      Number(/preserved pages\s*([\d,]+)/.exec((await outgoing.textContent()) ?? '')?.[1]?.replace(/,/g, '') ?? 0);
    await expect.poll(preservedPages).toBeGreaterThan(2048);
    expect(await preservedPages()).toBeLessThan(2100);
    expect(await outgoing.textContent()).toContain('kho_test');
    await shot(page, 2, 'preserve');

    // 3. finalize: the chunk list is in RAM; the inspector decodes it.
    await stepForward(page, 3, 7);
    expect(await currentPhase(page)).toBe('finalize · kernel 1');
    expect(await pixelsOf(page, PageCategory.KhoMetadata)).toBeGreaterThan(0);
    await tab(page, 'Tracker');
    const chunkRows = page.locator('[data-testid="chunk-list"] tbody tr[data-chunk]');
    await expect.poll(() => chunkRows.count(), { timeout: 10_000 }).toBe(10);
    await expect
      .poll(() => page.getByTestId('chunk-hex').getByTestId('struct-array').textContent())
      .toMatch(/0x[0-9a-f]+\s*0x[0-9a-f]+/);
    await expect.poll(() => page.getByTestId('chunk-hex').textContent()).toContain('num_elms');
    expect(await khoButton(page, 'finalize').isDisabled()).toBe(true);
    await shot(page, 3, 'finalize');

    // 4. kexec load: the image's segments sit in scratch.
    await stepForward(page, 4, 7);
    expect(await currentPhase(page)).toBe('kexec load · kernel 1');
    await tab(page, 'Handover');
    const segs = page.getByTestId('kho-segments');
    await expect.poll(() => segs.textContent()).toContain('purgatory');
    for (const s of ['kernel', 'initrd', 'boot params', 'KHO scratch array'])
      expect(await segs.textContent()).toContain(s);
    await segs.scrollIntoViewIfNeeded();
    await shot(page, 4, 'kexec-load');

    // 5. kexec -e: no kernel; only "boot next kernel" applies.
    await stepForward(page, 5, 7);
    expect(await currentPhase(page)).toBe('reboot · kernel 1');
    await expect.poll(() => page.getByTestId('kho-running').textContent()).toContain('no kernel running');
    expect(await page.locator('header').textContent()).toContain('kexec -e done, no kernel');
    expect(await page.getByTestId('no-kernel').textContent()).toContain('No kernel is running.');
    expect(await khoButton(page, 'insmod').isDisabled()).toBe(true);
    expect(await khoButton(page, 'finalize').isDisabled()).toBe(true);
    expect(await khoButton(page, 'boot next kernel').isEnabled()).toBe(true);
    await shot(page, 5, 'reboot');

    // 6. The new kernel boots in scratch and reserves what was preserved (not restored yet).
    await stepForward(page, 6, 7);
    expect(await currentPhase(page)).toBe('early boot · deserialize · kernel 2');
    expect(await summaryPages(page, 'Leaked')).toBeGreaterThan(2000);
    const leakedPixels = await pixelsOf(page, PageCategory.Leaked);
    expect(leakedPixels).toBeGreaterThan(0);
    // Nothing is restored yet: every block the chunk list named is still waiting.
    const incoming = async () => {
      const t = (await page.getByTestId('kho-incoming').textContent()) ?? '';
      return {
        blocks: Number(/blocks\s*(\d+)/.exec(t)?.[1] ?? -1),
        unrestored: Number(/unrestored\s*(\d+) blocks/.exec(t)?.[1] ?? -1),
      };
    };
    await expect.poll(async () => (await incoming()).unrestored).toBeGreaterThan(20);
    const atBoot = await incoming();
    expect(atBoot.unrestored).toBe(atBoot.blocks);
    await tab(page, 'FDT');
    await expect(page.getByRole('tab', { name: 'incoming /' }).getAttribute('aria-selected')).resolves.toBe('true');
    const dts = page.getByTestId('fdt-dts');
    await expect.poll(() => dts.textContent()).toContain('compatible = "kho-v1";');
    expect(await dts.textContent()).toMatch(/\bkho_test \{/);
    await shot(page, 6, 'early-boot');
    // The annotated hex labels the header; the subtree opens from the tree.
    await page.getByRole('tab', { name: 'Hex' }).click();
    const hex = page.getByTestId('fdt-hex');
    await expect.poll(() => hex.textContent()).toContain('off_dt_struct');
    expect(await hex.textContent()).toMatch(/magic\s*be32\s*0xd00dfeed \(FDT_MAGIC\)/);
    await shot(page, 6, 'early-boot-fdt-hex');
    await page.getByRole('tab', { name: 'incoming kho_test' }).click();
    await page.getByRole('tab', { name: 'DTS' }).click();
    await expect.poll(() => dts.textContent()).toContain('compatible = "kho-test-v1";');

    // 7. insmod on the KHO-booted kernel restores and verifies.
    await stepForward(page, 7, 7);
    expect(await currentPhase(page)).toBe('restore · verify · kernel 2');
    // test_kho restores every folio, checks it and puts it (as lib/test_kho.c does): the
    // preserved-not-restored pages go back to the buddy allocator.
    // What stays: the old root FDT (6.19 never restores it) and LUO's FDT and 16-page session
    // block, restored only when someone opens /dev/liveupdate.
    expect(await summaryPages(page, 'Leaked')).toBeLessThan(32);
    expect(await pixelsOf(page, PageCategory.Leaked)).toBeLessThan(leakedPixels);
    await expect.poll(() => logText(page)).toMatch(/KHO restore succeeded[^\]]*$/);
    await tab(page, 'Handover');
    await expect.poll(async () => (await incoming()).unrestored).toBeLessThan(5);
    await shot(page, 7, 'restore');

    // One step back: the restore is undone.
    await page.getByRole('button', { name: 'Step back' }).click();
    await atCursor(page, 6, 7);
    expect(await logText(page)).not.toMatch(/KHO restore succeeded[^\]]*$/);
    expect(await summaryPages(page, 'Leaked')).toBeGreaterThan(2000);
    expect(await currentPhase(page)).toBe('early boot · deserialize · kernel 2');

    expect(problems).toEqual([]);
    await page.close();
  });

  it('test-kho-forgot-one: the restore fails and names folio 3', async () => {
    const { page, problems } = await openApp();
    await loadBuiltin(page, 'test-kho-forgot-one', 7);
    const failure = page.getByTestId('step-failure');
    await expect.poll(() => failure.textContent(), { timeout: 20_000 }).toMatch(/folio 3\b/);
    expect(await page.locator('ol[aria-label="Command results"] .err').last().textContent()).toMatch(/folio 3\b/);
    await shot(page, 8, 'forgot-one');
    expect(problems).toEqual([]);
    await page.close();
  });
});
