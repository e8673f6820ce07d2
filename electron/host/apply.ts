/**
 * DOC: applying commands
 *
 * Turns one Command (shared/commands.ts) into calls on the machine and its running kernel, and
 * says how it went: ok, or the errno the kernel answered with and why. A step with `expect`
 * passes only when the kernel answers exactly that errno. Checks (verify_memfd, expect_free)
 * pass or fail without changing the machine.
 */
import { type Command, tokenText } from '../../shared/commands';
import { PAGE_SIZE, formatBytes } from '../../shared/units';
import { PageState } from '../kernel/mm/page-trace';
import { type Failure, type Result, ok } from '../../shared/result';
import type { Errno, FailedAt, StepInfo } from '../../shared/views';
import { ALLOC_FAILED } from '../kernel/mm/buddy';
import { MIGRATE_MOVABLE, MIGRATE_UNMOVABLE, PG } from '../kernel/mm/page-flags';
import { type KernelError, isErr, kerr } from '../kernel/lib/errno';
import { variantMismatch } from '../../shared/machine-config';
import type { Kernel } from '../kernel/kernel';
import type { Machine } from '../kernel/machine';
import type { MemfdFile, Process } from '../kernel/proc';
import type { ShmemInode } from '../kernel/mm/shmem';
import type { LuoSession } from '../kernel/luo/session';
import { utf8Decode, utf8Encode } from '../kernel/lib/utf8';
import { LIVEUPDATE_SESSION_GET_NAME_SIZE } from '../kernel/abi/luo-v1';
import { kexecFileLoad } from '../kernel/kexec';
import { testKhoInit } from '../kernel/modules/test-kho';
import { applyPoke, planPoke, pokeWhere } from './poke';

/** How the shell names a memfd: memfd:NAME, or by inode when LUO retrieved it without a name (as 6.19 does). */
const memfdLabel = (inode: ShmemInode): string =>
  inode.name ? `memfd:${inode.name}` : `memfd (ino ${inode.ino}, unnamed)`;

/** A step that went as asked: what happened, what it returned (a pid, an fd), the errno it expected. */
interface StepDone {
  message: string;
  returned?: number;
  /** The errno the step's `expect` asked for and got. */
  errno?: Errno;
}

/** Why a step failed: the kernel's errno, a panic, a failed check, or input refused unread. */
export interface StepFailure extends Failure {
  errno?: Errno;
  /** The kernel panicked during this step: the reason it printed. */
  panicked?: string;
  /** Bad input, refused before the machine was touched (a poke outside RAM, malformed hex…). */
  invalid?: true;
  /** A failed check's culprit page. */
  failedAt?: FailedAt;
}

export type StepResult = Result<StepDone, StepFailure>;

/** The fields a StepInfo keeps of a step's result, in StepInfo's order. */
export type StepFields = Pick<StepInfo, 'ok' | 'message' | 'errno' | 'returned' | 'panicked' | 'invalid' | 'failedAt'>;

export function stepFields(r: StepResult): StepFields {
  if (r.ok) {
    const { message, errno, returned } = r.value;
    return { ok: true, message, ...(errno ? { errno } : {}), ...(returned !== undefined ? { returned } : {}) };
  }
  const { message, errno, panicked, invalid, failedAt } = r.error;
  return {
    ok: false,
    message,
    ...(errno ? { errno } : {}),
    ...(panicked !== undefined ? { panicked } : {}),
    ...(invalid ? { invalid } : {}),
    ...(failedAt ? { failedAt } : {}),
  };
}

const done = (message: string, returned?: number): StepResult =>
  ok(returned === undefined ? { message } : { message, returned });
export const stepFailed = (error: StepFailure): StepResult => ({ ok: false, error });
const failed = (e: KernelError, op: string): StepResult =>
  stepFailed({ errno: e.errno, message: `${op}: ${e.errno} (${e.reason})`, ...(e.at ? { failedAt: e.at } : {}) });
const checkFailed = (message: string, failedAt?: FailedAt): StepResult =>
  stepFailed({ message, ...(failedAt ? { failedAt } : {}) });

/**
 * Why `cmd` cannot run on this machine at all, or null: every step after a kernel panic is refused
 * (panic() never returns: kernel/panic.c), and a poke whose input is wrong is refused unwritten.
 * The host asks before it puts an interactive step on the timeline.
 */
export function refusal(machine: Machine, cmd: Command): StepFailure | null {
  const reason = machine.kernel?.panicked ?? null;
  if (reason !== null)
    return { message: `${cmd.op}: refused: the kernel panicked: ${reason}; create a new machine or step back` };
  if (cmd.op === 'poke') {
    const plan = planPoke(machine, cmd);
    if (!plan.ok) return { invalid: true, message: `poke ${pokeWhere(cmd)}: ${plan.error.message}` };
  }
  return null;
}

export function applyCommand(machine: Machine, cmd: Command): StepResult {
  const refused = refusal(machine, cmd);
  if (refused) return stepFailed(refused);
  const raw = run(machine, cmd);
  // A panic inside the step (a kexec'd kernel that finds bad handover data) fails it, whatever it expected.
  const panicked = machine.kernel?.panicked ?? null;
  if (panicked !== null) return stepFailed({ panicked, message: `${cmd.op}: Kernel panic - not syncing: ${panicked}` });
  if (!cmd.expect) return paintFailure(machine, raw);
  const { errno, message } = raw.ok ? raw.value : raw.error;
  if (errno === cmd.expect) return ok({ errno, message: `${message} — as expected` });
  return paintFailure(
    machine,
    stepFailed({
      ...(errno ? { errno } : {}),
      message: `expected ${cmd.expect}, got ${errno ?? 'success'}: ${message}`,
      ...(!raw.ok && raw.error.failedAt ? { failedAt: raw.error.failedAt } : {}),
    }),
  );
}

/**
 * A failed step's culprit block turns the failure colour on the map: the page category is the
 * map's state, set like every other category, and kept until the page's state changes again.
 */
function paintFailure(machine: Machine, r: StepResult): StepResult {
  const at = r.ok ? undefined : r.error.failedAt;
  const k = machine.kernel;
  if (at && k && at.pfn >= 0 && at.pfn + at.pages <= machine.layout.maxPfn)
    k.pages.trace.record(at.pfn, at.pages, PageState.Corrupted);
  return r;
}

function run(machine: Machine, cmd: Command): StepResult {
  if (cmd.op === 'boot') {
    const e = machine.boot();
    if (e) return failed(e, 'boot');
    const k = machine.kernel!;
    return done(`booted: ${formatBytes(k.buddy.managedPages * PAGE_SIZE)} managed by the buddy allocator`);
  }
  if (cmd.op === 'poke') return applyPoke(machine, cmd);
  const k = machine.kernel;
  if (!k)
    return stepFailed({ errno: 'EINVAL', message: `${cmd.op}: EINVAL (the machine is powered off: boot it first)` });
  switch (cmd.op) {
    case 'spawn': {
      const p = k.processes.spawn(cmd.name);
      return isErr(p) ? failed(p, 'spawn') : done(`${p.name} is pid ${p.pid}`, p.pid);
    }
    case 'exit':
      return withProcess(k, cmd.process, 'exit', (p) => {
        k.processes.exit(p);
        return done(`${p.name} (pid ${p.pid}) exited`);
      });
    case 'memfd_create':
      return withProcess(k, cmd.process, 'memfd_create', (p) => {
        const fd = k.processes.memfdCreate(p, cmd.name);
        if (isErr(fd)) return failed(fd, 'memfd_create');
        if (cmd.size !== undefined) {
          const e = k.shmem.truncate((p.fds.get(fd) as MemfdFile).inode, cmd.size);
          if (e) return failed(e, 'ftruncate');
        }
        return done(`fd ${fd} → memfd:${cmd.name}${cmd.size !== undefined ? `, ${formatBytes(cmd.size)}` : ''}`, fd);
      });
    case 'ftruncate':
      return withFile(k, cmd.process, cmd.fd, 'ftruncate', (p, f) => {
        const e = k.shmem.truncate(f.inode, cmd.size);
        if (e) return failed(e, 'ftruncate');
        // Shrinking zeroes the tail of the new last page: the program expects that too.
        const tail = cmd.size % PAGE_SIZE;
        k.processes.remember(p, f.inode, cmd.size - tail, tail ? PAGE_SIZE : 0);
        return done(`${memfdLabel(f.inode)} is ${formatBytes(cmd.size)}`);
      });
    case 'fallocate':
      return withFile(k, cmd.process, cmd.fd, 'fallocate', (p, f) => {
        const e = k.shmem.fallocate(f.inode, cmd.offset, cmd.length, cmd.punchHole);
        if (e) return failed(e, 'fallocate');
        k.processes.remember(p, f.inode, cmd.offset, cmd.length);
        return done(`${memfdLabel(f.inode)}: ${f.inode.nrPages} pages in the page cache`);
      });
    case 'write':
      return withFile(k, cmd.process, cmd.fd, 'write', (p, f) => {
        const length =
          cmd.length ?? ('text' in cmd.data ? utf8Encode(cmd.data.text).length : f.inode.size - cmd.offset);
        if (length <= 0)
          return failed(kerr('EINVAL', 'nothing to write: give a length or grow the file first'), 'write');
        const n = k.shmem.write(f.inode, cmd.offset, length, cmd.data, cmd.order);
        if (isErr(n)) return failed(n, 'write');
        k.processes.remember(p, f.inode, cmd.offset, n);
        if (n < length)
          return stepFailed({
            errno: 'ENOMEM',
            message: `write: short write, ${formatBytes(n)} of ${formatBytes(length)}, then ENOMEM`,
          });
        return done(`wrote ${formatBytes(n)} to ${memfdLabel(f.inode)} (${f.inode.nrPages} pages)`);
      });
    case 'close':
      return withProcess(k, cmd.process, 'close', (p) => {
        const e = k.processes.close(p, cmd.fd);
        return e ? failed(e, 'close') : done(`closed fd ${cmd.fd}`);
      });
    case 'setrlimit':
      return withProcess(k, cmd.process, 'setrlimit', (p) => {
        const e = k.processes.setNofile(p, cmd.soft, cmd.hard);
        return e ? failed(e, 'setrlimit') : done(`${p.name}: RLIMIT_NOFILE ${p.nofile.cur} (hard ${p.nofile.max})`);
      });
    case 'alloc_pages':
      return allocTagged(k, cmd);
    case 'free_pages': {
      const a = k.allocations.get(cmd.tag);
      if (!a) return failed(kerr('ENOENT', `no allocations tagged ${cmd.tag}`), 'free_pages');
      const keep: number[] = [];
      let freed = 0;
      a.pfns.forEach((pfn, i) => {
        if (i % cmd.every === 0) {
          const bad = k.buddy.freePages(pfn, a.order);
          if (bad) k.log.err('BUG', bad);
          freed++;
        } else keep.push(pfn);
      });
      a.pfns = keep;
      if (keep.length === 0) k.allocations.delete(cmd.tag);
      return done(`freed ${freed} blocks of order ${a.order}; ${keep.length} left under ${cmd.tag}`);
    }
    case 'vmalloc': {
      if (k.vmAreas.has(cmd.name)) return failed(kerr('EEXIST', `a vmalloc area named ${cmd.name} exists`), 'vmalloc');
      const area = k.vmalloc.alloc(cmd.name, cmd.size);
      if (isErr(area)) return failed(area, 'vmalloc');
      k.vmAreas.set(cmd.name, area);
      return done(`${cmd.name} at 0x${area.addr.toString(16)}, ${area.pfns.length} pages`);
    }
    case 'vfree': {
      const area = k.vmAreas.get(cmd.name);
      if (!area) return failed(kerr('ENOENT', `no vmalloc area named ${cmd.name}`), 'vfree');
      k.vmalloc.free(area);
      k.vmAreas.delete(cmd.name);
      return done(`freed ${area.pfns.length} pages of ${cmd.name}`);
    }
    case 'kho_finalize': {
      if (!k.khoOut) return failed(kerr('EOPNOTSUPP', 'KHO is disabled (boot with kho=on)'), 'kho_finalize');
      const tracker = k.khoOut.tracker;
      if (tracker.kind === 'radix') {
        // 7.1+: no kho/out/finalize. `echo 1 >` a name that is not there in a debugfs directory
        // tries to create it; debugfs directories have no ->create, so open() fails with EACCES.
        if (cmd.ifExists) return done('kho/out/finalize does not exist (stateless KHO): nothing to do');
        return failed(
          kerr(
            'EACCES',
            `sh: can't create /sys/kernel/debug/kho/out/finalize: Permission denied (Linux ${k.ctx.profile.name} has no finalize: KHO is stateless)`,
          ),
          'kho_finalize',
        );
      }
      const e = k.khoOut.finalize();
      return e ? failed(e, 'kho_finalize') : done(`preserved-memory-map → ${tracker.chunkPfns.length} chunk page(s)`);
    }
    case 'kexec_load': {
      // A variant for a release it does not patch: the image does not exist (kexec_file_load's -EINVAL).
      const mismatch = variantMismatch(cmd.kernel ?? k.ctx.profile.name, cmd.variant);
      if (mismatch) return failed(kerr('EINVAL', mismatch), 'kexec_file_load');
      const image = kexecFileLoad(k, cmd.cmdline ?? k.cmdline, cmd.initrd ?? machine.config.initrd, {
        release: cmd.kernel,
        variant: cmd.variant,
      });
      if (isErr(image)) return failed(image, 'kexec_file_load');
      k.kimage = image;
      return done(`${image.segments.length} segments loaded; boot parameters at 0x${image.bootParams.toString(16)}`);
    }
    case 'reboot': {
      const e = machine.kexecReboot();
      return e ? failed(e, 'reboot') : done('jumped to the new kernel: the old kernel is gone, RAM is as it was');
    }
    case 'insmod': {
      const r = testKhoInit(k, cmd.params);
      return r.ok ? done(r.message) : checkFailed(r.message, r.failedAt);
    }
    case 'verify_memfd':
      return withFile(k, cmd.process, cmd.fd, 'verify_memfd', (p, f) => verifyMemfd(k, p, f.inode));
    case 'luo_open':
    case 'luo_create_session':
    case 'luo_retrieve_session':
    case 'luo_preserve_fd':
    case 'luo_retrieve_fd':
    case 'luo_finish':
    case 'luo_get_name':
      return runLuo(k, cmd);
    case 'luo_fail_next_freeze': {
      if (!k.luo) return failed(kerr('ENOENT', 'LUO is disabled: there is nothing to freeze'), 'luo_fail_next_freeze');
      k.luo.failNextFreeze = { errno: cmd.errno, token: cmd.token === undefined ? null : BigInt(cmd.token) };
      return done(
        `the next freeze${cmd.token !== undefined ? ` of token ${tokenText(cmd.token)}` : ''} fails with ${cmd.errno} (fault injection)`,
      );
    }
    case 'save_checksums':
      return withFile(k, cmd.process, cmd.fd, 'save_checksums', (p, src) =>
        withFile(k, cmd.process, cmd.into_fd, 'save_checksums', (_p, dst) =>
          saveChecksums(k, p, src, dst, cmd.into_fd),
        ),
      );
    case 'expect_checksums':
      return withFile(k, cmd.process, cmd.fd, 'expect_checksums', (_p, f) =>
        withFile(k, cmd.process, cmd.from_fd, 'expect_checksums', (_p2, state) => expectChecksums(k, f, state)),
      );
    case 'expect_content':
      return withFile(k, cmd.process, cmd.fd, 'expect_content', (_p, f) => {
        const all = k.shmem.read(f.inode, 0, f.inode.size);
        const nul = cmd.cstring ? all.indexOf(0) : -1;
        const got = nul < 0 ? all : all.subarray(0, nul);
        const want = utf8Encode(cmd.text);
        const same = got.length === want.length && got.every((b, i) => b === want[i]);
        if (same) return done(`fd ${cmd.fd}: ${got.length} bytes match`);
        const found = got.findIndex((b, i) => b !== want[i]);
        const first = found < 0 ? Math.min(got.length, want.length) : found;
        return checkFailed(
          `fd ${cmd.fd}: ${got.length} bytes, expected ${want.length}; first difference at byte ${first}`,
          memfdPageAt(f.inode, Math.floor(first / PAGE_SIZE), `fd ${cmd.fd} byte ${first} differs`),
        );
      });
    case 'expect_free': {
      const [unmovable, movable, cma] = k.buddy.freePagesByType();
      const pages = { UNMOVABLE: unmovable, MOVABLE: movable, CMA: cma, ALL: unmovable + movable + cma }[
        cmd.migratetype
      ];
      const bytes = pages * PAGE_SIZE;
      const what = `free ${cmd.migratetype} memory is ${formatBytes(bytes)}`;
      if (cmd.atLeast !== undefined && bytes < cmd.atLeast)
        return checkFailed(`${what}, expected at least ${formatBytes(cmd.atLeast)}`);
      if (cmd.atMost !== undefined && bytes > cmd.atMost)
        return checkFailed(`${what}, expected at most ${formatBytes(cmd.atMost)}`);
      return done(what);
    }
  }
}

function withProcess(k: Kernel, name: string, op: string, f: (p: Process) => StepResult): StepResult {
  const p = k.processes.get(name);
  return isErr(p) ? failed(p, op) : f(p);
}

/** Runs `f` on a memfd fd; any other kind of file is EINVAL, as a memfd-only call would answer. */
function withFile(
  k: Kernel,
  name: string,
  fd: number,
  op: string,
  f: (p: Process, file: MemfdFile) => StepResult,
): StepResult {
  return withProcess(k, name, op, (p) => {
    const file = k.processes.file(p, fd);
    if (isErr(file)) return failed(file, op);
    if (file.kind !== 'memfd') return failed(kerr('EINVAL', `fd ${fd} is not a memfd`), op);
    return f(p, file);
  });
}

type LuoCommand = Extract<
  Command,
  {
    op:
      | 'luo_open'
      | 'luo_create_session'
      | 'luo_retrieve_session'
      | 'luo_preserve_fd'
      | 'luo_retrieve_fd'
      | 'luo_finish'
      | 'luo_get_name';
  }
>;

const IOCTL = {
  luo_create_session: 'ioctl(LIVEUPDATE_IOCTL_CREATE_SESSION)',
  luo_retrieve_session: 'ioctl(LIVEUPDATE_IOCTL_RETRIEVE_SESSION)',
  luo_preserve_fd: 'ioctl(LIVEUPDATE_SESSION_PRESERVE_FD)',
  luo_retrieve_fd: 'ioctl(LIVEUPDATE_SESSION_RETRIEVE_FD)',
  luo_finish: 'ioctl(LIVEUPDATE_SESSION_FINISH)',
  luo_get_name: 'ioctl(LIVEUPDATE_SESSION_GET_NAME)',
} as const;

const SESSION_IOCTL = {
  luo_preserve_fd: 'preserve_fd',
  luo_retrieve_fd: 'retrieve_fd',
  luo_finish: 'finish',
  luo_get_name: 'get_name',
} as const;

/** /dev/liveupdate and its session fds, reported as a shell reports a refused call. */
function runLuo(k: Kernel, cmd: LuoCommand): StepResult {
  const op = cmd.op === 'luo_open' ? 'open(/dev/liveupdate)' : IOCTL[cmd.op];
  const luo = k.luo;
  if (!luo)
    return failed(kerr('ENOENT', '/dev/liveupdate does not exist: LUO is off (boot with kho=on liveupdate=on)'), op);
  return withProcess(k, cmd.process, op, (p) => {
    const install = (file: Parameters<typeof k.processes.install>[1], what: string): StepResult => {
      const fd = k.processes.install(p, file);
      return isErr(fd) ? failed(fd, op) : done(`fd ${fd} → ${what}`, fd);
    };
    if (cmd.op === 'luo_open') {
      const e = luo.open();
      if (e) return failed(e, op);
      const r = install({ kind: 'liveupdate' }, '/dev/liveupdate');
      if (!r.ok) luo.release();
      return r;
    }
    if (cmd.op === 'luo_create_session' || cmd.op === 'luo_retrieve_session') {
      const dev = k.processes.file(p, cmd.fd);
      if (isErr(dev)) return failed(dev, op);
      // A session fd's luo_session_ioctl() refuses the number (EINVAL); other files have no ioctl.
      if (dev.kind === 'session')
        return failed(
          kerr('EINVAL', `fd ${cmd.fd} is a LUO session: luo_session_ioctl() rejects a /dev/liveupdate ioctl number`),
          op,
        );
      if (dev.kind !== 'liveupdate')
        return failed(kerr('ENOTTY', `fd ${cmd.fd} is not /dev/liveupdate: its file has no such ioctl`), op);
      const bad = luo.ioctlArgs(
        cmd.op === 'luo_create_session' ? 'create_session' : 'retrieve_session',
        cmd.size,
        cmd.trailing,
      );
      if (bad) return failed(bad, op);
      const s = cmd.op === 'luo_create_session' ? luo.createSession(cmd.name) : luo.retrieveSession(cmd.name);
      if (isErr(s)) return failed(s, op);
      return install({ kind: 'session', session: s }, `[luo_session] ${s.name}`);
    }
    const sf = k.processes.file(p, cmd.session_fd);
    if (isErr(sf)) return failed(sf, op);
    // luo_ioctl() on /dev/liveupdate refuses a session ioctl number (EINVAL); other files have no ioctl.
    if (sf.kind === 'liveupdate')
      return failed(
        kerr('EINVAL', `fd ${cmd.session_fd} is /dev/liveupdate: luo_ioctl() rejects a session ioctl number`),
        op,
      );
    if (sf.kind !== 'session')
      return failed(kerr('ENOTTY', `fd ${cmd.session_fd} is not a LUO session: its file has no such ioctl`), op);
    const session: LuoSession = sf.session;
    const ioctl = SESSION_IOCTL[cmd.op];
    const bad = luo.sessionIoctlCheck(session, ioctl, cmd.size, cmd.trailing);
    if (bad) return failed(bad, op);
    switch (cmd.op) {
      case 'luo_preserve_fd': {
        const e = luo.preserveFd(session, k.processes.file(p, cmd.fd), BigInt(cmd.token));
        return e
          ? failed(e, op)
          : done(`fd ${cmd.fd} preserved in "${session.name}" with token ${tokenText(cmd.token)}`);
      }
      case 'luo_retrieve_fd': {
        const file = luo.retrieveFd(session, BigInt(cmd.token));
        return isErr(file) ? failed(file, op) : install(file, `token ${tokenText(cmd.token)} of "${session.name}"`);
      }
      case 'luo_finish': {
        const e = luo.finish(session);
        return e ? failed(e, op) : done(`session "${session.name}" finished`);
      }
      case 'luo_get_name': {
        const name = luo.getName(session, cmd.reserved ?? 0);
        if (isErr(name)) return failed(name, op);
        const got = returnedName(name, cmd.size);
        if (cmd.name !== undefined && got !== cmd.name)
          return checkFailed(`${op}: the kernel answered "${got}", expected "${cmd.name}"`);
        return done(`session fd ${cmd.session_fd} is "${got}"`);
      }
    }
  });
}

/**
 * The name as userspace reads it back: luo_ucmd_respond() copies min(size, 72) bytes, so a short
 * struct gets the name cut after `size - 8` bytes (the strscpy()'d name starts at byte 8).
 */
function returnedName(name: string, size = LIVEUPDATE_SESSION_GET_NAME_SIZE): string {
  const bytes = utf8Encode(name).subarray(0, Math.max(0, Math.min(size, LIVEUPDATE_SESSION_GET_NAME_SIZE) - 8));
  return utf8Decode(bytes);
}

function allocTagged(k: Kernel, cmd: Extract<Command, { op: 'alloc_pages' }>): StepResult {
  const mt = cmd.gfp === 'GFP_KERNEL' ? MIGRATE_UNMOVABLE : MIGRATE_MOVABLE;
  const owner = k.owners.id('kernel', `alloc_pages:${cmd.tag}`);
  let a = k.allocations.get(cmd.tag);
  if (a && a.order !== cmd.order)
    return failed(kerr('EINVAL', `tag ${cmd.tag} holds order-${a.order} blocks`), 'alloc_pages');
  if (!a) k.allocations.set(cmd.tag, (a = { order: cmd.order, pfns: [] }));
  for (let i = 0; i < cmd.count; i++) {
    const pfn = k.buddy.allocPages(cmd.order, mt, cmd.nid ?? k.preferredNid, owner, cmd.folio);
    if (pfn === ALLOC_FAILED) {
      k.log.warn(
        '',
        `alloc_pages: page allocation failure: order:${cmd.order}, mode:${cmd.gfp === 'GFP_KERNEL' ? '0xcc0(GFP_KERNEL)' : '0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO)'}`,
      );
      if (a.pfns.length === 0) k.allocations.delete(cmd.tag);
      return stepFailed({
        errno: 'ENOMEM',
        message: `alloc_pages: ENOMEM after ${i} of ${cmd.count} order-${cmd.order} blocks`,
      });
    }
    a.pfns.push(pfn);
    if (i % 65536 === 65535) k.progress('alloc_pages', i + 1, cmd.count);
  }
  return done(`${cmd.count} order-${cmd.order} blocks under ${cmd.tag}`);
}

/** Compares every page the process wrote with what the file holds now. */
function verifyMemfd(k: Kernel, p: Process, inode: Parameters<Kernel['processes']['remember']>[1]): StepResult {
  const expected = p.written.get(inode);
  if (!expected || expected.size === 0) return done(`${memfdLabel(inode)}: nothing written to verify`);
  const bad: string[] = [];
  let mismatches = 0;
  for (const [index, sum] of expected.entries()) {
    if (k.processes.pageChecksum(inode, index) === sum) continue;
    mismatches++;
    if (bad.length < 8) {
      const pfn = inode.pages.get(index);
      bad.push(`index ${index} (${pfn < 0 ? 'hole' : `pfn 0x${pfn.toString(16)}`})`);
    }
  }
  if (mismatches)
    return checkFailed(
      `${memfdLabel(inode)}: ${mismatches} of ${expected.size} pages differ: ${bad.join(', ')}${mismatches > bad.length ? ', …' : ''}`,
    );
  return done(`${memfdLabel(inode)}: all ${expected.size} written pages match`);
}

/**
 * What a VMM keeps about its guest memory: the checksum of every page of `src` (u32 little-endian,
 * page order), stored in the memfd `dst`, grown to fit. Only bytes in RAM: a later kernel can
 * read them back from a preserved copy of `dst`.
 */
function saveChecksums(k: Kernel, p: Process, src: MemfdFile, dst: MemfdFile, dstFd: number): StepResult {
  const pages = Math.ceil(src.inode.size / PAGE_SIZE);
  const length = pages * 4;
  const inode = dst.inode;
  if (inode.size !== length) {
    const e = k.shmem.truncate(inode, length);
    if (e) return failed(e, 'save_checksums');
  }
  const e = k.shmem.fallocate(inode, 0, length, false);
  if (e) return failed(e, 'save_checksums');
  // A page of checksums at a time: never the whole file in host memory.
  const sums = new Uint32Array(PAGE_SIZE / 4);
  const page = new Uint8Array(PAGE_SIZE);
  const view = new DataView(page.buffer);
  for (let first = 0; first < pages; first += sums.length) {
    const n = Math.min(sums.length, pages - first);
    k.processes.pageChecksums(src.inode, first, n, sums);
    for (let i = 0; i < n; i++) view.setUint32(i * 4, sums[i]!, true);
    const pfn = inode.pages.get(first / sums.length);
    k.ram.write(pfn * PAGE_SIZE, page.subarray(0, n * 4));
    k.pages.flags.or(k.pages.compoundHead(pfn), PG.dirty | PG.uptodate); // a write: shmem_write_end()
  }
  k.processes.remember(p, inode, 0, length);
  return done(`checksums of ${pages} pages of ${memfdLabel(src.inode)} stored in fd ${dstFd} (${formatBytes(length)})`);
}

/** A failed memfd check's culprit: the page at `index` of the file, when one is there (not a hole). */
function memfdPageAt(inode: ShmemInode, index: number, what: string): FailedAt | undefined {
  const pfn = inode.pages.get(index);
  return pfn >= 0 ? { pfn, pages: 1, what } : undefined;
}

/** Compares the page checksums of `f` with the ones `state` holds (as save_checksums wrote them). */

function expectChecksums(k: Kernel, f: MemfdFile, state: MemfdFile): StepResult {
  const count = Math.floor(state.inode.size / 4);
  const pages = Math.ceil(f.inode.size / PAGE_SIZE);
  if (count !== pages)
    return checkFailed(`${memfdLabel(f.inode)} has ${pages} pages; the state holds ${count} checksums`);
  const bad: number[] = [];
  let mismatches = 0;
  // A page of the state file at a time: never the whole file in host memory.
  const sums = new Uint32Array(PAGE_SIZE / 4);
  for (let first = 0; first < pages; first += sums.length) {
    const n = Math.min(sums.length, pages - first);
    const stored = k.shmem.read(state.inode, first * 4, n * 4);
    const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
    k.processes.pageChecksums(f.inode, first, n, sums);
    for (let i = 0; i < n; i++) {
      if (sums[i] === view.getUint32(i * 4, true)) continue;
      mismatches++;
      if (bad.length < 8) bad.push(first + i);
    }
  }
  if (mismatches)
    return checkFailed(
      `${memfdLabel(f.inode)}: ${mismatches} of ${pages} pages differ from the stored checksums: index ${bad.join(', ')}${mismatches > bad.length ? ', …' : ''}`,
      memfdPageAt(f.inode, bad[0]!, `${memfdLabel(f.inode)} page ${bad[0]!}: checksum differs`),
    );
  return done(
    `${memfdLabel(f.inode)}: all ${pages} pages match the ${count} checksums read from memfd:${state.inode.name}`,
  );
}
