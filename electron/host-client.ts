/**
 * DOC: main's side of the host worker
 *
 * Starts the host worker and gives main a SimClient whose calls travel to it as RpcRequests. If
 * the worker dies, every pending call is answered with an 'unavailable' error (a call never hangs)
 * and the next call starts a fresh worker: a new Host, so the session starts again, which the
 * error message says. Workers that keep dying are not restarted forever.
 *
 * Large byte arrays in results arrive transferred from the worker (shared/rpc-serve.ts), so a
 * vmcore is not copied between threads; the leg from main to the renderer is Electron's IPC,
 * which always serializes (its transfer lists carry only MessagePorts).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { fail, type SimClient } from '../shared/api';
import { createRpcClient, type RpcMessage, type RpcRequest } from '../shared/rpc';

export interface HostClientOptions {
  /** Path (or file URL) of the worker script: dist-electron/host-worker.cjs in the app. */
  script: string | URL;
  workerOptions?: WorkerOptions;
  /** Deaths tolerated within `restartWindowMs` before the client stops restarting. */
  maxRestarts?: number;
  restartWindowMs?: number;
}

export interface HostClient {
  client: SimClient;
  /** Stops the worker; later calls answer 'unavailable'. */
  close(): Promise<void>;
}

function isRpcMessage(m: unknown): m is RpcMessage {
  const kind = typeof m === 'object' && m !== null ? (m as { kind?: unknown }).kind : undefined;
  return kind === 'result' || kind === 'progress';
}

export function startHostClient(opts: HostClientOptions): HostClient {
  const maxRestarts = opts.maxRestarts ?? 3;
  const windowMs = opts.restartWindowMs ?? 60_000;
  const deaths: number[] = [];
  let worker: Worker | null = null;
  let closed = false;
  let gaveUp: string | null = null;

  const rpc = createRpcClient(send);
  // Start at once so the Host is ready by the time the window asks; a failure here is retried
  // by the first call.
  try {
    worker = spawn();
  } catch {
    worker = null;
  }

  function spawn(): Worker {
    const w = new Worker(opts.script, opts.workerOptions);
    let reason = 'exited';
    w.on('message', (m: unknown) => {
      if (isRpcMessage(m)) rpc.receive(m);
    });
    w.on('error', (e: Error) => {
      reason = `crashed: ${e.message}`;
    });
    w.on('exit', (code) => {
      if (worker !== w) return;
      worker = null;
      if (closed) return;
      const message = `the engine host ${reason === 'exited' ? `exited with code ${code}` : reason}; the simulation restarts from an empty machine on the next call`;
      const now = Date.now();
      deaths.push(now);
      while (deaths.length > 0 && deaths[0]! < now - windowMs) deaths.shift();
      if (deaths.length > maxRestarts)
        gaveUp = `the engine host stopped ${deaths.length} times within ${Math.round(windowMs / 1000)} s (last: ${reason}); restart KHO Lab`;
      rpc.failAll(gaveUp ?? message);
    });
    return w;
  }

  function send(req: RpcRequest): void {
    const refuse = closed ? 'the engine host has been shut down' : gaveUp;
    if (refuse !== null) {
      rpc.receive({ kind: 'result', id: req.id, result: fail('unavailable', refuse) });
      return;
    }
    try {
      worker ??= spawn();
      worker.postMessage(req);
    } catch (e) {
      rpc.receive({
        kind: 'result',
        id: req.id,
        result: fail('unavailable', `${req.method}: cannot reach the engine host: ${(e as Error).message}`),
      });
    }
  }

  return {
    client: rpc.client,
    async close() {
      closed = true;
      rpc.failAll('the engine host has been shut down');
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}
