/**
 * DOC: the preload
 *
 * Exposes window.khoLab: the SimApi, one function per method, each forwarded over CALL_CHANNEL,
 * plus onProgress and onMenu subscriptions, saveText (over SAVE_CHANNEL; main picks the path) and
 * openDumpDialog (over OPEN_DUMP_CHANNEL; main picks the file) and openFromCommandLine
 * (over LAUNCH_CHANNEL; what main's command line names).
 * Only these functions cross the context bridge — never ipcRenderer or an IPC event, which would
 * hand the page a way to reach main directly. Built as one self-contained CommonJS file: a
 * sandboxed preload can require nothing but 'electron'.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { SIM_METHODS, fail, type Result, type SimApi } from '../shared/api';
import type { DumpView, Progress } from '../shared/views';
import {
  CALL_CHANNEL,
  LAUNCH_CHANNEL,
  type LaunchOpened,
  MENU_CHANNEL,
  PROGRESS_CHANNEL,
  OPEN_DUMP_CHANNEL,
  SAVE_CHANNEL,
  type KhoLabBridge,
  type MenuAction,
  type SaveTextOutcome,
  type SaveTextRequest,
} from '../shared/bridge';

function subscribe<T>(channel: string, listener: (payload: T) => void): () => void {
  const relay = (_event: IpcRendererEvent, payload: T) => listener(payload);
  ipcRenderer.on(channel, relay);
  return () => {
    ipcRenderer.removeListener(channel, relay);
  };
}

function call(method: string, args: unknown[]): Promise<Result<unknown>> {
  // invoke rejects only when the transport fails (e.g. an argument that cannot be cloned);
  // the API promises Results, so that becomes one too.
  return ipcRenderer
    .invoke(CALL_CHANNEL, method, args)
    .catch((e: unknown) => fail('unavailable', `${method}: ${e instanceof Error ? e.message : String(e)}`));
}

// Generated from SIM_METHODS so the bridge cannot fall behind the API; the cast is the one place
// where "one forwarding function per method" is taken as implementing SimApi.
const methods = Object.fromEntries(
  SIM_METHODS.map((m) => [m, (...args: unknown[]) => call(m, args)]),
) as unknown as SimApi;

const bridge: KhoLabBridge = {
  ...methods,
  onProgress: (listener: (p: Progress) => void) => subscribe(PROGRESS_CHANNEL, listener),
  onMenu: (listener: (action: MenuAction) => void) => subscribe(MENU_CHANNEL, listener),
  saveText: (request: SaveTextRequest): Promise<Result<SaveTextOutcome>> =>
    ipcRenderer
      .invoke(SAVE_CHANNEL, request)
      .catch((e: unknown) => fail('unavailable', `saveText: ${e instanceof Error ? e.message : String(e)}`)),
  openDumpDialog: (): Promise<Result<DumpView | null>> =>
    ipcRenderer
      .invoke(OPEN_DUMP_CHANNEL)
      .catch((e: unknown) => fail('unavailable', `openDumpDialog: ${e instanceof Error ? e.message : String(e)}`)),
  openFromCommandLine: (): Promise<Result<LaunchOpened | null>> =>
    ipcRenderer
      .invoke(LAUNCH_CHANNEL)
      .catch((e: unknown) => fail('unavailable', `openFromCommandLine: ${e instanceof Error ? e.message : String(e)}`)),
};

contextBridge.exposeInMainWorld('khoLab', bridge);
