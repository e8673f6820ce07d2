/**
 * Saving the renderer's exports (the memfd comparison's CSV and JSON): the kholab:save handler
 * checks who asks and what, with zod, before anything opens; the path comes only from the save
 * dialog, the renderer's name merely seeds it, and every outcome is a Result.
 */
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { dialog, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ok, type Result } from '../../../shared/api';
import { SAVE_CHANNEL, type SaveTextOutcome, type SaveTextRequest } from '../../../shared/bridge';
import { MAX_SAVE_TEXT, handleSave, registerSave } from '../../../electron/ipc';
import { saveText, type MenuDeps } from '../../../electron/menu';
import { createFakeApi } from './fixtures/fake-api';
import type * as Mock from './fixtures/electron-mock';

vi.mock('electron', () => import('./fixtures/electron-mock'));

const fakeIpc = ipcMain as unknown as typeof Mock.ipcMain;
const dir = mkdtempSync(path.join(tmpdir(), 'kholab-save-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const own = { senderFrame: { url: 'file:///opt/kho-lab/dist/renderer/index.html' } } as unknown as IpcMainInvokeEvent;
const foreign = { senderFrame: { url: 'https://example.com/' } } as unknown as IpcMainInvokeEvent;
const CSV: SaveTextRequest = { kind: 'csv', name: 'memfd-compare-1G.csv', text: 'compatible,ok\nmemfd-v1,true\n' };

function setup() {
  const saved: SaveTextRequest[] = [];
  const opts = {
    ipcMain,
    isTrustedSender: (e: IpcMainInvokeEvent) => e === own,
    save: vi.fn(
      async (r: SaveTextRequest): Promise<Result<SaveTextOutcome>> => (
        saved.push(r),
        ok({ saved: true, name: r.name })
      ),
    ),
  };
  return { opts, saved, call: (event: IpcMainInvokeEvent, ...args: unknown[]) => handleSave(opts, event, args) };
}

function refused(r: Result<unknown>, pattern: RegExp): void {
  expect(r.ok).toBe(false);
  if (!r.ok) {
    expect(r.error.code).toBe('invalid-argument');
    expect(r.error.message).toMatch(pattern);
  }
}

beforeEach(() => {
  vi.clearAllMocks();
  fakeIpc.handlers.clear();
});

describe('the kholab:save handler', () => {
  it('registers its channel, hands a valid request from our window to save, and can be removed', async () => {
    const { opts, saved } = setup();
    const unregister = registerSave(opts);
    expect([...fakeIpc.handlers.keys()]).toEqual([SAVE_CHANNEL]);
    expect(await fakeIpc.handlers.get(SAVE_CHANNEL)!(own, CSV)).toEqual({
      ok: true,
      value: { saved: true, name: 'memfd-compare-1G.csv' },
    });
    expect(saved).toEqual([CSV]);
    unregister();
    expect(fakeIpc.handlers.size).toBe(0);
  });

  it('refuses other frames before looking at the request', async () => {
    const { opts, call } = setup();
    refused(await call(foreign, CSV), /^saveText: refused, the call does not come from the KHO Lab window$/);
    expect(opts.save).not.toHaveBeenCalled();
  });

  it('refuses malformed requests, naming what is wrong, without opening anything', async () => {
    const { opts, call } = setup();
    refused(await call(own), /expected one argument, got 0/);
    refused(await call(own, CSV, '/etc/passwd'), /expected one argument, got 2/);
    refused(await call(own, { ...CSV, kind: 'exe' }), /^saveText: kind: /);
    refused(await call(own, { ...CSV, text: 42 }), /^saveText: text: /);
    refused(await call(own, { ...CSV, name: '' }), /^saveText: name: /);
    refused(await call(own, { ...CSV, name: 'x'.repeat(256) }), /^saveText: name: /);
    refused(await call(own, { ...CSV, path: '/tmp/x.csv' }), /^saveText: argument: .*path/);
    refused(await call(own, { ...CSV, text: 'x'.repeat(MAX_SAVE_TEXT + 1) }), /text: the text is longer than/);
    refused(await call(own, null), /^saveText: argument: /);
    expect(opts.save).not.toHaveBeenCalled();
  });

  it('turns an exception into an internal error instead of throwing', async () => {
    const { opts, call } = setup();
    opts.save.mockRejectedValueOnce(new Error('disk on fire'));
    expect(await call(own, CSV)).toEqual({ ok: false, error: { code: 'internal', message: 'saveText: disk on fire' } });
  });
});

describe('saveText in main', () => {
  const deps = (): MenuDeps => ({
    api: createFakeApi(),
    window: () => null,
    notify: vi.fn(),
    isDev: false,
    platform: 'linux',
  });
  const chooseSave = (file: string) =>
    vi.mocked(dialog.showSaveDialog).mockResolvedValueOnce({ canceled: false, filePath: file });

  it('writes the text where the user chose, and answers only the file name', async () => {
    const file = path.join(dir, 'chosen.csv');
    chooseSave(file);
    expect(await saveText(deps(), CSV)).toEqual({ ok: true, value: { saved: true, name: 'chosen.csv' } });
    expect(readFileSync(file, 'utf8')).toBe(CSV.text);
    expect(vi.mocked(dialog.showSaveDialog).mock.calls[0]![0]).toEqual({
      title: 'Export CSV',
      defaultPath: 'memfd-compare-1G.csv',
      filters: [{ name: 'CSV', extensions: ['csv'] }],
    });
  });

  it('seeds the dialog with a plain name of the right kind, whatever the renderer sent', async () => {
    const suggested = async (request: SaveTextRequest) => {
      vi.mocked(dialog.showSaveDialog).mockClear();
      await saveText(deps(), request);
      return (vi.mocked(dialog.showSaveDialog).mock.calls[0]![0] as { defaultPath: string }).defaultPath;
    };
    expect(await suggested({ kind: 'json', name: '../../../etc/passwd', text: '{}' })).toBe('passwd.json');
    expect(await suggested({ kind: 'json', name: '/home/u/.bashrc', text: '{}' })).toBe('bashrc.json');
    expect(await suggested({ kind: 'csv', name: 'C:\\Windows\\x y.CSV', text: '' })).toBe('x-y.csv');
    expect(await suggested({ kind: 'csv', name: 'a.json', text: '' })).toBe('a.json.csv');
  });

  it('answers saved:false when the dialog is cancelled, and writes nothing', async () => {
    const before = readdirSync(dir);
    expect(await saveText(deps(), CSV)).toEqual({ ok: true, value: { saved: false } });
    expect(readdirSync(dir)).toEqual(before);
  });

  it('answers a write failure naming the file, and leaves no temporary file', async () => {
    const sub = path.join(dir, 'dirs');
    const file = path.join(sub, 'is-a-dir');
    mkdirSync(path.join(file, 'x'), { recursive: true });
    chooseSave(file);
    const r = await saveText(deps(), CSV);
    expect(r).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    if (!r.ok) {
      expect(r.error.message).toContain(file);
      expect(r.error.message).toMatch(/EISDIR|ENOTEMPTY|EEXIST/);
    }
    expect(readdirSync(sub)).toEqual(['is-a-dir']);
  });

  it('answers a failing dialog as an error', async () => {
    vi.mocked(dialog.showSaveDialog).mockRejectedValueOnce(new Error('portal not available'));
    expect(await saveText(deps(), CSV)).toEqual({
      ok: false,
      error: { code: 'unavailable', message: 'save dialog: portal not available' },
    });
  });
});
