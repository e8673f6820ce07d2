/**
 * DOC: running the memfd formats side by side (shared/compare.ts says what is reported)
 *
 * One machine is booted with KHO and sized for the files. The files are allocated once — folio by
 * folio where the spec leaves holes — and then, for each format in turn, LUO preserves them in a
 * session exactly as PRESERVE_FD would, the format's bytes are read back from RAM with the same
 * decoder the next kernel's retrieve uses, and the session is closed again, which unpreserves
 * everything and frees the metadata before the next format runs. Nothing is estimated: pages,
 * bytes, the physical layout and the errors are what the simulated kernel did.
 */
import { type MemfdCompare, type MemfdCompareSpec, type FormatResult, type MetaGroup } from '../../shared/compare';
import { MAX_RAM, MachineConfigSchema } from '../../shared/machine-config';
import { GiB, PAGE_SIZE, formatBytes } from '../../shared/units';
import { PRESERVE_BITS } from '../kernel/abi/kho-v1';
import { MEMFD_FDT_MAX_FOLIOS } from '../kernel/abi/memfd-fdt';
import { PG } from '../kernel/mm/page-flags';
import { isErr } from '../kernel/lib/errno';
import { Rng } from '../kernel/lib/rng';
import { MEMFD_FORMATS } from '../kernel/luo/luo';
import { type MetaBlock, metaPages } from '../kernel/luo/memfd/format';
import { Machine } from '../kernel/machine';
import type { MemfdFile } from '../kernel/proc';
import { type Result, failure, ok } from '../../shared/result';

/** Layout runs beyond this many are merged with their neighbours (the strip is a few hundred pixels wide). */
const MAX_RUNS = 4096;

interface Run {
  firstPage: number;
  pages: number;
  order: number;
}

/** Which folios of one file exist: runs of equal order, in index order (seeded by the spec). */
function planFile(spec: MemfdCompareSpec, rng: Rng): { runs: Run[]; pages: number } {
  const total = spec.size / PAGE_SIZE;
  const unit = spec.order === '0' ? 1 : 512;
  const runs: Run[] = [];
  let populated = 0;
  const threshold = Math.round(spec.sparse * 0x1_0000_0000);
  for (let first = 0; first < total; first += unit) {
    const n = Math.min(unit, total - first);
    if (threshold && rng.u32() < threshold) continue;
    // mixed: each 2 MiB of the file is one order-9 folio or 512 order-0 folios, half and half.
    const order =
      spec.order === '9' && n === 512 ? 9 : spec.order === 'mixed' && n === 512 && (rng.u32() & 1) === 0 ? 9 : 0;
    const last = runs[runs.length - 1];
    if (last && last.order === order && last.firstPage + last.pages === first) last.pages += n;
    else runs.push({ firstPage: first, pages: n, order });
    populated += n;
  }
  return { runs, pages: populated };
}

function layoutRuns(blocks: readonly MetaBlock[]): Array<[number, number]> {
  const sorted = [...blocks].sort((a, b) => a.pfn - b.pfn);
  const runs: Array<[number, number]> = [];
  for (const b of sorted) {
    const last = runs[runs.length - 1];
    const n = 2 ** b.order;
    if (last && last[0] + last[1] === b.pfn) last[1] += n;
    else runs.push([b.pfn, n]);
  }
  while (runs.length > MAX_RUNS) {
    // Merge each pair: close enough for a strip, and bounded for the IPC.
    const merged: Array<[number, number]> = [];
    for (let i = 0; i < runs.length; i += 2) {
      const a = runs[i]!;
      const b = runs[i + 1];
      merged.push(b ? [a[0], b[0] + b[1] - a[0]] : a);
    }
    runs.splice(0, runs.length, ...merged);
  }
  return runs;
}

function groupsOf(blocks: readonly MetaBlock[]): MetaGroup[] {
  const groups = new Map<string, MetaGroup>();
  for (const b of blocks) {
    const g = groups.get(b.what) ?? {
      what: b.what,
      blocks: 0,
      pages: 0,
      restore: b.as === 'folio' ? 'kho_restore_folio' : 'kho_restore_pages',
    };
    g.blocks++;
    g.pages += 2 ** b.order;
    groups.set(b.what, g);
  }
  return [...groups.values()];
}

/** Which documented limit an error is, if it is one. */
function limitOf(reason: string, errno: string): string | null {
  if (/MAX_PAGE_ORDER/.test(reason))
    return `one FDT folio ≤ MAX_PAGE_ORDER: ${MEMFD_FDT_MAX_FOLIOS.toLocaleString('en-US')} folios per file`;
  if (errno === 'E2BIG') return 'UINT_MAX pages per file';
  if (/fragmentation/.test(reason)) return 'no free physically contiguous block for the FDT';
  if (errno === 'ENOSPC') return '128 files per session';
  return null;
}

/** Generous room for what the three formats allocate besides the files (at most ~1 % of them). */
function metadataRoom(resident: number): number {
  return Math.ceil(resident / 32) + 256 * 2 ** 20;
}

/** Bytes the booted kernel has free outside CMA (KHO scratch). */
function outsideCma(m: Machine): number {
  const [unmovable, movable] = m.kernel!.buddy.freePagesByType();
  return (unmovable + movable) * PAGE_SIZE;
}

function bootCompareMachine(
  ram: number,
  seed: number,
  onProgress?: (label: string, done: number, total: number) => void,
): Result<Machine> {
  const m = new Machine(MachineConfigSchema.parse({ ram, seed, cmdline: 'kho=on liveupdate=on' }));
  if (onProgress) m.onProgress = onProgress;
  const booted = m.boot();
  if (booted) return failure(`the compare machine did not boot: ${booted.errno} (${booted.reason})`, booted.errno);
  return ok(m);
}

export function runMemfdCompare(
  spec: MemfdCompareSpec,
  onProgress?: (label: string, done: number, total: number) => void,
): Result<MemfdCompare> {
  const started = Date.now();
  const rng = new Rng(spec.seed);
  const plans = Array.from({ length: spec.files }, () => planFile(spec, rng));
  const populated = plans.reduce((s, p) => s + p.pages, 0);
  const resident = (spec.holes === 'fill' ? (spec.size / PAGE_SIZE) * spec.files : populated) * PAGE_SIZE;
  // Room for the kernel, its memmap and KHO scratch beside the files: first a guess, then what the
  // booted kernel leaves outside scratch. Scratch is CMA, which a pinned folio must leave
  // (memfd_pin_folios() migrates it out): the files and the formats' metadata must fit in the rest.
  let ram = Math.max(GiB, Math.ceil((resident * 1.1 + 2 * GiB) / GiB) * GiB);
  let m: Machine | null = null;
  for (let attempt = 0; attempt < 2 && !m; attempt++) {
    if (ram > MAX_RAM)
      return failure(
        `these files need a ${formatBytes(ram)} machine, more than the ${formatBytes(MAX_RAM)} the simulator models`,
      );
    const booted = bootCompareMachine(ram, spec.seed, onProgress);
    if (!booted.ok) return booted;
    const short = resident + metadataRoom(resident) - outsideCma(booted.value);
    if (short <= 0 || attempt === 1) m = booted.value;
    else ram += Math.ceil(short / GiB) * GiB;
  }
  if (!m) return failure('the compare machine did not boot');
  const k = m.kernel!;
  const luo = k.luo;
  if (!luo) return failure('LUO did not start on the compare machine');

  const files: MemfdFile[] = [];
  for (const [i, plan] of plans.entries()) {
    const inode = k.shmem.create(`guest-${i}`);
    inode.refs = 1;
    // fallocate: the folios are what the formats describe; their contents never enter the metadata.
    for (const r of plan.runs) {
      const e = k.shmem.fallocate(inode, r.firstPage * PAGE_SIZE, r.pages * PAGE_SIZE, false, r.order);
      if (e) return failure(`allocating guest-${i}: ${e.reason}`, e.errno);
    }
    inode.size = spec.size;
    files.push({ kind: 'memfd', inode, pos: 0 });
  }

  const formats: FormatResult[] = [];
  for (const format of MEMFD_FORMATS) {
    luo.memfdPolicy.format = format.compatible;
    luo.memfdPolicy.keepHoles = spec.holes === 'keep';
    const session = luo.createSession(`compare-${format.compatible}`);
    if (isErr(session)) return failure(`CREATE_SESSION: ${session.errno} (${session.reason})`, session.errno);
    onProgress?.(`preserve with ${format.compatible}`, formats.length, MEMFD_FORMATS.length);
    const t0 = Date.now();
    let error: { errno: string; reason: string } | null = null;
    for (let i = 0; i < files.length && !error; i++) {
      const e = luo.preserveFd(session, files[i]!, BigInt(i + 1));
      if (e) error = e;
    }
    const preserveMs = Date.now() - t0;
    const blocks: MetaBlock[] = [];
    let folios = 0;
    let usedBytes = 0;
    const bitmaps = new Set<number>();
    const track = (pfn: number, order: number) =>
      bitmaps.add(order * 2 ** 40 + Math.floor(pfn / 2 ** order / PRESERVE_BITS));
    for (const f of session.files) {
      const d = format.decode(k.ram, f.args.serializedData);
      if (isErr(d)) return failure(`${format.compatible}: what it wrote does not decode: ${d.reason}`, d.errno);
      blocks.push(...d.meta);
      folios += d.folios.length;
      usedBytes += d.usedBytes;
      for (let i = 0; i < d.folios.length; i++) {
        const pfn = d.folios.pfn[i]!;
        track(pfn, k.pages.flags.get(pfn) & PG.head ? k.pages.order.get(pfn) : 0);
      }
    }
    // Pieces of a vmalloc'd array are preserved as order-0 pages, everything else as folios.
    for (const b of blocks) track(b.pfn, b.as === 'folio' ? b.order : 0);
    const pages = metaPages(blocks);
    const dataPages = files.reduce((s, f) => s + f.inode.nrPages, 0);
    const groups = groupsOf(blocks);
    formats.push({
      compatible: format.compatible,
      origin: format.origin,
      ok: error === null,
      errno: error?.errno ?? null,
      error: error ? `ioctl(LIVEUPDATE_SESSION_PRESERVE_FD): ${error.errno} (${error.reason})` : null,
      limit: error ? limitOf(error.reason, error.errno) : null,
      dataFolios: folios,
      dataPages,
      metaPages: pages,
      metaBytes: pages * PAGE_SIZE,
      usedBytes,
      bytesPerFolio: folios ? (pages * PAGE_SIZE) / folios : 0,
      trackerPages: bitmaps.size,
      groups,
      layout: layoutRuns(blocks),
      restoreSteps: error
        ? []
        : [
            ...groups.map(
              (g) =>
                `${g.restore} × ${g.blocks.toLocaleString('en-US')}: ${g.what}${g.pages !== g.blocks ? ` (${g.pages.toLocaleString('en-US')} pages)` : ''}`,
            ),
            `read ${formatBytes(usedBytes)} of records`,
            `kho_restore_folio × ${folios.toLocaleString('en-US')}: data folios, each added to the new file's page cache at its index`,
            'free the metadata pages',
          ],
      preserveMs,
    });
    luo.closeSession(session);
  }
  // The machine is dropped here: freeing its files' folios one by one would only cost time.
  return ok({
    spec,
    ramBytes: ram,
    maxPfn: m.layout.maxPfn,
    populatedPages: populated,
    formats,
    elapsedMs: Date.now() - started,
  });
}
