/**
 * The e2e harness: builds the renderer with Vite into a temp dir, serves it over http on
 * 127.0.0.1 with a small static server, and drives Debian's Chromium with playwright-core. The
 * engine runs in the preview Worker, exactly as `npm run preview` runs it. Every console error and
 * page error is collected so a test can fail on it. Screenshots go to test-results/e2e/.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { build } from 'vite';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../../vitest.config';
import { CATEGORY_STYLES, PageCategory } from '../../shared/palette';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SHOTS = join(ROOT, 'test-results', 'e2e');
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

/** Registers the build, server and browser for the calling test file. */
export function useApp(): void {
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
}

/** Opens the app and collects every console error and page error. */
export async function openApp(): Promise<{ page: Page; problems: string[] }> {
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
export async function createAndBoot(page: Page, ram: string): Promise<void> {
  if (!(await page.locator('dialog[open]').count()))
    await page.getByRole('button', { name: 'New machine…', exact: true }).click();
  await page.locator('#m-ram').fill(ram);
  await page.getByRole('button', { name: 'Create & boot' }).click();
  await page.waitForFunction(() => document.querySelector('header')?.textContent?.includes('running'), null, {
    timeout: 90_000,
  });
  await waitForPaint(page);
}

export const drawnCount = (page: Page) => page.locator('canvas').getAttribute('data-drawn').then(Number);

/** Waits until the map paints again after an action and the app is idle. */
export async function waitForPaint(page: Page, after?: number): Promise<void> {
  const base = after ?? (await drawnCount(page));
  await page.waitForFunction(
    (n) => Number(document.querySelector('canvas')?.dataset.drawn) > n,
    base - (after === undefined ? 1 : 0),
    { timeout: 60_000 },
  );
  await page.waitForFunction(() => !document.querySelector('[role="progressbar"]'), null, { timeout: 60_000 });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** How many canvas pixels have the colour of `category`. */
export function pixelsOf(page: Page, category: number): Promise<number> {
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
export async function summaryPages(page: Page, key: keyof typeof PageCategory): Promise<number> {
  const row = page.locator(`[data-testid="category-pages"] tr[data-category="${key}"] td`).first();
  if (!(await row.count())) return 0;
  return Number((await row.textContent())!.replace(/,/g, ''));
}

/** CSS position (relative to the canvas) of the first pixel with the colour of `category`. */
export function findPixel(page: Page, category: number): Promise<{ x: number; y: number } | null> {
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
