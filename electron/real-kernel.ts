/**
 * DOC: a real kernel in QEMU
 *
 * Boots a real Linux with KHO and LUO (by default the 7.2.13 build of a `realkernel` directory:
 * bzImage, System.map, initramfs with the kernel's selftests, tools/rkdrive.py) in QEMU once,
 * with that directory's own driver: the chosen selftests run in kernel 1, kexec, and run again in
 * kernel 2, while gdb breakpoints take ELF guest-memory dumps (QMP dump-guest-memory) at
 * machine_kexec() in kernel 1 and at kho_populate() in kernel 2. Everything lands in a temporary
 * directory that the caller removes. `whyNot()` says, in one line, what is missing and how to get
 * it. Used by the real-kernel tests, `npm run bench` and `npm run sim -- real`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where the real kernel is looked for: KHO_LAB_REALKERNEL, else a `realkernel` directory beside
 * the checkout (tests, `npm run bench` and the CLI run from the repository root).
 */
export const REALKERNEL = process.env.KHO_LAB_REALKERNEL ?? resolve(process.cwd(), '../shared/realkernel');

/** What to boot; every field defaults to the realkernel directory's own files. */
export interface RealKernelOptions {
  dir?: string;
  kernelImage?: string;
  initrd?: string;
  /** rkdrive's rktest= list: kho, luo_simple, luo_multi, liveupdate. */
  tests?: string;
}

function resolved(o: RealKernelOptions): Required<RealKernelOptions> {
  const dir = o.dir ?? REALKERNEL;
  return {
    dir,
    kernelImage: o.kernelImage ?? join(dir, 'bzImage'),
    initrd: o.initrd ?? join(dir, 'initramfs.cpio.gz'),
    tests: o.tests ?? TESTS,
  };
}
/** Two 1 GiB dumps plus room for the artefacts. */
const NEEDED_BYTES = 2.2 * 1024 ** 3;
const DRIVE_TIMEOUT_S = 150;
export const TESTS = 'kho,luo_simple,luo_multi';

const has = (cmd: string): boolean => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const python = (): string => (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** Null when the real-kernel run can go ahead, else what is missing and how to get it. */
export function whyNot(opts: RealKernelOptions = {}): string | null {
  const o = resolved(opts);
  if (!existsSync(join(o.dir, 'tools/rkdrive.py')) || !existsSync(join(o.dir, 'System.map')))
    return `${o.dir} is absent or incomplete (it needs tools/rkdrive.py and System.map; set KHO_LAB_REALKERNEL to the directory)`;
  for (const [what, path] of [
    ['kernel image', o.kernelImage],
    ['initrd', o.initrd],
  ] as const)
    if (!existsSync(path)) return `the ${what} ${path} does not exist`;
  if (!has('qemu-system-x86_64')) return 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)';
  if (!has('gdb')) return 'gdb is not installed (apt-get install gdb)';
  if (!has(python())) return 'python3 is not installed';
  const fs = statfsSync(tmpdir());
  const free = fs.bavail * fs.bsize;
  if (free < NEEDED_BYTES)
    return `only ${(free / 1024 ** 3).toFixed(1)} GiB free in ${tmpdir()}; the two memory dumps need ${(NEEDED_BYTES / 1024 ** 3).toFixed(1)} GiB`;
  return null;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export interface RealRun {
  dir: string;
  console: string;
  /** rkdrive's wall-clock milestones (seconds since QEMU started). */
  timings: Record<string, number | string | boolean>;
  k1Dump: string;
  k2Dump: string;
  /** A file the guest streamed: s1/... (kernel 1) or s2/... (kernel 2). */
  artefact(rel: string): Uint8Array;
  wallMs: number;
  remove(): void;
}

export async function bootRealKernel(opts: RealKernelOptions = {}): Promise<RealRun> {
  const o = resolved(opts);
  const dir = mkdtempSync(join(tmpdir(), 'kho-lab-realkernel-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const out = join(dir, 'run');
  const args = [
    join(o.dir, 'tools/rkdrive.py'),
    '--kernel',
    o.kernelImage,
    '--initrd',
    o.initrd,
    '--append',
    `console=ttyS0 panic=-1 kho=on liveupdate=on rktest=${o.tests}`,
    '--outdir',
    out,
    '--dump',
    'elf',
    '--sysmap',
    join(o.dir, 'System.map'),
    '--bp',
    'machine_kexec:1:k1-machine_kexec',
    '--bp',
    'kho_populate:1:k2-kho_populate',
    '--gdb-port',
    String(await freePort()),
    '--timeout',
    String(DRIVE_TIMEOUT_S),
    '--quiet',
  ];
  const t0 = performance.now();
  try {
    // Its own process group, so a stuck run is ended with everything it started (QEMU, gdb).
    const child = spawn(python(), args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const code = await new Promise<number | null>((res) => {
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), (DRIVE_TIMEOUT_S + 20) * 1000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        res(c);
      });
    });
    if (code !== 0) throw new Error(`rkdrive.py exited ${code}:\n${log.slice(-4000)}`);
    const run: RealRun = {
      dir,
      console: readFileSync(join(out, 'console.log'), 'latin1').replace(/\r/g, ''),
      timings: JSON.parse(readFileSync(join(out, 'timings.json'), 'utf8')) as RealRun['timings'],
      k1Dump: join(out, 'mem-k1-machine_kexec.elf'),
      k2Dump: join(out, 'mem-k2-kho_populate.elf'),
      artefact: (rel) => new Uint8Array(readFileSync(join(out, rel))),
      wallMs: performance.now() - t0,
      remove,
    };
    for (const d of [run.k1Dump, run.k2Dump])
      if (!existsSync(d)) throw new Error(`no dump ${d}; gdb log:\n${readFileSync(join(out, 'gdb.log'), 'utf8')}`);
    return run;
  } catch (e) {
    remove();
    throw e;
  }
}
