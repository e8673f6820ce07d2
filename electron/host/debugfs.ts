/**
 * DOC: /sys/kernel/debug/kho, as the running kernel shows it
 *
 * kernel/liveupdate/kexec_handover_debugfs.c builds the tree; kexec_handover.c: kho_init() decides
 * what goes in it. Every blob file is a debugfs_blob_wrapper {data, size}: a pointer into the
 * kernel's memory and a size fixed when the file was made. A read() copies `size` bytes from
 * `data` as memory holds them now. That is the whole story of the quirks the real 7.2.13 shows:
 *
 * - `out/fdt` gets its size from fdt_totalsize() once, at the end of kho_init() (6.19:
 *   kho_debugfs_fdt_add(); 7.2: kho_debugfs_blob_add(…, fdt_totalsize(kho_out.fdt), true)). At that
 *   point the root holds `compatible` and `preserved-memory-map` (6.19/7.0), plus the
 *   `kexec-metadata` node kho_kexec_metadata_init() added just before (7.1+): 233 bytes on 7.2.
 *   Every kho_add_subtree() after that grows the FDT in place, so the file yields a prefix of a
 *   longer blob and `dtc` stops with "EOF before reading N bytes of DT blob".
 * - On a kernel booted through KHO, kho_init() calls kho_in_debugfs_init() and returns before the
 *   line that adds `out/fdt`: there is no `out/fdt` (out/scratch_* and out/sub_fdts/ are made
 *   earlier, by kho_out_debugfs_init() and kho_add_subtree(), so they exist).
 * - `in/sub_fdts/<name>` points at the blob the previous kernel named. A user that
 *   kho_restore_free()s its blob after reading it (7.2's LUO: luo_early_startup() frees luo_ser)
 *   leaves the file pointing at freed memory: it shows whatever the page holds now.
 *
 * Which releases have what comes from the profile, not from the release name: `out/finalize`
 * exists where kho_finalize() does (6.19/7.0: kho_out_debugfs_init() adds it, mode 0600, reading
 * "%llu\n" of kho_finalized()); sub-blob sizes are `blob-size` where the format has it (kho-v3+:
 * kho_in_debugfs_init() skips a node without one) and fdt_totalsize() of the blob before. The
 * out/fdt and no-out/fdt-after-KHO-boot quirks are in every release from 6.19 (the code around
 * them is the same at v6.19, v7.1 and v7.2).
 */
import type { DebugfsFile, DebugfsView } from '../../shared/debugfs-view';
import { PageCategory } from '../../shared/palette';
import { PAGE_SIZE, hex } from '../../shared/units';
import { encodeKhoFdt } from '../kernel/abi/kho-fdt';
import { isAbiError } from '../kernel/abi/abi-error';
import { FDT_MAGIC, type FdtNode, decodeFdt, getProp, readU64le } from '../kernel/lib/fdt';
import type { Machine } from '../kernel/machine';
import type { KhoProfile } from '../kernel/profile';
import { utf8Encode } from '../kernel/lib/utf8';
import { fdtToDts } from './fdt-text';
import { pageInfo } from './views';

const RO = '-r--------';
const RW = '-rw-------';
const KEXEC_METADATA = 'kexec-metadata';
const FDT_HEADER_SIZE = 40;
/** At most this much of a blob is read for the view: a corrupt blob-size must not make us read gigabytes. */
const MAX_READ = 1 << 20;
const SRC = 'kernel/liveupdate/kexec_handover.c';

const text = (s: string) => utf8Encode(s);
const be32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset + off, 4).getUint32(0);

/**
 * Bytes at [phys, phys+size) clipped to RAM (a wrapper pointing past the end reads short) and to
 * MAX_READ (the file's size is then in `clipped`).
 */
function readRam(m: Machine, phys: number, size: number): { bytes: Uint8Array; clipped?: number } {
  const end = m.layout.maxPfn * PAGE_SIZE;
  if (!Number.isSafeInteger(phys) || phys < 0 || phys >= end || !(size > 0)) return { bytes: new Uint8Array(0) };
  const bytes = m.ram.read(phys, Math.min(size, end - phys, MAX_READ));
  return size > MAX_READ ? { bytes, clipped: size } : { bytes };
}

/** The FDT header's totalsize at `phys`, or 0 when no FDT starts there. */
function totalsizeAt(m: Machine, phys: number): number {
  const h = readRam(m, phys, FDT_HEADER_SIZE).bytes;
  return h.length === FDT_HEADER_SIZE && be32(h, 0) === FDT_MAGIC ? be32(h, 4) : 0;
}

/** A blob file: its bytes, and dtc's view of them when they start like an FDT. */
export function blobFile(
  path: string,
  phys: number,
  { bytes, clipped }: { bytes: Uint8Array; clipped?: number },
  quirk?: string,
): DebugfsFile {
  const f: DebugfsFile = {
    path,
    mode: RO,
    bytes,
    kind: 'binary',
    phys,
    ...(clipped ? { clipped } : {}),
    ...(quirk ? { quirk } : {}),
  };
  if (bytes.length < 8 || be32(bytes, 0) !== FDT_MAGIC) return f;
  f.kind = 'fdt';
  const total = be32(bytes, 4);
  // dtc's dt_from_blob() reads totalsize bytes and dies at end of file.
  if (total > bytes.length) {
    f.dtcError = `FATAL ERROR: EOF before reading ${total} bytes of DT blob`;
    return f;
  }
  const d = decodeFdt(bytes);
  if (d.ok) f.dts = fdtToDts(d.root, d.memReserve);
  else f.dtcError = `FATAL ERROR: ${d.message}`;
  return f;
}

/** A node's u64 property (KHO's native-endian addresses and sizes), or null. */
function u64(node: FdtNode, prop: string | null): number | null {
  const v = prop ? getProp(node, prop) : undefined;
  const x = v && v.length === 8 ? readU64le(v) : null;
  return x === null ? null : Number(x);
}

/**
 * fdt_totalsize() of the root FDT as kho_init() left it, just before it added `out/fdt`: the
 * release's sequential-write root, plus `kexec-metadata` where kho_init() adds it first.
 */
export function outFdtSizeAtInit(kho: KhoProfile, root: FdtNode): number {
  const format = kho.fdt;
  const meta = root.children.find((c) => c.name === KEXEC_METADATA);
  const subtrees =
    kho.kexecMetadata && meta
      ? [
          {
            name: KEXEC_METADATA,
            phys: u64(meta, format.subtreeProp) ?? 0,
            size: u64(meta, format.sizeProp) ?? 0,
          },
        ]
      : [];
  const enc = encodeKhoFdt(format, { memoryMap: 0, subtrees });
  return isAbiError(enc) ? 0 : enc.length;
}

/** Where a sub-node's blob is and how many bytes its debugfs file has (kho_in_debugfs_init()). */
function subBlob(m: Machine, node: FdtNode): { phys: number; size: number } | null {
  const format = m.kernel!.ctx.profile.kho.fdt;
  const phys = u64(node, format.subtreeProp);
  if (phys === null) return null;
  if (!format.sizeProp) return { phys, size: totalsizeAt(m, phys) };
  const size = u64(node, format.sizeProp);
  return size === null ? null : { phys, size };
}

const FREE: ReadonlySet<number> = new Set([PageCategory.FreeMovable, PageCategory.FreeUnmovable, PageCategory.FreeCma]);
/** What a handed-over blob's page can be while the next kernel has not let it go. */
const KEPT: ReadonlySet<number> = new Set([
  PageCategory.Preserved,
  PageCategory.Restored,
  PageCategory.Leaked,
  PageCategory.KhoMetadata,
  PageCategory.MemblockReserved,
]);

/** The quirk of an incoming blob whose page the kernel has since given back. */
function freedQuirk(m: Machine, name: string, phys: number): string | undefined {
  const p = pageInfo(m, Math.floor(phys / PAGE_SIZE));
  if (!p.ok || KEPT.has(p.value.category)) return undefined;
  const now = FREE.has(p.value.category) ? 'it is free now' : `it now belongs to ${p.value.owner || 'another user'}`;
  return (
    `Kernel quirk: this kernel freed ${name}'s blob after reading it (kho_restore_free()), but ` +
    `kho_in_debugfs_init() made this file at boot and nothing removes it: the page at ${hex(phys)} is ` +
    `read as it is now (${now}), not as the previous kernel wrote it.`
  );
}

const byName = (a: DebugfsFile, b: DebugfsFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** /sys/kernel/debug/kho of the running kernel. */
export function debugfsView(m: Machine): DebugfsView {
  const k = m.kernel;
  if (!k) return { present: false, release: null, dirs: [], files: [], note: 'No kernel is running.' };
  const release = k.ctx.profile.name;
  const out = k.khoOut;
  if (!out)
    return {
      present: false,
      release,
      dirs: [],
      files: [],
      note: 'KHO is off (boot with kho=on): kho_init() returns before kho_debugfs_init() creates kho/.',
    };
  const profile = k.ctx.profile;
  const inc = k.khoIn && k.khoIn.fdtPhys ? k.khoIn : null;
  const dirs = ['kho', 'kho/out', 'kho/out/sub_fdts'];
  const files: DebugfsFile[] = [];

  if (profile.kho.finalize === 'refreshable')
    files.push({ path: 'kho/out/finalize', mode: RW, bytes: text(`${out.finalized ? 1 : 0}\n`), kind: 'text' });

  const root = out.readFdt();
  const outRoot = 'children' in root ? root : null;
  if (!inc && outRoot) {
    const size = outFdtSizeAtInit(profile.kho, outRoot);
    const total = totalsizeAt(m, out.fdtPhys);
    const quirk =
      total > size
        ? `Kernel quirk: kho_init() gave this file fdt_totalsize() of the root FDT as it was then (${size} bytes: ` +
          `${profile.kho.kexecMetadata ? 'root + kexec-metadata' : 'the bare root'}); every kho_add_subtree() since grew the FDT ` +
          `in place (totalsize now ${total}), so a read() returns its first ${size} bytes only (${SRC}: kho_init()).`
        : undefined;
    files.push(blobFile('kho/out/fdt', out.fdtPhys, readRam(m, out.fdtPhys, size), quirk));
  }
  const scratch = out.scratch;
  files.push({
    path: 'kho/out/scratch_len',
    mode: RO,
    bytes: text(scratch.map((a) => `0x${a.size.toString(16)}\n`).join('')),
    kind: 'text',
  });
  files.push({
    path: 'kho/out/scratch_phys',
    mode: RO,
    bytes: text(scratch.map((a) => `0x${a.addr.toString(16)}\n`).join('')),
    kind: 'text',
  });
  const outSubs: DebugfsFile[] = [];
  for (const c of outRoot?.children ?? []) {
    const b = subBlob(m, c);
    if (b) outSubs.push(blobFile(`kho/out/sub_fdts/${c.name}`, b.phys, readRam(m, b.phys, b.size)));
  }
  files.push(...outSubs);

  if (inc) {
    dirs.push('kho/in', 'kho/in/sub_fdts');
    const inRoot = inc.fdt();
    files.push(blobFile('kho/in/fdt', inc.fdtPhys, readRam(m, inc.fdtPhys, totalsizeAt(m, inc.fdtPhys))));
    const inSubs: DebugfsFile[] = [];
    for (const c of inRoot?.children ?? []) {
      const b = subBlob(m, c);
      if (b)
        inSubs.push(
          blobFile(`kho/in/sub_fdts/${c.name}`, b.phys, readRam(m, b.phys, b.size), freedQuirk(m, c.name, b.phys)),
        );
    }
    files.push(...inSubs);
  }
  const note = inc
    ? `Booted through KHO: kho_init() made in/ and returned before adding out/fdt (${SRC}: kho_init()).`
    : undefined;
  return { present: true, release, dirs: dirs.sort(), files: files.sort(byName), ...(note ? { note } : {}) };
}
