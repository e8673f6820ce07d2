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
 * 6.19 and 7.0 are era C: the `kho-v1` root FDT, the bitmap tracker serialized at kho_finalize()
 * (which may run again), PAGE_SIZE bitmaps, the KHOP stamp, the `luo-v1` FDT with
 * `luo-session-v2` and `memfd-v1`. 7.1 and 7.2 are stateless KHO: the radix tree kept in place,
 * no finalize, `preserved-data` + `blob-size` sub-nodes and the `kexec-metadata` blob. 7.2 adds
 * kho_block, `kho-v4` and LUO's `luo-v5`; 7.3 keeps every format and changes early boot only.
 */
import type { KernelRelease, KernelVariant } from '../../shared/machine-config';
import { PAGE_SIZE } from '../../shared/units';
import { KHO_FDT_FORMATS, type KhoFdtFormat } from './abi/kho-fdt';

/** How a release's KHO tracks preserved memory and hands it over. */
export interface KhoProfile {
  /** The root FDT format: its compatible (a kernel refuses any other) and sub-node properties. */
  readonly fdt: KhoFdtFormat;
  /**
   * 'bitmap-chunks': per-order bitmaps, serialized into a khoser_mem_chunk list by kho_finalize()
   * (6.16–7.0). 'radix': the radix tree in pages, updated on every (un)preserve and walked in
   * place by the next kernel (7.1+).
   */
  readonly tracker: 'bitmap-chunks' | 'radix';
  /** Blocks per tracker bitmap ('bitmap-chunks' only). */
  readonly preserveBits: number;
  /**
   * 'refreshable': kho_finalize() (debugfs kho/out/finalize, LUO's reboot path) serializes the
   * tracker and may run again; the next kernel refuses a map of 0 (nobody finalized).
   * 'none': no finalize step exists, the handover is always current.
   */
  readonly finalize: 'refreshable' | 'none';
  /** kho_init() registers the `kexec-metadata` blob and the next kernel logs "exec from". */
  readonly kexecMetadata: boolean;
  /**
   * kernel/liveupdate/kexec_handover.c: kho_populate() ends a refused handover with "disabling KHO
   * revival: %d" (the errno, 6.19) or, after "kho: cleanup error handling in kho_populate()"
   * (7.0 merge window), with "disabling KHO revival" alone.
   */
  readonly populateLogsErrno: boolean;
  /**
   * kernel/liveupdate/kexec_handover.c (7.3): kho_memory_init_early() → kho_extend_scratch(): on a
   * KHO boot every 1 GiB block (KHO_SCRATCH_EXT_BLKSIZE) holding no preserved page and no radix
   * node is marked MEMBLOCK_KHO_SCRATCH, and so is the tail up to the end of DRAM.
   */
  readonly extendScratch: boolean;
  /** kho_memory_init() (7.3): is_kdump_kernel() (`elfcorehdr=` given) turns KHO off. */
  readonly offInKdump: boolean;
}

export type LuoStorage = 'fdt-arrays' | 'luo_ser-blocks';

/**
 * The kernel image as the boot log's "Memory:" line counts it (kernel code, rwdata, rodata, init,
 * bss, KiB) and what arch/x86/kernel/setup.c reserves for it with memblock_reserve_kern():
 * `_text` … `__end_of_kernel_reserve` (the sections and their alignment gaps) plus the brk area.
 * Those bytes feed KHO's scratch sizing (scratch_size_update()), so a smaller kernel gets smaller
 * default scratch areas.
 */
export interface KernelImage {
  readonly codeK: number;
  readonly rwdataK: number;
  readonly rodataK: number;
  readonly initK: number;
  readonly bssK: number;
  /** __end_of_kernel_reserve - _text, bytes. */
  readonly reserve: number;
  /** _brk_end - _brk_start at reserve_brk(), bytes. */
  readonly brk: number;
}

/**
 * Linux 7.2.13 as realkernel/ built it (tinyconfig + the KHO/LUO fragment): "Memory: … (4472K
 * kernel code, 1154K rwdata, 1116K rodata, 756K init, 372K bss …)", `_text` at 0x1000000 and the
 * brk reservation at 0x1b1f000 (0x8000 bytes, memblock=debug). 6.19 … 7.1 were not built; they
 * borrow this image.
 */
const IMAGE_7_2: KernelImage = {
  codeK: 4472,
  rwdataK: 1154,
  rodataK: 1116,
  initK: 756,
  bssK: 372,
  reserve: 0xb1f000,
  brk: 0x8000,
};

export interface KernelProfile {
  /** The release name a scenario, the CLI and kexec_load use ("6.19"). */
  readonly name: KernelRelease;
  /** What `uname -r` prints. */
  readonly release: string;
  /** The image kexec loads and the boot reserves. */
  readonly image: KernelImage;
  readonly kho: KhoProfile;
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
    /**
     * How LUO hands its state over (electron/kernel/luo/store-*.ts): 'fdt-arrays' is the LUO FDT
     * with a 16-page session array and 2-page file arrays (819 sessions, 128 files each);
     * 'luo_ser-blocks' is 7.2's raw `struct luo_ser` with sessions and files in kho_block chains.
     */
    readonly storage: LuoStorage;
    /** FLB global state (kernel/liveupdate/luo_flb.c) is handed over with the sessions. */
    readonly flb: boolean;
    /**
     * CONFIG_LIVEUPDATE_TEST: lib/tests/liveupdate.c registers the FLBs "liveupdate-test-flb-v0..2"
     * with every file handler, as the real 7.2.13 kernel of the fidelity artefacts was built.
     */
    readonly testFlbs: boolean;
    /** The memfd format new preservations use unless `luo.memfd_format=` says otherwise. */
    readonly memfdFormat: string;
    /**
     * include/linux/kho/abi/luo.h: LUO_ABI_COMPATIBLE, what luo_state_setup() writes into
     * luo_ser and luo_early_startup() insists on ('luo_ser-blocks' storage only).
     */
    readonly abiCompatible: string;
  };
  /**
   * arch/x86/kernel/e820.c: e820__print_table(). 'types': "usable" / "reserved" after one space.
   * 'labelled-gaps' (the x86-boot-2026-02-09 pull, 7.0 merge window): "System RAM" / "device
   * reserved" after two spaces, and a `[gap …]` line for every hole between two entries.
   */
  readonly e820Print: 'types' | 'labelled-gaps';
  /** The patched build this profile is (KERNEL_VARIANTS), if any. */
  readonly variant?: KernelVariant;
}

/** Era C KHO (kernel/liveupdate/kexec_handover.c at v6.19: kho_finalize(), kho_mem_serialize()). */
const KHO_ERA_C: KhoProfile = {
  fdt: KHO_FDT_FORMATS['kho-v1'],
  tracker: 'bitmap-chunks',
  preserveBits: PAGE_SIZE * 8,
  finalize: 'refreshable',
  kexecMetadata: false,
  populateLogsErrno: true,
  extendScratch: false,
  offInKdump: false,
};

/**
 * Linux 6.19.0 as released: luo_session_deserialize() drops luo_file_deserialize()'s result.
 * (The fix reached the 6.19.y stable series later, in 6.19.13; this profile is 6.19.0.)
 */
export const LINUX_6_19: KernelProfile = {
  name: '6.19',
  release: '6.19.0-kholab',
  image: IMAGE_7_2,
  kho: KHO_ERA_C,
  e820Print: 'types',
  luo: {
    fileDeserializeErrorsPropagate: false,
    retrieveStatusRemembered: false,
    memfdAlwaysDirtyUptodate: false,
    preservedFilesUnique: false,
    sessionNameValidation: false,
    sessionGetName: false,
    sessionIoctlDirection: false,
    storage: 'fdt-arrays',
    flb: false,
    testFlbs: false,
    memfdFormat: 'memfd-v1',
    abiCompatible: 'luo-v1',
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
 * - arch/x86/kernel/e820.c (the x86-boot-2026-02-09 pull): the boot log's e820 table names RAM
 *   "System RAM" and reserved ranges "device reserved", and lists the gaps between entries (the
 *   real 7.2.13 prints exactly this).
 *
 * - kernel/liveupdate/kexec_handover.c: kho_populate() says "disabling KHO revival" without the
 *   errno ("kho: cleanup error handling in kho_populate()", queued in mm-nonmm for the 7.0 merge
 *   window; that it made 7.0 rather than 7.1 is our reading of the mm tree, the 7.1+ sources
 *   certainly have it).
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
  kho: { ...LINUX_6_19.kho, populateLogsErrno: false },
  e820Print: 'labelled-gaps',
  luo: {
    ...LINUX_6_19.luo,
    fileDeserializeErrorsPropagate: true,
    retrieveStatusRemembered: true,
    memfdAlwaysDirtyUptodate: true,
  },
};

/**
 * Linux 7.1: stateless KHO (kernel/liveupdate/kexec_handover.c, "Make KHO Stateless" and the
 * blob-size series, both in the 7.1 merge window):
 * - kho_init() allocates the radix-tree root (kzalloc, not preserved) and the root FDT
 *   (kho_alloc_preserve), and writes `preserved-memory-map` = the root's physical address once;
 *   kho_preserve_*() and kho_unpreserve_*() edit the tree (kho_radix_add_page/del_page);
 * - no kho_finalize(), no debugfs kho/out/finalize; liveupdate_reboot() has nothing to finalize;
 * - `kho-v3`: kho_add_subtree(name, blob, size) writes `preserved-data` and `blob-size`;
 *   kho_retrieve_subtree(name, &phys, &size) refuses a node without a valid `blob-size`;
 * - kho_init() registers `kexec-metadata` (kho_out_kexec_metadata()) and, after a KHO boot, logs
 *   the previous kernel's "exec from: <release> (count N)" (kho_in_kexec_metadata()).
 * `kho-v2` (radix tree without blob-size) existed only inside the merge window; no release wrote it.
 * LUO: still the 7.0 `luo-v1` FDT (luo_ser, kho_block and `luo-v5` arrive in 7.2), plus the
 * double-preservation EBUSY (kernel/liveupdate/luo_file.c: luo_preserve_file(), "prevent double
 * management of files", in mm-stable for the 7.1 merge window).
 */
export const LINUX_7_1: KernelProfile = {
  ...LINUX_7_0,
  name: '7.1',
  release: '7.1.0-kholab',
  luo: { ...LINUX_7_0.luo, preservedFilesUnique: true },
  kho: {
    ...LINUX_7_0.kho,
    fdt: KHO_FDT_FORMATS['kho-v3'],
    tracker: 'radix',
    preserveBits: 0,
    finalize: 'none',
    kexecMetadata: true,
  },
};

/**
 * Linux 7.2: KHO as 7.1 with the `kho-v4` compatible (the bump for the kho_block ABI,
 * include/linux/kho/abi/kexec_handover.h; the real 7.2.13 writes "kho-v4" although the header's
 * DOC comment still says v3). LUO (kernel/liveupdate/luo_core.c): luo_state_setup() publishes a raw
 * `struct luo_ser` ("luo-v5") as KHO entry "LUO"; luo_session.c and luo_file.c keep sessions and
 * files in kho_block chains, so neither has a fixed limit; luo_flb.c hands FLB global state over;
 * mm/memfd_luo.c writes "memfd-v2" (the 48-byte record with seals). The real 7.2.13 of the
 * fidelity artefacts was built with CONFIG_LIVEUPDATE_TEST (the three test FLBs). LUO semantics
 * from the liveupdate-v7.2-rc1 pull: session-name validation (luo_session.c:
 * luo_session_create()), LIVEUPDATE_SESSION_GET_NAME (luo_session_get_name()) and the direction
 * check of the session ioctls (luo_ioctl_type_valid()).
 */
export const LINUX_7_2: KernelProfile = {
  ...LINUX_7_1,
  name: '7.2',
  release: '7.2.0-kholab',
  kho: { ...LINUX_7_1.kho, fdt: KHO_FDT_FORMATS['kho-v4'] },
  luo: {
    ...LINUX_7_1.luo,
    sessionNameValidation: true,
    sessionGetName: true,
    sessionIoctlDirection: true,
    storage: 'luo_ser-blocks',
    flb: true,
    testFlbs: true,
    memfdFormat: 'memfd-v2',
    abiCompatible: 'luo-v5',
  },
};

/**
 * Linux 7.3 (the real 7.3.4 of realkernel/7.3 runs against 7.2.13 both ways): every wire format is
 * 7.2's — `kho-v4`, `luo-v5`, `memfd-v2`, kexec-metadata v1, the test FLBs — and the ABI headers
 * are byte-identical but for include/linux/kho/abi/kexec_handover.h, where the enum
 * KHO_ORDER_0_LOG2 (52) became KHO_RADIX_KEY_WIDTH (53): kho_encode_radix_key() computes
 * 1 << (64 - (PAGE_SHIFT + order)) | phys >> (PAGE_SHIFT + order), the same key as 7.2's
 * 1 << (52 - order) | …, so the tree codec (abi/kho-radix-tree.ts) serves both. What 7.3 changed
 * in behaviour, and the simulator models:
 * - kernel/liveupdate/kexec_handover.c: kho_memory_init_early() (called from mm_core_init_early())
 *   runs kho_extend_scratch() on a KHO boot (`extendScratch`);
 * - kho_memory_init(): "KHO: disabled in the kdump kernel" when is_kdump_kernel() (`offInKdump`).
 * - its image is about 2 MiB smaller (`image`), so scratch_size_update() sizes smaller default
 *   scratch areas: 1 GiB guest, 7.2.13 lowmem 0x5000000 + node 0x0f000000, 7.3.4 lowmem 0x4c00000
 *   + node 0xe400000 (test/unit/kho/scratch-sizes-73.test.ts reproduces both sizes).
 * Changed in 7.3 and left out:
 * - scratch_size_update()/scratch_size_node() subtract memblock_reserved_hugetlb_size(), and
 *   mm/memblock.c retries a hugetlb allocation that overlaps scratch: the simulator has no hugetlb
 *   boot reservations (hugepages=), so the subtraction is always 0 here;
 * - the radix tree's nodes come from memblock_alloc() before slab is up and its API is key-based
 *   (kho_radix_add_key()/del_key(), struct kho_radix_walk_cb): the same pages and bytes;
 * - kho_scratch_overlap() moved into kexec_handover.c with its WARN gated by
 *   CONFIG_KEXEC_HANDOVER_DEBUG (as `khoDebug` already is), kexec_handover_debug.c is gone;
 * - luo_session.c lost a redundant INIT_LIST_HEAD; the selftests take only `-s N`.
 */
export const LINUX_7_3: KernelProfile = {
  ...LINUX_7_2,
  name: '7.3',
  release: '7.3.0-kholab',
  // The real 7.3.4, built as 7.2.13 was: 2448K kernel code, 1120K rodata; brk at 0x1916000.
  image: { ...LINUX_7_2.image, codeK: 2448, rodataK: 1120, reserve: 0x916000 },
  kho: { ...LINUX_7_2.kho, extendScratch: true, offInKdump: true },
};

/** Every release the simulator can boot, by name. */
export const KERNEL_PROFILES: Readonly<Record<KernelRelease, KernelProfile>> = {
  '6.19': LINUX_6_19,
  '7.0': LINUX_7_0,
  '7.1': LINUX_7_1,
  '7.2': LINUX_7_2,
  '7.3': LINUX_7_3,
};

/**
 * A release as a one-line patch leaves it (realkernel/7.3/variants/): `kho-v5` bumps
 * KHO_FDT_COMPATIBLE in include/linux/kho/abi/kexec_handover.h, `luo-v6` bumps LUO_ABI_COMPATIBLE in
 * include/linux/kho/abi/luo.h; the kernel then writes and accepts only the new string. uname -r
 * carries the variant (`7.3.0-kholab+kho-v5`) so the header and the banner show it.
 */
function patched(base: KernelProfile, variant: KernelVariant): KernelProfile {
  const release = `${base.release}+${variant}`;
  if (variant === 'kho-v5')
    return { ...base, release, variant, kho: { ...base.kho, fdt: { ...base.kho.fdt, compatible: 'kho-v5' } } };
  return { ...base, release, variant, luo: { ...base.luo, abiCompatible: 'luo-v6' } };
}

/** The profile of `name`, patched as `variant` says (callers validated it: variantMismatch()). */
export function kernelProfile(name: KernelRelease, variant?: KernelVariant): KernelProfile {
  const base = KERNEL_PROFILES[name];
  return variant ? patched(base, variant) : base;
}
