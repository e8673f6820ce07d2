/**
 * DOC: kernel errors
 *
 * Operations of the simulated kernel fail the way Linux's do: with an errno. Hot paths (the
 * buddy allocator) return a sentinel; everything else returns a KernelError value the caller must
 * check, mirroring ERR_PTR()/IS_ERR(). Nothing in the kernel throws for an expected failure.
 */
import type { FailedAt } from '../../../shared/views';

/** errno values of x86_64 Linux (include/uapi/asm-generic/errno-base.h and errno.h). */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  EACCES: 13,
  EMFILE: 24,
  EAGAIN: 11,
  ENOMEM: 12,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  EOPNOTSUPP: 95,
  EADDRNOTAVAIL: 99,
} as const;
export type ErrnoName = keyof typeof ERRNO;

export class KernelError {
  constructor(
    readonly errno: ErrnoName,
    /** Why, in the words a kernel log line would use. */
    readonly reason: string,
    /** The page or field the failure is about, when there is one (a folio that would not restore). */
    readonly at?: FailedAt,
  ) {}
  /** -ENOMEM etc., the value a syscall returns. */
  get value(): number {
    return -ERRNO[this.errno];
  }
  toString(): string {
    return `${this.errno}: ${this.reason}`;
  }
}

export const kerr = (errno: ErrnoName, reason: string, at?: FailedAt): KernelError =>
  new KernelError(errno, reason, at);
export const isErr = (v: unknown): v is KernelError => v instanceof KernelError;
