/**
 * DOC: the app's command line
 *
 *   npm start -- --real DUMP [--sim SIMDUMP | --scenario NAME]
 *
 * Opens a real kernel's memory dump at start-up and, with `--sim`, a KHO Lab vmcore beside it
 * (what `npm run sim -- real --open` and `fidelity --open` write), or with `--scenario`, runs that
 * built-in scenario on the simulator and shows it beside the dump. Main checks everything here
 * before the host sees it: each path must exist and be a regular file, the scenario must be one a
 * real selftest stands for, and an unknown flag is an error. A bad command line is a message (an
 * error dialog and a line on stderr) and the app starts as usual; it never crashes.
 */
import { statSync } from 'node:fs';
import { type Result as ApiResult, type SimApi, fail } from '../shared/api';
import type { LaunchOpened } from '../shared/bridge';
import { type Result, failure, ok } from '../shared/result';
import { REAL_SCENARIOS, type RealScenario } from '../shared/side-by-side';

export interface LaunchRequest {
  real: string;
  sim?: string;
  scenario?: RealScenario;
}

export const LAUNCH_USAGE = `usage: npm start -- --real DUMP [--sim SIMDUMP | --scenario NAME]
  --real DUMP       a real kernel's memory dump (an ELF core taken at machine_kexec())
  --sim SIMDUMP     KHO Lab's vmcore of the same point, shown beside it (npm run sim -- real --open writes one)
  --scenario NAME   run this built-in on the simulator and show it beside the dump: ${REAL_SCENARIOS.join(', ')}`;

/**
 * Switches Chromium and Electron take from any command line (a CI's --no-sandbox, a debugger's
 * --inspect): not ours, and not an error.
 */
const FOREIGN =
  /^--(no-sandbox|disable-gpu|disable-dev-shm-usage|enable-logging|headless|inspect(-brk)?|remote-debugging-port|ozone-platform|enable-features|disable-features|user-data-dir|lang)(=|$)/;

/**
 * The arguments after the app: a packaged app's argv is [exe, ...args]; `electron APP ...args`
 * (npm start, a default app) has the app's path first, after any switches given to Electron.
 */
export function appArgs(argv: readonly string[], defaultApp: boolean): string[] {
  const rest = argv.slice(1);
  if (!defaultApp) return rest;
  const app = rest.findIndex((a) => !a.startsWith('-'));
  return app < 0 ? [] : rest.slice(app + 1);
}

type IsFile = (path: string) => 'file' | 'missing' | 'not a regular file';

const isFile: IsFile = (path) => {
  try {
    return statSync(path).isFile() ? 'file' : 'not a regular file';
  } catch {
    return 'missing';
  }
};

/** The launch request in `args`, null when there is none, or what is wrong with it. */
export function parseLaunchArgs(args: readonly string[], check: IsFile = isFile): Result<LaunchRequest | null> {
  const got = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (FOREIGN.test(a)) continue;
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    if (flag !== '--real' && flag !== '--sim' && flag !== '--scenario')
      return failure(
        a.startsWith('-') ? `unknown option ${a}\n${LAUNCH_USAGE}` : `unexpected argument "${a}"\n${LAUNCH_USAGE}`,
      );
    const v = inline ?? args[++i];
    if (v === undefined || v === '' || (inline === undefined && v.startsWith('--')))
      return failure(`${flag} needs a value\n${LAUNCH_USAGE}`);
    if (got.has(flag)) return failure(`${flag} is given twice`);
    got.set(flag, v);
  }
  if (got.size === 0) return ok(null);
  const real = got.get('--real');
  if (real === undefined)
    return failure(`--sim and --scenario compare with a real dump: give --real DUMP\n${LAUNCH_USAGE}`);
  const sim = got.get('--sim');
  const scenario = got.get('--scenario');
  if (sim !== undefined && scenario !== undefined)
    return failure(
      'give either --sim SIMDUMP or --scenario NAME, not both: each is what the real dump is shown beside',
    );
  for (const [flag, path] of [
    ['--real', real],
    ['--sim', sim],
  ] as const) {
    if (path === undefined) continue;
    const what = check(path);
    if (what !== 'file') return failure(`${flag} ${path}: ${what === 'missing' ? 'no such file' : what}`);
  }
  if (scenario !== undefined && !(REAL_SCENARIOS as string[]).includes(scenario.replace(/^builtin:/, '')))
    return failure(
      `--scenario "${scenario}" has no counterpart in the real kernel's selftests; use one of ${REAL_SCENARIOS.join(', ')}`,
    );
  return ok({
    real,
    ...(sim !== undefined ? { sim } : {}),
    ...(scenario !== undefined ? { scenario: scenario.replace(/^builtin:/, '') as RealScenario } : {}),
  });
}

/**
 * Opens what the command line asked for, through the host: the real dump, then the simulated
 * side (a vmcore file here; a --scenario is run by the window, which shows its progress and can
 * cancel it). A --sim that cannot be read leaves the real dump open and says why.
 */
export async function openLaunch(
  api: Pick<SimApi, 'openDump' | 'compareWithDump'>,
  req: LaunchRequest,
): Promise<ApiResult<LaunchOpened>> {
  const dump = await api.openDump(req.real);
  if (!dump.ok) return fail(dump.error.code, `--real ${req.real}: ${dump.error.message}`);
  if (req.sim !== undefined) {
    const side = await api.compareWithDump(req.sim);
    if (!side.ok) return ok({ dump: dump.value, compare: null, warning: `--sim ${req.sim}: ${side.error.message}` });
    return ok({ dump: dump.value, compare: 'sim-dump' });
  }
  return ok({ dump: dump.value, compare: req.scenario ? { scenario: req.scenario } : null });
}
