/**
 * DOC: kexec-metadata, the kexec chain record (Linux 7.1+)
 *
 * include/linux/kho/abi/kexec_metadata.h: KHO registers a sub-tree named "kexec-metadata" at
 * kho_init() holding a packed C struct, not an FDT:
 *
 *   struct kho_kexec_metadata { u32 version; char previous_release[__NEW_UTS_LEN + 1]; u32 kexec_count; }
 *
 * 73 bytes: version at 0 (KHO_KEXEC_METADATA_VERSION = 1), the release string at 4 (65 bytes,
 * NUL-terminated, zero-padded because the blob comes from kho_alloc_preserve()), kexec_count at
 * 69 (the previous kernel's incoming count + 1; a cold-booted kernel writes 1).
 * kernel/liveupdate/kexec_handover.c: kho_out_kexec_metadata() writes it; kho_in_kexec_metadata()
 * reads it and only warns (the metadata is ignored) when it is too small or of another version.
 * First shipped in 7.1 (with blob-size, kho-v3). The real 7.2.13 wrote "7.2.13", count 1, then 2.
 */
import { utf8Encode } from '../lib/utf8';
import { getCString } from './fields';
import { AbiError } from './abi-error';
import { getU32, putU32 } from './bytes';

export const KEXEC_METADATA_FIRST_RELEASE = '7.1';
/** KHO_METADATA_NODE_NAME. */
export const KHO_METADATA_NODE_NAME = 'kexec-metadata';
export const KHO_KEXEC_METADATA_VERSION = 1;
/** __NEW_UTS_LEN + 1. */
export const PREVIOUS_RELEASE_LEN = 65;
export const KHO_KEXEC_METADATA = { version: 0, previousRelease: 4, kexecCount: 69, size: 73 } as const;

export interface KexecMetadata {
  version: number;
  previousRelease: string;
  kexecCount: number;
}

/** kho_out_kexec_metadata(): the 73-byte blob (strscpy() truncates the release to 64 bytes). */
export function encodeKexecMetadata(m: { previousRelease: string; kexecCount: number; version?: number }): Uint8Array {
  const b = new Uint8Array(KHO_KEXEC_METADATA.size);
  putU32(b, KHO_KEXEC_METADATA.version, m.version ?? KHO_KEXEC_METADATA_VERSION);
  b.set(utf8Encode(m.previousRelease).subarray(0, PREVIOUS_RELEASE_LEN - 1), KHO_KEXEC_METADATA.previousRelease);
  putU32(b, KHO_KEXEC_METADATA.kexecCount, m.kexecCount);
  return b;
}

/** kho_in_kexec_metadata(): the record, or the warning it prints before ignoring the blob. */
export function decodeKexecMetadata(blob: Uint8Array): KexecMetadata | AbiError {
  const warn = (code: 'bad-size' | 'incompatible', msg: string, klog: string): AbiError =>
    new AbiError(code, msg, 'EINVAL', undefined, `KHO: ${klog}`);
  if (blob.length < 4)
    return warn(
      'bad-size',
      `kexec-metadata is ${blob.length} bytes, too small for its version field`,
      `kexec-metadata blob too small (${blob.length} bytes)`,
    );
  const version = getU32(blob, KHO_KEXEC_METADATA.version);
  if (version !== KHO_KEXEC_METADATA_VERSION) {
    return warn(
      'incompatible',
      `kexec-metadata version ${version}, this kernel reads ${KHO_KEXEC_METADATA_VERSION}`,
      `kexec-metadata version ${version} not supported (expected ${KHO_KEXEC_METADATA_VERSION})`,
    );
  }
  if (blob.length < KHO_KEXEC_METADATA.size) {
    return warn(
      'bad-size',
      `kexec-metadata v${version} is ${blob.length} bytes, not ${KHO_KEXEC_METADATA.size}`,
      `kexec-metadata blob too small for v${version} (${blob.length} < ${KHO_KEXEC_METADATA.size})`,
    );
  }
  const previousRelease = getCString(blob, KHO_KEXEC_METADATA.previousRelease, PREVIOUS_RELEASE_LEN - 1);
  return { version, previousRelease, kexecCount: getU32(blob, KHO_KEXEC_METADATA.kexecCount) };
}

/** The boot line kho_in_kexec_metadata() prints for a good record. */
export const execFromLine = (m: KexecMetadata): string =>
  `KHO: exec from: ${m.previousRelease} (count ${m.kexecCount})`;
