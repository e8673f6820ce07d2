import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bundleElectron } from '../../../build/bundle-electron.mjs';

const ROOT = path.resolve(__dirname, '../../..');
const require = createRequire(import.meta.url);
const asar = require('@electron/asar') as {
  listPackage(archive: string, options: object): string[];
  extractFile(archive: string, file: string): Buffer;
};
const tmp = mkdtempSync(path.join(tmpdir(), 'kholab-builder-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Electron's fuse wire: a sentinel, the wire version (1), the fuse count, then one byte per fuse
 * ('0' off, '1' on), in @electron/fuses' FuseV1Options order.
 */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const FUSES = [
  'RunAsNode',
  'EnableCookieEncryption',
  'EnableNodeOptionsEnvironmentVariable',
  'EnableNodeCliInspectArguments',
  'EnableEmbeddedAsarIntegrityValidation',
  'OnlyLoadAppFromAsar',
  'LoadBrowserProcessSpecificV8Snapshot',
  'GrantFileProtocolExtraPrivileges',
] as const;
/** What an unpackaged Electron ships with. */
const DEFAULT_FUSES = '10110001';
function fuseWire(states: string): Buffer {
  return Buffer.concat([Buffer.from(FUSE_SENTINEL), Buffer.from([1, states.length]), Buffer.from(states)]);
}
function readFuses(binary: Buffer): Record<string, boolean> {
  const at = binary.indexOf(FUSE_SENTINEL) + FUSE_SENTINEL.length;
  const count = binary[at + 1]!;
  return Object.fromEntries(FUSES.slice(0, count).map((name, i) => [name, binary[at + 2 + i] === 0x31]));
}

const project = path.join(tmp, 'project');
const electronDist = path.join(tmp, 'electron-dist');
const output = path.join(tmp, 'release');
let log = '';

/**
 * A copy of the project holding just what the package contains: package.json, the real main and
 * preload bundles and a renderer page. The Electron binary is replaced by a stub: electron-builder
 * only copies electronDist and renames its `electron` executable.
 */
beforeAll(async () => {
  mkdirSync(path.join(project, 'dist', 'renderer'), { recursive: true });
  mkdirSync(path.join(project, 'build'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(project, 'package.json'));
  cpSync(path.join(ROOT, 'build', 'icon.png'), path.join(project, 'build', 'icon.png'));
  // electron-builder checks that the production dependencies are installed before filtering them out.
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'), 'dir');
  await bundleElectron({ outDir: path.join(project, 'dist-electron'), entries: ['main', 'preload'] });
  writeFileSync(path.join(project, 'dist', 'renderer', 'index.html'), '<!doctype html><title>KHO Lab</title>\n');
  mkdirSync(electronDist);
  // The stub carries a fuse wire as Electron's binary does, in Electron's default states, so the
  // packaged executable shows which fuses electron-builder flipped.
  writeFileSync(
    path.join(electronDist, 'electron'),
    Buffer.concat([Buffer.from('#!/bin/sh\nexit 0\n# '), fuseWire(DEFAULT_FUSES), Buffer.from('\n')]),
  );
  chmodSync(path.join(electronDist, 'electron'), 0o755);

  const { stdout, stderr } = await promisify(execFile)(
    path.join(ROOT, 'node_modules', '.bin', 'electron-builder'),
    [
      '--dir',
      '--linux',
      '--config',
      path.join(ROOT, 'build', 'electron-builder.config.cjs'),
      `-c.electronDist=${electronDist}`,
      `-c.directories.output=${output}`,
    ],
    { cwd: project, env: { ...process.env, CI: 'true' }, timeout: 120_000 },
  );
  log = stdout + stderr;
}, 150_000);

describe('electron-builder --dir --linux', () => {
  const unpacked = path.join(output, 'linux-unpacked');
  const archive = path.join(unpacked, 'resources', 'app.asar');

  it('produces the renamed executable and an app.asar', () => {
    expect(existsSync(path.join(unpacked, 'kho-lab')), log).toBe(true);
    expect(existsSync(archive), log).toBe(true);
  });

  it('packs the bundles, the renderer and package.json, and no node_modules', () => {
    const files = asar.listPackage(archive, {}).map((f) => f.split(path.sep).join('/'));
    expect(files).toEqual(
      expect.arrayContaining([
        '/package.json',
        '/dist-electron/main.cjs',
        '/dist-electron/preload.cjs',
        '/dist/renderer/index.html',
      ]),
    );
    expect(files.filter((f) => f.includes('node_modules'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('/test') || f.startsWith('/electron') || f.startsWith('/shared'))).toEqual(
      [],
    );
  });

  it('flips the security fuses in the packaged executable', () => {
    expect(readFuses(readFileSync(path.join(electronDist, 'electron')))).toMatchObject({
      RunAsNode: true,
      OnlyLoadAppFromAsar: false,
    });
    expect(readFuses(readFileSync(path.join(unpacked, 'kho-lab')))).toEqual({
      RunAsNode: false,
      EnableCookieEncryption: true,
      EnableNodeOptionsEnvironmentVariable: false,
      EnableNodeCliInspectArguments: false,
      EnableEmbeddedAsarIntegrityValidation: true,
      OnlyLoadAppFromAsar: true,
      // Not configured: keeps Electron's default.
      LoadBrowserProcessSpecificV8Snapshot: false,
      GrantFileProtocolExtraPrivileges: false,
    });
  });

  it('the packed package.json starts the bundled main', () => {
    const pkg = JSON.parse(asar.extractFile(archive, 'package.json').toString('utf8')) as {
      main: string;
      productName: string;
    };
    expect(pkg.main).toBe('dist-electron/main.cjs');
    expect(pkg.productName).toBe('KHO Lab');
    expect(asar.extractFile(archive, 'dist-electron/main.cjs').toString('utf8')).toBe(
      readFileSync(path.join(project, 'dist-electron', 'main.cjs'), 'utf8'),
    );
  });
});

describe('electron-builder.config.cjs', () => {
  const config = require(path.join(ROOT, 'build', 'electron-builder.config.cjs')) as Record<
    string,
    Record<string, unknown> & unknown
  >;

  it('names the app and targets every desktop platform', () => {
    expect(config).toMatchObject({
      appId: 'dev.kholab.app',
      productName: 'KHO Lab',
      directories: { output: 'release' },
      linux: { target: ['AppImage', 'deb'], category: 'Development' },
      mac: { target: ['dmg'], category: 'public.app-category.developer-tools' },
      win: { target: ['nsis'] },
    });
    expect(config.linux).toHaveProperty('maintainer');
    expect(config.linux).toHaveProperty('synopsis');
  });

  it("sets the fuses of Electron's security checklist", () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
      resetAdHocDarwinSignature: true,
    });
  });

  it('takes the Electron version from the installed electron package, not from a binary', () => {
    const { version } = JSON.parse(
      readFileSync(path.join(ROOT, 'node_modules', 'electron', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(config.electronVersion).toBe(version);
  });

  it('ships a 512×512 PNG icon', () => {
    const png = readFileSync(path.join(ROOT, 'build', 'icon.png'));
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([512, 512]);
  });
});
