/**
 * One message shape for every transport that carries SimApi (Electron IPC, worker_threads, a web
 * Worker): a request names a method and its arguments, a response carries the Result, and
 * progress messages flow the other way. Transports only move these objects.
 */
import { SIM_METHODS, fail, type Result, type SimApi, type SimClient, type SimMethod } from './api';
import type { Progress } from './views';

export interface RpcRequest {
  kind: 'call';
  id: number;
  method: SimMethod;
  args: unknown[];
}
export interface RpcResponse {
  kind: 'result';
  id: number;
  result: Result<unknown>;
}
interface RpcProgress {
  kind: 'progress';
  progress: Progress;
}
export type RpcMessage = RpcRequest | RpcResponse | RpcProgress;

/** Calls a method on an API object; a thrown exception becomes an 'internal' error result. */
export async function dispatch(api: SimApi, method: SimMethod, args: unknown[]): Promise<Result<unknown>> {
  try {
    const fn = api[method] as (...a: unknown[]) => Promise<Result<unknown>>;
    return await fn.apply(api, args);
  } catch (e) {
    return fail('internal', `${method}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Builds a SimClient on top of a `send` function and a way to receive messages. Each call gets
 * an id; responses are matched by id. Used by the preview worker client and by main's host proxy.
 */
export function createRpcClient(send: (req: RpcRequest) => void): {
  client: SimClient;
  receive: (msg: RpcMessage) => void;
  failAll: (message: string) => void;
} {
  let nextId = 1;
  const pending = new Map<number, (r: Result<unknown>) => void>();
  const listeners = new Set<(p: Progress) => void>();
  const client = {} as Record<string, unknown>;
  for (const method of SIM_METHODS) {
    client[method] = (...args: unknown[]) =>
      new Promise<Result<unknown>>((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        send({ kind: 'call', id, method, args });
      });
  }
  client.onProgress = (listener: (p: Progress) => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  return {
    client: client as unknown as SimClient,
    receive(msg) {
      if (msg.kind === 'result') {
        pending.get(msg.id)?.(msg.result);
        pending.delete(msg.id);
      } else if (msg.kind === 'progress') {
        for (const l of listeners) l(msg.progress);
      }
    },
    failAll(message) {
      for (const resolve of pending.values()) resolve(fail('unavailable', message));
      pending.clear();
    },
  };
}
