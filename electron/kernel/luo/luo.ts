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
 * Simulator-only knobs, no kernel has them, and their log lines say "kho-lab":
 * `luo.disable_handler=memfd-v1` boots a kernel built without that handler,
 * `luo.memfd_format=` picks the memfd format new preservations use (memfd-v1, memfd-fdt-v1 or
 * memfd-karr-v1), `luo.memfd_keep_holes=1` keeps holes out of the pinned set (memfd-handler.ts),
 * and `failNextFreeze` (scenario op luo_fail_next_freeze) makes one freeze fail, for the rollback.
 */
import { PAGE_SIZE, hex } from '../../../shared/units';
import {
  LIVEUPDATE_IOCTL_SIZES,
  LIVEUPDATE_SESSION_NAME_LENGTH,
  type LiveupdateIoctl,
  LUO_FDT_COMPATIBLE,
  LUO_FDT_KHO_ENTRY_NAME,
  LUO_FDT_LIVEUPDATE_NUM,
  LUO_FDT_SESSION_COMPATIBLE,
  LUO_FDT_SESSION_HEADER,
  LUO_FDT_SESSION_NODE_NAME,
  LUO_FDT_SIZE,
  LUO_FILE_MAX,
  LUO_FILE_PGCNT,
  LUO_FILE_SER_SIZE,
  LUO_SESSION_HEADER_SER_SIZE,
  LUO_SESSION_MAX,
  LUO_SESSION_PGCNT,
  LUO_SESSION_SER_SIZE,
  decodeFileSer,
  decodeSessionSer,
  encodeFileSer,
  encodeSessionSer,
  luoFdt,
} from '../abi/luo-v1';
import { getU64, putU64 } from '../abi/bytes';
import { type ErrnoName, type KernelError, isErr, kerr } from '../lib/errno';
import { FDT_ERRNO, decodeFdt, encodeFdt, fdtCheckCompatible, getProp, readU64le } from '../lib/fdt';
import { utf8Decode, utf8Encode } from '../lib/utf8';
import type { Kernel } from '../kernel';
import { PG } from '../mm/page-flags';
import type { OpenFile } from '../proc';
import type { LiveupdateFileHandler } from './file-handler';
import { MemfdLuoHandler, type MemfdPolicy } from './memfd-handler';
import type { MemfdFormat } from './memfd/format';
import { memfdFdt } from './memfd/fdt';
import { memfdKarr } from './memfd/karr';
import { memfdV1 } from './memfd/v1';
import { type LuoFile, LuoSession, tokenHex } from './session';

/** The memfd formats every simulated kernel is built with; the first is the default. */
export const MEMFD_FORMATS: readonly MemfdFormat[] = [memfdV1, memfdFdt, memfdKarr];

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

/** What luo_early_startup() took from the previous kernel's LUO FDT. */
export interface LuoIncoming {
  liveupdateNumber: bigint;
  /** luo-session-header: the previous kernel's session block. */
  headerPhys: number;
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
  /** The outgoing LUO FDT page and 16-page session block. */
  fdtPhys = 0;
  sessionBlockPhys = 0;
  /** The previous kernel's session header, until deserialization frees it (0: none). */
  private incomingHeaderPhys = 0;
  /**
   * Simulator fault injection (scenario op luo_fail_next_freeze; no kernel has it): the next
   * reboot() fails the freeze of the file with this token (null: the first file) with `errno`.
   */
  failNextFreeze: { errno: ErrnoName; token: bigint | null } | null = null;

  private constructor(private readonly k: Kernel) {}

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
    const r = Luo.readIncoming(k);
    if (r === null || 'liveupdateNumber' in r) return r;
    // liveupdate_early_init() → luo_restore_fail() is panic() in 6.19 (luo_internal.h).
    k.panic(`The incoming tree failed to initialize properly [-${r.errno}], disabling live update`);
    return null;
  }

  /** luo_early_startup() + luo_session_setup_incoming(): the checks, with the kernel's pr_err lines. */
  private static readIncoming(k: Kernel): LuoIncoming | null | KernelError {
    const fail = (line: string, errno: ErrnoName = 'EINVAL'): KernelError => {
      k.log.err('luo', line);
      return kerr(errno, line);
    };
    const phys = k.khoIn?.retrieveSubtree(LUO_FDT_KHO_ENTRY_NAME) ?? kerr('ENOENT', 'not a KHO boot');
    if (isErr(phys)) {
      if (phys.errno === 'ENOENT') return null; // the previous kernel had no LUO: nothing to restore
      return fail(`failed to retrieve FDT '${LUO_FDT_KHO_ENTRY_NAME}' from KHO: -${phys.errno}`, phys.errno);
    }
    if (phys < 0 || phys + LUO_FDT_SIZE > k.ctx.layout.maxPfn * PAGE_SIZE) {
      // A real kernel would fault on phys_to_virt() of this address; the simulator stops here instead.
      k.log.err('kho-lab', `the LUO FDT address ${hex(phys)} is outside RAM`);
      return fail(
        `FDT '${LUO_FDT_KHO_ENTRY_NAME}' is incompatible with '${LUO_FDT_COMPATIBLE}' [-${FDT_ERRNO.FDT_ERR_TRUNCATED}]`,
      );
    }
    const d = decodeFdt(k.ram.read(phys, LUO_FDT_SIZE));
    // fdt_node_check_compatible() on a blob that does not parse returns libfdt's error.
    const compat = d.ok ? fdtCheckCompatible(d.root, LUO_FDT_COMPATIBLE) : -FDT_ERRNO[d.error];
    if (!d.ok || compat !== 0)
      return fail(`FDT '${LUO_FDT_KHO_ENTRY_NAME}' is incompatible with '${LUO_FDT_COMPATIBLE}' [${compat}]`);
    const num = getProp(d.root, LUO_FDT_LIVEUPDATE_NUM);
    // fdt_getprop() leaves the length at -FDT_ERR_NOTFOUND when the property is missing.
    if (!num || num.length !== 8)
      return fail(
        `Unable to get live update number '${LUO_FDT_LIVEUPDATE_NUM}' [${num ? num.length : -FDT_ERRNO.FDT_ERR_NOTFOUND}]`,
      );
    const liveupdateNumber = readU64le(num)!;
    k.log.info('luo', `Retrieved live update data, liveupdate number: ${liveupdateNumber}`);
    const node = d.root.children.find((c) => c.name === LUO_FDT_SESSION_NODE_NAME);
    if (!node) return fail(`Unable to get session node: [${LUO_FDT_SESSION_NODE_NAME}]`);
    if (fdtCheckCompatible(node, LUO_FDT_SESSION_COMPATIBLE) !== 0)
      return fail(`Session node incompatible [${LUO_FDT_SESSION_COMPATIBLE}]`);
    const head = getProp(node, LUO_FDT_SESSION_HEADER);
    if (!head || head.length !== 8)
      return fail(
        `Unable to get session header '${LUO_FDT_SESSION_HEADER}' [${head ? head.length : -FDT_ERRNO.FDT_ERR_NOTFOUND}]`,
      );
    return { liveupdateNumber, headerPhys: Number(readU64le(head)!) };
  }

  /**
   * luo_late_startup() + liveupdate_ioctl_init() + the handlers' late_initcalls: null when LUO is
   * off. `luo_global.enabled` starts false in 6.19; only `liveupdate=on` (kstrtobool) sets it.
   */
  static init(k: Kernel, enabled: boolean, incoming: LuoIncoming | null, opts: LuoBootOptions = {}): Luo | null {
    if (!enabled || !k.khoOut || k.panicked !== null) return null;
    const luo = new Luo(k);
    if (incoming) {
      luo.incomingHeaderPhys = incoming.headerPhys;
      luo.liveupdateNumber = incoming.liveupdateNumber + 1n;
    }
    let format = opts.memfdFormat ?? MEMFD_FORMATS[0]!.compatible;
    if (!MEMFD_FORMATS.some((f) => f.compatible === format)) {
      k.log.warn(
        'kho-lab',
        `luo.memfd_format=${format}: no such format (${MEMFD_FORMATS.map((f) => f.compatible).join(', ')}); using ${MEMFD_FORMATS[0]!.compatible}`,
      );
      format = MEMFD_FORMATS[0]!.compatible;
    }
    luo.memfdPolicy.format = format;
    luo.memfdPolicy.keepHoles = opts.keepHoles ?? false;
    let e: KernelError | null = null;
    for (const f of MEMFD_FORMATS) {
      // Simulator option `luo.disable_handler=…`: a kernel built without that handler.
      if (opts.disabledHandlers?.includes(f.compatible)) {
        k.log.info('kho-lab', `file handler ${f.compatible} not registered (luo.disable_handler)`);
        continue;
      }
      e ??= luo.registerFileHandler(new MemfdLuoHandler(k, f, luo.memfdPolicy));
    }
    e ??= luo.setupOutgoing();
    if (e) {
      k.log.err('luo', `failed to prepare LUO FDT: ${e.value}`);
      k.log.err('kho-lab', `LUO is off: ${e.reason}`);
      return null;
    }
    k.log.info('kho-lab', `LUO: liveupdate-number ${luo.liveupdateNumber}; /dev/liveupdate registered`);
    return luo;
  }

  /** luo_fdt_setup() + luo_session_setup_outgoing(): the preserved FDT and session block, published as "LUO". */
  private setupOutgoing(): KernelError | null {
    const kho = this.k.khoOut!;
    const fdt = kho.allocPreserve(LUO_FDT_SIZE, 'LUO FDT');
    if (isErr(fdt)) return fdt;
    const block = kho.allocPreserve(LUO_SESSION_PGCNT * PAGE_SIZE, 'LUO session block');
    if (isErr(block)) return block;
    this.fdtPhys = fdt;
    this.sessionBlockPhys = block;
    const enc = encodeFdt(luoFdt(this.liveupdateNumber, block), {
      capacity: LUO_FDT_SIZE,
      strings: 'sequential-write',
    });
    if (!enc.ok) return kerr('ENOMEM', enc.message);
    this.k.ram.write(fdt, enc.bytes);
    return kho.addSubtree(LUO_FDT_KHO_ENTRY_NAME, fdt);
  }

  /** liveupdate_register_file_handler(). */
  registerFileHandler(h: LiveupdateFileHandler): KernelError | null {
    if (this.outgoing.length || this.incoming.length)
      return kerr('EBUSY', 'sessions exist: handlers register only while LUO is quiescent');
    if (this.handlers.has(h.compatible)) return kerr('EEXIST', `a handler for ${h.compatible} is registered`);
    this.handlers.set(h.compatible, h);
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

  /**
   * luo_session_deserialize() + luo_file_deserialize() (kernel/liveupdate/luo_session.c): every
   * session and file from RAM; the header block is then freed. A session that cannot be inserted
   * fails the whole deserialization (every open is then EIO). A file whose compatible no handler
   * claims ends that session's list there (-ENOENT): 6.19.0 ignores that, so the session stays
   * without it and the files after it, while its count still includes them (the close warns); 7.0
   * (profile.luo.fileDeserializeErrorsPropagate) returns the error — the sessions so far are
   * leaked, the header is not freed, and every open is EIO.
   */
  private deserialize(): KernelError | null {
    const head = this.incomingHeaderPhys;
    if (!head) return null;
    const ram = this.k.ram;
    const count = getU64(ram.read(head, LUO_SESSION_HEADER_SER_SIZE), 0);
    if (!(count <= LUO_SESSION_MAX)) {
      // The kernel would read past its 16-page block; the simulator stops.
      this.log.err('kho-lab', `session header count ${count} exceeds the ${LUO_SESSION_MAX} the block holds`);
      return kerr('EINVAL', `session header count ${count} exceeds ${LUO_SESSION_MAX}`);
    }
    for (let i = 0; i < count; i++) {
      const ser = decodeSessionSer(
        ram.read(head + LUO_SESSION_HEADER_SER_SIZE + i * LUO_SESSION_SER_SIZE, LUO_SESSION_SER_SIZE),
      );
      if (this.incoming.some((s) => s.name === ser.name)) {
        this.log.warn('luo', `Failed to insert session [${ser.name}] -EEXIST`);
        return kerr('EEXIST', `failed to insert session due to name conflict [${ser.name}]`);
      }
      const session = new LuoSession(ser.name, true);
      this.incoming.push(session);
      const e = this.deserializeFiles(session, ser.files, ser.count);
      if (e && this.k.ctx.profile.luo.fileDeserializeErrorsPropagate) {
        this.log.warn('luo', `Failed to deserialize files for session [${session.name}] -${e.errno}`);
        return e;
      }
    }
    this.restoreFree(head);
    this.incomingHeaderPhys = 0;
    this.log.info('kho-lab', `deserialized ${count} incoming session(s)`);
    return null;
  }

  /**
   * luo_file_deserialize() (kernel/liveupdate/luo_file.c): stops at the first file it cannot
   * place, with -ENOENT; what the caller does with that is the release's (deserialize()).
   */
  private deserializeFiles(session: LuoSession, files: number, count: number): KernelError | null {
    if (!files) {
      if (count) this.k.warn('kernel/liveupdate/luo_file.c', 'luo_file_deserialize');
      return null;
    }
    if (!(count <= LUO_FILE_MAX)) {
      // The kernel would read past the 2-page array; the simulator takes what fits.
      this.log.err(
        'kho-lab',
        `session [${session.name}]: file count ${count} exceeds the ${LUO_FILE_MAX} the array holds`,
      );
      count = LUO_FILE_MAX;
    }
    session.filesPhys = files;
    session.lost = count;
    const ram = this.k.ram;
    for (let j = 0; j < count; j++) {
      const f = decodeFileSer(ram.read(files + j * LUO_FILE_SER_SIZE, LUO_FILE_SER_SIZE));
      const handler = this.handlers.get(f.compatible);
      if (!handler) {
        this.log.warn('luo', `No registered handler for compatible '${f.compatible}'`);
        if (!this.k.ctx.profile.luo.fileDeserializeErrorsPropagate)
          this.log.info(
            'kho-lab',
            `session [${session.name}]: token ${tokenHex(f.token)} and the ${count - j - 1} file(s) after it are missing; luo_session_deserialize() ignores the -ENOENT`,
          );
        return kerr('ENOENT', `no registered handler for compatible '${f.compatible}'`);
      }
      session.files.push({
        token: f.token,
        compatible: f.compatible,
        handler,
        args: { handler, retrieved: false, file: null, serializedData: f.data, privateData: null },
      });
      session.lost--;
    }
    return null;
  }

  /** kho_restore_free(): restore preserved memory of the previous kernel and free it. */
  private restoreFree(phys: number): void {
    const pfn = this.k.khoIn?.restoreFolio(phys, 'LUO (incoming)');
    if (pfn === undefined || pfn === null) return;
    this.k.buddy.freePages(pfn, this.k.pages.flags[pfn]! & PG.head ? this.k.pages.order[pfn]! : 0);
  }

  /** kho_unpreserve_free(): the reverse of kho_alloc_preserve. */
  private unpreserveFree(phys: number): void {
    const pfn = phys / PAGE_SIZE;
    const order = this.k.pages.flags[pfn]! & PG.head ? this.k.pages.order[pfn]! : 0;
    this.k.khoOut!.unpreserveFolio(pfn);
    this.k.buddy.freePages(pfn, order);
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
    if (this.outgoing.length >= LUO_SESSION_MAX)
      return kerr('ENOMEM', `the session block holds at most ${LUO_SESSION_MAX} sessions`);
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
    if (s.files.length + s.lost >= LUO_FILE_MAX)
      return kerr('ENOSPC', `session "${s.name}" holds ${LUO_FILE_MAX} files`);
    if (isErr(file)) return file;
    const kho = this.k.khoOut!;
    if (!s.filesPhys) {
      const phys = kho.allocPreserve(LUO_FILE_PGCNT * PAGE_SIZE, `LUO file array (${s.name})`);
      if (isErr(phys)) return phys;
      s.filesPhys = phys;
    }
    const dropArray = () => {
      if (s.files.length === 0) {
        this.unpreserveFree(s.filesPhys);
        s.filesPhys = 0;
      }
    };
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
    const args = { handler, retrieved: false, file, serializedData: 0, privateData: null as unknown };
    const e = handler.preserve(args);
    if (e) {
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
      if (f.args.file?.kind === 'memfd') this.k.processes.putMemfd(f.args.file);
    }
    s.files.length = 0;
    if (s.filesPhys) this.restoreFree(s.filesPhys);
    s.filesPhys = 0;
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
      if (s.filesPhys) this.unpreserveFree(s.filesPhys);
      s.filesPhys = 0;
      this.outgoing.splice(this.outgoing.indexOf(s), 1);
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
    const ram = this.k.ram;
    const block = new Uint8Array(LUO_SESSION_PGCNT * PAGE_SIZE);
    putU64(block, 0, this.outgoing.length);
    this.outgoing.forEach((s, i) => {
      if (s.filesPhys) {
        const files = new Uint8Array(LUO_FILE_PGCNT * PAGE_SIZE);
        s.files.forEach((f, j) =>
          files.set(
            encodeFileSer({ compatible: f.compatible, data: f.args.serializedData, token: f.token }),
            j * LUO_FILE_SER_SIZE,
          ),
        );
        ram.write(s.filesPhys, files);
      }
      block.set(
        encodeSessionSer({ name: s.name, files: s.files.length ? s.filesPhys : 0, count: s.files.length }),
        LUO_SESSION_HEADER_SER_SIZE + i * LUO_SESSION_SER_SIZE,
      );
    });
    ram.write(this.sessionBlockPhys, block);
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
