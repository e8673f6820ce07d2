import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { HtmlTagDescriptor } from 'vite';
import { CSP, META_CSP } from '../../../electron/csp';
import { cspMeta } from '../../../renderer/vite.config';

const ROOT = path.resolve(__dirname, '../../..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('the CSP, defined once (electron/csp.ts)', () => {
  it('is strict: self only, no inline or eval script, no plugins, no framing, no forms', () => {
    expect(CSP).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    );
    expect(CSP).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline|\*/);
  });

  it("the meta version is the header's less frame-ancestors, which a <meta> policy cannot carry", () => {
    expect(META_CSP).toBe(CSP.replace("; frame-ancestors 'none'", ''));
  });

  it('the Vite plugin writes exactly that policy as the first tag of <head>', () => {
    const hook = cspMeta().transformIndexHtml as () => HtmlTagDescriptor[];
    expect(hook()).toEqual([
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: META_CSP }, injectTo: 'head-prepend' },
    ]);
  });

  it('no other source file spells a policy: index.html, the renderer, electron/ and build/', () => {
    const sources = [
      path.join(ROOT, 'renderer', 'index.html'),
      ...files(path.join(ROOT, 'renderer', 'src')),
      ...files(path.join(ROOT, 'electron')),
      ...files(path.join(ROOT, 'build')),
    ];
    const spelled = sources
      .filter((f) => /\b(default|script|object)-src\b/.test(readFileSync(f, 'latin1')))
      .map((f) => path.relative(ROOT, f));
    expect(spelled).toEqual(['electron/csp.ts']);
    expect(readFileSync(path.join(ROOT, 'renderer', 'index.html'), 'utf8')).not.toMatch(
      /<meta[^>]+Content-Security-Policy/i,
    );
  });
});
