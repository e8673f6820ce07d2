/**
 * DOC: the window and its security
 *
 * One BrowserWindow showing the renderer from app://kho-lab/ (app-protocol.ts). The renderer is
 * treated as untrusted content: it is sandboxed and context-isolated, may load only what the app
 * protocol serves, may not navigate away or open windows, gets no permissions, and runs under the
 * CSP the protocol sends. DevTools exist only in an unpackaged (development) build. Its only door
 * to the engine is the preload's khoLab bridge.
 */
import { BrowserWindow, dialog, type Session, type WebFrameMain } from 'electron';
import { APP_INDEX_URL, isAppIndex, isAppUrl } from './app-protocol';

export interface WindowOptions {
  /** dist-electron/preload.cjs */
  preload: string;
  /** Whether DevTools may open: `!app.isPackaged`. */
  devTools: boolean;
  /** Where the renderer build lies on disk, for the message when it is missing. */
  rendererRoot: string;
}

/**
 * What the renderer may fetch: what the app protocol serves, devtools' own pages, and the data:
 * and blob: URLs the CSP allows (they never leave the process). No file: URL, nothing remote.
 */
export function isAllowedRequest(url: string): boolean {
  if (url.startsWith('devtools:') || url.startsWith('data:') || url.startsWith('blob:')) return true;
  return isAppUrl(url);
}

/**
 * Session-wide rules; call once, before the window loads. The CSP header comes with each response
 * of the app protocol, the only source of documents the session lets through.
 */
export function secureSession(ses: Session): void {
  ses.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !isAllowedRequest(details.url) });
  });
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
}

/** True when `frame` is the main frame of `win` showing app://kho-lab/index.html: the only trusted caller. */
export function isOwnFrame(win: BrowserWindow | null, frame: WebFrameMain | null): boolean {
  if (!win || win.isDestroyed() || !frame) return false;
  return frame === win.webContents.mainFrame && isAppIndex(frame.url);
}

export function createMainWindow(opts: WindowOptions): BrowserWindow {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    title: 'KHO Lab',
    backgroundColor: '#111418',
    show: false,
    webPreferences: {
      preload: opts.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: opts.devTools,
    },
  });
  const wc = win.webContents;
  // Reloading index.html (or moving within it) is fine; going anywhere else is not.
  const guard = (event: { url: string; preventDefault(): void }) => {
    if (!isAppIndex(event.url)) event.preventDefault();
  };
  wc.on('will-navigate', guard);
  wc.on('will-frame-navigate', guard);
  wc.on('will-redirect', guard);
  wc.on('will-attach-webview', (event) => event.preventDefault());
  wc.setWindowOpenHandler(() => ({ action: 'deny' }));

  win.once('ready-to-show', () => win.show());
  win.loadURL(APP_INDEX_URL).catch((e: Error) => {
    dialog.showErrorBox(
      'KHO Lab cannot show its window',
      `${APP_INDEX_URL} (from ${opts.rendererRoot}): ${e.message}\n\nIs the renderer built? Run "npm run build".`,
    );
  });
  return win;
}
