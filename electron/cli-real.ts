/**
 * DOC: `real` and `fidelity` — a real kernel's handover beside the simulated one
 *
 *   npm run sim -- real [--realkernel DIR] [--kernel-image BZIMAGE] [--initrd FILE] [--kernel RELEASE]
 *                       [--keep] [--open] [--json FILE] SCENARIO
 *   npm run sim -- fidelity --real DUMP [--kernel RELEASE] [--json FILE] [--open DIR] SCENARIO
 *
 * `--open` keeps the real dump, writes the simulated one (KHO Lab's vmcore at the same point)
 * beside it (`real`: in the run's directory; `fidelity`: in DIR) and prints both paths and the
 * commands that open them.
 *
 * SCENARIO is one the real kernel's selftest initramfs can run: test-kho (lib/test_kho.c),
 * luo-kexec-simple or luo-multi-session (tools/testing/selftests/liveupdate/). `real` boots the
 * kernel in QEMU (electron/real-kernel.ts; by default the one in the realkernel directory), runs
 * the scenario's selftest across a real kexec and dumps guest memory at machine_kexec(); `fidelity`
 * takes such a dump from a file. Both then run the same built-in scenario on the simulator (on a
 * 1 GiB machine with `kho=on liveupdate=on`, as in QEMU; RELEASE defaults to the release the dump's
 * kexec-metadata names, else the newest profile), export its memory at the same point, read both
 * with the same dump reader and print the comparison (electron/host/fidelity.ts), scoped to what
 * the scenario's selftest left in the real handover: every field that matches, differs by nature
 * (addresses, random choices, the other selftests of the real run), or differs (and why).
 * The realkernel folder ships the real 7.2.13 handover of a full LUO run, cut to its preserved
 * pages: runs/artefacts/decoded/k1-machine_kexec.preserved.elf (`fidelity --real` takes it).
 * Exit status: 0 when nothing differs, 1 when a field differs, 2 for bad input or a machine that
 * cannot boot a real kernel (the message says what is missing and how to get it).
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import type { KernelRelease } from '../shared/machine-config';
import { REAL_SELFTESTS } from '../shared/side-by-side';
import { type Result, failure, ok } from '../shared/result';
import { openDumpFile } from './dump-file';
import { type DumpReport, inspectDump } from './host/dump/inspect';
import { DumpError, type SparseDump } from './host/dump/source';
import { compareHandovers, describeFidelity } from './host/fidelity';
import { Host } from './host/host';
import { releaseOfDump } from './host/dump/side-by-side';
import { KERNEL_PROFILES } from './kernel/profile';
import { REALKERNEL, bootRealKernel, whyNot } from './real-kernel';
import { join } from 'node:path';

/** The real 7.2.13 handover the realkernel folder ships: the full LUO run's preserved pages at machine_kexec(). */
export const SHIPPED_REAL_HANDOVER = join(REALKERNEL, 'runs/artefacts/decoded/k1-machine_kexec.preserved.elf');

/** The built-in scenarios whose selftest the real initramfs runs, and its rktest= name. */
const REAL_TESTS: Readonly<Record<string, string>> = REAL_SELFTESTS;

const USAGE = `usage: kho-lab-sim real [--realkernel DIR] [--kernel-image BZIMAGE] [--initrd FILE] [--kernel RELEASE] [--keep] [--open] [--json FILE] SCENARIO
       kho-lab-sim fidelity --real DUMP [--kernel RELEASE] [--json FILE] [--open DIR] SCENARIO
SCENARIO: ${Object.keys(REAL_TESTS).join(', ')}`;

type Io = { out: (l: string) => void; err: (l: string) => void };

interface Args {
  scenario: string;
  options: Map<string, string | true>;
}

function parse(argv: string[], valued: readonly string[], flags: readonly string[]): Result<Args> {
  const options = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) positional.push(a);
    else if (flags.includes(a)) options.set(a, true);
    else if (valued.includes(a)) {
      const v = argv[++i];
      if (v === undefined) return failure(`${a} needs a value`);
      options.set(a, v);
    } else return failure(`unknown option ${a}\n${USAGE}`);
  }
  if (positional.length !== 1) return failure(USAGE);
  const scenario = positional[0]!.replace(/^builtin:/, '');
  if (!(scenario in REAL_TESTS))
    return failure(
      `"${scenario}" has no counterpart in the real kernel's selftests; use one of ${Object.keys(REAL_TESTS).join(', ')}`,
    );
  const kernel = options.get('--kernel');
  if (typeof kernel === 'string' && !(kernel in KERNEL_PROFILES))
    return failure(
      `--kernel: "${kernel}" is not a release KHO Lab models (${Object.keys(KERNEL_PROFILES).join(', ')})`,
    );
  return ok({ scenario, options });
}

/** The newest release the simulator models: the one a real 7.x kernel is compared with by default. */
const newestRelease = (): KernelRelease =>
  Object.keys(KERNEL_PROFILES)
    .sort((a, b) => Number(a) - Number(b))
    .at(-1) as KernelRelease;

/** The scenario on the simulator, at the step after its `kexec -e`, read by the dump reader. */
async function simulatedHandover(
  scenario: string,
  kernel: KernelRelease,
): Promise<Result<{ report: DumpReport; vmcore: SparseDump }>> {
  const bytes = await new Host().simulateAtKexec(scenario, kernel);
  if (!bytes.ok) return failure(bytes.error.message);
  try {
    return ok({ report: inspectDump(bytes.value), vmcore: bytes.value });
  } catch (e) {
    if (e instanceof DumpError) return failure(`the simulated handover of ${scenario}: ${e.message}`);
    throw e;
  }
}

function readDump(path: string): Result<DumpReport> {
  try {
    const f = openDumpFile(path);
    try {
      return ok(inspectDump(f));
    } finally {
      f.close();
    }
  } catch (e) {
    if (e instanceof DumpError) return failure(`${path}: ${e.message}`);
    const code = (e as NodeJS.ErrnoException).code;
    if (code) return failure(`${path}: cannot read: ${code}`);
    throw e;
  }
}

/** Where `--open` writes the simulated vmcore: beside the real dump it is opened with. */
interface OpenWith {
  realDump: string;
  dir: string;
}

/** The desktop app's binary, as `npm start` finds it (build/start.mjs), or null when it is not installed. */
function electronBinary(): string | null {
  if (process.env.ELECTRON_PATH) return existsSync(process.env.ELECTRON_PATH) ? process.env.ELECTRON_PATH : null;
  const pkg = join(process.cwd(), 'node_modules', 'electron');
  const txt = join(pkg, 'path.txt');
  const bin = join(pkg, 'dist', existsSync(txt) ? readFileSync(txt, 'utf8').trim() : 'electron');
  return existsSync(bin) ? bin : null;
}

/**
 * `--open`: the simulated handover written as a vmcore beside the real dump, and the command that
 * opens the two side by side in the app (electron/launch-args.ts), or, where the desktop app cannot
 * start, the commands that read them.
 */
function openLines(sim: SparseDump, scenario: string, kernel: KernelRelease, at: OpenWith): Result<string[]> {
  const simPath = join(at.dir, `kho-lab-${scenario}-${kernel}.vmcore`);
  try {
    writeSparse(simPath, sim);
  } catch (e) {
    return failure(`--open: cannot write ${simPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = ['', 'the two handovers:', `  real:      ${at.realDump}`, `  simulated: ${simPath}`];
  const open = `  npm start -- --real ${shellQuote(at.realDump)} --sim ${shellQuote(simPath)}`;
  if (electronBinary()) return ok([...lines, 'open them side by side in KHO Lab:', open]);
  return ok([
    ...lines,
    "the desktop app cannot start here (Electron's binary is not installed); where it can, open them side by side with:",
    open,
    'or read them with:',
    `  npm run sim -- inspect ${shellQuote(at.realDump)}`,
    `  npm run sim -- inspect ${shellQuote(simPath)}`,
    `  npm run sim -- fidelity --real ${shellQuote(at.realDump)} --kernel ${kernel} ${scenario}`,
  ]);
}

/** `dump` as a sparse file: its data written where it lies, the holes left unwritten. */
function writeSparse(path: string, dump: SparseDump): void {
  const fd = openSync(path, 'w');
  try {
    for (const p of dump.pieces) writeSync(fd, p.bytes, 0, p.bytes.length, p.offset);
    ftruncateSync(fd, dump.size);
  } finally {
    closeSync(fd);
  }
}

/** A path as one shell word. */
const shellQuote = (p: string): string => (/^[\w./:@%+=,-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);

async function report(
  real: DumpReport,
  args: Args,
  io: Io,
  header: string[],
  open?: OpenWith,
): Promise<Result<number>> {
  const kernel =
    (args.options.get('--kernel') as KernelRelease | undefined) ?? releaseOfDump(real).release ?? newestRelease();
  const t0 = performance.now();
  const sim = await simulatedHandover(args.scenario, kernel);
  if (!sim.ok) return sim;
  const simMs = performance.now() - t0;
  const rep = compareHandovers(real, sim.value.report, {
    selftest: REAL_TESTS[args.scenario]!,
    scenario: args.scenario,
  });
  for (const l of header) io.out(l);
  io.out(
    `KHO Lab: builtin:${args.scenario} on ${kernel}, simulated to kexec -e and read back in ${simMs.toFixed(0)} ms`,
  );
  io.out('');
  for (const l of describeFidelity(rep)) io.out(l);
  const json = args.options.get('--json');
  if (typeof json === 'string') {
    try {
      writeFileSync(json, JSON.stringify({ scenario: args.scenario, kernel, ...rep }, null, 2));
    } catch (e) {
      return failure(`--json: cannot write ${json}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (open) {
    const lines = openLines(sim.value.vmcore, args.scenario, kernel, open);
    if (!lines.ok) return lines;
    for (const l of lines.value) io.out(l);
  }
  return ok(rep.differs > 0 ? 1 : 0);
}

/** `fidelity --real DUMP SCENARIO`: a dump taken at machine_kexec() beside the simulated scenario. */
export async function fidelityCommand(argv: string[], io: Io): Promise<Result<number>> {
  const args = parse(argv, ['--real', '--kernel', '--json', '--open'], []);
  if (!args.ok) return args;
  const path = args.value.options.get('--real');
  if (typeof path !== 'string')
    return failure(
      `fidelity needs --real DUMP (the realkernel folder ships one: ${SHIPPED_REAL_HANDOVER}, the real 7.2.13 handover at machine_kexec())\n${USAGE}`,
    );
  const real = readDump(path);
  if (!real.ok) return real;
  const dir = args.value.options.get('--open');
  return report(
    real.value,
    args.value,
    io,
    [`real: ${path}`],
    typeof dir === 'string' ? { realDump: path, dir } : undefined,
  );
}

/** `real SCENARIO`: boots the real kernel in QEMU, runs the scenario's selftest, compares. */
export async function realCommand(argv: string[], io: Io): Promise<Result<number>> {
  const args = parse(argv, ['--realkernel', '--kernel-image', '--initrd', '--kernel', '--json'], ['--keep', '--open']);
  if (!args.ok) return args;
  const o = args.value.options;
  const opts = {
    ...(typeof o.get('--realkernel') === 'string' ? { dir: o.get('--realkernel') as string } : {}),
    ...(typeof o.get('--kernel-image') === 'string' ? { kernelImage: o.get('--kernel-image') as string } : {}),
    ...(typeof o.get('--initrd') === 'string' ? { initrd: o.get('--initrd') as string } : {}),
    tests: REAL_TESTS[args.value.scenario]!,
  };
  const missing = whyNot(opts);
  if (missing) return failure(`cannot boot a real kernel here: ${missing}`);
  io.err(`booting the real kernel in QEMU (rktest=${opts.tests}); under software emulation this takes a minute…`);
  let run;
  try {
    run = await bootRealKernel(opts);
  } catch (e) {
    return failure(`the real kernel's run failed: ${(e as Error).message}`);
  }
  try {
    const real = readDump(run.k1Dump);
    if (!real.ok) return real;
    const boot = run.timings;
    return await report(
      real.value,
      args.value,
      io,
      [
        `real: ${opts.kernelImage ?? 'the realkernel bzImage'}, QEMU run ${(run.wallMs / 1000).toFixed(1)} s (${Object.entries(
          boot,
        )
          .map(([k, v]) => `${k} ${String(v)}`)
          .join(', ')})`,
        `real dumps: ${o.has('--keep') || o.has('--open') ? `${run.k1Dump} (at machine_kexec()), ${run.k2Dump} (at kho_populate())` : 'removed (--keep keeps them)'}`,
      ],
      o.has('--open') ? { realDump: run.k1Dump, dir: run.dir } : undefined,
    );
  } finally {
    if (!o.has('--keep') && !o.has('--open')) run.remove();
  }
}
