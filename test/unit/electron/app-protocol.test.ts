import { afterAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  APP_INDEX_URL,
  handleAppRequest,
  isAppIndex,
  mimeType,
  registerAppProtocol,
  registerAppScheme,
  resolveAppUrl,
} from '../../../electron/app-protocol';
import { CSP } from '../../../electron/csp';

const tmp = mkdtempSync(path.join(tmpdir(), 'kholab-app-protocol-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const ROOT = path.join(tmp, 'renderer');
mkdirSync(path.join(ROOT, 'assets'), { recursive: true });
writeFileSync(path.join(ROOT, 'index.html'), '<!doctype html><title>KHO Lab</title>');
writeFileSync(path.join(ROOT, 'assets', 'index-abc.js'), 'export {};');
writeFileSync(path.join(ROOT, 'assets', 'index-abc.css'), 'body{}');
writeFileSync(path.join(ROOT, 'assets', 'host.worker-1.js'), 'self.onmessage = null;');
writeFileSync(path.join(ROOT, 'assets', 'blob.bin'), new Uint8Array([1, 2, 3]));
// Siblings of the root that a traversal would reach.
writeFileSync(path.join(tmp, 'secret.json'), '{"secret":1}');
mkdirSync(path.join(tmp, 'renderer-evil'));
writeFileSync(path.join(tmp, 'renderer-evil', 'x.js'), 'evil');

const get = (url: string, method = 'GET') => handleAppRequest(new Request(url, { method }), ROOT);

describe('handleAppRequest (protocol.handle for app://kho-lab/)', () => {
  it('serves index.html with its type, the CSP header and nosniff', async () => {
    const r = await get(APP_INDEX_URL);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('<!doctype html><title>KHO Lab</title>');
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('content-security-policy')).toBe(CSP);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves / as index.html and the build assets with their MIME types', async () => {
    expect(await (await get('app://kho-lab/')).text()).toContain('KHO Lab');
    const types = await Promise.all(
      ['assets/index-abc.js', 'assets/index-abc.css', 'assets/host.worker-1.js', 'assets/blob.bin'].map(async (f) =>
        (await get(`app://kho-lab/${f}`)).headers.get('content-type'),
      ),
    );
    expect(types).toEqual([
      'text/javascript; charset=utf-8',
      'text/css; charset=utf-8',
      'text/javascript; charset=utf-8',
      'application/octet-stream',
    ]);
    expect(new Uint8Array(await (await get('app://kho-lab/assets/blob.bin')).arrayBuffer())).toEqual(
      new Uint8Array([1, 2, 3]),
    );
  });

  it('refuses every path out of the build with 403, whatever its encoding', async () => {
    for (const url of [
      'app://kho-lab/..%2fsecret.json',
      'app://kho-lab/assets/..%2f..%2fsecret.json',
      'app://kho-lab/%2e%2e%2fsecret.json',
      'app://kho-lab/..%2frenderer-evil%2fx.js',
      'app://kho-lab/..%5csecret.json'.replace('%5c', path.sep === '\\' ? '%5c' : '%2f'),
    ]) {
      const r = await get(url);
      expect(r.status, url).toBe(403);
      expect(await r.text(), url).toMatch(/outside the renderer build/);
      expect(r.headers.get('content-security-policy'), url).toBe(CSP);
    }
  });

  it('folds dot segments the URL way: /../ stays inside the root', async () => {
    // new URL() removes them, so the request is for /secret.json under the root: missing, 404.
    expect((await get('app://kho-lab/../secret.json')).status).toBe(404);
    expect((await get('app://kho-lab/assets/%2e%2e/index.html')).status).toBe(200);
  });

  it('answers 404 for a missing file, a directory and another host; 400 for bad encoding or NUL', async () => {
    expect((await get('app://kho-lab/nope.js')).status).toBe(404);
    expect((await get('app://kho-lab/assets')).status).toBe(404);
    expect((await get('app://elsewhere/index.html')).status).toBe(404);
    expect((await get('app://kho-lab/%E0%A4%A.js')).status).toBe(400);
    expect((await get('app://kho-lab/index.html%00.js')).status).toBe(400);
  });

  it('allows only GET and HEAD; HEAD has headers and no body', async () => {
    const post = await get(APP_INDEX_URL, 'POST');
    expect(post.status).toBe(405);
    const head = await get(APP_INDEX_URL, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-security-policy')).toBe(CSP);
    expect(await head.text()).toBe('');
  });
});

describe('resolveAppUrl', () => {
  it('names files under the root only', () => {
    expect(resolveAppUrl('app://kho-lab/assets/index-abc.js', ROOT)).toEqual({
      file: path.join(ROOT, 'assets', 'index-abc.js'),
    });
    expect(resolveAppUrl('app://kho-lab/a%20b.js', ROOT)).toEqual({ file: path.join(ROOT, 'a b.js') });
    expect(resolveAppUrl('not a url', ROOT)).toMatchObject({ status: 400 });
    expect(resolveAppUrl('file:///etc/passwd', ROOT)).toMatchObject({ status: 404 });
  });
});

describe('mimeType and isAppIndex', () => {
  it('maps extensions case-insensitively and falls back to octet-stream', () => {
    expect(mimeType('x.HTML')).toBe('text/html; charset=utf-8');
    expect(mimeType('x.wasm')).toBe('application/wasm');
    expect(mimeType('x.svg')).toBe('image/svg+xml');
    expect(mimeType('x')).toBe('application/octet-stream');
  });

  it('recognises only app://kho-lab/index.html as the page', () => {
    expect(isAppIndex('app://kho-lab/index.html#/x')).toBe(true);
    expect(isAppIndex('app://kho-lab/index.html?a=1')).toBe(true);
    expect(isAppIndex('app://kho-lab/')).toBe(false);
    expect(isAppIndex('app://kho-lab.evil/index.html')).toBe(false);
    expect(isAppIndex('file:///index.html')).toBe(false);
    expect(isAppIndex('::')).toBe(false);
  });
});

describe('registration', () => {
  it('registers app as a standard, secure, fetchable scheme that does not bypass the CSP', () => {
    const protocol = { registerSchemesAsPrivileged: vi.fn() };
    registerAppScheme(protocol);
    const [[schemes]] = protocol.registerSchemesAsPrivileged.mock.calls as [
      [{ scheme: string; privileges: Record<string, boolean> }[]],
    ];
    expect(schemes).toEqual([
      { scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true, supportFetchAPI: true }) },
    ]);
    expect(schemes[0]!.privileges.bypassCSP).toBeUndefined();
    expect(schemes[0]!.privileges.allowServiceWorkers).toBeUndefined();
  });

  it('hands protocol.handle a handler serving the given root', async () => {
    const protocol = { handle: vi.fn() };
    registerAppProtocol(protocol, ROOT);
    const [scheme, handler] = protocol.handle.mock.calls[0] as [string, (r: Request) => Promise<Response>];
    expect(scheme).toBe('app');
    expect((await handler(new Request('app://kho-lab/assets/index-abc.js'))).status).toBe(200);
  });
});
