/** `npm start` without Electron's binary: one clear line pointing to `npm run preview`, no download attempt. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const check = (electronPath: string) =>
  spawnSync(process.execPath, [path.join(ROOT, 'build/start.mjs'), '--check'], {
    encoding: 'utf8',
    env: { ...process.env, ELECTRON_PATH: electronPath },
  });

describe('npm start', () => {
  it('runs build/start.mjs', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.start).toBe('node build/start.mjs');
  });

  it('prints one line naming npm run preview and fails when the binary is missing', () => {
    const r = check(path.join(ROOT, 'no-such-dir', 'electron'));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("Electron's binary is not installed");
    expect(lines[0]).toContain('npm run preview');
  });

  it('passes the check when the binary is there', () => {
    const r = check(process.execPath);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});
