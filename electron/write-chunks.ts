/**
 * DOC: writing a stream to a file, whole or not at all
 *
 * The CLI's exports (the vmcore above all) are produced as streams of chunks so that a large file
 * is never held whole. They go to a temporary file that is renamed into place at the end.
 */
import { closeSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { type Result, failure, ok } from '../shared/result';

/**
 * Writes a stream of chunks atomically (temporary file, then rename); nothing half-written stays.
 * A hole is seeked over, so the file is sparse where the stream says its bytes are zero.
 */
export function writeChunksAtomic(
  path: string,
  chunks: Iterable<Uint8Array | { hole: number }>,
  option: string,
): Result<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w');
    let at = 0;
    for (const c of chunks) {
      if (!(c instanceof Uint8Array)) {
        at += c.hole;
        continue;
      }
      let done = 0;
      while (done < c.length) done += writeSync(fd, c, done, c.length - done, at + done);
      at += c.length;
    }
    ftruncateSync(fd, at);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
    return ok(undefined);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    return failure(`${option}: cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
