/**
 * DOC: LUO storage of Linux 7.2 — `struct luo_ser` and kho_block chains
 *
 * kernel/liveupdate/luo_core.c: luo_state_setup() (late_initcall) preserves a 32-byte
 * `struct luo_ser` ("luo-v5", liveupdate_num, sessions_pa, flbs_pa; abi/luo-v5.ts), lets
 * luo_flb_setup_outgoing() fill flbs_pa with the FLB page, and publishes it as KHO entry "LUO".
 * luo_session.c keeps the outgoing sessions in a kho_block set grown at each create
 * (luo_session_insert()) and shrunk at each close; luo_file.c gives each session a block set of
 * luo_file_ser grown at each preserve. No fixed limit remains: only KHO_MAX_BLOCKS per set and
 * memory. The records, and sessions_pa, are written only in liveupdate_reboot()
 * (luo_session_serialize(), luo_file_freeze()) — before that sessions_pa is 0, as the real 7.2.13
 * showed.
 *
 * The next kernel's luo_early_startup() checks luo_ser (size, compatible), restores the session
 * chain (kho_block_set_restore(): a cycle, a count of 0 or above capacity is -EINVAL), remembers
 * the FLB area and kho_restore_free()s luo_ser; any failure there is a panic. The files of each
 * session are restored at the first open of /dev/liveupdate (luo_file_deserialize()); a failure
 * there leaks the session and makes every open EIO.
 */
import { PAGE_SIZE, hex } from '../../../shared/units';
import {
  LUO_FILE_SER,
  LUO_KHO_ENTRY_NAME,
  LUO_SER,
  LUO_SESSION_SER,
  decodeFileSer,
  decodeLuoSer,
  decodeSessionSer,
  encodeFileSer,
  encodeLuoSer,
  encodeSessionSer,
} from '../abi/luo-v5';
import { putU64 } from '../abi/bytes';
import { AbiError } from '../abi/abi-error';
import { type KernelError, isErr, kerr } from '../lib/errno';
import type { Kernel } from '../kernel';
import { KhoBlockSet, khoRestoreFree, khoUnpreserveFree } from '../kho/kho-block';
import type { FlbRegistry } from './flb';
import { LuoSession } from './session';
import type { LuoIncomingSink, LuoStore } from './store';

export class LuoSerBlocksStore implements LuoStore {
  readonly storage = 'luo_ser-blocks' as const;
  readonly outgoingName = 'LUO state';
  /** The outgoing luo_ser (0 until setupOutgoing()). */
  outgoingPhys = 0;
  /** luo_session_global.outgoing.block_set. */
  private readonly sessions: KhoBlockSet;
  /** luo_session_global.incoming.block_set, until deserialization destroys it. */
  private incomingSessions: { set: KhoBlockSet; entries: Uint8Array[] } | null = null;
  /** Each session's luo_file_set.block_set. */
  /** Each session's file blocks (a Map, not a WeakMap: the timeline snapshots this state). */
  private readonly fileSets = new Map<LuoSession, KhoBlockSet>();

  constructor(private readonly k: Kernel) {
    this.sessions = new KhoBlockSet(k, LUO_SESSION_SER.size, 'LUO session block');
  }

  get sessionsPhys(): number {
    return this.sessions.headPa;
  }

  get incomingSessionsPhys(): number {
    return this.incomingSessions?.set.headPa ?? 0;
  }

  private fileSet(s: LuoSession): KhoBlockSet {
    let set = this.fileSets.get(s);
    if (!set) this.fileSets.set(s, (set = new KhoBlockSet(this.k, LUO_FILE_SER.size, `LUO file block (${s.name})`)));
    return set;
  }

  /** luo_early_startup() + luo_session_setup_incoming() + luo_flb_setup_incoming(). */
  readIncoming(flb: FlbRegistry | null): bigint | null | KernelError {
    const k = this.k;
    const r = k.khoIn?.retrieveSubtreeSized(LUO_KHO_ENTRY_NAME) ?? kerr('ENOENT', 'not a KHO boot');
    if (isErr(r)) {
      if (r.errno === 'ENOENT') return null;
      k.log.err('luo', `failed to retrieve LUO state '${LUO_KHO_ENTRY_NAME}' from KHO: -${r.errno}`);
      return r;
    }
    const { phys, size } = r;
    const len = Math.min(size, LUO_SER.size);
    const blob = phys >= 0 && phys + len <= k.ctx.layout.maxPfn * PAGE_SIZE ? k.ram.read(phys, len) : null;
    if (!blob) {
      k.log.err('kho-lab', `the LUO state address ${hex(phys)} is outside RAM (a real kernel would fault here)`);
      return kerr('EINVAL', `luo_ser at ${hex(phys)} is outside RAM`);
    }
    const ser = decodeLuoSer(blob, k.ctx.profile.luo.abiCompatible);
    if (ser instanceof AbiError) {
      if (ser.klog) k.log.err('luo', ser.klog.replace(/^luo: /, ''));
      return kerr(ser.errno, ser.message);
    }
    k.log.info('luo', `Retrieved live update data, liveupdate number: ${ser.liveupdateNum}`);
    let err: KernelError | null = null;
    if (ser.sessionsPa) {
      const r = KhoBlockSet.restore(k, ser.sessionsPa, LUO_SESSION_SER.size, 'LUO session block');
      if (isErr(r)) err = r;
      else this.incomingSessions = r;
    }
    if (!err) flb?.setupIncoming(ser.flbsPa);
    // out_free_ser: luo_ser goes back to the allocator whether or not the sessions came back.
    khoRestoreFree(k, phys, 'LUO (incoming)');
    return err ?? BigInt(ser.liveupdateNum);
  }

  /** luo_state_setup(): luo_ser (and the FLB page) preserved and published as "LUO". */
  setupOutgoing(liveupdateNumber: bigint, flb: FlbRegistry | null): KernelError | null {
    const kho = this.k.khoOut!;
    const pa = kho.allocPreserve(LUO_SER.size, 'LUO state (luo_ser)');
    if (isErr(pa)) return pa;
    let flbsPa = 0;
    if (flb) {
      const f = flb.setupOutgoing();
      if (isErr(f)) {
        khoUnpreserveFree(this.k, pa);
        return f;
      }
      flbsPa = f;
    }
    this.k.ram.write(
      pa,
      encodeLuoSer({
        compatible: this.k.ctx.profile.luo.abiCompatible,
        liveupdateNum: Number(liveupdateNumber),
        sessionsPa: 0,
        flbsPa,
      }),
    );
    const e = kho.addSubtree(LUO_KHO_ENTRY_NAME, pa, LUO_SER.size);
    if (e) {
      khoUnpreserveFree(this.k, pa);
      return e;
    }
    this.outgoingPhys = pa;
    return null;
  }

  /** luo_session_insert(): kho_block_set_grow() to `count` sessions. */
  reserveSessions(count: number): KernelError | null {
    return this.sessions.grow(count);
  }

  /** luo_session_remove(): kho_block_set_shrink(). */
  releaseSessions(count: number): void {
    this.sessions.shrink(count);
  }

  /** luo_preserve_file(): kho_block_set_grow() to one more file. */
  reserveFile(s: LuoSession): KernelError | null {
    const set = this.fileSet(s);
    const e = set.grow(s.files.length + 1);
    s.filesPhys = set.headPa;
    return e;
  }

  /** luo_preserve_file()'s err_shrink. */
  unreserveFile(s: LuoSession): void {
    const set = this.fileSet(s);
    set.shrink(s.files.length);
    s.filesPhys = set.headPa;
  }

  /** kho_block_set_destroy() of the session's file blocks (unpreserve_files, or finish when incoming). */
  dropFiles(s: LuoSession): void {
    this.fileSets.get(s)?.destroy();
    this.fileSets.delete(s);
    s.filesPhys = 0;
  }

  /**
   * luo_session_serialize(): sessions_pa = 0, then each session's entry reserved in list order,
   * its files written by luo_file_freeze() (a session without files keeps files 0, count 0), its
   * name copied; sessions_pa = the chain's head when there is a session.
   */
  serialize(sessions: readonly LuoSession[]): KernelError | null {
    const ram = this.k.ram;
    const setSessionsPa = (v: number) => {
      const b = new Uint8Array(8);
      putU64(b, 0, v);
      ram.write(this.outgoingPhys + LUO_SER.sessionsPa, b);
    };
    setSessionsPa(0);
    const sers: Uint8Array[] = [];
    for (const s of sessions) {
      let files = 0;
      if (s.files.length) {
        const set = this.fileSet(s);
        const e = set.write(
          s.files.map((f) =>
            encodeFileSer({ compatible: f.compatible, data: BigInt(f.args.serializedData), token: f.token }),
          ),
        );
        if (e) return e;
        files = set.headPa;
      }
      sers.push(encodeSessionSer({ name: s.name, files, count: s.files.length }));
    }
    const e = this.sessions.write(sers);
    if (e) return e;
    if (sessions.length) setSessionsPa(this.sessions.headPa);
    return null;
  }

  /**
   * luo_session_deserialize(): each entry of the restored chain becomes a session (a duplicate
   * name is -EEXIST) whose files luo_file_deserialize() restores from their chain; a failure
   * leaks what came before and is remembered (every open EIO). The session chain is destroyed
   * either way.
   */
  deserialize(sink: LuoIncomingSink): KernelError | null {
    const inc = this.incomingSessions;
    if (!inc) return null;
    const log = this.k.log;
    let err: KernelError | null = null;
    for (const bytes of inc.entries) {
      const ser = decodeSessionSer(bytes);
      if (sink.incoming.some((s) => s.name === ser.name)) {
        log.warn('luo', `Failed to insert session [${ser.name}] -EEXIST`);
        err = kerr('EEXIST', `failed to insert session due to name conflict [${ser.name}]`);
        break;
      }
      const session = new LuoSession(ser.name, true);
      sink.incoming.push(session);
      err = this.deserializeFiles(sink, session, ser.files, ser.count);
      if (err) {
        log.warn('luo', `Failed to deserialize files for session [${session.name}] -${err.errno}`);
        break;
      }
    }
    inc.set.destroy();
    this.incomingSessions = null;
    if (!err) log.info('kho-lab', `deserialized ${inc.entries.length} incoming session(s) from kho_block chains`);
    return err;
  }

  /**
   * luo_file_deserialize() (Linux 7.2): files 0 with a count is only a WARN; the chain is restored
   * and each entry matched to a handler by exact compatible (none: -ENOENT); a total that differs
   * from file_set_ser.count is "File count mismatch", -EINVAL. On failure the files and blocks
   * taken so far are dropped.
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
    const r = KhoBlockSet.restore(k, files, LUO_FILE_SER.size, `LUO file block (${session.name})`);
    if (isErr(r)) return r;
    this.fileSets.set(session, r.set);
    session.filesPhys = r.set.headPa;
    const fail = (e: KernelError): KernelError => {
      session.files.length = 0;
      this.dropFiles(session);
      return e;
    };
    for (const bytes of r.entries) {
      const f = decodeFileSer(bytes);
      const handler = sink.handlers.get(f.compatible);
      if (!handler) {
        k.log.warn('luo', `No registered handler for compatible '${f.compatible}'`);
        return fail(kerr('ENOENT', `no registered handler for compatible '${f.compatible}'`));
      }
      const data = Number(f.data);
      session.files.push({
        token: f.token,
        compatible: f.compatible,
        handler,
        args: { handler, retrieved: false, file: null, serializedData: data, privateData: null },
      });
    }
    if (session.files.length !== count) {
      k.log.warn('luo', `File count mismatch: expected ${count}, found ${session.files.length}`);
      return fail(
        kerr('EINVAL', `session "${session.name}" says ${count} files, its blocks hold ${session.files.length}`),
      );
    }
    return null;
  }
}
