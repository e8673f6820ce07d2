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
 * Both profiles here are era C: the `kho-v1` root FDT, the bitmap tracker serialized at
 * kho_finalize() (which may run again), PAGE_SIZE bitmaps, the KHOP stamp, the `luo-v1` FDT with
 * `luo-session-v2` and `memfd-v1`.
 */
import type { KernelRelease } from '../../shared/machine-config';
import { PAGE_SIZE } from '../../shared/units';

export type LuoStorage = 'fdt-arrays' | 'luo_ser-blocks';

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
    storage: 'fdt-arrays',
    flb: false,
    testFlbs: false,
    memfdFormat: 'memfd-v1',
  },
};

/**
 * Linux 7.0: still era C and `kho-v1` (include/linux/kho/abi/kexec_handover.h first appears here,
 * with the same bytes). What 7.0 changed that the simulator models:
 * - kernel/liveupdate/luo_session.c: luo_session_deserialize() propagates luo_file_deserialize()'s
 *   error ("Failed to deserialize files for session [%s] %pe"), the session already inserted is
 *   leaked, and every later open of /dev/liveupdate fails with EIO (the same fix went to 6.19.13).
 *
 * Not modelled, because the sources stored for this work do not pin the release that first
 * shipped them (7.0 or 7.1): the `luo-flb` node (FLB global state) in the LUO FDT, the
 * double-preservation EBUSY check, the remembered retrieve status, session-name validation, and
 * memfd's always-DIRTY|UPTODATE folios. The ABI headers' u64 field types in 7.0 do not change any
 * byte on x86_64.
 */
export const LINUX_7_0: KernelProfile = {
  ...LINUX_6_19,
  name: '7.0',
  release: '7.0.0-kholab',
  luo: { ...LINUX_6_19.luo, fileDeserializeErrorsPropagate: true },
};

/**
 * Linux 7.2 as the LUO side sees it (the KHO side, kho-v4 and the radix tracker, is LINUX_7_2 of
 * the KHO work; here the era-C KHO stands in). kernel/liveupdate/luo_core.c: luo_state_setup()
 * publishes a raw `struct luo_ser` ("luo-v5") as KHO entry "LUO"; luo_session.c and luo_file.c keep
 * sessions and files in kho_block chains, so neither has a fixed limit; luo_flb.c hands FLB global
 * state over; mm/memfd_luo.c writes "memfd-v2" (the 48-byte record with seals). The real 7.2.13 of
 * the fidelity artefacts was built with CONFIG_LIVEUPDATE_TEST (the three test FLBs).
 */
export const LINUX_7_2: KernelProfile = {
  ...LINUX_7_0,
  name: '7.2',
  release: '7.2.13-kholab',
  luo: {
    ...LINUX_7_0.luo,
    storage: 'luo_ser-blocks',
    flb: true,
    testFlbs: true,
    memfdFormat: 'memfd-v2',
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
