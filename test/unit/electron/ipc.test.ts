import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ipcMain, type IpcMainInvokeEvent } from 'electron';
import { CALL_CHANNEL, OPEN_DUMP_CHANNEL } from '../../../shared/bridge';
import { registerIpc, registerOpenDump } from '../../../electron/ipc';
import { APP_INDEX_URL } from '../../../electron/app-protocol';
import { createMainWindow, isOwnFrame } from '../../../electron/window';
import type { Result } from '../../../shared/api';
import { createFakeApi } from './fixtures/fake-api';
import type * as Mock from './fixtures/electron-mock';

vi.mock('electron', () => import('./fixtures/electron-mock'));

const fakeIpc = ipcMain as unknown as typeof Mock.ipcMain;

async function setup() {
  const win = createMainWindow({
    preload: '/opt/kho-lab/dist-electron/preload.cjs',
    rendererRoot: '/opt/kho-lab/dist/renderer',
    devTools: false,
  });
  await (win as unknown as Mock.BrowserWindow).loadURL.mock.results[0]!.value;
  const api = createFakeApi();
  const unregister = registerIpc({ ipcMain, api, isTrustedSender: (e) => isOwnFrame(win, e.senderFrame) });
  const own = { senderFrame: win.webContents.mainFrame } as unknown as IpcMainInvokeEvent;
  const handler = fakeIpc.handlers.get(CALL_CHANNEL)!;
  const call = (method: unknown, args: unknown, event: IpcMainInvokeEvent = own) =>
    handler(event, method, args) as Promise<Result<unknown>>;
  return { api, call, unregister };
}

function refused(r: Result<unknown>, pattern: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe('invalid-argument');
  expect(r.error.message).toMatch(pattern);
}

beforeEach(() => {
  fakeIpc.handlers.clear();
});

describe('the kholab:call handler', () => {
  it('registers exactly one channel and can remove it', async () => {
    const { unregister } = await setup();
    expect([...fakeIpc.handlers.keys()]).toEqual(['kholab:call']);
    unregister();
    expect(fakeIpc.handlers.size).toBe(0);
  });

  it('passes a valid call to the API and answers its Result', async () => {
    const { api, call } = await setup();
    expect(await call('mapView', [{ firstPfn: 16, pagesPerCell: 4, cells: 2 }])).toEqual({
      ok: true,
      value: { firstPfn: 16, pagesPerCell: 4, cells: new Uint8Array([3, 3]) },
    });
    expect(await call('run', [{ op: 'boot' }])).toEqual({
      ok: false,
      error: { code: 'errno', message: 'EINVAL: boot refused by the fake' },
    });
    expect(api.calls).toEqual([
      ['mapView', [{ firstPfn: 16, pagesPerCell: 4, cells: 2 }]],
      ['run', [{ op: 'boot' }]],
    ]);
  });

  it('rejects invalid arguments as data naming the argument, without calling the API', async () => {
    const { api, call } = await setup();
    refused(await call('run', [{ op: 'nope' }]), /^run: argument 0\.op: /);
    refused(await call('mapView', [{ firstPfn: -1, pagesPerCell: 1, cells: 1 }]), /^mapView: argument 0\.firstPfn: /);
    refused(
      await call('mapView', [{ firstPfn: 0, pagesPerCell: 1, cells: 1, extra: true }]),
      /^mapView: argument 0: .*extra/,
    );
    refused(await call('goto', [1.5]), /^goto: argument 0: /);
    refused(await call('goto', 3), /^goto: arguments: /);
    refused(await call('state', ['surplus']), /^state: /);
    expect(api.calls).toEqual([]);
  });

  it('rejects unknown methods, including inherited property names', async () => {
    const { api, call } = await setup();
    refused(await call('shutdown', []), /^unknown API method "shutdown"$/);
    refused(await call('__proto__', []), /unknown API method/);
    refused(await call('toString', []), /unknown API method/);
    refused(await call(42, []), /^unknown API method 42$/);
    expect(api.calls).toEqual([]);
  });

  it('refuses calls from a frame that is not our window', async () => {
    const { api, call } = await setup();
    const foreign = { senderFrame: { url: APP_INDEX_URL } } as unknown as IpcMainInvokeEvent;
    refused(await call('state', [], foreign), /^state: refused, the call does not come from the KHO Lab window$/);
    refused(await call('state', [], { senderFrame: null } as unknown as IpcMainInvokeEvent), /refused/);
    expect(api.calls).toEqual([]);
  });

  it('turns an exception anywhere into an internal error instead of throwing', async () => {
    const { call } = await setup();
    expect(await call('loadBuiltin', ['throw'])).toEqual({
      ok: false,
      error: { code: 'internal', message: 'loadBuiltin: the fake host threw' },
    });

    fakeIpc.handlers.clear();
    const explode = () => {
      throw new Error('sender check exploded');
    };
    registerIpc({ ipcMain, api: createFakeApi(), isTrustedSender: explode });
    const r = await fakeIpc.handlers.get(CALL_CHANNEL)!({}, 'state', []);
    expect(r).toEqual({ ok: false, error: { code: 'internal', message: 'state: sender check exploded' } });
  });
});

describe('opening a memory dump from the window', () => {
  it('kholab:call refuses openDump: the window never names a file', async () => {
    const { api, call } = await setup();
    refused(await call('openDump', ['/etc/shadow']), /cannot name a file; use File → Open Memory Dump/);
    refused(await call('compareWithDump', ['/etc/shadow']), /compareWithDump: the window cannot name a file/);
    expect(api.calls).toEqual([]);
  });

  it('kholab:open-dump takes no arguments, only from our window, and answers what main opened', async () => {
    const open = vi.fn(async (): Promise<Result<null>> => ({ ok: true, value: null }));
    let trusted = true;
    registerOpenDump({ ipcMain, isTrustedSender: () => trusted, open });
    const handler = fakeIpc.handlers.get(OPEN_DUMP_CHANNEL)!;
    const ev = {} as IpcMainInvokeEvent;
    expect(await handler(ev)).toEqual({ ok: true, value: null });
    refused((await handler(ev, '/etc/shadow')) as Result<unknown>, /takes no arguments/);
    trusted = false;
    refused((await handler(ev)) as Result<unknown>, /does not come from the KHO Lab window/);
    expect(open).toHaveBeenCalledTimes(1);
  });
});
