/**
 * Waits for an outcome instead of for a time: polls `cond` until it holds. The only clock is the
 * give-up deadline, far above any normal run, so a slow or busy machine makes a test slower, never red.
 * `between` is what to await between two polls (a timer turn by default; a frame where painting matters).
 */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 10_000, between = () => new Promise<void>((r) => setTimeout(r, 5)) } = {},
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await between();
  }
}
