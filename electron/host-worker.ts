/**
 * DOC: the host worker
 *
 * Entry point of the worker thread that owns the engine Host. Main talks to it only through
 * RpcRequest/RpcResponse messages (host-client.ts), served by the same loop as the renderer's
 * preview worker (shared/rpc-serve.ts), so a long step never blocks main's event loop.
 */
import { totalmem } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { serveApi } from '../shared/rpc-serve';
import { Host } from './host/host';
import { DumpError } from './host/dump/source';
import { openDumpFile } from './dump-file';

if (!parentPort) throw new Error('host-worker must run in a worker thread');
// A long replay yields between steps (setImmediate lets a cancel message in), timed by performance.now().
serveApi(
  parentPort,
  (onProgress) =>
    new Host({
      onProgress,
      hostMemory: totalmem(),
      now: () => performance.now(),
      yieldToEvents: () => new Promise((r) => setImmediate(r)),
      // main names only paths its open dialog returned (ipc.ts refuses openDump from the window).
      openDumpSource: (handle) => {
        if (typeof handle !== 'string') throw new DumpError('the desktop host opens dumps by path');
        return openDumpFile(handle);
      },
    }),
);
