/**
 * Vite config for the renderer: `npm run preview` serves it with the engine in a Worker, and
 * `npm run build:renderer` writes dist/renderer for Electron to load over file:// (hence base './').
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const rendererRoot = fileURLToPath(new URL('.', import.meta.url));
const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: rendererRoot,
  base: './',
  plugins: [svelte({ configFile: false, compilerOptions: { runes: true } })],
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
