/**
 * DOC: API selection
 *
 * The UI talks to the engine only through SimClient. In Electron the preload exposes it as
 * `window.khoLab` (plus the application menu); in a plain browser (`npm run preview`, tests) the
 * engine host runs in a module Worker and the client speaks shared/rpc messages to it.
 */
import { createRpcClient, type RpcMessage } from '../../../shared/rpc';
import type { Result, SimClient } from '../../../shared/api';
import type { KhoLabBridge, LaunchOpened, MenuAction, SaveTextOutcome, SaveTextRequest } from '../../../shared/bridge';
import { downloadText } from './save-file';
import type { DumpView } from '../../../shared/views';

export type { MenuAction };

declare global {
  interface Window {
    khoLab?: KhoLabBridge;
  }
}

export interface AppApi {
  client: SimClient;
  /** Subscribes to menu actions; a no-op outside Electron. */
  onMenu(cb: (action: MenuAction) => void): () => void;
  /** 'electron' or 'preview worker', for the status line. */
  transport: string;
  /** Saves an export: main's save dialog in Electron, a download in the browser (the default). */
  saveText?: (request: SaveTextRequest) => Promise<Result<SaveTextOutcome>>;
  /** Electron only: main's open dialog picks a memory dump and the host opens it (null: cancelled). */
  openDumpDialog?: () => Promise<Result<DumpView | null>>;
  /** Electron only: what the app's command line opened (`--real DUMP [--sim … | --scenario …]`), once. */
  openFromCommandLine?: () => Promise<Result<LaunchOpened | null>>;
}

/** Starts the preview worker and wraps it in an RPC client; a dead worker fails pending calls. */
function workerClient(): SimClient {
  const worker = new Worker(new URL('../preview/host.worker.ts', import.meta.url), {
    type: 'module',
    name: 'kho-host',
  });
  const rpc = createRpcClient((req) => worker.postMessage(req));
  worker.addEventListener('message', (e: MessageEvent<RpcMessage>) => rpc.receive(e.data));
  worker.addEventListener('error', (e) => {
    e.preventDefault();
    rpc.failAll(`engine worker failed: ${e.message || 'could not start'}`);
  });
  worker.addEventListener('messageerror', () => rpc.failAll('engine worker sent a message that could not be read'));
  return rpc.client;
}

export function selectApi(): AppApi {
  const bridge = typeof window !== 'undefined' ? window.khoLab : undefined;
  if (bridge)
    return {
      client: bridge,
      onMenu: (cb) => bridge.onMenu(cb),
      transport: 'electron',
      saveText: (r) => bridge.saveText(r),
      openDumpDialog: () => bridge.openDumpDialog(),
      openFromCommandLine: () => bridge.openFromCommandLine(),
    };
  return { client: workerClient(), onMenu: () => () => {}, transport: 'preview worker', saveText: downloadText };
}
