import { beforeEach, describe, expect, it, vi } from 'vitest';
import { BrowserWindow, Menu, app, dialog, ipcMain, protocol, session } from 'electron';
import path from 'node:path';
import { createFakeApi } from './fixtures/fake-api';
import type * as Mock from './fixtures/electron-mock';

vi.mock('electron', () => import('./fixtures/electron-mock'));

// main.ts starts the host worker through host-client; here the "worker" is the fake API in-process.
const host = vi.hoisted(() => ({
  progress: new Set<(p: unknown) => void>(),
  close: null as unknown as ReturnType<typeof vi.fn>,
  script: '',
}));
vi.mock('../../../electron/host-client', () => ({
  startHostClient: (opts: { script: string }) => {
    host.script = opts.script;
    host.close = vi.fn(async () => {});
    const client = {
      ...createFakeApi({ onProgress: (p) => host.progress.forEach((l) => l(p)) }),
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

beforeEach(() => {
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
    expect([...fakeIpc.handlers.keys()]).toEqual(['kholab:call', 'kholab:save', 'kholab:open-dump']);
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
