/**
 * DOC: preview engine worker
 *
 * Hosts the engine in the browser for `npm run preview` and the tests: instantiates the Host,
 * validates each request against the same schemas main uses, dispatches it and posts the Result
 * back; progress of long steps is forwarded as it happens. This is the only renderer module that
 * imports electron/host.
 */
import { z } from 'zod';
import { Host } from '../../../electron/host/host';
import { fail, validateCall } from '../../../shared/api';
import { dispatch, type RpcMessage, type RpcRequest } from '../../../shared/rpc';

// Zod's JIT probes `new Function`, which a strict CSP reports as a violation.
z.config({ jitless: true });

interface WorkerScope {
  postMessage(message: RpcMessage, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<RpcRequest>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;

const host = new Host({ onProgress: (progress) => scope.postMessage({ kind: 'progress', progress }) });

// Calls run one after another, in arrival order, so a step never interleaves with another call.
let queue: Promise<unknown> = Promise.resolve();

scope.addEventListener('message', (e) => {
  const req = e.data;
  if (req?.kind !== 'call') return;
  const checked = validateCall(req.method, req.args);
  queue = queue.then(async () => {
    const result = checked.ok
      ? await dispatch(host, checked.call.method, checked.call.args)
      : fail('invalid-argument', checked.message);
    try {
      scope.postMessage({ kind: 'result', id: req.id, result });
    } catch (err) {
      scope.postMessage({ kind: 'result', id: req.id, result: fail('internal', `${req.method}: result not transferable: ${String(err)}`) });
    }
  });
});
