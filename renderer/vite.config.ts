/**
 * Vite config for the renderer: `npm run preview` serves it with the engine in a Worker, and
 * `npm run build:renderer` writes dist/renderer, which Electron serves as app://kho-lab/ (base './'
 * keeps every URL relative).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { META_CSP } from '../electron/csp';

const rendererRoot = fileURLToPath(new URL('.', import.meta.url));
const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Writes the app's CSP (electron/csp.ts, its one definition) into index.html as the first tag of
 * <head>, so the preview and the e2e build run under the policy Electron sends as a header.
 */
export function cspMeta(): Plugin {
  return {
    name: 'kho-lab-csp-meta',
    transformIndexHtml: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: META_CSP }, injectTo: 'head-prepend' },
    ],
  };
}

export default defineConfig({
  root: rendererRoot,
  base: './',
  plugins: [cspMeta(), svelte({ configFile: false, compilerOptions: { runes: true } })],
  worker: { format: 'es' },
  server: {
    // The preview worker imports electron/host and shared/, which live outside the Vite root.
    fs: { allow: [projectRoot] },
  },
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2023',
    sourcemap: true,
  },
});
