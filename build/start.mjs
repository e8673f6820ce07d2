/**
 * `npm start`: builds KHO Lab and runs it in Electron — unless Electron's binary is not there
 * (npm install could not download it, e.g. offline or behind a proxy). Then it says so in one line
 * and points to `npm run preview`, instead of node_modules/electron trying a download and failing
 * with a stack trace.
 *
 *   node build/start.mjs           # check, build, run
 *   node build/start.mjs --check   # only the check (exit 1 with the line when the binary is missing)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where node_modules/electron/index.js would look — found without requiring it (that starts a download). */
function electronBinary(env = process.env, platform = process.platform) {
  if (env.ELECTRON_PATH) return env.ELECTRON_PATH;
  const pkg = path.join(ROOT, 'node_modules', 'electron');
  const pathTxt = path.join(pkg, 'path.txt');
  const fallback = { darwin: 'Electron.app/Contents/MacOS/Electron', win32: 'electron.exe' }[platform] ?? 'electron';
  return path.join(pkg, 'dist', existsSync(pathTxt) ? readFileSync(pathTxt, 'utf8').trim() : fallback);
}

const MISSING =
  "KHO Lab: Electron's binary is not installed (npm could not download it), so the desktop app cannot start — run `npm run preview` to use KHO Lab in your browser.";

function main() {
  const binary = electronBinary();
  if (!existsSync(binary)) {
    console.error(MISSING);
    process.exit(1);
  }
  if (process.argv.includes('--check')) return;
  const npm = process.env.npm_execpath;
  const built = npm
    ? spawnSync(process.execPath, [npm, 'run', 'build'], { stdio: 'inherit', cwd: ROOT })
    : spawnSync('npm', ['run', 'build'], { stdio: 'inherit', cwd: ROOT, shell: process.platform === 'win32' });
  if (built.status !== 0) process.exit(built.status ?? 1);
  const child = spawn(binary, [ROOT, ...process.argv.slice(2)], { stdio: 'inherit' });
  child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
