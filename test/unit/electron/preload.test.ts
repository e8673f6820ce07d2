import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { contextBridge, ipcRenderer } from 'electron';
import { SIM_METHODS } from '../../../shared/api';
import type { KhoLabBridge } from '../../../shared/bridge';
import type * as Mock from './fixtures/electron-mock';

vi.mock('electron', () => import('./fixtures/electron-mock'));

const fakeRenderer = ipcRenderer as unknown as typeof Mock.ipcRenderer;
let exposed: { name: string; api: KhoLabBridge };

beforeAll(async () => {
  await import('../../../electron/preload');
  const calls = vi.mocked(contextBridge.exposeInMainWorld).mock.calls;
  expect(calls).toHaveLength(1);
  exposed = { name: calls[0]![0], api: calls[0]![1] as KhoLabBridge };
});
beforeEach(() => {
  fakeRenderer.invoke.mockClear();
});

describe('the preload bridge', () => {
  it('exposes window.khoLab with exactly the API methods plus onProgress, onMenu, saveText, openDumpDialog and openFromCommandLine', () => {
    expect(exposed.name).toBe('khoLab');
    expect(Object.keys(exposed.api).sort()).toEqual(
      [...SIM_METHODS, 'onMenu', 'onProgress', 'saveText', 'openDumpDialog', 'openFromCommandLine'].sort(),
    );
    for (const value of Object.values(exposed.api)) expect(typeof value).toBe('function');
  });

  it('never hands out ipcRenderer or its methods', () => {
    const values = Object.values(exposed.api);
    expect(values).not.toContain(ipcRenderer);
    for (const fn of [fakeRenderer.invoke, fakeRenderer.on, fakeRenderer.removeListener, fakeRenderer.emit])
      expect(values).not.toContain(fn);
  });

  it('forwards each method as invoke(kholab:call, method, args) and returns its answer', async () => {
    fakeRenderer.invoke.mockResolvedValueOnce({ ok: true, value: 'mapped' });
    expect(await exposed.api.mapView({ firstPfn: 0, pagesPerCell: 1, cells: 8 })).toEqual({
      ok: true,
      value: 'mapped',
    });
    await exposed.api.events(5, 10);
    await exposed.api.state();
    expect(fakeRenderer.invoke.mock.calls).toEqual([
      ['kholab:call', 'mapView', [{ firstPfn: 0, pagesPerCell: 1, cells: 8 }]],
      ['kholab:call', 'events', [5, 10]],
      ['kholab:call', 'state', []],
    ]);
  });

  it('forwards saveText as invoke(kholab:save, request): a request, never a path', async () => {
    fakeRenderer.invoke.mockResolvedValueOnce({ ok: true, value: { saved: true, name: 'x.csv' } });
    const request = { kind: 'csv' as const, name: 'x.csv', text: 'a,b\n' };
    expect(await exposed.api.saveText(request)).toEqual({ ok: true, value: { saved: true, name: 'x.csv' } });
    expect(fakeRenderer.invoke.mock.calls).toEqual([['kholab:save', request]]);
    fakeRenderer.invoke.mockRejectedValueOnce(new Error('An object could not be cloned.'));
    expect(await exposed.api.saveText(request)).toEqual({
      ok: false,
      error: { code: 'unavailable', message: 'saveText: An object could not be cloned.' },
    });
  });

  it('answers a transport failure as an unavailable Result, not a rejection', async () => {
    fakeRenderer.invoke.mockRejectedValueOnce(new Error('An object could not be cloned.'));
    expect(await exposed.api.state()).toEqual({
      ok: false,
      error: { code: 'unavailable', message: 'state: An object could not be cloned.' },
    });
  });

  it('delivers progress and menu payloads without the IPC event, until unsubscribed', () => {
    const progress = vi.fn();
    const menu = vi.fn();
    const offProgress = exposed.api.onProgress(progress);
    const offMenu = exposed.api.onMenu(menu);
    const event = { sender: ipcRenderer };
    fakeRenderer.emit('kholab:progress', event, { label: 'kexec', done: 1, total: 4 });
    fakeRenderer.emit('kholab:menu', event, 'new-machine');
    expect(progress.mock.calls).toEqual([[{ label: 'kexec', done: 1, total: 4 }]]);
    expect(menu.mock.calls).toEqual([['new-machine']]);

    offProgress();
    offMenu();
    fakeRenderer.emit('kholab:progress', event, { label: 'kexec', done: 2, total: 4 });
    fakeRenderer.emit('kholab:menu', event, 'state-changed');
    expect(progress).toHaveBeenCalledTimes(1);
    expect(menu).toHaveBeenCalledTimes(1);
    expect(fakeRenderer.listenerCount('kholab:progress') + fakeRenderer.listenerCount('kholab:menu')).toBe(0);
  });
});
