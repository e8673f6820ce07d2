/**
 * DOC: the app:// protocol
 *
 * The renderer is served from app://kho-lab/ rather than file://: a file: page may read any file
 * the user can (and has a null origin), while this handler serves only the files of the renderer
 * build, refuses every path that escapes it, names each file's type from a fixed table and sends
 * the CSP (csp.ts) as a header with every response. Electron's security checklist, item "use a
 * custom protocol instead of file://".
 */
import type { Protocol } from 'electron';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CSP } from './csp';

const APP_SCHEME = 'app';
const APP_HOST = 'kho-lab';
const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`;

/**
 * standard: relative URLs, 'self' and web storage work as on https; secure: a secure context;
 * supportFetchAPI: the page may fetch() its own files. Deliberately not corsEnabled (which would
 * let other origins read app:// — the page's own module scripts are same-origin and need no
 * CORS), not bypassCSP, no service workers.
 */
const APP_PRIVILEGES = { standard: true, secure: true, supportFetchAPI: true, codeCache: true } as const;

/** Registers the scheme's privileges; Electron accepts this only before the app is ready. */
export function registerAppScheme(protocol: Pick<Protocol, 'registerSchemesAsPrivileged'>): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { ...APP_PRIVILEGES } }]);
}

/** The types a Vite build of the renderer contains; anything else is served as opaque bytes. */
const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export function mimeType(file: string): string {
  return MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** True for the URL of the renderer's page (any query or fragment): the one page the window shows. */
export function isAppIndex(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.pathname === '/index.html';
  } catch {
    return false;
  }
}

/** True for any URL this protocol serves (whether the file exists or not). */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

export type Resolved = { file: string } | { status: 400 | 403 | 404; reason: string };

const isInside = (file: string, dir: string) => file === dir || file.startsWith(dir + path.sep);

/**
 * The file under `root` a URL names. The URL parser already folds "." and ".." segments (also
 * when written %2e); what is decoded after it — %2f, %5c — is checked by where the path lands,
 * so nothing outside `root` is ever named.
 */
export function resolveAppUrl(url: string, root: string): Resolved {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { status: 400, reason: `not a URL: ${JSON.stringify(url)}` };
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST)
    return { status: 404, reason: `${url}: not served by ${APP_ORIGIN}` };
  let rel: string;
  try {
    rel = decodeURIComponent(u.pathname);
  } catch {
    return { status: 400, reason: `${u.pathname}: malformed percent-encoding` };
  }
  if (rel.includes('\0')) return { status: 400, reason: `${u.pathname}: NUL in path` };
  if (rel.endsWith('/')) rel += 'index.html';
  const base = path.resolve(root);
  const file = path.resolve(base, `.${path.sep}${rel}`);
  if (!isInside(file, base)) return { status: 403, reason: `${u.pathname}: outside the renderer build` };
  return { file };
}

/** Headers every response carries, refusals included. */
function headers(contentType: string): Record<string, string> {
  return {
    'Content-Type': contentType,
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  };
}

const refusal = (status: number, reason: string) =>
  new Response(reason, { status, headers: headers('text/plain; charset=utf-8') });

/** Answers one request for a file of the renderer build in `root`. Never throws. */
export async function handleAppRequest(request: Request, root: string): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD')
    return refusal(405, `${request.method}: only GET and HEAD`);
  const r = resolveAppUrl(request.url, root);
  if ('status' in r) return refusal(r.status, r.reason);
  let body: Buffer;
  try {
    body = await readFile(r.file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const missing = code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR';
    return refusal(
      missing ? 404 : 500,
      `${new URL(request.url).pathname}: ${missing ? 'not found' : (e as Error).message}`,
    );
  }
  return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
    status: 200,
    headers: headers(mimeType(r.file)),
  });
}

/** Serves app://kho-lab/ from `root` (dist/renderer) for the default session. Call once, when ready. */
export function registerAppProtocol(protocol: Pick<Protocol, 'handle'>, root: string): void {
  protocol.handle(APP_SCHEME, (request) => handleAppRequest(request, root));
}
