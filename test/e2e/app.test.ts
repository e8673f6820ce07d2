/**
 * The whole app in Debian's Chromium: the renderer is built with Vite into a temp dir, served
 * over http on 127.0.0.1 by a small static server, and driven with playwright-core. The engine
 * runs in the preview Worker, exactly as `npm run preview` runs it. Any console error or page error
 * fails the test. Screenshots go to test-results/e2e/.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PageCategory } from '../../shared/palette';
import {
  SHOTS,
  createAndBoot,
  drawnCount,
  findPixel,
  openApp,
  pixelsOf,
  summaryPages,
  useApp,
  waitForPaint,
} from './harness';

useApp();

describe('KHO Lab in the browser preview', () => {
  it('boots a 1 GiB machine, fills a 64 MiB memfd, zooms to single pages and inspects one', async () => {
    const { page, problems } = await openApp();

    await createAndBoot(page, '1G');
    const log = page.getByTestId('event-log');
    await expect.poll(() => log.textContent(), { timeout: 20_000 }).toMatch(/\[\s+\d+\.\d{6}\] /);
    expect(await page.locator('[data-testid="event-log"] .line').count()).toBeGreaterThan(5);
    // The filter box finds the boot lines, dmesg style.
    const filter = page.getByLabel('Filter the event log');
    await filter.fill('Linux version');
    await expect.poll(() => log.textContent()).toMatch(/^\[\s+0\.0{6}\] Linux version/);
    await filter.fill('Memory:');
    await expect.poll(() => log.textContent()).toMatch(/\] Memory: \d+K\/\d+K available/);
    await filter.fill('');
    await page.screenshot({ path: join(SHOTS, '01-after-boot.png') });

    const memfdPixelsBefore = await pixelsOf(page, PageCategory.Memfd);
    const memfdPagesBefore = await summaryPages(page, 'Memfd');
    const drawn = await drawnCount(page);
    await page.getByLabel('memfd size in MiB').fill('64');
    await page
      .locator('form', { has: page.getByLabel('memfd size in MiB') })
      .getByRole('button', { name: 'Create' })
      .click();
    await expect
      .poll(() => summaryPages(page, 'Memfd'), { timeout: 60_000 })
      .toBeGreaterThanOrEqual(memfdPagesBefore + 16384);
    await waitForPaint(page, drawn);
    await expect.poll(() => pixelsOf(page, PageCategory.Memfd), { timeout: 10_000 }).toBeGreaterThan(memfdPixelsBefore);
    await expect(page.locator('ol[aria-label="Command results"]').textContent()).resolves.toMatch(/write/);
    await page.screenshot({ path: join(SHOTS, '02-after-memfd.png') });

    // Select a memfd cell, zoom in on it to single pages, and inspect a memfd page.
    const canvas = page.locator('canvas');
    const at = await findPixel(page, PageCategory.Memfd);
    expect(at).not.toBeNull();
    await canvas.click({ position: at! });
    await page.waitForSelector('[data-testid="page-dump"]');
    // Zoom until single pages are big enough to carry a grid.
    const cellPx = async () => Number(await canvas.getAttribute('data-cell-px'));
    for (let i = 0; i < 30 && (await cellPx()) < 14; i++) {
      await page.keyboard.press('+');
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
    }
    expect(await canvas.getAttribute('data-pages-per-cell')).toBe('1');
    expect(await cellPx()).toBeGreaterThanOrEqual(14);
    await page.waitForSelector('canvas[data-loading="false"]');
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const page1 = await findPixel(page, PageCategory.Memfd);
    expect(page1).not.toBeNull();
    await canvas.click({ position: page1! });
    // The inspector shows the very page under the pointer (the tooltip names it), and it is memfd.
    const hovered = /pfn (0x[0-9a-f]+)/.exec((await page.locator('[role="tooltip"]').textContent())!)![1]!;
    expect(await page.locator('[role="tooltip"]').textContent()).toContain('memfd folios');
    await expect
      .poll(() => page.getByTestId('page-dump').textContent(), { timeout: 10_000 })
      .toContain(`/* ${Number(hovered)} */`); // the pfn in hex, its decimal beside it
    expect(await page.getByTestId('page-dump').textContent()).toContain('memfd folios');
    const dump = (await page.getByTestId('page-dump').textContent())!;
    expect(dump).toMatch(/phys\s*0x[0-9a-f]{16}/);
    expect(dump).toMatch(/_refcount/);
    await page.waitForSelector('[role="tooltip"]');
    await page.screenshot({ path: join(SHOTS, '03-single-pages-inspector.png') });

    // Step back undoes the write; forward replays it.
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    const pagesNow = await summaryPages(page, 'Memfd');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => summaryPages(page, 'Memfd'), { timeout: 30_000 }).toBeLessThan(pagesNow);
    await page.keyboard.press('End');
    await expect.poll(() => summaryPages(page, 'Memfd'), { timeout: 30_000 }).toBe(pagesNow);

    // The machine dialog refuses RAM above the maximum, with the schema's message.
    await page.keyboard.press('n');
    await page.locator('#m-ram').fill('5T');
    await expect(page.locator('#m-ram-err').textContent()).resolves.toMatch(
      /RAM size 5 TiB is above the maximum of 4 TiB/,
    );
    expect(await page.getByRole('button', { name: 'Create & boot' }).isDisabled()).toBe(true);
    await page.screenshot({ path: join(SHOTS, '04-machine-dialog-error.png') });
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });

    // A refused command is shown like a shell shows it, and the app keeps running.
    await page.getByLabel('Tag to free').fill('no-such-tag');
    await page
      .locator('form', { has: page.getByLabel('Tag to free') })
      .getByRole('button', { name: 'Free' })
      .click();
    await expect
      .poll(() => page.locator('ol[aria-label="Command results"] .err').last().textContent(), { timeout: 10_000 })
      .toMatch(/^free_pages: E[A-Z]+/);

    expect(problems).toEqual([]);
    await page.close();
  });

  it('boots a 64 GiB machine and the map stays responsive', async () => {
    const { page, problems } = await openApp();
    await createAndBoot(page, '64G');
    const canvas = page.locator('canvas');
    await expect
      .poll(() => page.getByTestId('event-log').textContent(), { timeout: 20_000 })
      .toMatch(/\[\s+\d+\.\d{6}\]/);
    await page.screenshot({ path: join(SHOTS, '05-64g-after-boot.png') });

    // Each zoom step repaints, at every level down to single pages. How fast is `npm run bench`'s
    // business (the map figures); here the times are only logged, so a busy machine cannot fail the test.
    const times: number[] = [];
    await canvas.hover({ position: { x: 300, y: 200 } });
    for (let i = 0; i < 20 && (await canvas.getAttribute('data-pages-per-cell')) !== '1'; i++) {
      const before = await drawnCount(page);
      const t0 = Date.now();
      await page.mouse.wheel(0, -120);
      await page.waitForFunction((n) => Number(document.querySelector('canvas')?.dataset.drawn) > n, before, {
        timeout: 10_000,
      });
      times.push(Date.now() - t0);
    }
    expect(await canvas.getAttribute('data-pages-per-cell')).toBe('1');
    // Zoom back out to the whole machine in one go.
    const t0 = Date.now();
    const before = await drawnCount(page);
    await page.keyboard.press('0');
    await page.waitForFunction((n) => Number(document.querySelector('canvas')?.dataset.drawn) > n, before, {
      timeout: 10_000,
    });
    console.log(`map e2e: slowest zoom step ${Math.max(...times)} ms, zoom out ${Date.now() - t0} ms`);
    await expect.poll(() => canvas.getAttribute('data-pages-per-cell')).not.toBe('1');
    expect(problems).toEqual([]);
    await page.close();
  });
});
