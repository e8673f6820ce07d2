import { beforeEach, describe, expect, it, vi } from 'vitest';
import { BrowserWindow, dialog, session, type Session } from 'electron';
import { APP_INDEX_URL } from '../../../electron/app-protocol';
import { createMainWindow, isAllowedRequest, isOwnFrame, secureSession } from '../../../electron/window';
import type * as Mock from './fixtures/electron-mock';

vi.mock('electron', () => import('./fixtures/electron-mock'));

const FakeWindow = BrowserWindow as unknown as typeof Mock.BrowserWindow;
const fakeSession = session.defaultSession as unknown as typeof Mock.session.defaultSession;
const OPTS = {
  preload: '/opt/kho-lab/dist-electron/preload.cjs',
  rendererRoot: '/opt/kho-lab/dist/renderer',
  devTools: false,
};

function open(devTools = false): Mock.BrowserWindow {
  return createMainWindow({ ...OPTS, devTools }) as unknown as Mock.BrowserWindow;
}
const navEvent = (url: string) => ({ url, preventDefault: vi.fn() });

beforeEach(() => {
  vi.clearAllMocks();
  FakeWindow.instances.length = 0;
});

describe('createMainWindow', () => {
  it('locks the renderer down, gives it the preload and loads it from app://kho-lab/', () => {
    const win = open();
    expect(win.options.webPreferences).toMatchObject({
      preload: OPTS.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      webviewTag: false,
      devTools: false,
    });
    expect(win.loadURL).toHaveBeenCalledWith('app://kho-lab/index.html');
  });

  it('has DevTools only when asked to (an unpackaged build)', () => {
    expect(open(true).options.webPreferences).toMatchObject({ devTools: true });
  });

  it('shows the window only once it is ready', () => {
    const win = open();
    expect(win.show).not.toHaveBeenCalled();
    win.emit('ready-to-show');
    expect(win.show).toHaveBeenCalledTimes(1);
  });

  it('refuses navigation away from index.html but lets it reload itself', () => {
    const wc = open().webContents;
    for (const url of [
      'https://example.com/',
      'file:///etc/passwd',
      'file:///opt/kho-lab/dist/renderer/index.html',
      'app://kho-lab/other.html',
      'app://evil/index.html',
    ]) {
      const e = navEvent(url);
      wc.emit('will-navigate', e);
      expect(e.preventDefault, url).toHaveBeenCalled();
    }
    const self = navEvent(`${APP_INDEX_URL}#/memory`);
    wc.emit('will-navigate', self);
    expect(self.preventDefault).not.toHaveBeenCalled();
    const frame = navEvent('https://example.com/');
    wc.emit('will-frame-navigate', frame);
    expect(frame.preventDefault).toHaveBeenCalled();
    const redirect = navEvent('http://localhost:8080/');
    wc.emit('will-redirect', redirect);
    expect(redirect.preventDefault).toHaveBeenCalled();
    const webview = { preventDefault: vi.fn() };
    wc.emit('will-attach-webview', webview);
    expect(webview.preventDefault).toHaveBeenCalled();
  });

  it('denies window.open', () => {
    const wc = open().webContents;
    expect(wc.windowOpenHandler?.({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(wc.windowOpenHandler?.({ url: APP_INDEX_URL })).toEqual({ action: 'deny' });
  });

  it('reports a renderer that cannot load instead of failing silently', async () => {
    FakeWindow.loadError = new Error('ERR_FILE_NOT_FOUND (-6)');
    try {
      const win = open();
      await expect(win.loadURL.mock.results[0]!.value).rejects.toThrow();
      await vi.waitFor(() => expect(dialog.showErrorBox).toHaveBeenCalled());
      const [, content] = vi.mocked(dialog.showErrorBox).mock.calls[0]!;
      expect(content).toContain(OPTS.rendererRoot);
      expect(content).toContain('ERR_FILE_NOT_FOUND');
    } finally {
      FakeWindow.loadError = null;
    }
  });
});

describe('secureSession', () => {
  beforeEach(() => secureSession(session.defaultSession as unknown as Session));

  it('cancels every request that is not for app://kho-lab/ or devtools', () => {
    const [listener] = fakeSession.webRequest.onBeforeRequest.mock.calls[0]!;
    const decide = (url: string) => {
      const callback = vi.fn();
      listener({ url }, callback);
      return callback.mock.calls[0]![0];
    };
    expect(decide('app://kho-lab/assets/index-abc.js')).toEqual({ cancel: false });
    expect(decide('devtools://devtools/bundled/inspector.html')).toEqual({ cancel: false });
    expect(decide('https://example.com/x.js')).toEqual({ cancel: true });
    expect(decide('http://127.0.0.1:5173/')).toEqual({ cancel: true });
    expect(decide('file:///etc/passwd')).toEqual({ cancel: true });
    expect(decide('file:///opt/kho-lab/dist/renderer/index.html')).toEqual({ cancel: true });
    expect(decide('app://other-host/index.html')).toEqual({ cancel: true });
  });

  it('denies permission requests and checks', () => {
    const [request] = fakeSession.setPermissionRequestHandler.mock.calls[0]!;
    const callback = vi.fn();
    request({}, 'media', callback, {});
    expect(callback).toHaveBeenCalledWith(false);
    const [check] = fakeSession.setPermissionCheckHandler.mock.calls[0]!;
    expect(check({}, 'clipboard-read', APP_INDEX_URL, {})).toBe(false);
  });
});

describe('isAllowedRequest', () => {
  it('allows the data: and blob: URLs the CSP permits and nothing remote', () => {
    expect(isAllowedRequest('data:image/png;base64,AAAA')).toBe(true);
    expect(isAllowedRequest('blob:app://kho-lab/1234-5678')).toBe(true);
    expect(isAllowedRequest('ws://localhost/')).toBe(false);
    expect(isAllowedRequest('not a url')).toBe(false);
  });
});

describe('isOwnFrame', () => {
  it('trusts only the main frame of our window showing app://kho-lab/index.html', async () => {
    const win = open();
    await win.loadURL.mock.results[0]!.value;
    const asWindow = win as unknown as Electron.BrowserWindow;
    const frame = win.webContents.mainFrame as unknown as Electron.WebFrameMain;
    expect(isOwnFrame(asWindow, frame)).toBe(true);
    // A foreign sender: another frame at the same URL, no frame, no window.
    expect(isOwnFrame(asWindow, { url: frame.url } as unknown as Electron.WebFrameMain)).toBe(false);
    expect(isOwnFrame(asWindow, null)).toBe(false);
    expect(isOwnFrame(null, frame)).toBe(false);
    win.webContents.mainFrame.url = 'https://example.com/';
    expect(isOwnFrame(asWindow, frame)).toBe(false);
    win.webContents.mainFrame.url = 'file:///opt/kho-lab/dist/renderer/index.html';
    expect(isOwnFrame(asWindow, frame)).toBe(false);
    win.webContents.mainFrame.url = APP_INDEX_URL;
    win.destroyed = true;
    expect(isOwnFrame(asWindow, frame)).toBe(false);
  });
});
