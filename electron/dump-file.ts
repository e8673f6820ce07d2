/**
 * DOC: a memory dump file on disk
 *
 * The dump reader (electron/host/dump/) reads through a DumpSource; this is the one backed by a
 * file descriptor, reading only the bytes asked for, so a multi-GiB dump is never loaded whole.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DumpError, type DumpSource } from './host/dump/source';

export interface DumpFile extends DumpSource {
  close(): void;
}

export function openDumpFile(path: string): DumpFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DumpError(
      `cannot open ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`,
    );
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new DumpError(`${path} is not a regular file`);
  }
  const size = st.size;
  return {
    size,
    read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      const out = new Uint8Array(n);
      for (let done = 0; done < n;) {
        const got = readSync(fd, out, done, n - done, offset + done);
        if (got === 0) return out.subarray(0, done);
        done += got;
      }
      return out;
    },
    close: () => closeSync(fd),
  };
}
