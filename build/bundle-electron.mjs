/**
 * Bundles the Electron entry points into dist-electron/: main.cjs, preload.cjs and host-worker.cjs.
 * Each is its own self-contained CommonJS file (one Vite/rolldown build per entry, so no chunks are
 * shared): a sandboxed preload can require nothing but 'electron', and the worker and main load
 * from inside app.asar with no node_modules beside them. Only 'electron' and Node's builtins stay
 * external.
 *
 *   node build/bundle-electron.mjs            # all three
 *   node build/bundle-electron.mjs preload    # just the named entries
 */
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const ENTRIES = {
  main: 'electron/main.ts',
  preload: 'electron/preload.ts',
  'host-worker': 'electron/host-worker.ts',
};

const EXTERNAL = ['electron', ...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/** Every module a CommonJS bundle requires, in order of appearance. */
export function requiredModules(code) {
  return [...code.matchAll(/\brequire\(\s*(?:"([^"]*)"|'([^']*)'|([^)]*))\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? `<dynamic: ${m[3]}>`,
  );
}

async function bundleOne(root, outDir, name) {
  await build({
    configFile: false,
    root,
    logLevel: 'warn',
    publicDir: false,
    // Node-style resolution (no browser field), everything from node_modules inlined.
    ssr: { target: 'node', noExternal: true },
    build: {
      ssr: path.join(root, ENTRIES[name]),
      outDir,
      emptyOutDir: false,
      target: 'es2023',
      minify: false,
      sourcemap: false,
      copyPublicDir: false,
      rolldownOptions: {
        external: EXTERNAL,
        output: { format: 'cjs', entryFileNames: `${name}.cjs`, codeSplitting: false },
      },
    },
  });
}

const BUILTINS = new Set(builtinModules);
const isBuiltin = (m) => m.startsWith('node:') || BUILTINS.has(m);

/**
 * Fails when a bundle would require something that is not there at run time: the package ships
 * no node_modules, and a sandboxed preload may require nothing but 'electron'.
 */
export async function checkRequires(file, name) {
  const allowed = name === 'preload' ? (m) => m === 'electron' : (m) => m === 'electron' || isBuiltin(m);
  const foreign = requiredModules(await readFile(file, 'utf8')).filter((m) => !allowed(m));
  if (foreign.length > 0) {
    const rule =
      name === 'preload'
        ? 'a sandboxed preload may require only "electron"'
        : 'only "electron" and Node builtins are available';
    throw new Error(`${file} requires ${foreign.join(', ')}; ${rule}`);
  }
}

export async function bundleElectron({
  root = ROOT,
  outDir = path.join(root, 'dist-electron'),
  entries = Object.keys(ENTRIES),
} = {}) {
  const files = [];
  for (const name of entries) {
    if (!(name in ENTRIES))
      throw new Error(`unknown entry "${name}"; expected one of ${Object.keys(ENTRIES).join(', ')}`);
    await bundleOne(root, outDir, name);
    const file = path.join(outDir, `${name}.cjs`);
    await checkRequires(file, name);
    files.push(file);
  }
  return files;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const entries = process.argv.slice(2);
  bundleElectron(entries.length ? { entries } : {}).then(
    (files) => console.log(files.map((f) => `built ${path.relative(process.cwd(), f)}`).join('\n')),
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
