/**
 * DOC: preview engine worker
 *
 * Hosts the engine in the browser for `npm run preview` and the tests: the same Host and the same
 * message loop (shared/rpc-serve.ts serveApi) as Electron's host worker, over this Worker's scope.
 * This is the only renderer module that imports electron/host.
 */
import { z } from 'zod';
import { Host } from '../../../electron/host/host';
import type { RpcMessage } from '../../../shared/rpc';
import { serveApi } from '../../../shared/rpc-serve';

// Zod's JIT probes `new Function`, which a strict CSP reports as a violation.
z.config({ jitless: true });

interface WorkerScope {
  postMessage(message: RpcMessage, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<unknown>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;

serveApi(
  {
    on: (_event, listener) => scope.addEventListener('message', (e) => listener(e.data)),
    postMessage: (message, transfer = []) => scope.postMessage(message, transfer),
  },
  // A long replay yields between steps so that a cancel message gets in.
  (onProgress) =>
    new Host({ onProgress, now: () => performance.now(), yieldToEvents: () => new Promise((r) => setTimeout(r, 0)) }),
);
