/**
 * DOC: LUO storage of Linux 6.19 and 7.0 — the LUO FDT with session and file arrays
 *
 * kernel/liveupdate/luo_core.c: luo_fdt_setup() preserves a one-page FDT ("luo-v1",
 * `liveupdate-number`) and publishes it as KHO subtree "LUO"; luo_session.c:
 * luo_session_setup_outgoing() adds the `luo-session` node pointing at a preserved 16-page array
 * (a count, then 80-byte luo_session_ser records: 819 sessions at most, ENOMEM beyond);
 * luo_file.c gives each session a 2-page luo_file_ser array at its first preserve (128 files,
 * ENOSPC beyond). Everything is written at reboot. Early at boot luo_early_startup() checks the
 * FDT; any mismatch is a panic.
 */
import { PAGE_SIZE, hex } from '../../../shared/units';
import {
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
import type { Kernel } from '../kernel';
import { khoRestoreFree, khoUnpreserveFree } from '../kho/kho-block';
import { LuoSession, tokenHex } from './session';
import type { LuoIncomingSink, LuoStore } from './store';

export class FdtArraysStore implements LuoStore {
  readonly storage = 'fdt-arrays' as const;
  readonly outgoingName = 'LUO FDT';
  /** The outgoing LUO FDT page and 16-page session block. */
  outgoingPhys = 0;
  sessionsPhys = 0;
  /** The previous kernel's session header, until deserialization frees it (0: none). */
  incomingSessionsPhys = 0;

  constructor(private readonly k: Kernel) {}

  /** luo_early_startup() + luo_session_setup_incoming(): the checks, with the kernel's pr_err lines. */
  readIncoming(): bigint | null | KernelError {
    const k = this.k;
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
    this.incomingSessionsPhys = Number(readU64le(head)!);
    return liveupdateNumber;
  }

  /** luo_fdt_setup() + luo_session_setup_outgoing(): the preserved FDT and session block, published as "LUO". */
  setupOutgoing(liveupdateNumber: bigint): KernelError | null {
    const kho = this.k.khoOut!;
    const fdt = kho.allocPreserve(LUO_FDT_SIZE, 'LUO FDT');
    if (isErr(fdt)) return fdt;
    const block = kho.allocPreserve(LUO_SESSION_PGCNT * PAGE_SIZE, 'LUO session block');
    if (isErr(block)) return block;
    this.outgoingPhys = fdt;
    this.sessionsPhys = block;
    const enc = encodeFdt(luoFdt(liveupdateNumber, block), {
      capacity: LUO_FDT_SIZE,
      strings: 'sequential-write',
    });
    if (!enc.ok) return kerr('ENOMEM', enc.message);
    this.k.ram.write(fdt, enc.bytes);
    return kho.addSubtree(LUO_FDT_KHO_ENTRY_NAME, fdt);
  }

  /** luo_session_insert(): the 16-page array holds LUO_SESSION_MAX sessions, then ENOMEM. */
  reserveSessions(count: number): KernelError | null {
    return count > LUO_SESSION_MAX
      ? kerr('ENOMEM', `the session block holds at most ${LUO_SESSION_MAX} sessions`)
      : null;
  }

  releaseSessions(): void {}

  /** luo_preserve_file(): ENOSPC at LUO_FILE_MAX, then luo_alloc_files_mem() on the first file. */
  reserveFile(s: LuoSession): KernelError | null {
    if (s.files.length + s.lost >= LUO_FILE_MAX)
      return kerr('ENOSPC', `session "${s.name}" holds ${LUO_FILE_MAX} files`);
    if (s.filesPhys) return null;
    const phys = this.k.khoOut!.allocPreserve(LUO_FILE_PGCNT * PAGE_SIZE, `LUO file array (${s.name})`);
    if (isErr(phys)) return phys;
    s.filesPhys = phys;
    return null;
  }

  /** luo_free_files_mem(): the array goes only when the session has no file. */
  unreserveFile(s: LuoSession): void {
    if (s.files.length === 0 && s.filesPhys) {
      khoUnpreserveFree(this.k, s.filesPhys);
      s.filesPhys = 0;
    }
  }

  dropFiles(s: LuoSession): void {
    if (s.filesPhys) {
      if (s.incoming) khoRestoreFree(this.k, s.filesPhys, 'LUO (incoming)');
      else khoUnpreserveFree(this.k, s.filesPhys);
    }
    s.filesPhys = 0;
  }

  /** luo_session_serialize() + luo_file_freeze()'s records: the session block and each file array. */
  serialize(sessions: readonly LuoSession[]): KernelError | null {
    const ram = this.k.ram;
    const block = new Uint8Array(LUO_SESSION_PGCNT * PAGE_SIZE);
    putU64(block, 0, sessions.length);
    sessions.forEach((s, i) => {
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
    ram.write(this.sessionsPhys, block);
    return null;
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
  deserialize(sink: LuoIncomingSink): KernelError | null {
    const head = this.incomingSessionsPhys;
    if (!head) return null;
    const { ram, log } = this.k;
    const count = getU64(ram.read(head, LUO_SESSION_HEADER_SER_SIZE), 0);
    if (!(count <= LUO_SESSION_MAX)) {
      // The kernel would read past its 16-page block; the simulator stops.
      log.err('kho-lab', `session header count ${count} exceeds the ${LUO_SESSION_MAX} the block holds`);
      return kerr('EINVAL', `session header count ${count} exceeds ${LUO_SESSION_MAX}`);
    }
    for (let i = 0; i < count; i++) {
      const ser = decodeSessionSer(
        ram.read(head + LUO_SESSION_HEADER_SER_SIZE + i * LUO_SESSION_SER_SIZE, LUO_SESSION_SER_SIZE),
      );
      if (sink.incoming.some((s) => s.name === ser.name)) {
        log.warn('luo', `Failed to insert session [${ser.name}] -EEXIST`);
        return kerr('EEXIST', `failed to insert session due to name conflict [${ser.name}]`);
      }
      const session = new LuoSession(ser.name, true);
      sink.incoming.push(session);
      const e = this.deserializeFiles(sink, session, ser.files, ser.count);
      if (e && this.k.ctx.profile.luo.fileDeserializeErrorsPropagate) {
        log.warn('luo', `Failed to deserialize files for session [${session.name}] -${e.errno}`);
        return e;
      }
    }
    khoRestoreFree(this.k, head, 'LUO (incoming)');
    this.incomingSessionsPhys = 0;
    log.info('kho-lab', `deserialized ${count} incoming session(s)`);
    return null;
  }

  /**
   * luo_file_deserialize() (kernel/liveupdate/luo_file.c): stops at the first file it cannot
   * place, with -ENOENT; what the caller does with that is the release's (deserialize()).
   */
  private deserializeFiles(
    sink: LuoIncomingSink,
    session: LuoSession,
    files: number,
    count: number,
  ): KernelError | null {
    const k = this.k;
    if (!files) {
      if (count) k.warn('kernel/liveupdate/luo_file.c', 'luo_file_deserialize');
      return null;
    }
    if (!(count <= LUO_FILE_MAX)) {
      // The kernel would read past the 2-page array; the simulator takes what fits.
      k.log.err(
        'kho-lab',
        `session [${session.name}]: file count ${count} exceeds the ${LUO_FILE_MAX} the array holds`,
      );
      count = LUO_FILE_MAX;
    }
    session.filesPhys = files;
    session.lost = count;
    for (let j = 0; j < count; j++) {
      const f = decodeFileSer(k.ram.read(files + j * LUO_FILE_SER_SIZE, LUO_FILE_SER_SIZE));
      const handler = sink.handlers.get(f.compatible);
      if (!handler) {
        k.log.warn('luo', `No registered handler for compatible '${f.compatible}'`);
        if (!k.ctx.profile.luo.fileDeserializeErrorsPropagate)
          k.log.info(
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
}
