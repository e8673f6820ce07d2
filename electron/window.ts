/**
 * DOC: the window and its security
 *
 * One BrowserWindow showing the built renderer from disk. The renderer is treated as untrusted
 * content: it is sandboxed and context-isolated, may load only files of the renderer build, may not
 * navigate away or open windows, gets no permissions, and runs under a strict CSP. Its only door
 * to the engine is the preload's khoLab bridge.
 */
import { BrowserWindow, dialog, type Session, type WebFrameMain } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

export interface WindowPaths {
  /** dist-electron/preload.cjs */
  preload: string;
  /** dist/renderer/index.html; every file the window may load lies in its directory. */
  indexHtml: string;
}

/** The file a file: URL names, or null for any other URL. */
function filePath(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'file:' ? path.resolve(fileURLToPath(u)) : null;
  } catch {
    return null;
  }
}

const isInside = (file: string, dir: string) => file === dir || file.startsWith(dir + path.sep);

/**
 * What the renderer may fetch: files of the renderer build, devtools' own pages, and the data:
 * and blob: URLs the CSP allows (they never leave the process). Nothing from the network.
 */
export function isAllowedRequest(url: string, rendererRoot: string): boolean {
  if (url.startsWith('devtools:') || url.startsWith('data:') || url.startsWith('blob:')) return true;
  const file = filePath(url);
  return file !== null && isInside(file, path.resolve(rendererRoot));
}

/** Session-wide rules; call once, before the window loads. */
export function secureSession(ses: Session, rendererRoot: string): void {
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  ses.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !isAllowedRequest(details.url, rendererRoot) });
  });
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
}

/** True when `frame` is the main frame of `win` showing our index.html: the only trusted caller. */
export function isOwnFrame(win: BrowserWindow | null, frame: WebFrameMain | null, indexHtml: string): boolean {
  if (!win || win.isDestroyed() || !frame) return false;
  return frame === win.webContents.mainFrame && filePath(frame.url) === path.resolve(indexHtml);
}

export function createMainWindow(paths: WindowPaths): BrowserWindow {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    title: 'KHO Lab',
    backgroundColor: '#111418',
    show: false,
    webPreferences: {
      preload: paths.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
  const wc = win.webContents;
  const index = path.resolve(paths.indexHtml);
  // Reloading index.html (or moving within it) is fine; going anywhere else is not.
  const guard = (event: { url: string; preventDefault(): void }) => {
    if (filePath(event.url) !== index) event.preventDefault();
  };
  wc.on('will-navigate', guard);
  wc.on('will-frame-navigate', guard);
  wc.on('will-redirect', guard);
  wc.on('will-attach-webview', (event) => event.preventDefault());
  wc.setWindowOpenHandler(() => ({ action: 'deny' }));

  win.once('ready-to-show', () => win.show());
  win.loadFile(index).catch((e: Error) => {
    dialog.showErrorBox('KHO Lab cannot show its window', `${index}: ${e.message}\n\nIs the renderer built? Run "npm run build".`);
  });
  return win;
}
