/**
 * DOC: AbiError, what a decoder says about bytes it cannot accept
 *
 * The 7.x codecs read structures another kernel left in RAM (or a real machine left in a dump),
 * so bad bytes are an expected outcome, not a bug: a decoder returns an AbiError value and never
 * throws. Each error names what was wrong, where (the physical address, when there is one), the
 * errno the modelled kernel function returns, and the kernel's log line where it prints one.
 *
 * `checkedByKernel` is false for corruption the real kernel does not look for (a radix-tree pointer
 * outside RAM is simply dereferenced): the simulator refuses it so that it never hangs or reads
 * past RAM, and the profile decides what the modelled release does about it.
 */
import type { ErrnoName } from '../lib/errno';

export type AbiErrorCode =
  /** A pointer or length reaches past RAM (or past what a dump captured). */
  | 'out-of-ram'
  /** A pointer that must be page-aligned is not. */
  | 'misaligned'
  /** A linked structure points back into itself (radix node reached twice, block list loop). */
  | 'cycle'
  /** A block header's entry count is 0 or larger than a block holds. */
  | 'bad-count'
  /** More blocks than KHO_MAX_BLOCKS. */
  | 'too-many-blocks'
  /** A compatible string or version that this release does not speak. */
  | 'incompatible'
  /** A blob shorter than its structure, or a field length that is wrong. */
  | 'bad-size'
  /** A radix key that decodes to no valid (phys, order). */
  | 'bad-key'
  /** The container itself (FDT) is malformed, or a required property is missing. */
  | 'bad-format'
  /** A field holds a value the format forbids (unknown flag bits, a u64 beyond 2^53). */
  | 'bad-value';

export class AbiError {
  readonly kind = 'AbiError' as const;
  constructor(
    readonly code: AbiErrorCode,
    /** What was wrong, in words a kernel developer reads without the source at hand. */
    readonly message: string,
    /** The errno the modelled kernel function returns for this. */
    readonly errno: ErrnoName = 'EINVAL',
    /** Where in physical memory, when the problem has an address. */
    readonly phys?: number,
    /** The kernel's own log line for this failure, when it prints one. */
    readonly klog?: string,
    /** False when the real kernel does not check this (see the DOC block). */
    readonly checkedByKernel = true,
  ) {}
  toString(): string {
    return `${this.code} (${this.errno}): ${this.message}`;
  }
}

export const isAbiError = (v: unknown): v is AbiError => v instanceof AbiError;

export const hex = (n: number | bigint): string => `0x${n.toString(16)}`;
