import { beforeEach, describe, expect, it, vi } from 'vitest';
import { BrowserWindow, dialog, session, type Session } from 'electron';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CSP, createMainWindow, isAllowedRequest, isOwnFrame, secureSession } from '../../../electron/window';
import type * as Mock from './fixtures/electron-mock';

vi.mock('electron', () => import('./fixtures/electron-mock'));

const FakeWindow = BrowserWindow as unknown as typeof Mock.BrowserWindow;
const fakeSession = session.defaultSession as unknown as typeof Mock.session.defaultSession;
const ROOT = path.resolve('/opt/kho-lab/dist/renderer');
const PATHS = { preload: '/opt/kho-lab/dist-electron/preload.cjs', indexHtml: path.join(ROOT, 'index.html') };

function open(): Mock.BrowserWindow {
  return createMainWindow(PATHS) as unknown as Mock.BrowserWindow;
}
const navEvent = (url: string) => ({ url, preventDefault: vi.fn() });

beforeEach(() => {
  vi.clearAllMocks();
  FakeWindow.instances.length = 0;
});

describe('createMainWindow', () => {
  it('locks the renderer down and gives it the preload', () => {
    const win = open();
    expect(win.options.webPreferences).toMatchObject({
      preload: PATHS.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      webviewTag: false,
    });
    expect(win.loadFile).toHaveBeenCalledWith(PATHS.indexHtml);
  });

  it('shows the window only once it is ready', () => {
    const win = open();
    expect(win.show).not.toHaveBeenCalled();
    win.emit('ready-to-show');
    expect(win.show).toHaveBeenCalledTimes(1);
  });

  it('refuses navigation away from index.html but lets it reload itself', () => {
    const wc = open().webContents;
    for (const url of ['https://example.com/', 'file:///etc/passwd', pathToFileURL(path.join(ROOT, 'other.html')).href]) {
      const e = navEvent(url);
      wc.emit('will-navigate', e);
      expect(e.preventDefault, url).toHaveBeenCalled();
    }
    const self = navEvent(pathToFileURL(PATHS.indexHtml).href + '#/memory');
    wc.emit('will-navigate', self);
    expect(self.preventDefault).not.toHaveBeenCalled();
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
    expect(wc.windowOpenHandler?.({ url: pathToFileURL(PATHS.indexHtml).href })).toEqual({ action: 'deny' });
  });

  it('reports a renderer that cannot load instead of failing silently', async () => {
    FakeWindow.loadError = new Error('ERR_FILE_NOT_FOUND (-6)');
    try {
      const win = open();
      await expect(win.loadFile.mock.results[0]!.value).rejects.toThrow();
      await vi.waitFor(() => expect(dialog.showErrorBox).toHaveBeenCalled());
      const [, content] = vi.mocked(dialog.showErrorBox).mock.calls[0]!;
      expect(content).toContain(PATHS.indexHtml);
      expect(content).toContain('ERR_FILE_NOT_FOUND');
    } finally {
      FakeWindow.loadError = null;
    }
  });
});

describe('secureSession', () => {
  beforeEach(() => secureSession(session.defaultSession as unknown as Session, ROOT));

  it('adds the strict CSP to every response, keeping the other headers', () => {
    const [listener] = fakeSession.webRequest.onHeadersReceived.mock.calls[0]!;
    const callback = vi.fn();
    listener({ url: pathToFileURL(PATHS.indexHtml).href, responseHeaders: { 'X-Other': ['1'] } }, callback);
    expect(callback).toHaveBeenCalledWith({ responseHeaders: { 'X-Other': ['1'], 'Content-Security-Policy': [CSP] } });
    expect(CSP).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    );
  });

  it('cancels every request that is not a file of the renderer build or devtools', () => {
    const [listener] = fakeSession.webRequest.onBeforeRequest.mock.calls[0]!;
    const decide = (url: string) => {
      const callback = vi.fn();
      listener({ url }, callback);
      return callback.mock.calls[0]![0];
    };
    expect(decide(pathToFileURL(path.join(ROOT, 'assets/index-abc.js')).href)).toEqual({ cancel: false });
    expect(decide('devtools://devtools/bundled/inspector.html')).toEqual({ cancel: false });
    expect(decide('https://example.com/x.js')).toEqual({ cancel: true });
    expect(decide('http://127.0.0.1:5173/')).toEqual({ cancel: true });
    expect(decide('file:///etc/passwd')).toEqual({ cancel: true });
    expect(decide(pathToFileURL(ROOT + '-evil/x.js').href)).toEqual({ cancel: true });
    expect(decide(pathToFileURL(path.join(ROOT, '../../secret.json')).href)).toEqual({ cancel: true });
  });

  it('denies permission requests and checks', () => {
    const [request] = fakeSession.setPermissionRequestHandler.mock.calls[0]!;
    const callback = vi.fn();
    request({}, 'media', callback, {});
    expect(callback).toHaveBeenCalledWith(false);
    const [check] = fakeSession.setPermissionCheckHandler.mock.calls[0]!;
    expect(check({}, 'clipboard-read', 'file://', {})).toBe(false);
  });
});

describe('isAllowedRequest', () => {
  it('allows the data: and blob: URLs the CSP permits and nothing remote', () => {
    expect(isAllowedRequest('data:image/png;base64,AAAA', ROOT)).toBe(true);
    expect(isAllowedRequest('blob:file:///1234-5678', ROOT)).toBe(true);
    expect(isAllowedRequest('ws://localhost/', ROOT)).toBe(false);
    expect(isAllowedRequest('not a url', ROOT)).toBe(false);
  });
});

describe('isOwnFrame', () => {
  it('trusts only the main frame of our window showing index.html', async () => {
    const win = open();
    await win.loadFile.mock.results[0]!.value;
    const asWindow = win as unknown as Electron.BrowserWindow;
    const frame = win.webContents.mainFrame as unknown as Electron.WebFrameMain;
    expect(isOwnFrame(asWindow, frame, PATHS.indexHtml)).toBe(true);
    expect(isOwnFrame(asWindow, { url: frame.url } as unknown as Electron.WebFrameMain, PATHS.indexHtml)).toBe(false);
    expect(isOwnFrame(asWindow, null, PATHS.indexHtml)).toBe(false);
    expect(isOwnFrame(null, frame, PATHS.indexHtml)).toBe(false);
    win.webContents.mainFrame.url = 'https://example.com/';
    expect(isOwnFrame(asWindow, frame, PATHS.indexHtml)).toBe(false);
    win.webContents.mainFrame.url = pathToFileURL(PATHS.indexHtml).href;
    win.destroyed = true;
    expect(isOwnFrame(asWindow, frame, PATHS.indexHtml)).toBe(false);
  });
});
