/**
 * DOC: the renderer's content security policy
 *
 * Defined here and nowhere else. The app protocol sends it as a header with every response it
 * serves (app-protocol.ts); the renderer's Vite build writes it into index.html's meta tag
 * (renderer/vite.config.ts), so `npm run preview` and the e2e tests run under the same rules as
 * the desktop app. Pure data: the Vite config imports it in Node.
 */

/** Directive and sources, in the order they are written. */
const DIRECTIVES: ReadonlyArray<readonly [string, string]> = [
  ['default-src', "'self'"],
  ['script-src', "'self'"],
  // Svelte sets style attributes on elements; no inline script is allowed.
  ['style-src', "'self' 'unsafe-inline'"],
  ['img-src', "'self' data:"],
  // The preview engine runs in a module Worker from the build; blob: for workers Vite inlines.
  ['worker-src', "'self' blob:"],
  ['connect-src', "'self'"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['frame-ancestors', "'none'"],
  ['form-action', "'none'"],
];

/** Directives a <meta> policy cannot carry: browsers ignore them there and warn about it. */
const HEADER_ONLY = new Set(['frame-ancestors', 'report-uri', 'sandbox']);

const join = (directives: typeof DIRECTIVES) => directives.map(([name, sources]) => `${name} ${sources}`).join('; ');

/** The policy as the app protocol sends it, in the Content-Security-Policy header. */
export const CSP = join(DIRECTIVES);

/** The same policy for index.html's <meta http-equiv>: the header's, less what a meta ignores. */
export const META_CSP = join(DIRECTIVES.filter(([name]) => !HEADER_ONLY.has(name)));
