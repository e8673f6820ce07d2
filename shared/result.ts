/**
 * DOC: one way to fail
 *
 * Above the simulated kernel (which fails the kernel's way: a KernelError with an errno) every
 * operation that can fail answers a Result: the value, or a Failure saying what was wrong —
 * with the errno when the kernel refused. The API (shared/api.ts) narrows Failure to ApiError,
 * which also says whose fault it was.
 */

/** Why something failed: a message naming what was wrong, and the kernel's errno when it is one. */
export interface Failure {
  message: string;
  /** `EINVAL`, `ENOENT`…: set when the simulated kernel refused. */
  errno?: string;
}

export type Result<T, E extends Failure = Failure> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

/** A failure with a message (and the errno, when the kernel said no). */
export const failure = (message: string, errno?: string): { ok: false; error: Failure } => ({
  ok: false,
  error: errno === undefined ? { message } : { message, errno },
});
