import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Result } from '../../../shared/api';
import { BrowserWindow, Menu, app, dialog, ipcMain, protocol, session } from 'electron';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createFakeApi } from './fixtures/fake-api';
import type * as Mock from './fixtures/electron-mock';

vi.mock('electron', () => import('./fixtures/electron-mock'));

// main.ts starts the host worker through host-client; here the "worker" is the fake API in-process.
const host = vi.hoisted(() => ({
  progress: new Set<(p: unknown) => void>(),
  close: null as unknown as ReturnType<typeof vi.fn>,
  script: '',
  calls: [] as Array<[string, unknown[]]>,
}));
vi.mock('../../../electron/host-client', () => ({
  startHostClient: (opts: { script: string }) => {
    host.script = opts.script;
    host.close = vi.fn(async () => {});
    const fake = createFakeApi({ onProgress: (p) => host.progress.forEach((l) => l(p)) });
    host.calls = fake.calls;
    const client = {
      ...fake,
      onProgress: (l: (p: unknown) => void) => (host.progress.add(l), () => host.progress.delete(l)),
    };
    return { client, close: host.close };
  },
}));

const fakeApp = app as unknown as typeof Mock.app;
const FakeWindow = BrowserWindow as unknown as typeof Mock.BrowserWindow;
const fakeIpc = ipcMain as unknown as typeof Mock.ipcMain;
const MAIN_DIR = path.resolve(__dirname, '../../../electron');

async function startMain(): Promise<Mock.BrowserWindow> {
  vi.resetModules();
  await import('../../../electron/main');
  await vi.waitFor(() => expect(FakeWindow.instances).toHaveLength(1));
  return FakeWindow.instances[0]!;
}

// main reads its command line: each test starts it as `electron APP` with no arguments of its own.
const argv = process.argv;
afterAll(() => {
  process.argv = argv;
  delete (process as { defaultApp?: boolean }).defaultApp;
});

beforeEach(() => {
  process.argv = ['/usr/bin/electron', '/app'];
  (process as { defaultApp?: boolean }).defaultApp = true;
  vi.clearAllMocks();
  fakeApp.removeAllListeners();
  fakeApp.singleInstance = true;
  fakeIpc.handlers.clear();
  host.progress.clear();
  FakeWindow.instances.length = 0;
});

describe('main', () => {
  it('sandboxes every renderer and wires session, IPC, menu and window on ready', async () => {
    const win = await startMain();
    expect(fakeApp.enableSandbox).toHaveBeenCalled();
    expect(host.script).toBe(path.join(MAIN_DIR, 'host-worker.cjs'));
    expect(win.options.webPreferences).toMatchObject({ preload: path.join(MAIN_DIR, 'preload.cjs'), devTools: true });
    expect(win.loadURL).toHaveBeenCalledWith('app://kho-lab/index.html');
    // app:// is privileged before ready and served from the renderer build once ready.
    expect(protocol.registerSchemesAsPrivileged).toHaveBeenCalledWith([
      { scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true }) },
    ]);
    expect(vi.mocked(protocol.handle).mock.calls.map(([scheme]) => scheme)).toEqual(['app']);
    const fakeSession = session.defaultSession as unknown as typeof Mock.session.defaultSession;
    expect(fakeSession.webRequest.onBeforeRequest).toHaveBeenCalled();
    expect(fakeSession.setPermissionRequestHandler).toHaveBeenCalled();
    expect([...fakeIpc.handlers.keys()]).toEqual([
      'kholab:call',
      'kholab:save',
      'kholab:open-dump',
      'kholab:open-launch',
    ]);
    expect(Menu.setApplicationMenu).toHaveBeenCalled();
  });

  it('a packaged app opens its window without DevTools', async () => {
    fakeApp.isPackaged = true;
    try {
      const win = await startMain();
      expect(win.options.webPreferences).toMatchObject({ devTools: false });
    } finally {
      fakeApp.isPackaged = false;
    }
  });

  it('serves app:// from the renderer build and refuses a path out of it', async () => {
    await startMain();
    const [, handler] = vi.mocked(protocol.handle).mock.calls[0]!;
    const r = await handler(new Request('app://kho-lab/..%2f..%2fpackage.json'));
    expect(r.status).toBe(403);
    expect(r.headers.get('content-security-policy')).toMatch(/^default-src 'self'/);
  });

  it('saves an export from the window through a save dialog attached to it, and refuses other senders', async () => {
    const win = await startMain();
    await win.loadURL.mock.results[0]!.value;
    const save = fakeIpc.handlers.get('kholab:save')!;
    const request = { kind: 'csv', name: 'memfd-compare.csv', text: 'a\n' };
    expect(await save({ senderFrame: win.webContents.mainFrame }, request)).toEqual({
      ok: true,
      value: { saved: false },
    });
    // showSaveDialog(parent, options): attached to the window.
    const [parent, options] = vi.mocked(dialog.showSaveDialog).mock.calls[0] as unknown[];
    expect(parent).toBe(win);
    expect(options).toMatchObject({ defaultPath: 'memfd-compare.csv' });
    const r = await save({ senderFrame: { url: win.webContents.mainFrame.url } }, request);
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
    expect(dialog.showSaveDialog).toHaveBeenCalledTimes(1);
  });

  it('answers renderer calls through the host and forwards its progress to the window', async () => {
    const win = await startMain();
    await win.loadURL.mock.results[0]!.value;
    const r = await fakeIpc.handlers.get('kholab:call')!({ senderFrame: win.webContents.mainFrame }, 'run', [
      { op: 'boot' },
    ]);
    expect(r).toEqual({ ok: false, error: { code: 'errno', message: 'EINVAL: boot refused by the fake' } });
    expect(win.webContents.send.mock.calls).toEqual([
      ['kholab:progress', { label: 'boot', done: 1, total: 2 }],
      ['kholab:progress', { label: 'boot', done: 2, total: 2 }],
    ]);
  });

  it('sends menu actions to the window, and nothing once it is closed', async () => {
    const win = await startMain();
    const template = vi.mocked(Menu.buildFromTemplate).mock.calls[0]![0] as Electron.MenuItemConstructorOptions[];
    const newMachine = (template[0]!.submenu as Electron.MenuItemConstructorOptions[])[0]!;
    newMachine.click!(undefined as never, undefined, undefined as never);
    expect(win.webContents.send).toHaveBeenCalledWith('kholab:menu', 'new-machine');
    win.emit('closed');
    win.webContents.send.mockClear();
    newMachine.click!(undefined as never, undefined, undefined as never);
    expect(win.webContents.send).not.toHaveBeenCalled();
  });

  it('stops the host when the app quits', async () => {
    await startMain();
    fakeApp.emit('will-quit');
    expect(host.close).toHaveBeenCalled();
  });

  it('a second instance quits without starting a host or a window', async () => {
    fakeApp.singleInstance = false;
    host.script = '';
    vi.resetModules();
    await import('../../../electron/main');
    expect(fakeApp.quit).toHaveBeenCalled();
    expect(host.script).toBe('');
    expect(FakeWindow.instances).toHaveLength(0);
  });
});

describe('main: the command line (npm start -- --real DUMP [--sim SIMDUMP | --scenario NAME])', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kho-lab-argv-'));
  const real = path.join(dir, 'real.elf');
  const sim = path.join(dir, 'sim.vmcore');
  writeFileSync(real, 'x');
  writeFileSync(sim, 'y');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts main as `electron APP ...args` (npm start) and asks what the command line opened. */
  async function launch(...args: string[]) {
    fakeIpc.handlers.clear();
    FakeWindow.instances.length = 0;
    process.argv = ['/usr/bin/electron', '/app', ...args];
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const win = await startMain();
      await win.loadURL.mock.results[0]!.value;
      const open = fakeIpc.handlers.get('kholab:open-launch')!;
      const first = (await open({ senderFrame: win.webContents.mainFrame })) as Result<unknown>;
      const again = (await open({ senderFrame: win.webContents.mainFrame })) as Result<unknown>;
      return { first, again, stderr: err.mock.calls.map((c) => String(c[0])), win };
    } finally {
      err.mockRestore();
    }
  }

  it('--real and --sim: main opens the real dump, then the vmcore beside it, once', async () => {
    const { first, again } = await launch('--real', real, '--sim', sim);
    expect(host.calls).toEqual([['openDump', [real]]]);
    // The fake refuses every dump: the refusal names the flag and the file.
    expect(first).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/^--real .*real\.elf: .*not an ELF core/) },
    });
    expect(again).toEqual({ ok: true, value: null });
    expect(dialog.showErrorBox).not.toHaveBeenCalled();
  });

  it('an unknown flag: an error dialog and a line on stderr, the window opens as usual, nothing is opened', async () => {
    const { first, stderr } = await launch('--real', real, '--frobnicate');
    expect(dialog.showErrorBox).toHaveBeenCalledWith(
      'KHO Lab: bad command line',
      expect.stringMatching(/^unknown option --frobnicate/),
    );
    expect(stderr[0]).toMatch(/^KHO Lab: unknown option --frobnicate/);
    expect(first).toEqual({ ok: true, value: null });
    expect(host.calls).toEqual([]);
  });

  it('a missing path or a directory is refused by main before the host sees it', async () => {
    const missing = await launch('--real', path.join(dir, 'nope.elf'));
    expect(vi.mocked(dialog.showErrorBox).mock.calls[0]![1]).toBe(`--real ${path.join(dir, 'nope.elf')}: no such file`);
    expect(missing.first).toEqual({ ok: true, value: null });
    vi.mocked(dialog.showErrorBox).mockClear();
    await launch('--real', real, '--sim', dir);
    expect(vi.mocked(dialog.showErrorBox).mock.calls[0]![1]).toBe(`--sim ${dir}: not a regular file`);
    expect(host.calls).toEqual([]);
  });

  it('no arguments: nothing to open, no dialog', async () => {
    const { first } = await launch();
    expect(first).toEqual({ ok: true, value: null });
    expect(dialog.showErrorBox).not.toHaveBeenCalled();
  });
});
