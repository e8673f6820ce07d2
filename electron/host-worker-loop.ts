/**
 * DOC: the host's message loop
 *
 * Serves a SimApi over a message port (worker_threads' parentPort in production, any port in
 * tests). Every request is validated again here even though main already did: the worker must not
 * trust its port. Answers are RpcResponse messages; the API's progress goes out as RpcProgress.
 */
import { fail, validateCall, type SimApi } from '../shared/api';
import { dispatch, type RpcMessage, type RpcResponse } from '../shared/rpc';
import type { Progress } from '../shared/views';

/** The part of a MessagePort the loop needs. */
export interface LoopPort {
  on(event: 'message', listener: (message: unknown) => void): unknown;
  postMessage(message: RpcMessage): void;
}

/** Builds the API the loop serves, handing it the sink for its progress reports. */
export type ApiFactory = (onProgress: (p: Progress) => void) => SimApi;

function requestId(message: unknown): number | null {
  if (typeof message !== 'object' || message === null) return null;
  const { kind, id } = message as { kind?: unknown; id?: unknown };
  return kind === 'call' && Number.isSafeInteger(id) ? (id as number) : null;
}

/**
 * Starts serving. Calls run one at a time, in arrival order: the host owns one machine and its
 * step history, so interleaving two steps would make the timeline depend on timing.
 */
export function serveApi(port: LoopPort, makeApi: ApiFactory): void {
  const api = makeApi((progress) => port.postMessage({ kind: 'progress', progress }));
  let queue: Promise<void> = Promise.resolve();

  port.on('message', (message) => {
    const id = requestId(message);
    // Without an id there is nobody to answer; the client never sends such a message.
    if (id === null) return;
    const { method, args } = message as { method?: unknown; args?: unknown };
    queue = queue.then(async () => {
      const v = validateCall(method, args);
      const result = v.ok ? await dispatch(api, v.call.method, v.call.args) : fail('invalid-argument', v.message);
      const response: RpcResponse = { kind: 'result', id, result };
      try {
        port.postMessage(response);
      } catch (e) {
        // A value the structured clone cannot carry is a host bug; say so instead of going silent.
        port.postMessage({ kind: 'result', id, result: fail('internal', `${String(method)}: result not transferable: ${(e as Error).message}`) });
      }
    });
  });
}
