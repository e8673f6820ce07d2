import { afterEach, describe, expect, it } from 'vitest';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { startHostClient, type HostClient, type HostClientOptions } from '../../../electron/host-client';
import { serveApi } from '../../../shared/rpc-serve';
import type { RpcMessage } from '../../../shared/rpc';
import type { Progress } from '../../../shared/views';
import { createFakeApi } from './fixtures/fake-api';

const FIXTURE = fileURLToPath(new URL('./fixtures/fake-host-worker.cjs', import.meta.url));

describe('serveApi (the worker message loop)', () => {
  function served(): { port: MessagePort; replies: RpcMessage[]; next: () => Promise<RpcMessage> } {
    const { port1, port2 } = new MessageChannel();
    serveApi(port2, (onProgress) => createFakeApi({ onProgress }));
    const replies: RpcMessage[] = [];
    const waiting: Array<(m: RpcMessage) => void> = [];
    port1.on('message', (m: RpcMessage) => {
      const w = waiting.shift();
      if (w) w(m);
      else replies.push(m);
    });
    const next = () =>
      new Promise<RpcMessage>((resolve) => (replies.length ? resolve(replies.shift()!) : waiting.push(resolve)));
    ports.push(port1, port2);
    return { port: port1, replies, next };
  }
  const ports: MessagePort[] = [];
  afterEach(() => {
    for (const p of ports.splice(0)) p.close();
  });

  it('answers a valid call with the API result under the same id', async () => {
    const { port, next } = served();
    port.postMessage({ kind: 'call', id: 41, method: 'readPhys', args: [0x1234, 4] });
    expect(await next()).toEqual({
      kind: 'result',
      id: 41,
      result: { ok: true, value: new Uint8Array([0x34, 0x34, 0x34, 0x34]) },
    });
  });

  it('re-validates: a bad argument or an unknown method is answered as invalid-argument data', async () => {
    const { port, next } = served();
    port.postMessage({ kind: 'call', id: 1, method: 'mapView', args: [{ firstPfn: -1, pagesPerCell: 1, cells: 1 }] });
    port.postMessage({ kind: 'call', id: 2, method: 'constructor', args: [] });
    const a = await next();
    const b = await next();
    expect(a).toMatchObject({ id: 1, result: { ok: false, error: { code: 'invalid-argument' } } });
    expect(a.kind === 'result' && !a.result.ok && a.result.error.message).toMatch(/^mapView: argument 0\.firstPfn/);
    expect(b).toMatchObject({
      id: 2,
      result: { ok: false, error: { code: 'invalid-argument', message: 'unknown API method "constructor"' } },
    });
  });

  it('forwards progress before the result and ignores messages that are not calls', async () => {
    const { port, next } = served();
    port.postMessage({ kind: 'result', id: 9, result: { ok: true, value: 1 } });
    port.postMessage('garbage');
    port.postMessage({ kind: 'call', id: 3, method: 'run', args: [{ op: 'boot' }] });
    expect(await next()).toEqual({ kind: 'progress', progress: { label: 'boot', done: 1, total: 2 } });
    expect(await next()).toEqual({ kind: 'progress', progress: { label: 'boot', done: 2, total: 2 } });
    expect(await next()).toMatchObject({ kind: 'result', id: 3, result: { ok: false, error: { code: 'errno' } } });
  });

  it('runs calls one at a time in arrival order', async () => {
    const { port, next } = served();
    port.postMessage({ kind: 'call', id: 1, method: 'loadBuiltin', args: ['slow'] });
    port.postMessage({ kind: 'call', id: 2, method: 'state', args: [] });
    expect((await next()) as { id: number }).toMatchObject({ id: 1 });
    expect((await next()) as { id: number }).toMatchObject({ id: 2 });
  });
});

describe('startHostClient (a real worker thread)', () => {
  const clients: HostClient[] = [];
  const start = (opts: Partial<HostClientOptions> = {}) => {
    const c = startHostClient({ script: FIXTURE, ...opts });
    clients.push(c);
    return c.client;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it('round-trips calls, typed arrays included', async () => {
    const client = start();
    const r = await client.mapView({ firstPfn: 8, pagesPerCell: 2, cells: 3 });
    expect(r).toEqual({ ok: true, value: { firstPfn: 8, pagesPerCell: 2, cells: new Uint8Array([3, 3, 3]) } });
    expect(await client.goto(5)).toMatchObject({ ok: true, value: { cursor: 5 } });
  });

  it('the worker refuses arguments main would have refused', async () => {
    const client = start();
    const r = await client.run({ op: 'nope' } as never);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatchObject({
      code: 'invalid-argument',
      message: expect.stringMatching(/^run: argument 0/),
    });
  });

  it('delivers the host progress to onProgress listeners until they unsubscribe', async () => {
    const client = start();
    const seen: Progress[] = [];
    const off = client.onProgress((p) => seen.push(p));
    await client.run({ op: 'spawn', name: 'qemu' });
    off();
    await client.run({ op: 'boot' });
    expect(seen).toEqual([
      { label: 'spawn', done: 1, total: 2 },
      { label: 'spawn', done: 2, total: 2 },
    ]);
  });

  it('turns a host exception into an internal error', async () => {
    const client = start();
    expect(await client.loadBuiltin('throw')).toEqual({
      ok: false,
      error: { code: 'internal', message: 'loadBuiltin: the fake host threw' },
    });
  });

  it('answers unavailable when the worker dies mid-call, then restarts it', async () => {
    const client = start();
    const [dying, queued] = await Promise.all([client.loadBuiltin('crash'), client.state()]);
    for (const r of [dying, queued]) {
      expect(r).toMatchObject({
        ok: false,
        error: { code: 'unavailable', message: expect.stringMatching(/exited with code 3.*empty machine/) },
      });
    }
    expect(await client.state()).toMatchObject({ ok: true, value: { cursor: 0 } });
  });

  it('stops restarting a worker that keeps dying', async () => {
    const client = start({ maxRestarts: 1 });
    await client.loadBuiltin('crash');
    const second = await client.loadBuiltin('crash');
    expect(second).toMatchObject({
      ok: false,
      error: { code: 'unavailable', message: expect.stringMatching(/stopped 2 times.*restart KHO Lab/) },
    });
    expect(await client.state()).toMatchObject({
      ok: false,
      error: { code: 'unavailable', message: expect.stringMatching(/restart KHO Lab/) },
    });
  });

  it('never hangs when the worker script cannot start', async () => {
    const client = start({ script: fileURLToPath(new URL('./fixtures/missing-worker.cjs', import.meta.url)) });
    expect(await client.state()).toMatchObject({
      ok: false,
      error: { code: 'unavailable', message: expect.stringMatching(/crashed: Cannot find module/) },
    });
  });

  it('answers unavailable after close', async () => {
    const c = startHostClient({ script: FIXTURE });
    const pending = c.client.loadBuiltin('slow');
    await c.close();
    expect(await pending).toMatchObject({
      ok: false,
      error: { code: 'unavailable', message: 'the engine host has been shut down' },
    });
    expect(await c.client.state()).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  });
});
