/**
 * DOC: serving a SimApi over a message port
 *
 * The host's half of shared/rpc, one implementation for every worker: the Electron host worker
 * (worker_threads' parentPort) and the renderer's preview worker (a web Worker's scope). Every
 * request is validated here even when main already did: a worker must not trust its port. Calls
 * run one at a time in arrival order; answers are RpcResponse messages, progress goes out as
 * RpcProgress. Large byte arrays in a result are transferred, not copied.
 */
import { IMMEDIATE_METHODS, fail, validateCall, type SimApi } from './api';
import { dispatch, type RpcMessage, type RpcResponse } from './rpc';
import type { Progress } from './views';

/** The part of a message port the loop needs; a web Worker's scope needs a small adapter. */
export interface LoopPort {
  on(event: 'message', listener: (message: unknown) => void): unknown;
  postMessage(message: RpcMessage, transfer?: ArrayBuffer[]): void;
}

/** Builds the API the loop serves, handing it the sink for its progress reports. */
export type ApiFactory = (onProgress: (p: Progress) => void) => SimApi;

/** Below this a copy costs about what a transfer does. */
export const MIN_TRANSFER_BYTES = 64 * 1024;

/**
 * The buffers of a value that may move to the receiver instead of being copied: typed arrays of at
 * least MIN_TRANSFER_BYTES that span their whole (non-shared) buffer. A transferred buffer is
 * detached on this side, so this relies on the host's contract that the arrays in a result are
 * its own fresh copies (a vmcore, a readPhys, a map view's cells), never a view of live state —
 * a view of part of a larger buffer is never taken.
 */
export function transferables(value: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      const { buffer, byteOffset, byteLength } = v;
      if (
        buffer instanceof ArrayBuffer &&
        byteOffset === 0 &&
        byteLength === buffer.byteLength &&
        byteLength >= MIN_TRANSFER_BYTES
      )
        found.add(buffer);
      return;
    }
    for (const item of Array.isArray(v) ? v : Object.values(v)) walk(item);
  };
  walk(value);
  return [...found];
}

function requestId(message: unknown): number | null {
  if (typeof message !== 'object' || message === null) return null;
  const { kind, id } = message as { kind?: unknown; id?: unknown };
  return kind === 'call' && Number.isSafeInteger(id) ? (id as number) : null;
}

/**
 * Starts serving. Calls run one at a time, in arrival order: the host owns one machine and its
 * step history, so interleaving two steps would make the timeline depend on timing. Only the
 * IMMEDIATE_METHODS (cancel) skip the queue: they touch nothing but a flag the running call reads.
 */
export function serveApi(port: LoopPort, makeApi: ApiFactory): void {
  const api = makeApi((progress) => port.postMessage({ kind: 'progress', progress }));
  let queue: Promise<void> = Promise.resolve();

  port.on('message', (message) => {
    const id = requestId(message);
    // Without an id there is nobody to answer; the client never sends such a message.
    if (id === null) return;
    const { method, args } = message as { method?: unknown; args?: unknown };
    const serve = async () => {
      const v = validateCall(method, args);
      const result = v.ok ? await dispatch(api, v.value.method, v.value.args) : v;
      const response: RpcResponse = { kind: 'result', id, result };
      try {
        port.postMessage(response, transferables(result));
      } catch (e) {
        // A value the structured clone cannot carry is a host bug; say so instead of going silent.
        port.postMessage({
          kind: 'result',
          id,
          result: fail('internal', `${String(method)}: result not transferable: ${(e as Error).message}`),
        });
      }
    };
    // A cancel must reach the replay it stops, which is still running at the head of the queue.
    if (IMMEDIATE_METHODS.includes(method as never)) void serve();
    else queue = queue.then(serve);
  });
}
