/**
 * DOC: preview engine worker
 *
 * Hosts the engine in the browser for `npm run preview` and the tests: the same Host and the same
 * message loop (shared/rpc-serve.ts serveApi) as Electron's host worker, over this Worker's scope.
 * This is the only renderer module that imports electron/host.
 */
import { z } from 'zod';
import { Host } from '../../../electron/host/host';
import { DumpError, type DumpSource } from '../../../electron/host/dump/source';
import type { DumpHandle } from '../../../shared/api';
import type { RpcMessage } from '../../../shared/rpc';
import { serveApi } from '../../../shared/rpc-serve';

// Zod's JIT probes `new Function`, which a strict CSP reports as a violation.
z.config({ jitless: true });

interface WorkerScope {
  postMessage(message: RpcMessage, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<unknown>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;

/** FileReaderSync exists in dedicated workers only, so the DOM lib does not declare it. */
type SyncReader = new () => { readAsArrayBuffer(blob: unknown): ArrayBuffer };

/**
 * A File the user picked, read slice by slice as the dump reader asks: a dump of several GiB is
 * never in memory whole. A path cannot be opened here.
 */
function blobSource(handle: DumpHandle): DumpSource {
  const Reader = (globalThis as unknown as { FileReaderSync?: SyncReader }).FileReaderSync;
  if (typeof handle === 'string' || !Reader)
    throw new DumpError('the browser preview opens only a file picked in the page (the desktop app opens paths)');
  const reader = new Reader();
  return {
    size: handle.size,
    read: (offset, length) =>
      new Uint8Array(reader.readAsArrayBuffer(handle.slice(offset, Math.min(handle.size, offset + length)))),
  };
}

serveApi(
  {
    on: (_event, listener) => scope.addEventListener('message', (e) => listener(e.data)),
    postMessage: (message, transfer = []) => scope.postMessage(message, transfer),
  },
  // A long replay yields between steps so that a cancel message gets in.
  (onProgress) =>
    new Host({
      onProgress,
      now: () => performance.now(),
      yieldToEvents: () => new Promise((r) => setTimeout(r, 0)),
      openDumpSource: blobSource,
    }),
);
