import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RpcMessage, RpcResponse } from '../../../shared/rpc';

/**
 * The preview worker run in Node with a stand-in for its Worker scope: it must answer exactly as
 * the Electron host worker does, because it is the same loop (shared/rpc-serve.ts) over the Host.
 */
const listeners: Array<(e: { data: unknown }) => void> = [];
const posted: Array<{ message: RpcMessage; transfer: unknown[] }> = [];

beforeAll(async () => {
  vi.stubGlobal(
    'addEventListener',
    (type: string, l: (e: { data: unknown }) => void) => type === 'message' && listeners.push(l),
  );
  vi.stubGlobal('postMessage', (message: RpcMessage, transfer: unknown[]) => posted.push({ message, transfer }));
  await import('../../../renderer/src/preview/host.worker');
});
afterAll(() => vi.unstubAllGlobals());

function call(id: number, method: string, args: unknown[]): Promise<RpcResponse> {
  for (const l of listeners) l({ data: { kind: 'call', id, method, args } });
  return vi.waitFor(() => {
    const r = posted.find((p) => p.message.kind === 'result' && p.message.id === id);
    if (!r) throw new Error(`no answer to call ${id} yet`);
    return r.message as RpcResponse;
  });
}

describe('the preview worker (renderer/src/preview/host.worker.ts)', () => {
  it('listens once and serves the Host through serveApi', async () => {
    expect(listeners).toHaveLength(1);
    const r = await call(1, 'state', []);
    expect(r.result).toMatchObject({ ok: true, value: { cursor: 0 } });
  });

  it("re-validates like the host worker: the same refusal text, under the caller's id", async () => {
    const r = await call(2, 'mapView', [{ firstPfn: -1, pagesPerCell: 1, cells: 1 }]);
    expect(r.result).toMatchObject({
      ok: false,
      error: { code: 'invalid-argument', message: expect.stringMatching(/^mapView: argument 0\.firstPfn/) },
    });
    const unknown = await call(3, 'constructor', []);
    expect(unknown.result).toEqual({
      ok: false,
      error: { code: 'invalid-argument', message: 'unknown API method "constructor"' },
    });
  });

  it('ignores what is not a call and hands large results over as transferables', async () => {
    for (const l of listeners) l({ data: 'garbage' });
    const r = await call(5, 'readPhys', [0, 64 * 1024]);
    expect(r.result.ok).toBe(true);
    const entry = posted.find((p) => p.message.kind === 'result' && p.message.id === 5)!;
    expect(entry.transfer).toEqual([(r.result as { value: Uint8Array }).value.buffer]);
  });
});
