/**
 * DOC: the headless runner
 *
 *   npm run sim -- list
 *   npm run sim -- run <file.json | builtin:NAME> [--ram SIZE] [--kernel RELEASE] [--seed N] [--json REPORT] [--export-fdt FILE]
 *                      [--debugfs DIR] [--export-vmcore FILE [--at STEP] [--dump-level N | --vmcore-all]] [--quiet]
 *   npm run sim -- fdt FILE [--dts]
 *   npm run sim -- compare-memfd --size SIZE [--order 0|9|mixed] [--sparse FRACTION] [--files N]
 *                                [--holes fill|keep] [--seed N] [--json FILE] [--csv FILE]
 *   npm run sim -- inspect DUMP [--json FILE]
 *   npm run sim -- real [--kernel-image BZIMAGE] [--initrd FILE] [--kernel RELEASE] [--keep] SCENARIO
 *   npm run sim -- fidelity --real DUMP [--kernel RELEASE] SCENARIO
 *   npm run sim -- matrix [SCENARIO] [--json FILE]
 *
 * Runs a scenario on the same Host the app uses and prints the kernel log and a summary.
 * `fdt` reads any DTB (a real /sys/kernel/debug/kho/out/fdt too) and prints its tree with KHO's
 * properties decoded, or DTS as dtc prints it.
 * `--export-vmcore` writes RAM as an ELF vmcore (electron/host/vmcore.ts) at step STEP (1-based,
 * as the run prints them); by default right after the last `reboot` (kexec -e), before the next
 * kernel touches anything, or the final state when the scenario has no reboot. `--dump-level N`
 * filters pages as makedumpfile's -d does (default 25: zero, user and free pages left out);
 * `--vmcore-all` is level 0.
 * `compare-memfd` preserves the described memfds in each memfd format (electron/host/compare.ts)
 * and prints the comparison table, each format's restore steps and where its metadata lies.
 * `inspect` opens an ELF memory dump (QEMU, kdump, --export-vmcore), finds the KHO handover in it
 * and decodes it down to LUO sessions, files, memfd folios and FLBs (electron/cli-inspect.ts).
 * `real` boots a real kernel in QEMU and `fidelity` reads a real dump; both compare its handover
 * with the simulated one of the same scenario (electron/cli-real.ts).
 * `matrix` runs a scenario from every kernel release into every release and prints what crossed
 * (electron/cli-matrix.ts).
 * Exit status: 0 when every step and check passed, 1 when one failed or the kernel panicked, 2 for
 * bad input (including a step whose input was refused, such as a poke outside RAM).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIssues, parseScenario, type Scenario } from '../shared/scenario';
import { CATEGORY_STYLES } from '../shared/palette';
import { PAGE_SIZE, formatBytes, hex, parseSize } from '../shared/units';
import { type MemfdCompare, MemfdCompareSpecSchema, compareCsv, compareRows } from '../shared/compare';
import type { Report } from '../shared/views';
import { CliMachineConfigSchema, KernelReleaseSchema } from '../shared/machine-config';
import { totalmem } from 'node:os';
import { Host, builtinScenario, withMachine } from './host/host';
import { DEFAULT_DUMP_LEVEL, MAX_DUMP_LEVEL } from './host/vmcore';
import { writeChunksAtomic } from './write-chunks';
import { formatEvent } from './kernel/trace';
import { decodeFdt } from './kernel/lib/fdt';
import { describeFdt, fdtToDts } from './host/fdt-text';
import { inspectCommand } from './cli-inspect';
import { fidelityCommand, realCommand } from './cli-real';
import { matrixCommand } from './cli-matrix';
import { type Result, failure, ok } from '../shared/result';

export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

const USAGE = `usage:
  kho-lab-sim list
  kho-lab-sim run <file.json | builtin:NAME> [--ram SIZE] [--kernel RELEASE] [--seed N] [--json REPORT] [--export-fdt FILE]
                    [--debugfs DIR] [--export-vmcore FILE [--at STEP] [--dump-level N | --vmcore-all]] [--quiet]
  kho-lab-sim fdt FILE [--dts]
  kho-lab-sim compare-memfd --size SIZE [--order 0|9|mixed] [--sparse FRACTION] [--files N] [--holes fill|keep]
                            [--seed N] [--json FILE] [--csv FILE]
  kho-lab-sim inspect DUMP [--json FILE]
  kho-lab-sim matrix [file.json | builtin:NAME] [--json FILE]
  kho-lab-sim real [--realkernel DIR] [--kernel-image BZIMAGE] [--initrd FILE] [--kernel RELEASE] [--keep] [--open] [--json FILE] SCENARIO
  kho-lab-sim fidelity --real DUMP [--kernel RELEASE] [--json FILE] [--open DIR] SCENARIO`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Progress lines go here (stderr when it is a terminal). */
  progress?: (text: string) => void;
  /** The host's memory in bytes (os.totalmem() when absent): a machine that needs more is refused. */
  hostMemory?: number;
}

/**
 * Every failure below is the user's (bad arguments, an unreadable or invalid file, an unwritable
 * output) and exits EXIT_BAD_INPUT with its message; an exception is a bug in the simulator.
 */
type Args = { positional: string[]; flags: Map<string, string | true> };

const cannot = (what: string, e: unknown): string =>
  `${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;

function parseArgs(argv: string[]): Result<Args> {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  const valued = new Set([
    '--ram',
    '--kernel',
    '--seed',
    '--json',
    '--export-fdt',
    '--debugfs',
    '--export-vmcore',
    '--at',
    '--dump-level',
    '--size',
    '--order',
    '--sparse',
    '--files',
    '--holes',
    '--csv',
  ]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [name, inline] = a.split('=', 2) as [string, string | undefined];
      if (valued.has(name)) {
        const v = inline ?? argv[++i];
        if (v === undefined) return failure(`${name} needs a value`);
        flags.set(name, v);
      } else if (name === '--quiet' || name === '--dts' || name === '--vmcore-all') flags.set(name, true);
      else return failure(`unknown option ${name}`);
    } else positional.push(a);
  }
  return ok({ positional, flags });
}

function loadScenario(ref: string): Result<Scenario> {
  if (ref.startsWith('builtin:')) return builtinScenario(ref.slice('builtin:'.length));
  let text: string;
  try {
    text = readFileSync(ref, 'utf8');
  } catch (e) {
    return failure(cannot(`${ref}: cannot read`, e));
  }
  return parseScenario(text, ref);
}

/** `fdt FILE [--dts]`: the decoded tree (or DTS) of a DTB; a file that is not one is bad input. */
function fdtCommand(file: string, io: CliIo, dts: boolean): Result<number> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    return failure(cannot(`${file}: cannot read`, e));
  }
  const fdt = decodeFdt(bytes);
  if (!fdt.ok) {
    const what =
      fdt.error === 'FDT_ERR_BADMAGIC' || bytes.length === 0
        ? 'not a flattened devicetree'
        : 'corrupt flattened devicetree';
    return failure(`${file}: ${what}: ${fdt.message} [${fdt.error}]`);
  }
  if (dts) {
    for (const line of fdtToDts(fdt.root, fdt.memReserve).trimEnd().split('\n')) io.out(line);
    return ok(EXIT_OK);
  }
  const h = fdt.header;
  io.out(
    `${file}: flattened devicetree v${h.version}, ${h.totalsize} bytes (struct ${h.sizeDtStruct}, strings ${h.sizeDtStrings}), boot cpu ${h.bootCpuidPhys}`,
  );
  for (const [addr, size] of fdt.memReserve) io.out(`/memreserve/ 0x${addr.toString(16)} 0x${size.toString(16)}`);
  for (const line of describeFdt(fdt.root, fdt.memReserve)) io.out(line);
  return ok(EXIT_OK);
}

function summaryLines(r: Report): string[] {
  const lines = [`scenario ${r.scenario}: ${r.ok ? 'PASS' : 'FAIL'} — ${r.steps.length} steps, RAM hash ${r.ramHash}`];
  for (const s of r.steps)
    lines.push(`  ${s.ok ? 'ok  ' : 'FAIL'} ${String(s.index).padStart(3)} ${s.label} — ${s.message}`);
  if (r.panicked) {
    const refused = r.steps.length - r.panicked.step;
    lines.push(
      `KERNEL PANIC at step ${r.panicked.step}: Kernel panic - not syncing: ${r.panicked.reason}${refused ? ` (${refused} later step${refused === 1 ? '' : 's'} refused)` : ''}`,
    );
  }
  const sum = r.summary;
  if (sum) {
    lines.push(
      `memory: ${formatBytes(sum.totalPages * PAGE_SIZE)} RAM, ${formatBytes(sum.managedPages * PAGE_SIZE)} managed`,
    );
    lines.push(
      `  free: ${Object.entries(sum.freePages)
        .map(([mt, n]) => `${mt} ${formatBytes(n * PAGE_SIZE)}`)
        .join(', ')}`,
    );
    lines.push(`  buddyinfo (free blocks per order 0..10): ${sum.freeBlocksByOrder.join(' ')}`);
    lines.push(
      `  memblock: ${sum.memblock.memoryRegions} memory regions, ${sum.memblock.reservedRegions} reserved regions (${formatBytes(sum.memblock.reservedBytes)})`,
    );
    for (const style of CATEGORY_STYLES) {
      const pages = sum.categoryPages[style.id] ?? 0;
      if (pages > 0 && style.key !== 'Hole')
        lines.push(`  ${style.label.padEnd(24)} ${formatBytes(pages * PAGE_SIZE)}`);
    }
  }
  return lines;
}

/** Writes a file atomically: a temporary file, then a rename, so a failure leaves nothing half-written. */
function writeAtomic(path: string, data: string | Uint8Array, option: string): Result<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
    return ok(undefined);
  } catch (e) {
    rmSync(tmp, { force: true });
    return failure(cannot(`${option}: cannot write ${path}`, e));
  }
}

/**
 * The KHO root FDT to export: the one this kernel received (after a KHO boot), the one a jump
 * hands on (after `kexec -e`, before the next boot), else this kernel's outgoing one.
 */
async function exportFdt(host: Host, path: string): Promise<Result<void>> {
  const kho = await host.kho();
  if (!kho.ok) throw new Error(kho.error.message);
  const v = kho.value;
  const phys = v.incoming?.fdtPhys || v.entryFdtPhys || v.outgoing?.fdtPhys;
  if (!phys) return failure('--export-fdt: this machine has no KHO root FDT (boot with kho=on)');
  const fdt = await host.fdt(phys);
  if (!fdt.ok) return failure(`--export-fdt: ${fdt.error.message}`);
  if (fdt.value.error)
    return failure(`--export-fdt: the FDT at 0x${phys.toString(16)} does not decode: ${fdt.value.error}`);
  return writeAtomic(path, fdt.value.bytes, '--export-fdt');
}

/**
 * `--debugfs DIR`: /sys/kernel/debug/kho of the final step as files under DIR (DIR/kho/out/fdt…),
 * each holding what a read() of it returns — so `dtc` can be run on them as on a real machine.
 */
async function exportDebugfs(host: Host, dir: string): Promise<Result<void>> {
  const v = await host.debugfs();
  if (!v.ok) throw new Error(v.error.message);
  if (!v.value.present) return failure(`--debugfs: ${v.value.note ?? 'no kho/ directory'}`);
  try {
    for (const d of v.value.dirs) mkdirSync(join(dir, d), { recursive: true });
    for (const f of v.value.files) writeFileSync(join(dir, f.path), f.bytes);
    return ok(undefined);
  } catch (e) {
    return failure(cannot(`--debugfs: cannot write into ${dir}`, e));
  }
}

/** `--dump-level N` (makedumpfile's -d, 0–31) or `--vmcore-all` (level 0); default DEFAULT_DUMP_LEVEL. */
function dumpLevel(flags: Args['flags']): Result<number> {
  const v = flags.get('--dump-level');
  if (v !== undefined && flags.has('--vmcore-all')) return failure('--dump-level and --vmcore-all are exclusive');
  if (flags.has('--vmcore-all')) return ok(0);
  if (typeof v !== 'string') return ok(DEFAULT_DUMP_LEVEL);
  if (!/^\d+$/.test(v) || Number(v) > MAX_DUMP_LEVEL)
    return failure(
      `--dump-level: "${v}" is not 0–${MAX_DUMP_LEVEL} (bits as makedumpfile -d: 1 zero, 2 cache, 4 private cache, 8 user, 16 free pages)`,
    );
  return ok(Number(v));
}

/**
 * `--export-vmcore FILE [--at STEP] [--dump-level N | --vmcore-all]`: moves the timeline to the step (by default
 * just after the last kexec -e, else the end), writes the vmcore, and moves back to the end.
 */
async function exportVmcore(
  host: Host,
  scenario: Scenario,
  path: string,
  at: string | true | undefined,
  level: number,
): Promise<Result<string>> {
  const n = scenario.steps.length;
  let step: number;
  if (typeof at === 'string') {
    if (!/^\d+$/.test(at) || Number(at) < 1 || Number(at) > n) {
      return failure(
        `--at: "${at}" is not a step of this scenario (steps are numbered 1..${n}, as the run prints them)`,
      );
    }
    step = Number(at);
  } else {
    const lastReboot = scenario.steps.map((s) => s.op).lastIndexOf('reboot');
    step = lastReboot >= 0 ? lastReboot + 1 : n;
  }
  const moved = await host.goto(step);
  if (!moved.ok) return failure(`--at: ${moved.error.message}`);
  try {
    const stream = host.vmcoreStream({ dumpLevel: level });
    if (!stream.ok) return failure(`--export-vmcore: ${stream.error.message}`);
    const written = writeChunksAtomic(path, stream.value.chunks, '--export-vmcore');
    if (!written.ok) return written;
    return ok(
      `vmcore: ${path} — RAM after step ${step}, dump level ${stream.value.dumpLevel}, ${stream.value.pages} pages, ${formatBytes(stream.value.size)}`,
    );
  } finally {
    await host.goto(n);
  }
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === 'inspect') return inspectCommand(argv.slice(1), io);
  const command = argv[0] === 'real' ? realCommand : argv[0] === 'fidelity' ? fidelityCommand : null;
  const r = command ? await command(argv.slice(1), io) : await runCommand(argv, io);
  if (r.ok) return r.value;
  io.err(r.error.message);
  return EXIT_BAD_INPUT;
}

/** `list`, `fdt`, `compare-memfd` and `run`: the exit status, or the bad input to report. */
async function runCommand(argv: string[], io: CliIo): Promise<Result<number>> {
  const args = parseArgs(argv);
  if (!args.ok) return args;
  const { positional, flags } = args.value;
  const [cmd, ref, ...rest] = positional;
  if (cmd === 'list') {
    const builtins = Object.entries(await listBuiltins());
    const width = Math.max(...builtins.map(([name]) => name.length));
    for (const [name, s] of builtins) io.out(`builtin:${name.padEnd(width)}  ${s}`);
    return ok(EXIT_OK);
  }
  if (cmd === 'fdt') {
    if (!ref || rest.length || [...flags.keys()].some((f) => f !== '--dts')) return failure(USAGE);
    return fdtCommand(ref, io, flags.has('--dts'));
  }
  if (cmd === 'compare-memfd') return ref ? failure(USAGE) : compareCommand(flags, io);
  if (cmd === 'matrix') {
    const stray = [...flags.keys()].find((f) => f !== '--json');
    if (stray) return failure(`${stray} does not go with matrix`);
    if (rest.length) return failure(USAGE);
    const json = flags.get('--json');
    return matrixCommand(ref, typeof json === 'string' ? json : undefined, io, loadScenario, writeAtomic);
  }
  const compareOnly = ['--size', '--order', '--sparse', '--files', '--holes', '--csv'].find((f) => flags.has(f));
  if (compareOnly) return failure(`${compareOnly} goes with compare-memfd`);
  if (cmd !== 'run' || !ref || rest.length || flags.has('--dts')) return failure(USAGE);
  const vmcoreOut = flags.get('--export-vmcore');
  if (typeof vmcoreOut !== 'string' && (flags.has('--at') || flags.has('--vmcore-all') || flags.has('--dump-level')))
    return failure('--at, --dump-level and --vmcore-all go with --export-vmcore FILE');
  const level = dumpLevel(flags);
  if (!level.ok) return level;
  const loadedScenario = loadScenario(ref);
  if (!loadedScenario.ok) return loadedScenario;
  const overrides: Record<string, unknown> = {};
  const ram = flags.get('--ram');
  if (typeof ram === 'string') {
    if (parseSize(ram) === null) return failure(`--ram: "${ram}" is not a size (try 4G or 512M)`);
    overrides.ram = ram;
  }
  const seed = flags.get('--seed');
  if (typeof seed === 'string') {
    if (!/^\d+$/.test(seed)) return failure(`--seed: "${seed}" is not a non-negative integer`);
    overrides.seed = Number(seed);
  }
  const kernel = flags.get('--kernel');
  if (typeof kernel === 'string') {
    const r = KernelReleaseSchema.safeParse(kernel);
    if (!r.success) return failure(`--kernel: ${r.error.issues[0]!.message}`);
    overrides.kernel = r.data;
  }
  const merged = withMachine(loadedScenario.value, overrides, CliMachineConfigSchema);
  if (!merged.ok) return merged;
  const scenario = merged.value;

  const host = new Host({
    hostMemory: io.hostMemory ?? totalmem(),
    onProgress: (p) => io.progress?.(`${p.label}: ${Math.round((100 * p.done) / Math.max(1, p.total))}%`),
  });
  const loaded = await host.loadParsed(scenario);
  if (!loaded.ok) return failure(loaded.error.message);
  const report = await host.report();
  if (!report.ok) throw new Error(report.error.message);
  const r = report.value;
  if (!flags.has('--quiet')) for (const e of r.events) io.out(formatEvent(e));
  for (const line of summaryLines(r)) io.out(line);
  const json = flags.get('--json');
  if (typeof json === 'string') {
    const written = writeAtomic(json, JSON.stringify(r, null, 2) + '\n', '--json');
    if (!written.ok) return written;
  }
  const fdtOut = flags.get('--export-fdt');
  if (typeof fdtOut === 'string') {
    const exported = await exportFdt(host, fdtOut);
    if (!exported.ok) return exported;
  }
  const debugfsOut = flags.get('--debugfs');
  if (typeof debugfsOut === 'string') {
    const written = await exportDebugfs(host, debugfsOut);
    if (!written.ok) return written;
  }
  if (typeof vmcoreOut === 'string') {
    const line = await exportVmcore(host, scenario, vmcoreOut, flags.get('--at'), level.value);
    if (!line.ok) return line;
    io.out(line.value);
  }
  const invalid = r.steps.filter((s) => s.invalid);
  if (invalid.length)
    return failure(invalid.map((s) => `${ref}: step ${s.index} (${s.label}): ${s.message}`).join('\n'));
  return ok(r.ok ? EXIT_OK : EXIT_CHECK_FAILED);
}

/** The compare's table with aligned columns, then each format's layout and restore steps. */
export function compareLines(c: MemfdCompare): string[] {
  const rows = compareRows(c);
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  const lines = [
    `${c.spec.files} × ${formatBytes(c.spec.size)} memfd, order ${c.spec.order}, sparse ${c.spec.sparse}, holes ${c.spec.holes}: ${c.populatedPages.toLocaleString('en-US')} pages populated, on a ${formatBytes(c.ramBytes)} machine`,
    '',
    ...rows.map((r) =>
      r
        .map((cell, col) => cell.padEnd(widths[col]!))
        .join('  ')
        .trimEnd(),
    ),
  ];
  for (const f of c.formats) if (f.error) lines.push('', `${f.compatible}: ${f.error}`);
  for (const f of c.formats) {
    if (!f.ok) continue;
    const span = f.layout.length
      ? `${hex(f.layout[0]![0] * PAGE_SIZE)}–${hex((f.layout.at(-1)![0] + f.layout.at(-1)![1]) * PAGE_SIZE)}`
      : 'none';
    lines.push('', `${f.compatible}: metadata in ${f.layout.length} physical run(s), ${span}; the next kernel would:`);
    for (const step of f.restoreSteps) lines.push(`  ${step}`);
  }
  return lines;
}

async function compareCommand(flags: Map<string, string | true>, io: CliIo): Promise<Result<number>> {
  const allowed = new Set(['--size', '--order', '--sparse', '--files', '--holes', '--seed', '--json', '--csv']);
  const stray = [...flags.keys()].find((f) => !allowed.has(f));
  if (stray) return failure(`${stray} does not go with compare-memfd`);
  const size = flags.get('--size');
  if (typeof size !== 'string') return failure('compare-memfd needs --size SIZE (e.g. --size 4G)');
  // A number flag: absent, a number, or not one (the first such is reported, in this order).
  const numbers: Record<string, number | undefined> = {};
  for (const flag of ['--sparse', '--files', '--seed']) {
    const v = flags.get(flag);
    if (typeof v !== 'string') continue;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) return failure(`${flag}: "${v}" is not a number`);
    numbers[flag] = n;
  }
  const spec = MemfdCompareSpecSchema.safeParse({
    size,
    order: flags.get('--order'),
    sparse: numbers['--sparse'],
    files: numbers['--files'],
    holes: flags.get('--holes'),
    seed: numbers['--seed'],
  });
  if (!spec.success)
    return failure(
      describeIssues('compare-memfd', spec.error).replace(/: (size|order|sparse|files|holes|seed):/, ': --$1:'),
    );
  const host = new Host({
    onProgress: (p) => io.progress?.(`${p.label}: ${Math.round((100 * p.done) / Math.max(1, p.total))}%`),
  });
  const r = await host.compareMemfd(spec.data);
  if (!r.ok) return failure(r.error.message);
  for (const line of compareLines(r.value)) io.out(line);
  const json = flags.get('--json');
  if (typeof json === 'string') {
    const written = writeAtomic(json, JSON.stringify(r.value, null, 2) + '\n', '--json');
    if (!written.ok) return written;
  }
  const csv = flags.get('--csv');
  if (typeof csv === 'string') {
    const written = writeAtomic(csv, compareCsv(r.value), '--csv');
    if (!written.ok) return written;
  }
  return ok(EXIT_OK);
}

async function listBuiltins(): Promise<Record<string, string>> {
  const r = await new Host().builtins();
  return r.ok ? Object.fromEntries(r.value.map((b) => [b.name, b.description])) : {};
}

const isMain = process.argv[1] && /cli\.(ts|js|cjs|mjs)$/.test(process.argv[1]);
if (isMain) {
  // A reader that stops early (`| head`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  // Progress shows only for runs longer than a second: often on a terminal, rarely in a log.
  const started = Date.now();
  const every = process.stderr.isTTY ? 250 : 2000;
  let lastProgress = started;
  main(process.argv.slice(2), {
    out: (l) => process.stdout.write(l + '\n'),
    err: (l) => process.stderr.write(l + '\n'),
    progress: (t) => {
      const now = Date.now();
      if (now - started < 1000 || now - lastProgress < every) return;
      lastProgress = now;
      process.stderr.write(process.stderr.isTTY ? `\r${t}\x1b[K` : `${t}\n`);
    },
  }).then(
    (code) => {
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`kho-lab-sim: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
