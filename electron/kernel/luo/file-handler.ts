/**
 * DOC: LUO file handlers (Linux 6.19 `struct liveupdate_file_handler`, include/linux/liveupdate.h)
 *
 * A handler says which files it can carry (`canPreserve`), saves one at PRESERVE_FD
 * (`preserve`, setting the u64 `serializedData` that crosses the kexec in `luo_file_ser.data`),
 * undoes that when an outgoing session is closed (`unpreserve`), takes a last look inside
 * reboot() (`freeze`, rolled back by `unfreeze`), rebuilds the file in the next kernel from that
 * u64 alone (`retrieve`), and releases what is left at FINISH (`canFinish` may veto; `finish`
 * discards data nobody retrieved). Handlers are matched across the kexec by exact `compatible`.
 */
import type { KernelError } from '../lib/errno';
import type { OpenFile } from '../proc';

/** struct liveupdate_file_op_args (6.19). */
export interface LuoFileOpArgs {
  handler: LiveupdateFileHandler;
  /** Whether retrieve ran (6.19's `bool retrieved`). */
  retrieved: boolean;
  /** The file: given to preserve/freeze/unpreserve; set by retrieve. */
  file: OpenFile | null;
  /** What crosses the kexec in luo_file_ser.data. */
  serializedData: number;
  /** Runtime-only state of the handler; never crosses the kexec. */
  privateData: unknown;
  /**
   * 7.0+ `retrieve_status` < 0: the error a failed retrieve returned, kept by LUO
   * (profile.luo.retrieveStatusRemembered); 6.19 has no such field and leaves it unset.
   */
  retrieveError?: KernelError;
}

export interface LiveupdateFileHandler {
  /** At most 47 bytes plus NUL (LIVEUPDATE_HNDL_COMPAT_LENGTH). */
  readonly compatible: string;
  canPreserve(file: OpenFile): boolean;
  preserve(args: LuoFileOpArgs): KernelError | null;
  unpreserve(args: LuoFileOpArgs): void;
  freeze?(args: LuoFileOpArgs): KernelError | null;
  unfreeze?(args: LuoFileOpArgs): void;
  retrieve(args: LuoFileOpArgs): KernelError | null;
  canFinish?(args: LuoFileOpArgs): boolean;
  finish(args: LuoFileOpArgs): void;
  /** get_id() (7.1+): the key of the file in luo_preserved_files; without it, the file itself. */
  getId?(file: OpenFile): unknown;
}
