/**
 * DOC: kernel profiles
 *
 * KHO and LUO changed from release to release (kernel/liveupdate/ and mm/memfd_luo.c differ from
 * v6.16 to v7.x). A
 * profile names the release the simulated kernel behaves as and the facts that differ between
 * releases, so other releases can sit beside this one and a kexec between two profiles behaves
 * as it would between those kernels. KHO Lab models Linux 6.19 (era C): the `kho-v1` FDT, the
 * bitmap tracker serialized at finalize (which may run again), PAGE_SIZE bitmaps, the KHOP stamp.
 */
import { PAGE_SIZE } from '../../shared/units';

export interface KernelProfile {
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
}

export const LINUX_6_19: KernelProfile = {
  release: '6.19.0-kholab',
  khoEra: 'C',
  khoCompatible: 'kho-v1',
  preserveBits: PAGE_SIZE * 8,
  requiresFinalize: true,
};
