/**
 * DOC: LUO sessions and their files (kernel/liveupdate/luo_session.c, luo_file.c; 6.19 onwards)
 *
 * A session is a named set of preserved files, held by userspace as an fd. Outgoing sessions
 * were created in this kernel and are serialized at reboot; incoming ones were rebuilt from RAM
 * on the first open of /dev/liveupdate and wait to be retrieved and finished.
 */
import type { LiveupdateFileHandler, LuoFileOpArgs } from './file-handler';

/** struct luo_file. */
export interface LuoFile {
  token: bigint;
  /** The handler's compatible as it is (or will be) written in luo_file_ser. */
  compatible: string;
  args: LuoFileOpArgs;
  handler: LiveupdateFileHandler;
}

export class LuoSession {
  readonly files: LuoFile[] = [];
  /** Incoming only: RETRIEVE_SESSION succeeded (a second one is EINVAL). */
  retrieved = false;
  /** Incoming only: FINISH succeeded. */
  finished = false;
  /**
   * Incoming only: files file_set->count still counts though luo_file_deserialize() stopped
   * before them (6.19.0: an unknown handler compatible); they can never be retrieved.
   */
  lost = 0;
  /** Physical address of the preserved 2-page luo_file_ser array (0 until the first preserve). */
  filesPhys = 0;

  constructor(
    readonly name: string,
    readonly incoming: boolean,
  ) {}

  fileByToken(token: bigint): LuoFile | undefined {
    return this.files.find((f) => f.token === token);
  }
}

/** Convenience for messages: the token as the selftests print it. */
export const tokenHex = (t: bigint): string => `0x${t.toString(16)}`;
