/**
 * DOC: the main process
 *
 * Glue only: starts the engine host in a worker thread, opens the window, wires the IPC channel,
 * the progress stream and the menu. No simulation logic lives here.
 */
import { BrowserWindow, app, dialog, ipcMain, protocol, session, type IpcMainInvokeEvent } from 'electron';
import path from 'node:path';
import { MENU_CHANNEL, PROGRESS_CHANNEL } from '../shared/bridge';
import { registerAppProtocol, registerAppScheme } from './app-protocol';
import { startHostClient } from './host-client';
import { registerIpc, registerLaunch, registerOpenDump, registerSave } from './ipc';
import { appArgs, openLaunch, parseLaunchArgs } from './launch-args';
import { installMenu, openDumpDialog, saveText, type MenuDeps } from './menu';
import { createMainWindow, isOwnFrame, secureSession } from './window';

// main.cjs, preload.cjs and host-worker.cjs sit together in dist-electron/; the renderer in dist/,
// served as app://kho-lab/.
const paths = {
  preload: path.join(__dirname, 'preload.cjs'),
  worker: path.join(__dirname, 'host-worker.cjs'),
  rendererRoot: path.join(__dirname, '..', 'dist', 'renderer'),
};

function start(): void {
  // `npm start -- --real DUMP [--sim SIMDUMP | --scenario NAME]`: checked here, opened when the window asks.
  const launch = parseLaunchArgs(appArgs(process.argv, !!process.defaultApp));
  if (!launch.ok) console.error(`KHO Lab: ${launch.error.message}`);
  let pending = launch.ok ? launch.value : null;
  const host = startHostClient({ script: paths.worker });
  let win: BrowserWindow | null = null;

  const send = (channel: string, payload: unknown) => {
    if (win && !win.isDestroyed()) win.webContents.send(channel, payload);
  };
  const openWindow = () => {
    win = createMainWindow({ preload: paths.preload, rendererRoot: paths.rendererRoot, devTools: !app.isPackaged });
    win.on('closed', () => {
      win = null;
    });
  };

  host.client.onProgress((p) => send(PROGRESS_CHANNEL, p));

  app.on('second-instance', () => {
    if (win?.isMinimized()) win.restore();
    win?.focus();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', () => void host.close());

  void app.whenReady().then(() => {
    registerAppProtocol(protocol, paths.rendererRoot);
    secureSession(session.defaultSession);
    const isTrustedSender = (event: IpcMainInvokeEvent) => isOwnFrame(win, event.senderFrame);
    const menu: MenuDeps = {
      api: host.client,
      window: () => win,
      notify: (action) => send(MENU_CHANNEL, action),
      isDev: !app.isPackaged,
    };
    registerIpc({ ipcMain, api: host.client, isTrustedSender });
    registerSave({ ipcMain, isTrustedSender, save: (request) => saveText(menu, request) });
    registerOpenDump({ ipcMain, isTrustedSender, open: () => openDumpDialog(menu) });
    registerLaunch({
      ipcMain,
      isTrustedSender,
      open: async () => {
        const req = pending;
        pending = null;
        return req ? openLaunch(host.client, req) : { ok: true, value: null };
      },
    });
    installMenu(menu);
    openWindow();
    if (!launch.ok) dialog.showErrorBox('KHO Lab: bad command line', launch.error.message);
    app.on('activate', () => {
      if (!win) openWindow();
    });
  });
}

app.enableSandbox();
// Privileges of app:// must be registered before the app is ready.
registerAppScheme(protocol);
// A second instance hands over to the first (which focuses its window) and leaves.
if (app.requestSingleInstanceLock()) start();
else app.quit();
