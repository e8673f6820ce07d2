import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import {
  bundleElectron as bundle,
  checkRequires,
  requiredModules as requires,
} from '../../../build/bundle-electron.mjs';
import { startHostClient } from '../../../electron/host-client';
import { SIM_METHODS } from '../../../shared/api';

const ROOT = path.resolve(__dirname, '../../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'kholab-bundle-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('bundle-electron: main and preload', () => {
  const out = path.join(tmp, 'app');
  beforeAll(async () => {
    await bundle({ outDir: out, entries: ['main', 'preload'] });
  });

  it('the preload requires nothing but electron', () => {
    expect(requires(readFileSync(path.join(out, 'preload.cjs'), 'utf8'))).toEqual(['electron']);
  });

  it('main requires only electron and node: builtins', () => {
    const mods = requires(readFileSync(path.join(out, 'main.cjs'), 'utf8'));
    expect(mods).toContain('electron');
    expect(mods.filter((m) => m !== 'electron' && !m.startsWith('node:'))).toEqual([]);
  });

  it('the preload runs where only electron can be required, and exposes the bridge', () => {
    const exposeInMainWorld = vi.fn();
    const electron = {
      contextBridge: { exposeInMainWorld },
      ipcRenderer: { invoke: vi.fn(), on: vi.fn(), removeListener: vi.fn() },
    };
    const module = { exports: {} };
    const sandboxRequire = (id: string) => {
      if (id === 'electron') return electron;
      throw new Error(`a sandboxed preload cannot require ${id}`);
    };
    const code = readFileSync(path.join(out, 'preload.cjs'), 'utf8');
    vm.runInNewContext(`(function (require, module, exports) {${code}\n})`, { console })(
      sandboxRequire,
      module,
      module.exports,
    );
    expect(exposeInMainWorld).toHaveBeenCalledTimes(1);
    const [name, api] = exposeInMainWorld.mock.calls[0]!;
    expect(name).toBe('khoLab');
    expect(Object.keys(api).sort()).toEqual(
      [...SIM_METHODS, 'onMenu', 'onProgress', 'saveText', 'openDumpDialog', 'openFromCommandLine'].sort(),
    );
  });

  it('the require check refuses what the packaged app could not load', async () => {
    const file = path.join(tmp, 'probe.cjs');
    writeFileSync(file, 'const fs = require("node:fs"); const e = require("electron");');
    await expect(checkRequires(file, 'preload')).rejects.toThrow(
      /requires node:fs; a sandboxed preload may require only "electron"/,
    );
    await expect(checkRequires(file, 'main')).resolves.toBeUndefined();
    writeFileSync(file, 'const z = require("zod"); const m = require(name);');
    await expect(checkRequires(file, 'host-worker')).rejects.toThrow(
      /requires zod, <dynamic: name>; only "electron" and Node builtins/,
    );
  });

  it('refuses an unknown entry name', async () => {
    await expect(bundle({ outDir: out, entries: ['renderer'] })).rejects.toThrow(/unknown entry "renderer"/);
  });
});

describe('bundle-electron: host worker', () => {
  // A copy of the sources with a stand-in engine host (the fake API), so the worker bundle is
  // built and run exactly as in the app but independently of the real engine.
  const root = path.join(tmp, 'src');
  const out = path.join(tmp, 'worker');
  beforeAll(async () => {
    mkdirSync(path.join(root, 'electron', 'host', 'dump'), { recursive: true });
    // The worker itself and what it opens dumps with (main hands it paths from its dialog).
    for (const f of ['host-worker.ts', 'dump-file.ts', 'host/dump/source.ts'])
      cpSync(path.join(ROOT, 'electron', f), path.join(root, 'electron', f), { recursive: true });
    cpSync(path.join(ROOT, 'shared'), path.join(root, 'shared'), { recursive: true });
    cpSync(path.join(ROOT, 'tsconfig.base.json'), path.join(root, 'tsconfig.base.json'));
    const fakeApi = 'test/unit/electron/fixtures/fake-api.ts';
    cpSync(path.join(ROOT, fakeApi), path.join(root, fakeApi));
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    writeFileSync(
      path.join(root, 'electron/host/host.ts'),
      `import type { Progress } from '../../shared/views';\n` +
        `import { createFakeApi } from '../../test/unit/electron/fixtures/fake-api';\n` +
        `export class Host { constructor(opts: { onProgress?: (p: Progress) => void } = {}) { Object.assign(this, createFakeApi(opts)); } }\n`,
    );
    await bundle({ root, outDir: out, entries: ['host-worker'] });
  });

  it('is self-contained', () => {
    const mods = requires(readFileSync(path.join(out, 'host-worker.cjs'), 'utf8'));
    expect(mods.filter((m) => !m.startsWith('node:'))).toEqual([]);
  });

  it('serves calls and progress from a real worker thread', async () => {
    const host = startHostClient({ script: path.join(out, 'host-worker.cjs') });
    try {
      const progress = vi.fn();
      host.client.onProgress(progress);
      expect(await host.client.readPhys(0x2a, 2)).toEqual({ ok: true, value: new Uint8Array([0x2a, 0x2a]) });
      expect(await host.client.run({ op: 'boot' })).toMatchObject({ ok: false, error: { code: 'errno' } });
      expect(progress).toHaveBeenCalledTimes(2);
      expect(await host.client.page(-1)).toMatchObject({
        ok: false,
        error: { code: 'invalid-argument', message: expect.stringMatching(/^page: argument 0/) },
      });
    } finally {
      await host.close();
    }
  });
});
