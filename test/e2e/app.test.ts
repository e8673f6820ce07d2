/**
 * The whole app in Debian's Chromium: the renderer is built with Vite into a temp dir, served
 * over http on 127.0.0.1 by a small static server, and driven with playwright-core. The engine
 * runs in the preview Worker, exactly as `npm run preview` runs it. Any console error or page error
 * fails the test. Screenshots go to test-results/e2e/.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../../vitest.config';
import { CATEGORY_STYLES, PageCategory } from '../../shared/palette';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = join(ROOT, 'test-results', 'e2e');
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Serves `dir` read-only; anything outside it or missing is a 404. */
function serveStatic(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(dir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(dir) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      ok({ server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/` });
    }),
  );
}

let outDir = '';
let server: Server | null = null;
let url = '';
let browser: Browser | null = null;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  outDir = resolve(mkdtempSync(join(tmpdir(), 'kho-renderer-')));
  await build({
    configFile: join(ROOT, 'renderer/vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  ({ server, url } = await serveStatic(outDir));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** Opens the app and collects every console error and page error. */
async function openApp(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1600, height: 1000 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('worker', (w) => w.on('console', (m) => m.type() === 'error' && problems.push(`worker: ${m.text()}`)));
  await page.goto(url);
  await page.waitForSelector('canvas');
  return { page, problems };
}

/** Opens the New machine dialog (unless already open), fills RAM and creates + boots. */
async function createAndBoot(page: Page, ram: string): Promise<void> {
  if (!(await page.locator('dialog[open]').count())) await page.getByRole('button', { name: 'New machine…' }).click();
  await page.locator('#m-ram').fill(ram);
  await page.getByRole('button', { name: 'Create & boot' }).click();
  await page.waitForFunction(() => document.querySelector('header')?.textContent?.includes('running'), null, { timeout: 90_000 });
  await waitForPaint(page);
}

const drawnCount = (page: Page) => page.locator('canvas').getAttribute('data-drawn').then(Number);

/** Waits until the map paints again after an action and the app is idle. */
async function waitForPaint(page: Page, after?: number): Promise<void> {
  const base = after ?? (await drawnCount(page));
  await page.waitForFunction((n) => Number(document.querySelector('canvas')?.dataset.drawn) > n, base - (after === undefined ? 1 : 0), { timeout: 60_000 });
  await page.waitForFunction(() => !document.querySelector('[role="progressbar"]'), null, { timeout: 60_000 });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** How many canvas pixels have the colour of `category`. */
function pixelsOf(page: Page, category: number): Promise<number> {
  const hex = CATEGORY_STYLES[category]!.color;
  return page.evaluate((color) => {
    const c = document.querySelector('canvas')!;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const v = parseInt(color.slice(1), 16);
    const [r, g, b] = [(v >> 16) & 255, (v >> 8) & 255, v & 255];
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] === r && d[i + 1] === g && d[i + 2] === b) n++;
    return n;
  }, hex);
}

/** Pages of `key` in the summary's category table (0 when the row is absent). */
async function summaryPages(page: Page, key: keyof typeof PageCategory): Promise<number> {
  const row = page.locator(`[data-testid="category-pages"] tr[data-category="${key}"] td`).first();
  if (!(await row.count())) return 0;
  return Number((await row.textContent())!.replace(/,/g, ''));
}

/** CSS position (relative to the canvas) of the first pixel with the colour of `category`. */
function findPixel(page: Page, category: number): Promise<{ x: number; y: number } | null> {
  const hex = CATEGORY_STYLES[category]!.color;
  return page.evaluate((color) => {
    const c = document.querySelector('canvas')!;
    const dpr = c.width / c.getBoundingClientRect().width;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const v = parseInt(color.slice(1), 16);
    const [r, g, b] = [(v >> 16) & 255, (v >> 8) & 255, v & 255];
    // Prefer a pixel whose neighbours share the colour: the middle of a cell, not a grid edge.
    for (let i = 0; i < d.length; i += 4) {
      const j = i + 4 * 3;
      if (d[i] === r && d[i + 1] === g && d[i + 2] === b && d[j] === r && d[j + 1] === g && d[j + 2] === b) {
        const px = (i / 4) % c.width;
        const py = Math.floor(i / 4 / c.width);
        return { x: (px + 2) / dpr, y: (py + 2) / dpr };
      }
    }
    return null;
  }, hex);
}

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
    await page.locator('form', { has: page.getByLabel('memfd size in MiB') }).getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => summaryPages(page, 'Memfd'), { timeout: 60_000 }).toBeGreaterThanOrEqual(memfdPagesBefore + 16384);
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
    await expect.poll(() => page.getByTestId('page-dump').textContent(), { timeout: 10_000 }).toContain(`/* ${hovered} */`);
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
    await page.locator('#m-ram').fill('128G');
    await expect(page.locator('#m-ram-err').textContent()).resolves.toMatch(/above the maximum of 64 GiB/);
    expect(await page.getByRole('button', { name: 'Create & boot' }).isDisabled()).toBe(true);
    await page.screenshot({ path: join(SHOTS, '04-machine-dialog-error.png') });
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });

    // A refused command is shown like a shell shows it, and the app keeps running.
    await page.getByLabel('Tag to free').fill('no-such-tag');
    await page.locator('form', { has: page.getByLabel('Tag to free') }).getByRole('button', { name: 'Free' }).click();
    await expect.poll(() => page.locator('ol[aria-label="Command results"] .err').last().textContent(), { timeout: 10_000 }).toMatch(/^free_pages: E[A-Z]+/);

    expect(problems).toEqual([]);
    await page.close();
  });

  it('boots a 64 GiB machine and the map stays responsive', async () => {
    const { page, problems } = await openApp();
    await createAndBoot(page, '64G');
    const canvas = page.locator('canvas');
    await expect.poll(() => page.getByTestId('event-log').textContent(), { timeout: 20_000 }).toMatch(/\[\s+\d+\.\d{6}\]/);
    await page.screenshot({ path: join(SHOTS, '05-64g-after-boot.png') });

    // Each zoom step must repaint within a reasonable time, at every level down to single pages.
    const times: number[] = [];
    await canvas.hover({ position: { x: 300, y: 200 } });
    for (let i = 0; i < 20 && (await canvas.getAttribute('data-pages-per-cell')) !== '1'; i++) {
      const before = await drawnCount(page);
      const t0 = Date.now();
      await page.mouse.wheel(0, -120);
      await page.waitForFunction((n) => Number(document.querySelector('canvas')?.dataset.drawn) > n, before, { timeout: 10_000 });
      times.push(Date.now() - t0);
    }
    expect(await canvas.getAttribute('data-pages-per-cell')).toBe('1');
    expect(Math.max(...times)).toBeLessThan(2000);
    // Zoom back out to the whole machine in one go.
    const t0 = Date.now();
    const before = await drawnCount(page);
    await page.keyboard.press('0');
    await page.waitForFunction((n) => Number(document.querySelector('canvas')?.dataset.drawn) > n, before, { timeout: 10_000 });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(problems).toEqual([]);
    await page.close();
  });
});
