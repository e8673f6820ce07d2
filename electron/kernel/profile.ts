/**
 * DOC: kernel profiles
 *
 * KHO and LUO changed from release to release (kernel/liveupdate/ and mm/memfd_luo.c differ from
 * v6.16 to v7.x). A profile is one release: the facts and behaviours that differ between
 * releases, chosen once when a kernel boots (KernelContext.profile) and read by the engine from
 * there — never `if (release …)` in the engine. The kexec image names the release it boots, so a
 * kexec between two profiles plays out as it would between those kernels: the next kernel reads
 * RAM only, with its own codecs and rules.
 *
 * The profiles here are era C: the `kho-v1` root FDT, the bitmap tracker serialized at
 * kho_finalize() (which may run again), PAGE_SIZE bitmaps, the KHOP stamp, the `luo-v1` FDT with
 * `luo-session-v2` and `memfd-v1`.
 */
import type { KernelRelease } from '../../shared/machine-config';
import { PAGE_SIZE } from '../../shared/units';

export interface KernelProfile {
  /** The release name a scenario, the CLI and kexec_load use ("6.19"). */
  readonly name: KernelRelease;
  /** What `uname -r` prints. */
  readonly release: string;
  /** The KHO era: C is kho-v1 with the bitmap tracker serialized at kho_finalize() (v6.18–v7.0). */
  readonly khoEra: 'C';
  /** The root FDT's compatible; a kernel refuses a handover with any other. */
  readonly khoCompatible: string;
  /** Blocks per tracker bitmap. */
  readonly preserveBits: number;
  /** The next kernel rejects a handover whose preserved-memory-map is 0 (nobody finalized). */
  readonly requiresFinalize: boolean;
  /** LUO's rules. */
  readonly luo: {
    /**
     * kernel/liveupdate/luo_session.c: luo_session_deserialize() returns luo_file_deserialize()'s
     * error (a file no handler claims: -ENOENT), so every open of /dev/liveupdate is then EIO;
     * false: the error is ignored and the session is kept without that file and those after it.
     */
    readonly fileDeserializeErrorsPropagate: boolean;
    /**
     * kernel/liveupdate/luo_file.c: luo_retrieve_file() keeps the handler's retrieve() result in
     * luo_file->retrieve_status, so a retrieve that failed is not tried again: every later
     * RETRIEVE_FD of that token returns the stored error. false (6.19's `bool retrieved`): a failed
     * retrieve leaves the file untouched and the next RETRIEVE_FD calls retrieve() again.
     */
    readonly retrieveStatusRemembered: boolean;
    /**
     * mm/memfd_luo.c: memfd_luo_preserve_folios() marks every folio dirty, zero-fills a folio that
     * is not uptodate (fallocated, never written) and records DIRTY|UPTODATE for all. false: the
     * flags are the folio's own at preserve time.
     */
    readonly memfdAlwaysDirtyUptodate: boolean;
    /**
     * kernel/liveupdate/luo_file.c: luo_preserve_file() inserts the file under the handler's
     * get_id() (memfd: the inode) into the global luo_preserved_files xarray: the same file in a
     * second session, or twice in one under another token, is EBUSY.
     */
    readonly preservedFilesUnique: boolean;
    /**
     * kernel/liveupdate/luo_session.c: luo_session_create() refuses an empty name and one with no
     * NUL in its 64 bytes (EINVAL); false: strscpy() cuts it to 63 bytes and "" is a name.
     */
    readonly sessionNameValidation: boolean;
    /** include/uapi/linux/liveupdate.h: LIVEUPDATE_SESSION_GET_NAME exists (session ioctl 0x43). */
    readonly sessionGetName: boolean;
    /**
     * kernel/liveupdate/luo_session.c: luo_session_ioctl() checks the session's direction before
     * the size (luo_ioctl_type_valid()): PRESERVE_FD only on outgoing sessions, RETRIEVE_FD and
     * FINISH only on retrieved ones, else EINVAL; false: no direction check.
     */
    readonly sessionIoctlDirection: boolean;
  };
}

/**
 * Linux 6.19.0 as released: luo_session_deserialize() drops luo_file_deserialize()'s result.
 * (The fix reached the 6.19.y stable series later, in 6.19.13; this profile is 6.19.0.)
 */
export const LINUX_6_19: KernelProfile = {
  name: '6.19',
  release: '6.19.0-kholab',
  khoEra: 'C',
  khoCompatible: 'kho-v1',
  preserveBits: PAGE_SIZE * 8,
  requiresFinalize: true,
  luo: {
    fileDeserializeErrorsPropagate: false,
    retrieveStatusRemembered: false,
    memfdAlwaysDirtyUptodate: false,
    preservedFilesUnique: false,
    sessionNameValidation: false,
    sessionGetName: false,
    sessionIoctlDirection: false,
  },
};

/**
 * Linux 7.0: still era C and `kho-v1` (include/linux/kho/abi/kexec_handover.h first appears here,
 * with the same bytes). What 7.0 changed that the simulator models — three fixes merged through
 * mm-hotfixes during 7.0-rc (Cc stable, so 6.19.y got them later; this 6.19 profile is 6.19.0):
 * - kernel/liveupdate/luo_session.c: luo_session_deserialize() propagates luo_file_deserialize()'s
 *   error ("Failed to deserialize files for session [%s] %pe"), the session already inserted is
 *   leaked, and every later open of /dev/liveupdate fails with EIO (the same fix went to 6.19.13).
 * - kernel/liveupdate/luo_file.c: "liveupdate: luo_file: remember retrieve() status" — a failed
 *   retrieve is stored in luo_file->retrieve_status and returned again, never retried.
 * - mm/memfd_luo.c: "mm: memfd_luo: always make all folios uptodate" and "… always dirty all
 *   folios" — every folio is preserved DIRTY|UPTODATE, non-uptodate ones zero-filled first.
 *
 * Not in 7.0 (the profile of the release that shipped each says so): the double-preservation EBUSY
 * check ("liveupdate: prevent double management of files", merged for 7.1), session-name
 * validation, LIVEUPDATE_SESSION_GET_NAME and the session-direction checks of the session ioctls
 * (all three in the liveupdate-v7.2-rc1 pull). Also not modelled here: the `luo-flb` node (FLB
 * global state) in the LUO FDT. The ABI headers' u64 field types in 7.0 do not change any byte on
 * x86_64.
 */
export const LINUX_7_0: KernelProfile = {
  ...LINUX_6_19,
  name: '7.0',
  release: '7.0.0-kholab',
  luo: {
    ...LINUX_6_19.luo,
    fileDeserializeErrorsPropagate: true,
    retrieveStatusRemembered: true,
    memfdAlwaysDirtyUptodate: true,
  },
};

/**
 * Linux 7.2 — LOCAL PLACEHOLDER on branch s-luo-sem, to be replaced by p-kernel71's LINUX_7_2
 * (kho-v4, the radix tracker) and q-luo72's LUO storage. Only its LUO semantics are 7.2's:
 * 7.1's double-preservation EBUSY (kernel/liveupdate/luo_file.c: luo_preserve_file()), and from
 * the liveupdate-v7.2-rc1 pull session-name validation (luo_session.c: luo_session_create()),
 * LIVEUPDATE_SESSION_GET_NAME (luo_session_get_name()) and the direction check of the session
 * ioctls (luo_ioctl_type_valid()).
 */
export const LINUX_7_2: KernelProfile = {
  ...LINUX_7_0,
  name: '7.2',
  release: '7.2.0-kholab',
  luo: {
    ...LINUX_7_0.luo,
    preservedFilesUnique: true,
    sessionNameValidation: true,
    sessionGetName: true,
    sessionIoctlDirection: true,
  },
};

/** Every release the simulator can boot, by name. */
export const KERNEL_PROFILES: Readonly<Record<KernelRelease, KernelProfile>> = {
  '6.19': LINUX_6_19,
  '7.0': LINUX_7_0,
  '7.2': LINUX_7_2,
};

export function kernelProfile(name: KernelRelease): KernelProfile {
  return KERNEL_PROFILES[name];
}
