/**
 * What `/sys/kernel/debug/kho` holds for the running kernel (electron/host/debugfs.ts builds it):
 * each file with the bytes a read() returns, how to show them, and — where the real kernel shows
 * something surprising — the kernel's own reason, labelled as its quirk.
 */
export interface DebugfsFile {
  /** Path under /sys/kernel/debug: `kho/out/fdt`. */
  path: string;
  /** As `ls -l` prints it: `-r--------` (blobs and seq files) or `-rw-------` (finalize). */
  mode: string;
  /** What a read() of the whole file returns. */
  bytes: Uint8Array;
  /** 'text': a seq_file or attribute (shown as is); 'fdt': starts with the FDT magic; 'binary': hex. */
  kind: 'text' | 'fdt' | 'binary';
  /** `dtc -I dtb -O dts` of the bytes, for an FDT dtc can read. */
  dts?: string;
  /** What dtc prints when it cannot read the bytes (a truncated blob: "EOF before reading N bytes"). */
  dtcError?: string;
  /** The file's size when `bytes` holds only its first part (a blob over 1 MiB). */
  clipped?: number;
  /** Physical address the blob wrapper points at, when the file is a blob. */
  phys?: number;
  /** The kernel's quirk behind what this file shows, with its source. */
  quirk?: string;
}

export interface DebugfsView {
  /** False when there is no kho/ directory (no kernel, or KHO off); `note` says why. */
  present: boolean;
  /** The release whose debugfs this is ("7.2"). */
  release: string | null;
  /** Directories, then files, in `ls -R` order. */
  dirs: string[];
  files: DebugfsFile[];
  note?: string;
}
