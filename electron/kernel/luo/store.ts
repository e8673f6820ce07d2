/**
 * DOC: where LUO keeps what crosses the kexec — the storage a release uses
 *
 * LUO's sessions and files are the same objects in every release; what changed is how they are
 * laid out for the next kernel. Linux 6.19 (and 7.0) publish a LUO FDT whose session node points
 * at a 16-page session array, and give each session a 2-page file array (store-fdt.ts). Linux 7.2
 * publishes a raw `struct luo_ser` and keeps sessions and files in kho_block chains, with FLB
 * records beside them (store-blocks.ts). The profile's `luo.storage` picks one at boot; Luo calls
 * only this interface at the points where the storage differs, each named after the kernel
 * function that does it.
 */
import type { LuoStorage } from '../profile';
import type { KernelError } from '../lib/errno';
import type { Kernel } from '../kernel';
import type { FlbRegistry } from './flb';
import type { LuoSession } from './session';
import type { LiveupdateFileHandler } from './file-handler';

/** What deserialization needs from Luo: its handlers and its incoming list. */
export interface LuoIncomingSink {
  readonly handlers: ReadonlyMap<string, LiveupdateFileHandler>;
  readonly incoming: LuoSession[];
}

export interface LuoStore {
  readonly storage: LuoStorage;
  /**
   * luo_early_startup(): the previous kernel's "LUO" entry read and checked. The liveupdate number
   * it carried, null when there was none, or the error that makes liveupdate_early_init() panic.
   */
  readIncoming(flb: FlbRegistry | null): bigint | null | KernelError;
  /** luo_fdt_setup() / luo_state_setup(): the outgoing state, published as KHO entry "LUO". */
  setupOutgoing(liveupdateNumber: bigint, flb: FlbRegistry | null): KernelError | null;
  /** luo_session_insert() of an outgoing session: room for `count` of them. */
  reserveSessions(count: number): KernelError | null;
  /** luo_session_remove() of an outgoing session: `count` remain. */
  releaseSessions(count: number): void;
  /** luo_preserve_file(), before a handler runs: room for one more file in `s`. */
  reserveFile(s: LuoSession): KernelError | null;
  /** The error path of luo_preserve_file(): give back what reserveFile() took. */
  unreserveFile(s: LuoSession): void;
  /** luo_file_unpreserve_files() (outgoing) or luo_file_finish() (incoming): all of s's file storage freed. */
  dropFiles(s: LuoSession): void;
  /** liveupdate_reboot(), once every file froze: the records of every outgoing session. */
  serialize(sessions: readonly LuoSession[]): KernelError | null;
  /** luo_session_deserialize() with luo_file_deserialize(): the incoming sessions, once. */
  deserialize(sink: LuoIncomingSink): KernelError | null;
  /** What setupOutgoing() prepares, as its pr_err names it ("LUO FDT", "LUO state"). */
  readonly outgoingName: string;
  /** Where the outgoing state lives, for the views: the LUO FDT or luo_ser (0: none). */
  readonly outgoingPhys: number;
  /** The outgoing session array (6.19) or the head of the session chain (7.2; 0 until reboot). */
  readonly sessionsPhys: number;
  /** The previous kernel's session array or chain, until deserialization frees it (0: none). */
  readonly incomingSessionsPhys: number;
}

export type LuoStoreFactory = (k: Kernel) => LuoStore;
