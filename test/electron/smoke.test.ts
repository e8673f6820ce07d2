/**
 * The desktop app in a real Electron: builds main, preload, host worker and renderer into a temp
 * dir, launches it with playwright-core's Electron support (under Xvfb when there is no display),
 * and checks what the mocked unit tests (test/unit/electron) check in pieces: window.khoLab
 * reaches the engine, app:// sends the CSP header and refuses a path out of the build, the
 * renderer is sandboxed, and a sender that is not the app's window is refused.
 *
 * It needs Electron's binary, which `npm install` downloads into node_modules/electron/dist. Where
 * it cannot be downloaded the test is skipped with one line saying so; see README "The real-
 * Electron smoke test". Run it alone: `npx vitest run --project electron`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ElectronApplication, Page } from 'playwright-core';
import { APP_INDEX_URL } from '../../electron/app-protocol';
import { CSP, META_CSP } from '../../electron/csp';

const ROOT = path.resolve(__dirname, '../..');
const HOW =
  'to run it: install the binary on a machine with network (node node_modules/electron/install.js) or set ELECTRON_PATH, then `npx vitest run --project electron`';

/**
 * Where Electron's binary would be, found the way node_modules/electron/index.js finds it — but
 * without requiring that module, which starts a download when the binary is missing.
 */
function electronBinary(): string {
  if (process.env.ELECTRON_PATH) return process.env.ELECTRON_PATH;
  const pkg = path.join(ROOT, 'node_modules', 'electron');
  const pathTxt = path.join(pkg, 'path.txt');
  const fallback =
    { darwin: 'Electron.app/Contents/MacOS/Electron', win32: 'electron.exe' }[process.platform as string] ?? 'electron';
  return path.join(pkg, 'dist', existsSync(pathTxt) ? readFileSync(pathTxt, 'utf8').trim() : fallback);
}

const hasXvfb = () => spawnSync('Xvfb', ['-help'], { stdio: 'ignore' }).error === undefined;

/** Why the test cannot run here, or null when it can. */
function whyNotHere(binary: string): string | null {
  if (!existsSync(binary))
    return `Electron's binary is missing at ${binary} (npm install could not download it); ${HOW}`;
  if (process.platform === 'linux' && !process.env.DISPLAY && !hasXvfb())
    return `no X display: set DISPLAY or install Xvfb (apt-get install xvfb); ${HOW}`;
  return null;
}

const BINARY = electronBinary();
const REASON = whyNotHere(BINARY);
if (REASON) console.warn(`electron smoke test skipped: ${REASON}`);

/** Starts Xvfb on a free display number and waits for its socket. */
async function startXvfb(): Promise<{ display: string; proc: ChildProcess }> {
  for (let n = 90 + (process.pid % 50); ; n++) {
    if (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) continue;
    const proc = spawn('Xvfb', [`:${n}`, '-screen', '0', '1440x900x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && proc.exitCode === null; i++) {
      if (existsSync(`/tmp/.X11-unix/X${n}`)) return { display: `:${n}`, proc };
      await new Promise((ok) => setTimeout(ok, 100));
    }
    proc.kill();
    throw new Error(`Xvfb :${n} did not start`);
  }
}

describe.skipIf(REASON !== null)('KHO Lab in a real Electron', () => {
  let app = '';
  let xvfb: ChildProcess | null = null;
  let electron: ElectronApplication | null = null;
  let page: Page;

  beforeAll(async () => {
    // Imported here: a skipped run should not pay for loading Vite and Playwright.
    const [{ _electron }, { build }, { bundleElectron }] = await Promise.all([
      import('playwright-core'),
      import('vite'),
      import('../../build/bundle-electron.mjs'),
    ]);
    app = mkdtempSync(path.join(tmpdir(), 'kholab-electron-'));
    // The layout main.ts expects: dist-electron/*.cjs beside dist/renderer.
    await bundleElectron({ outDir: path.join(app, 'dist-electron') });
    await build({
      configFile: path.join(ROOT, 'renderer/vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: path.join(app, 'dist', 'renderer'), emptyOutDir: true },
    });
    writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'kho-lab', productName: 'KHO Lab', main: 'dist-electron/main.cjs' }),
    );
    let display = process.env.DISPLAY;
    if (process.platform === 'linux' && !display) {
      const x = await startXvfb();
      xvfb = x.proc;
      display = x.display;
    }
    // Chromium refuses to start its OS sandbox as root (containers, CI); the renderer's own
    // sandbox (no Node, context isolation), which this test checks, does not depend on it.
    const root = process.getuid?.() === 0;
    electron = await _electron.launch({
      executablePath: BINARY,
      args: [...(root ? ['--no-sandbox'] : []), app],
      env: { ...process.env, ...(display ? { DISPLAY: display } : {}) },
      timeout: 60_000,
    });
    page = await electron.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  });

  afterAll(async () => {
    await electron?.close();
    xvfb?.kill();
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('shows app://kho-lab/index.html and window.khoLab reaches the engine', async () => {
    expect(page.url()).toBe(APP_INDEX_URL);
    const r = await page.evaluate(async () => {
      const k = (window as unknown as { khoLab?: { state(): Promise<{ ok: boolean }> } }).khoLab;
      return { type: typeof k, ok: k ? (await k.state()).ok : null };
    });
    expect(r).toEqual({ type: 'object', ok: true });
  });

  it('app:// sends the CSP header, the page carries the meta, and a path out of the build is refused', async () => {
    const r = await page.evaluate(async () => {
      const index = await fetch('app://kho-lab/index.html');
      const escape = await fetch('app://kho-lab/..%2f..%2fpackage.json');
      const meta =
        document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null;
      return { header: index.headers.get('content-security-policy'), meta, escape: escape.status };
    });
    expect(r).toEqual({ header: CSP, meta: META_CSP, escape: 403 });
  });

  it('the renderer is sandboxed: no process, no require', async () => {
    const r = await page.evaluate(() => ({
      process: typeof (globalThis as { process?: unknown }).process,
      require: typeof (globalThis as { require?: unknown }).require,
    }));
    expect(r).toEqual({ process: 'undefined', require: 'undefined' });
  });

  it('refuses a call from a window that is not the app window, even with the same preload and page', async () => {
    const preload = path.join(app, 'dist-electron', 'preload.cjs');
    const r = await electron!.evaluate(
      async ({ BrowserWindow }, { preload, url }) => {
        const w = new BrowserWindow({
          show: false,
          webPreferences: { preload, sandbox: true, contextIsolation: true },
        });
        try {
          await w.loadURL(url);
          return (await w.webContents.executeJavaScript('window.khoLab.state()')) as unknown;
        } finally {
          w.destroy();
        }
      },
      { preload, url: APP_INDEX_URL },
    );
    expect(r).toEqual({
      ok: false,
      error: { code: 'invalid-argument', message: 'state: refused, the call does not come from the KHO Lab window' },
    });
  });
});
