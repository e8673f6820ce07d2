/**
 * The memfd format comparison in the browser preview, as a kernel developer uses it: open it from
 * the top bar, run 2 GiB of 4 KiB folios (LUO v3's one-FDT format hits its 261,888-folio cap and
 * fails with ENOMEM while memfd-v1 and the KHO array preserve), then a 99% sparse 1 GiB file with
 * holes kept (the KHO array's pages of 510 offsets now cost far more per folio), look at where the
 * metadata lies, sweep sparseness, and export the table as CSV. Screenshots under
 * test-results/e2e/compare-NN-<what>.png; any console or page error fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { SHOTS, openApp, useApp } from './harness';

useApp();

const shot = (page: Page, n: number, what: string) =>
  page.screenshot({ path: join(SHOTS, `compare-${String(n).padStart(2, '0')}-${what}.png`) });
const dialog = (page: Page) => page.getByTestId('compare-dialog');
/** The table cell of `row` for format `compatible`, whitespace collapsed. */
const cell = (page: Page, row: string, compatible: string) =>
  page
    .locator(`[data-testid="compare-table"] tr[data-row="${row}"] td[data-format="${compatible}"]`)
    .textContent()
    .then((t) => (t ?? '').replace(/\s+/g, ' ').trim());
const number = (text: string) => Number(text.replace(/[^\d.]/g, ''));

/** Fills the form, runs, and waits until the result for this size and sparseness is shown. */
async function compare(
  page: Page,
  fields: { size: string; order: string; sparse: string; holes: string },
): Promise<void> {
  const d = dialog(page);
  await d.locator('#c-size').fill(fields.size);
  await d.locator('#c-order').selectOption(fields.order);
  await d.locator('#c-sparse').fill(fields.sparse);
  await d.locator('#c-holes').selectOption(fields.holes);
  const summary = d.getByTestId('compare-summary');
  const before = (await summary.count()) ? await summary.textContent() : null;
  await d.getByRole('button', { name: 'Run', exact: true }).click();
  await expect
    .poll(async () => ((await summary.count()) ? summary.textContent() : null), { timeout: 60_000 })
    .not.toBe(before);
  await page.waitForFunction(
    () => !document.querySelector('[data-testid="compare-dialog"] [role="progressbar"]'),
    null,
    { timeout: 60_000 },
  );
  await expect
    .poll(() => d.getByTestId('metadata-strips').getAttribute('data-painted').then(Number))
    .toBeGreaterThan(0);
  await expect.poll(() => d.getByTestId('compare-bars').getAttribute('data-built').then(Number)).toBeGreaterThan(0);
}

describe('Compare memfd formats in the browser preview', () => {
  it('shows the v3 cap, the cost of sparseness, the layout, a sweep and exports CSV', async () => {
    const { page, problems } = await openApp();
    // No machine yet: the New machine dialog is up; the comparison needs none.
    if (await page.locator('dialog[open]').count()) {
      await page.keyboard.press('Escape');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
    }
    await page.getByRole('button', { name: 'Menu ▾' }).click();
    await page.getByRole('menuitem', { name: /Compare formats…/ }).click();
    await expect.poll(() => dialog(page).isVisible()).toBe(true);

    // 2 GiB of 4 KiB folios: 524,288 entries, twice what one order-10 FDT folio holds.
    const started = Date.now();
    await compare(page, { size: '2G', order: '0', sparse: '0', holes: 'keep' });
    expect(await cell(page, 'result', 'memfd-fdt-v1')).toMatch(/ENOMEM/);
    expect(await cell(page, 'limit hit', 'memfd-fdt-v1')).toContain('261,888');
    expect(await cell(page, 'result', 'memfd-v1')).toContain('preserved');
    expect(await cell(page, 'result', 'memfd-karr-v1')).toContain('preserved');
    expect(await cell(page, 'data folios', 'memfd-v1')).toBe('524,288');
    expect(number(await cell(page, 'bytes per folio', 'memfd-v1'))).toBeCloseTo(16, 0);
    expect(number(await cell(page, 'bytes per folio', 'memfd-karr-v1'))).toBeCloseTo(8, 0);
    expect(
      await dialog(page).locator('[data-testid="metadata-strips"] [data-format="memfd-fdt-v1"]').textContent(),
    ).toMatch(/ENOMEM/);
    expect(
      await dialog(page).locator('[data-testid="restore-steps"] [data-format="memfd-v1"] li').count(),
    ).toBeGreaterThan(2);
    await shot(page, 1, 'v3-cap');
    const capMs = Date.now() - started;

    // 1 GiB, 99% holes kept: about 2,600 folios, each kho_array page now nearly empty.
    await compare(page, { size: '1G', order: '0', sparse: '0.99', holes: 'keep' });
    for (const f of ['memfd-v1', 'memfd-fdt-v1', 'memfd-karr-v1'])
      expect(await cell(page, 'result', f)).toContain('preserved');
    const v1 = number(await cell(page, 'bytes per folio', 'memfd-v1'));
    const karr = number(await cell(page, 'bytes per folio', 'memfd-karr-v1'));
    expect(karr).toBeGreaterThan(10 * v1);
    await shot(page, 2, 'sparse');

    // The layout, zoomed to where the metadata is, with the pointer over a memfd-karr-v1 run.
    const strips = dialog(page).getByTestId('metadata-strips');
    await strips.getByRole('radio', { name: 'zoom to the metadata' }).click();
    await strips.scrollIntoViewIfNeeded();
    const karrPixel = await strips.locator('[data-format="memfd-karr-v1"] canvas').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, c.height >> 1, c.width, 1).data;
      for (let x = 0; x < c.width; x++)
        if (d[x * 4] === 0xc5 && d[x * 4 + 1] === 0x8a && d[x * 4 + 2] === 0xf9)
          return (x + 1) / (c.width / c.getBoundingClientRect().width);
      return -1;
    });
    expect(karrPixel).toBeGreaterThanOrEqual(0);
    await strips.locator('[data-format="memfd-karr-v1"] canvas').hover({ position: { x: karrPixel, y: 8 } });
    const tooltip = strips.getByRole('tooltip');
    await expect.poll(() => tooltip.textContent()).toMatch(/memfd-karr-v1: 0x[0-9a-f]+–0x[0-9a-f]+ \([\d,]+ pages?\)/);
    await shot(page, 3, 'layout');

    // The default sweep at 1 GiB: v3 refuses the dense file and fits once enough holes are kept;
    // the KHO array's cost per folio climbs towards a page.
    expect(await dialog(page).locator('#c-sweep').inputValue()).toBe('0, 0.5, 0.9, 0.99, 0.999');
    await dialog(page).getByRole('button', { name: 'Sweep', exact: true }).click();
    const bar = dialog(page).getByRole('progressbar');
    await bar.waitFor({ timeout: 10_000 });
    expect(await bar.getAttribute('aria-label')).toMatch(/^sweep \d\/5: sparse [\d.]+/);
    await shot(page, 4, 'sweep-running');
    const sweep = dialog(page).getByTestId('sweep-results');
    await expect.poll(() => sweep.textContent(), { timeout: 90_000 }).toMatch(/5\/5 runs(?! · running)/);
    await page.waitForFunction(
      () => !document.querySelector('[data-testid="compare-dialog"] [role="progressbar"]'),
      null,
      { timeout: 60_000 },
    );
    const row = (s: string) =>
      sweep
        .locator(`[data-testid="sweep-table"] tr[data-sparse="${s}"]`)
        .textContent()
        .then((t) => (t ?? '').replace(/\s+/g, ' '));
    expect(await row('0')).toMatch(/ENOMEM/);
    expect(await row('0.999')).not.toMatch(/ENOMEM/);
    // memfd-karr-v1's bytes per folio at 0 and at 0.999 sparse: from 8 B towards 4 KiB.
    const karrAt = async (s: string) =>
      number(
        (await sweep
          .locator(`[data-testid="sweep-table"] tr[data-sparse="${s}"] td[data-format="memfd-karr-v1"]`)
          .textContent())!.split('B')[0]!,
      );
    expect(await karrAt('0')).toBeLessThan(10);
    expect(await karrAt('0.999')).toBeGreaterThan(1024);
    await expect
      .poll(() => sweep.getByTestId('sweep-chart').getAttribute('data-built').then(Number))
      .toBeGreaterThan(0);
    await sweep.scrollIntoViewIfNeeded();
    await shot(page, 5, 'sweep');

    // Export: the browser preview downloads the CSV compareCsv() writes.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      dialog(page).getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('memfd-compare-1G-order0-sparse0.99-keep.csv');
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\n')[0]).toBe(
      'compatible,origin,ok,errno,error,limit,dataFolios,dataPages,metaPages,metaBytes,usedBytes,bytesPerFolio,trackerPages,preserveMs',
    );
    expect(csv).toMatch(/^memfd-karr-v1,/m);

    console.log(`compare e2e: 2 GiB compare ${capMs} ms, whole test ${Date.now() - started} ms`);
    expect(problems).toEqual([]);
    await page.close();
  });
});
