import { afterEach, describe, expect, it } from 'vitest';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Host } from '../../../electron/host/host';
import { MIN_TRANSFER_BYTES, serveApi, transferables, type LoopPort } from '../../../shared/rpc-serve';
import type { RpcMessage, RpcResponse } from '../../../shared/rpc';

describe('transferables', () => {
  it('takes large typed arrays that span their buffer, wherever they sit in the result', () => {
    const a = new Uint8Array(MIN_TRANSFER_BYTES);
    const b = new Uint32Array(MIN_TRANSFER_BYTES / 2);
    const value = { ok: true, value: { cells: a, nested: [{ deep: b }, a] } };
    expect(transferables(value)).toEqual([a.buffer, b.buffer]);
  });

  it('leaves small arrays, views of part of a buffer and shared memory to be copied', () => {
    const big = new Uint8Array(4 * MIN_TRANSFER_BYTES);
    const value = {
      small: new Uint8Array(MIN_TRANSFER_BYTES - 1),
      part: big.subarray(0, 2 * MIN_TRANSFER_BYTES),
      shared: new Uint8Array(new SharedArrayBuffer(MIN_TRANSFER_BYTES)),
      text: 'x',
      n: 1,
    };
    expect(transferables(value)).toEqual([]);
  });

  it('survives cycles and plain values', () => {
    const o: Record<string, unknown> = { x: 1 };
    o.self = o;
    expect(transferables(o)).toEqual([]);
    expect(transferables(null)).toEqual([]);
    expect(transferables(7)).toEqual([]);
  });
});

describe('serveApi with the real Host', () => {
  const ports: MessagePort[] = [];
  afterEach(() => {
    for (const p of ports.splice(0)) p.close();
  });

  /** Serves a Host on one end of a channel, recording what each postMessage transferred. */
  function served() {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    const transferred: ArrayBuffer[][] = [];
    const port: LoopPort = {
      on: (event, listener) => port2.on(event, listener),
      postMessage: (message, transfer = []) => {
        transferred.push(transfer);
        port2.postMessage(message, transfer);
      },
    };
    serveApi(port, (onProgress) => new Host({ onProgress }));
    let nextId = 1;
    const call = (method: string, args: unknown[]) =>
      new Promise<RpcResponse>((resolve) => {
        const id = nextId++;
        const listener = (m: RpcMessage) => {
          if (m.kind === 'result' && m.id === id) {
            port1.off('message', listener);
            resolve(m);
          }
        };
        port1.on('message', listener);
        port1.postMessage({ kind: 'call', id, method, args });
      });
    return { call, transferred };
  }

  it('moves a 64 KiB readPhys to the receiver instead of copying it, and the host keeps serving', async () => {
    const { call, transferred } = served();
    expect((await call('newMachine', [{ ram: '64M', nodes: 1, seed: 1 }])).result.ok).toBe(true);
    expect((await call('run', [{ op: 'boot' }])).result.ok).toBe(true);
    const first = await call('readPhys', [0x100000, MIN_TRANSFER_BYTES]);
    if (!first.result.ok) throw new Error(first.result.error.message);
    const bytes = first.result.value as Uint8Array;
    expect(bytes.byteLength).toBe(MIN_TRANSFER_BYTES);
    expect(transferred.at(-1)).toHaveLength(1);
    // Detached on the host's side: the buffer moved.
    expect(transferred.at(-1)![0]!.byteLength).toBe(0);
    const second = await call('readPhys', [0x100000, MIN_TRANSFER_BYTES]);
    expect(second.result.ok && (second.result.value as Uint8Array)).toEqual(bytes);
  });

  it('copies small results (a state) and still answers a refused call', async () => {
    const { call, transferred } = served();
    expect((await call('state', [])).result.ok).toBe(true);
    expect(transferred.at(-1)).toEqual([]);
    const bad = await call('readPhys', [-1, 4]);
    expect(bad.result).toMatchObject({
      ok: false,
      error: { code: 'invalid-argument', message: expect.stringMatching(/^readPhys: argument 0/) },
    });
  });
});
