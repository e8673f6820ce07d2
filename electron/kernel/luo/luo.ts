/**
 * DOC: the Live Update Orchestrator as Linux 6.19 has it (kernel/liveupdate/luo_core.c,
 * luo_session.c, luo_file.c)
 *
 * LUO is off unless the command line says `liveupdate=on` (luo_global.enabled, a kstrtobool()
 * early_param) and KHO is on. Early at boot, whenever KHO is on, luo_early_startup() checks the
 * previous kernel's "LUO" subtree — exact `luo-v1` compatible, an 8-byte `liveupdate-number`, the
 * `luo-session` node and its compatible, an 8-byte session header — and a mismatch is
 * luo_restore_fail(): a panic. Late at boot an enabled LUO preserves its FDT page and 16-page
 * session block and publishes the FDT as KHO subtree "LUO", registers its file handlers and
 * /dev/liveupdate; off, there is no /dev/liveupdate and reboot() finalizes nothing.
 *
 * /dev/liveupdate has one opener at a time (EBUSY). Its first open deserializes the incoming
 * sessions from RAM (a failure is EIO on every open), matching every file to a handler by exact
 * compatible; 6.19.0 ignores a file that matches none, and the files after it, leaving the
 * session retrievable without them. Before 7.2 the session ioctls have no direction checks:
 * PRESERVE_FD works on an incoming session, RETRIEVE_FD and FINISH run on an outgoing one with
 * what that means for its records. The semantics later releases changed are profile fields
 * (profile.luo: the remembered retrieve status, double preservation, session-name validation,
 * GET_NAME, the direction checks), read where the kernel function has them. At reboot
 * luo_session_serialize() freezes every file, sessions in list order; a failure rolls back
 * (freezeSession()) and the reboot fails with its errno. Then the records are written and KHO
 * finalized (a failure there is EAGAIN). Every ioctl first checks its argument struct's `size`
 * (below the minimum EINVAL, non-zero bytes past the struct E2BIG).
 *
 * Where the records live is the release's (store.ts, chosen by profile.luo.storage): the LUO FDT
 * and fixed arrays above, or 7.2's luo_ser with kho_block chains and FLB records (flb.ts).
 *
 * Simulator-only knobs, no kernel has them, and their log lines say "kho-lab":
 * `luo.disable_handler=memfd-v1` boots a kernel built without that handler,
 * `luo.memfd_format=` picks the memfd format new preservations use (memfd-v1, memfd-fdt-v1 or
 * memfd-karr-v1), `luo.memfd_keep_holes=1` keeps holes out of the pinned set (memfd-handler.ts),
 * and `failNextFreeze` (scenario op luo_fail_next_freeze) makes one freeze fail, for the rollback.
 */
import { LIVEUPDATE_IOCTL_SIZES, LIVEUPDATE_SESSION_NAME_LENGTH, type LiveupdateIoctl } from '../abi/luo-v1';
import { luoRestoreFailMessage } from '../abi/luo-v5';
import { type ErrnoName, type KernelError, isErr, kerr } from '../lib/errno';
import { utf8Decode, utf8Encode } from '../lib/utf8';
import type { Kernel } from '../kernel';
import type { OpenFile } from '../proc';
import type { LiveupdateFileHandler } from './file-handler';
import { FlbRegistry, liveupdateTestFlbs, liveupdateTestRegister, type LuoFlb } from './flb';
import { MemfdLuoHandler, type MemfdPolicy } from './memfd-handler';
import type { MemfdFormat } from './memfd/format';
import { memfdFdt } from './memfd/fdt';
import { memfdKarr } from './memfd/karr';
import { memfdV1 } from './memfd/v1';
import { memfdV2 } from './memfd/v2';
import type { LuoStore } from './store';
import { LuoSerBlocksStore } from './store-blocks';
import { FdtArraysStore } from './store-fdt';
import { type LuoFile, LuoSession, tokenHex } from './session';

/** The memfd formats of the seed debate: every simulated kernel is built with them. */
export const MEMFD_FORMATS: readonly MemfdFormat[] = [memfdV1, memfdFdt, memfdKarr];

/** The formats a kernel of this profile registers: its own (7.2: memfd-v2) first, then the seed three. */
function kernelMemfdFormats(k: Kernel): MemfdFormat[] {
  const own = k.ctx.profile.luo.memfdFormat;
  const first = [...MEMFD_FORMATS, memfdV2].find((f) => f.compatible === own) ?? memfdV1;
  return [first, ...MEMFD_FORMATS.filter((f) => f !== first)];
}

/** The storage the booting kernel's profile hands LUO's state over in. */
function createStore(k: Kernel): LuoStore {
  return k.ctx.profile.luo.storage === 'luo_ser-blocks' ? new LuoSerBlocksStore(k) : new FdtArraysStore(k);
}

/** Simulator boot options (kernel command line): see the DOC above and memfd-handler.ts. */
export interface LuoBootOptions {
  /** luo.disable_handler=a,b: handlers this kernel is built without. */
  disabledHandlers?: readonly string[];
  /** luo.memfd_format=…: the format new memfd preservations use. */
  memfdFormat?: string;
  /** luo.memfd_keep_holes=1. */
  keepHoles?: boolean;
}

/** strscpy() into the 64-byte name field: at most 63 bytes, ending at the first NUL. */
function sessionName(name: string): string {
  const b = utf8Encode(name);
  const nul = b.indexOf(0);
  const end = Math.min(nul < 0 ? b.length : nul, LIVEUPDATE_SESSION_NAME_LENGTH - 1);
  return end === b.length ? name : utf8Decode(b.subarray(0, end));
}

/** luo_session_create() (7.2): why strnlen(name, 64) of the 64-byte field is refused, or null. */
function invalidSessionName(name: string): string | null {
  const b = utf8Encode(name);
  const nul = b.indexOf(0);
  const len = Math.min(nul < 0 ? b.length : nul, LIVEUPDATE_SESSION_NAME_LENGTH);
  if (len === 0) return 'the session name is empty';
  if (len === LIVEUPDATE_SESSION_NAME_LENGTH)
    return `the session name has no NUL within its ${LIVEUPDATE_SESSION_NAME_LENGTH} bytes`;
  return null;
}

/** What luo_early_startup() took from the previous kernel's "LUO" entry. */
export interface LuoIncoming {
  liveupdateNumber: bigint;
  /** The storage that read it, holding the incoming sessions until the first open. */
  store: LuoStore;
  /** FLB state with the previous kernel's records (null: this release has no FLBs). */
  flb: FlbRegistry | null;
}

export class Luo {
  readonly handlers = new Map<string, LiveupdateFileHandler>();
  readonly outgoing: LuoSession[] = [];
  readonly incoming: LuoSession[] = [];
  devOpen = false;
  /**
   * luo_preserved_files (7.1+, profile.luo.preservedFilesUnique): every outgoing preserved file
   * under its handler's get_id(), so one file is preserved at most once in all sessions.
   */
  private readonly preservedFiles = new Set<unknown>();
  /** Which memfd format preserves new files, and whether holes are pinned (simulator options). */
  readonly memfdPolicy: MemfdPolicy = { format: MEMFD_FORMATS[0]!.compatible, keepHoles: false };
  /** luo_session_deserialize() ran: not yet, fine, or failed (every open is then EIO). */
  deserialized: 'no' | 'ok' | 'eio' = 'no';
  /** liveupdate-number this kernel publishes: the incoming one + 1 (1 after a cold boot). */
  liveupdateNumber = 1n;
  /** The test FLBs of CONFIG_LIVEUPDATE_TEST, when the profile builds them. */
  private testFlbs: LuoFlb[] = [];
  /**
   * Simulator fault injection (scenario op luo_fail_next_freeze; no kernel has it): the next
   * reboot() fails the freeze of the file with this token (null: the first file) with `errno`.
   */
  failNextFreeze: { errno: ErrnoName; token: bigint | null } | null = null;

  private constructor(
    private readonly k: Kernel,
    /** Where this release keeps what crosses the kexec (profile.luo.storage). */
    readonly store: LuoStore,
    /** FLB global state (profile.luo.flb), null in releases without it. */
    readonly flb: FlbRegistry | null,
  ) {}

  /** The outgoing LUO FDT (6.19) or luo_ser (7.2). */
  get fdtPhys(): number {
    return this.store.outgoingPhys;
  }

  /** The outgoing session array (6.19) or the head of the session block chain (7.2). */
  get sessionBlockPhys(): number {
    return this.store.sessionsPhys;
  }

  /** The previous kernel's session records, until deserialization frees them (0: none). */
  get incomingHeaderPhys(): number {
    return this.store.incomingSessionsPhys;
  }

  private get log() {
    return this.k.log;
  }

  /**
   * luo_early_startup() (early_initcall, kernel/liveupdate/luo_core.c): with KHO on, checks the
   * previous kernel's "LUO" subtree whether or not `liveupdate=` is on. A tree that does not
   * parse is luo_restore_fail(), i.e. panic() — the next kernel cannot tell userspace which of
   * its preserved resources are gone. Returns what the late init needs, or null (no incoming
   * tree, or the kernel panicked: check `k.panicked`).
   */
  static earlyStartup(k: Kernel, khoEnabled: boolean, enabled: boolean): LuoIncoming | null {
    if (!khoEnabled) {
      if (enabled) k.log.warn('luo', 'Disabling liveupdate because KHO is disabled');
      return null;
    }
    const store = createStore(k);
    const flb = k.ctx.profile.luo.flb ? new FlbRegistry(k) : null;
    const r = store.readIncoming(flb);
    if (r === null) return null;
    if (typeof r === 'bigint') return { liveupdateNumber: r, store, flb };
    // liveupdate_early_init() → luo_restore_fail() is panic() (luo_internal.h), with the errno as a number.
    k.panic(luoRestoreFailMessage(r.errno));
    return null;
  }

  /**
   * luo_late_startup() + liveupdate_ioctl_init() + the handlers' late_initcalls: null when LUO is
   * off. `luo_global.enabled` starts false in 6.19; only `liveupdate=on` (kstrtobool) sets it.
   */
  static init(k: Kernel, enabled: boolean, incoming: LuoIncoming | null, opts: LuoBootOptions = {}): Luo | null {
    if (!enabled || !k.khoOut || k.panicked !== null) return null;
    const luo = new Luo(
      k,
      incoming?.store ?? createStore(k),
      incoming?.flb ?? (k.ctx.profile.luo.flb ? new FlbRegistry(k) : null),
    );
    if (incoming) luo.liveupdateNumber = incoming.liveupdateNumber + 1n;
    if (luo.flb && k.ctx.profile.luo.testFlbs) luo.testFlbs = liveupdateTestFlbs();
    const formats = kernelMemfdFormats(k);
    let format = opts.memfdFormat ?? formats[0]!.compatible;
    if (!formats.some((f) => f.compatible === format)) {
      k.log.warn(
        'kho-lab',
        `luo.memfd_format=${format}: no such format (${formats.map((f) => f.compatible).join(', ')}); using ${formats[0]!.compatible}`,
      );
      format = formats[0]!.compatible;
    }
    luo.memfdPolicy.format = format;
    luo.memfdPolicy.keepHoles = opts.keepHoles ?? false;
    let e: KernelError | null = null;
    for (const f of formats) {
      // Simulator option `luo.disable_handler=…`: a kernel built without that handler.
      if (opts.disabledHandlers?.includes(f.compatible)) {
        k.log.info('kho-lab', `file handler ${f.compatible} not registered (luo.disable_handler)`);
        continue;
      }
      e ??= luo.registerFileHandler(new MemfdLuoHandler(k, f, luo.memfdPolicy));
    }
    e ??= luo.store.setupOutgoing(luo.liveupdateNumber, luo.flb);
    if (e) {
      k.log.err('luo', `failed to prepare ${luo.store.outgoingName}: ${e.value}`);
      k.log.err('kho-lab', `LUO is off: ${e.reason}`);
      return null;
    }
    k.log.info('kho-lab', `LUO: liveupdate-number ${luo.liveupdateNumber}; /dev/liveupdate registered`);
    return luo;
  }

  /** liveupdate_register_file_handler(). */
  registerFileHandler(h: LiveupdateFileHandler): KernelError | null {
    if (this.outgoing.length || this.incoming.length)
      return kerr('EBUSY', 'sessions exist: handlers register only while LUO is quiescent');
    if (this.handlers.has(h.compatible)) return kerr('EEXIST', `a handler for ${h.compatible} is registered`);
    this.handlers.set(h.compatible, h);
    // CONFIG_LIVEUPDATE_TEST: liveupdate_register_file_handler() ends with liveupdate_test_register().
    if (this.flb && this.testFlbs.length) liveupdateTestRegister(this.k, this.flb, this.testFlbs, h.compatible);
    return null;
  }

  /** open("/dev/liveupdate"): one opener; the first open deserializes the incoming sessions. */
  open(): KernelError | null {
    if (this.devOpen) return kerr('EBUSY', '/dev/liveupdate is already open');
    if (this.deserialized === 'no') {
      const e = this.deserialize();
      this.deserialized = e ? 'eio' : 'ok';
      if (e) this.log.err('kho-lab', `LUO: deserialization of the incoming sessions failed: ${e.errno} (${e.reason})`);
    }
    if (this.deserialized === 'eio')
      return kerr('EIO', 'the incoming sessions could not be deserialized (sticky until the next reboot)');
    this.devOpen = true;
    return null;
  }

  release(): void {
    this.devOpen = false;
  }

  /** luo_session_deserialize(): the storage's records become the incoming sessions (store-*.ts). */
  private deserialize(): KernelError | null {
    return this.store.deserialize(this);
  }

  /**
   * The argument checks of luo_ioctl()/luo_session_ioctl(): `size` below the struct's minimum is
   * EINVAL; past it, copy_struct_from_user() refuses any non-zero byte with E2BIG.
   */
  ioctlArgs(ioctl: LiveupdateIoctl, size: number | undefined, trailing = 0): KernelError | null {
    const min = LIVEUPDATE_IOCTL_SIZES[ioctl];
    const given = size ?? min;
    if (given < min) return kerr('EINVAL', `argument size ${given} is below the ${min}-byte struct`);
    if (given > min && trailing !== 0)
      return kerr('E2BIG', `${given - min} byte(s) past the ${min}-byte struct are not zero`);
    return null;
  }

  /**
   * LIVEUPDATE_IOCTL_CREATE_SESSION → luo_session_create(). 6.19–7.1: the name is whatever the
   * 64-byte field holds, cut to 63 bytes by strscpy() — empty names are fine, long ones truncated.
   * 7.2 (profile.luo.sessionNameValidation): strnlen(name, 64) of 0 or 64 — empty, or no NUL in
   * the field — is EINVAL before anything is allocated.
   */
  createSession(name: string): LuoSession | KernelError {
    if (this.k.ctx.profile.luo.sessionNameValidation) {
      const bad = invalidSessionName(name);
      if (bad) return kerr('EINVAL', bad);
    }
    name = sessionName(name);
    // luo_session_insert(): room in the storage first (6.19: ENOMEM past 819; 7.2: a new block).
    const room = this.store.reserveSessions(this.outgoing.length + 1);
    if (room) return room;
    if (this.outgoing.some((s) => s.name === name)) return kerr('EEXIST', `an outgoing session named "${name}" exists`);
    const s = new LuoSession(name, false);
    this.outgoing.push(s);
    return s;
  }

  /** LIVEUPDATE_IOCTL_RETRIEVE_SESSION → luo_session_retrieve() (names compared as strncmp() over 64 bytes). */
  retrieveSession(name: string): LuoSession | KernelError {
    name = sessionName(name);
    const s = this.incoming.find((x) => x.name === name);
    if (!s) return kerr('ENOENT', `no incoming session named "${name}"`);
    if (s.retrieved) return kerr('EINVAL', `session "${name}" was already retrieved`);
    s.retrieved = true;
    return s;
  }

  /** LIVEUPDATE_SESSION_PRESERVE_FD: `file` is what the fd resolved to (EBADF when it did not). */
  preserveFd(s: LuoSession, file: OpenFile | KernelError, token: bigint): KernelError | null {
    // No direction check in 6.19: an incoming session takes the file too (see the DOC above).
    if (s.fileByToken(token)) return kerr('EEXIST', `token ${tokenHex(token)} is already used in session "${s.name}"`);
    // Room for the record first (6.19: ENOSPC past 128, the array at the first file; 7.2: a block).
    const room = this.store.reserveFile(s);
    if (room) return room;
    const dropArray = () => this.store.unreserveFile(s);
    if (isErr(file)) {
      dropArray();
      return file;
    }
    const handler = [...this.handlers.values()].find((h) => h.canPreserve(file));
    if (!handler) {
      dropArray();
      return kerr('ENOENT', `no file handler can preserve a ${file.kind} file`);
    }
    // 7.1+: xa_insert() into luo_preserved_files refuses an id already there with -EBUSY.
    const unique = this.k.ctx.profile.luo.preservedFilesUnique;
    const id = handler.getId?.(file) ?? file;
    if (unique && this.preservedFiles.has(id)) {
      dropArray();
      return kerr('EBUSY', `this ${file.kind} file is already preserved (luo_preserved_files)`);
    }
    // luo_flb_file_preserve(): the handler's FLBs count this file before the handler runs.
    const flbErr = this.flb?.filePreserve(handler.compatible);
    if (flbErr) {
      dropArray();
      return flbErr;
    }
    const args = { handler, retrieved: false, file, serializedData: 0, privateData: null as unknown };
    const e = handler.preserve(args);
    if (e) {
      this.flb?.fileUnpreserve(handler.compatible);
      dropArray();
      return e;
    }
    if (unique) this.preservedFiles.add(id);
    if (file.kind === 'memfd') file.inode.refs++; // LUO co-owns the file
    s.files.push({ token, compatible: handler.compatible, handler, args });
    return null;
  }

  /**
   * LIVEUPDATE_SESSION_RETRIEVE_FD → luo_retrieve_file(): the file (the caller installs an fd); a
   * second retrieve gives the same file. A failed retrieve is tried again by 6.19; 7.0+
   * (profile.luo.retrieveStatusRemembered) keeps its error in retrieve_status and returns it from
   * then on without calling the handler. No direction check before 7.2: on an outgoing session the
   * handler's retrieve runs on this kernel's own records and fails (kho_restore_page() finds no stamp).
   */
  retrieveFd(s: LuoSession, token: bigint): OpenFile | KernelError {
    const f = s.fileByToken(token);
    if (!f) return kerr('ENOENT', `no file with token ${tokenHex(token)} in session "${s.name}"`);
    if (f.args.retrieveError) return f.args.retrieveError;
    if (!f.args.retrieved) {
      const e = f.handler.retrieve(f.args);
      if (e) {
        if (this.k.ctx.profile.luo.retrieveStatusRemembered) f.args.retrieveError = e;
        return e;
      }
      f.args.retrieved = true;
    }
    return f.args.file!;
  }

  /**
   * luo_session_ioctl()'s luo_ioctl_type_valid() (7.2, profile.luo.sessionIoctlDirection): which
   * sessions an ioctl applies to — PRESERVE_FD outgoing only, RETRIEVE_FD and FINISH retrieved
   * (incoming) only, GET_NAME both. Checked before the argument size; a mismatch is EINVAL.
   */
  private sessionIoctlAllowed(s: LuoSession, ioctl: LiveupdateIoctl): KernelError | null {
    if (!this.k.ctx.profile.luo.sessionIoctlDirection || ioctl === 'get_name') return null;
    const incoming = ioctl === 'retrieve_fd' || ioctl === 'finish';
    if (incoming === s.retrieved) return null;
    return kerr(
      'EINVAL',
      `session "${s.name}" is ${s.retrieved ? 'incoming' : 'outgoing'}: this ioctl applies to ${incoming ? 'retrieved' : 'outgoing'} sessions only`,
    );
  }

  /**
   * luo_session_ioctl() before it runs a session ioctl, in its order: a number past the release's
   * table (GET_NAME before 7.2) is EINVAL, then the direction (7.2), then the argument size.
   */
  sessionIoctlCheck(s: LuoSession, ioctl: LiveupdateIoctl, size?: number, trailing?: number): KernelError | null {
    if (ioctl === 'get_name' && !this.k.ctx.profile.luo.sessionGetName)
      return kerr('EINVAL', 'no LIVEUPDATE_SESSION_GET_NAME in this release: luo_session_ioctl() rejects the number');
    return this.sessionIoctlAllowed(s, ioctl) ?? this.ioctlArgs(ioctl, size, trailing);
  }

  /**
   * LIVEUPDATE_SESSION_GET_NAME → luo_session_get_name() (7.2; sessionIoctlCheck() refuses it
   * before): `reserved` must be 0 (EINVAL); the name, strscpy()'d into the 64-byte field.
   */
  getName(s: LuoSession, reserved: number): string | KernelError {
    if (reserved !== 0) return kerr('EINVAL', `reserved is ${reserved}, must be 0`);
    return sessionName(s.name);
  }

  /**
   * LIVEUPDATE_SESSION_FINISH → luo_file_finish(): every can_finish, then every finish (last file
   * first), LUO's reference dropped, the file array kho_restore_free()d. No direction check: on an
   * outgoing session the files are dropped and 0 returned, while their preservations — restored
   * from nothing — stay behind, leaked (memfd's finish and kho_restore_free() warn).
   */
  finish(s: LuoSession): KernelError | null {
    for (const f of s.files)
      if (f.handler.canFinish && !f.handler.canFinish(f.args))
        return kerr('EBUSY', `${f.compatible} token ${tokenHex(f.token)} cannot finish yet`);
    for (const f of [...s.files].reverse()) {
      f.handler.finish(f.args);
      this.flb?.fileFinish(f.handler.compatible);
      if (f.args.file?.kind === 'memfd') this.k.processes.putMemfd(f.args.file);
    }
    s.files.length = 0;
    this.store.dropFiles(s);
    s.finished = true;
    return null;
  }

  /**
   * luo_session_release(), the last close of a session fd: outgoing → unpreserve every file (last
   * first) and delete the session; incoming → finish, and a failed finish keeps the session, still
   * retrieved, so a new RETRIEVE_SESSION is EINVAL: it stays until the next live update.
   */
  closeSession(s: LuoSession): void {
    if (!s.incoming) {
      for (const f of [...s.files].reverse()) this.unpreserveFile(f);
      s.files.length = 0;
      this.store.dropFiles(s);
      this.outgoing.splice(this.outgoing.indexOf(s), 1);
      this.store.releaseSessions(this.outgoing.length);
      this.log.info('kho-lab', `session "${s.name}" closed before reboot: its files are no longer preserved`);
      return;
    }
    const e = this.finish(s);
    if (e) {
      this.log.warn('luo', `Unable to finish session [${s.name}] on release`);
      return;
    }
    // luo_session_free() → luo_file_set_destroy(): WARN_ON(file_set->count) for files never deserialized.
    if (s.lost) {
      this.k.warn('kernel/liveupdate/luo_file.c', 'luo_file_set_destroy');
      this.log.info(
        'kho-lab',
        `session [${s.name}] freed with a count of ${s.lost}: those files were never deserialized; their memory stays preserved, leaked`,
      );
    }
    this.incoming.splice(this.incoming.indexOf(s), 1);
  }

  private unpreserveFile(f: LuoFile): void {
    f.handler.unpreserve(f.args);
    if (f.args.file) this.preservedFiles.delete(f.handler.getId?.(f.args.file) ?? f.args.file);
    this.flb?.fileUnpreserve(f.handler.compatible);
    if (f.args.file?.kind === 'memfd') this.k.processes.putMemfd(f.args.file);
  }

  /**
   * liveupdate_reboot() (kernel/liveupdate/luo_core.c): luo_session_serialize() freezes the
   * sessions in list order, then kho_finalize(). A failed freeze rolls back as 6.19 does and the
   * reboot fails with that errno; see freezeSession().
   */
  reboot(): KernelError | null {
    for (const [i, s] of this.outgoing.entries()) {
      const e = this.freezeSession(s);
      if (!e) continue;
      // luo_session_serialize()'s err_undo: the sessions frozen before, last first.
      for (let j = i - 1; j >= 0; j--) for (const f of this.outgoing[j]!.files) this.unfreezeFile(this.outgoing[j]!, f);
      return e;
    }
    const w = this.store.serialize(this.outgoing);
    if (w) return w;
    // luo_flb_serialize(): the FLB records, written only now (before this their count is 0).
    this.flb?.serialize();
    // liveupdate_reboot() (kernel/liveupdate/luo_core.c) calls kho_finalize() whether or not
    // userspace already did: a second "KHO finalized" line follows. Say so, as the simulator.
    // From 7.1 KHO is stateless: there is no kho_finalize() to call.
    if (this.k.ctx.profile.kho.finalize === 'none') {
      this.log.info(
        'kho-lab',
        `serialized ${this.outgoing.length} session(s) for live update ${this.liveupdateNumber}`,
      );
      return null;
    }
    if (this.k.khoOut!.finalized)
      this.log.info(
        'kho-lab',
        'liveupdate_reboot() finalized KHO again: kho_finalize() re-serializes the tracker and replaces the earlier chunk list',
      );
    const e = this.k.khoOut!.finalize();
    if (e) {
      this.log.err('luo', `kho_finalize failed ${e.value}`);
      return kerr('EAGAIN', `kho_finalize failed: ${e.reason}`);
    }
    this.log.info('kho-lab', `serialized ${this.outgoing.length} session(s) for live update ${this.liveupdateNumber}`);
    return null;
  }

  /**
   * luo_file_freeze() (kernel/liveupdate/luo_file.c): each file in preserve order. On a failure,
   * __luo_file_unfreeze() unfreezes the files before it, first to last, and each loses its
   * serialized_data (luo_file_unfreeze_one() zeroes it): a later reboot finds no handle and
   * memfd's freeze fails with EINVAL; closing the session then leaks those files.
   */
  private freezeSession(s: LuoSession): KernelError | null {
    for (const [i, f] of s.files.entries()) {
      const inject = this.failNextFreeze;
      const injected = inject && (inject.token === null || inject.token === f.token);
      if (injected) this.failNextFreeze = null;
      if (injected)
        this.log.info(
          'kho-lab',
          `injected freeze failure: ${inject.errno} for token ${tokenHex(f.token)} (luo_fail_next_freeze)`,
        );
      const e = injected
        ? kerr(inject.errno, 'injected freeze failure (simulator fault injection)')
        : f.handler.freeze
          ? f.handler.freeze(f.args)
          : null;
      if (e) {
        this.log.warn('luo', `Freeze failed for token[${tokenHex(f.token)}] handler[${f.compatible}] err[-${e.errno}]`);
        for (const g of s.files.slice(0, i)) this.unfreezeFile(s, g);
        return e;
      }
    }
    return null;
  }

  /** luo_file_unfreeze_one(): the handler's unfreeze (memfd has none), then serialized_data = 0. */
  private unfreezeFile(s: LuoSession, f: LuoFile): void {
    f.handler.unfreeze?.(f.args);
    f.args.serializedData = 0;
    this.log.info('kho-lab', `unfroze token ${tokenHex(f.token)} in session "${s.name}": its serialized_data is now 0`);
  }
}
