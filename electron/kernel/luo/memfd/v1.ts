/**
 * DOC: memfd-v1, the format Linux 6.19 merged (mm/memfd_luo.c; bytes in abi/memfd-v1.ts), and
 * the code memfd-v2 shares with it (v2.ts)
 *
 * The 40-byte memfd_luo_ser comes from kho_alloc_preserve() (a whole zeroed page); the folio
 * records live in a vcalloc'd array of 16 bytes per folio, preserved with
 * kho_preserve_vmalloc() (its pages plus one chunk page per 511 of them). No size limit: the
 * array grows with the folio count at 16 bytes each. Order as in memfd_luo_preserve_folios():
 * the array first, then every folio preserved and recorded, then the array preserved.
 */
import { PAGE_SIZE, hex } from '../../../../shared/units';
import {
  MEMFD_LUO_FH_COMPATIBLE,
  MEMFD_LUO_FOLIO_DIRTY,
  MEMFD_LUO_FOLIO_SER_SIZE,
  MEMFD_LUO_FOLIO_UPTODATE,
  MEMFD_LUO_SER_SIZE,
  decodeMemfdSer,
  encodeMemfdSer,
  readFolioSerRun,
  writeFolioSerRun,
} from '../../abi/memfd-v1';
import { putU64 } from '../../abi/bytes';
import { type KernelError, isErr, kerr } from '../../lib/errno';
import type { Kernel } from '../../kernel';
import { walkKhoVmalloc } from '../../kho/vmalloc-walk';
import type { VmArea } from '../../mm/vmalloc';
import type { PhysicalMemory } from '../../ram';
import type { MemfdFile } from '../../proc';
import { type DecodedMemfd, FolioList, type MemfdFormat, type MetaBlock, type PreserveContext } from './format';

/**
 * What differs between memfd-v1 and memfd-v2: the compatible, the size of memfd_luo_ser and how
 * its fields are laid out. Everything else — the vcalloc'd folio array preserved with
 * kho_preserve_vmalloc(), the order of preservation, the restore — is the same code in
 * mm/memfd_luo.c.
 */
export interface MemfdSerLayout {
  compatible: string;
  origin: string;
  serSize: number;
  /** Checks before anything is pinned (memfd-v2: the seals). */
  precheck?(size: number, seals: number): KernelError | null;
  /** memfd_luo_ser for the file, given the 16-byte kho_vmalloc of its folio array. */
  encode(file: MemfdFile, nrFolios: number, folios: Uint8Array): Uint8Array;
  /** The fields the restore needs, or why the record is refused (the error retrieve returns). */
  decode(
    bytes: Uint8Array,
  ): { pos: number; size: number; nrFolios: number; folios: Uint8Array; seals?: number } | KernelError;
}

interface V1State {
  area: VmArea | null;
  desc: Uint8Array | null;
}

const RECORDS_PER_PAGE = PAGE_SIZE / MEMFD_LUO_FOLIO_SER_SIZE;

function dropSer(k: Kernel, serPhys: number): void {
  k.khoOut!.unpreserveFolio(serPhys / PAGE_SIZE);
  k.buddy.freePages(serPhys / PAGE_SIZE, 0);
}

/** A memfd format whose folio records sit in a kho_vmalloc array (memfd-v1, memfd-v2). */
export function vmallocRecordFormat(layout: MemfdSerLayout): MemfdFormat {
  const { serSize } = layout;
  return {
    compatible: layout.compatible,
    origin: layout.origin,
    ...(layout.precheck ? { precheck: layout.precheck } : {}),

    serialize(ctx: PreserveContext) {
      const { k, file, folios } = ctx;
      const kho = k.khoOut!;
      const serPhys = kho.allocPreserve(serSize, 'memfd_luo_ser');
      if (isErr(serPhys)) return serPhys;
      const state: V1State = { area: null, desc: null };
      const fail = (e: KernelError): KernelError => {
        if (state.area) k.vmalloc.free(state.area);
        dropSer(k, serPhys);
        return e;
      };
      if (folios.length) {
        const area = k.vmalloc.alloc(
          `memfd_luo folios (ino ${file.inode.ino})`,
          folios.length * MEMFD_LUO_FOLIO_SER_SIZE,
        );
        if (isErr(area)) return fail(area);
        state.area = area;
        k.ram.zeroedStructPages(area.pfns); // vcalloc()
        // A run of folios side by side is one run of kho_preserve_folio() calls, then its records
        // (the folio flags are numbered as MEMFD_LUO_FOLIO_DIRTY and _UPTODATE are).
        for (let r = 0, i = 0; r < folios.nrRuns; r++) {
          const pfn = folios.runPfnAt(r);
          const index = folios.runIndexAt(r);
          const flags = folios.runFlagsAt(r);
          const res = ctx.preserveFolios(i, pfn, folios.runCountAt(r));
          for (let j = 0; j < res.done;) {
            const slot = i % RECORDS_PER_PAGE;
            const n = Math.min(res.done - j, RECORDS_PER_PAGE - slot);
            const page = k.ram.structPage(area.pfns[(i - slot) / RECORDS_PER_PAGE]!);
            writeFolioSerRun(page, slot * MEMFD_LUO_FOLIO_SER_SIZE, pfn + j, flags, index + j, n);
            i += n;
            j += n;
          }
          if (res.error) return fail(res.error);
        }
        const desc = kho.preserveVmalloc(area);
        if (isErr(desc)) return fail(desc);
        state.desc = desc;
      }
      k.ram.write(serPhys, layout.encode(file, folios.length, state.desc ?? new Uint8Array(16)));
      return { data: serPhys, state };
    },

    setPos(k, data, pos) {
      const b = new Uint8Array(8);
      putU64(b, 0, pos);
      k.ram.write(data, b);
      return null;
    },

    unserialize(k, data, state) {
      const s = state as V1State;
      if (s.desc) k.khoOut!.unpreserveVmalloc(s.desc);
      if (s.area) k.vmalloc.free(s.area);
      dropSer(k, data);
    },

    decode(ram: PhysicalMemory, data: number): DecodedMemfd | KernelError {
      if (!(data % PAGE_SIZE === 0 && data / PAGE_SIZE < ram.nrPages))
        return kerr('EINVAL', `memfd_luo_ser at ${hex(data)} is not a page of RAM`);
      const ser = layout.decode(ram.read(data, serSize));
      if (isErr(ser)) return ser;
      if (![ser.pos, ser.size, ser.nrFolios].every(Number.isFinite))
        return kerr('EINVAL', `memfd_luo_ser at ${hex(data)} is corrupt`);
      const meta: MetaBlock[] = [
        { pfn: data / PAGE_SIZE, order: 0, as: 'folio', what: 'memfd_luo_ser', errno: 'EINVAL' },
      ];
      const folios = new FolioList(Math.min(ser.nrFolios, 1 << 24) || 1);
      if (ser.nrFolios > 0) {
        const walk = walkKhoVmalloc(ram, ser.folios);
        if (typeof walk === 'string') return kerr('EINVAL', `kho_restore_vmalloc of the folio array: ${walk}`);
        const pages: number[] = [];
        for (const p of walk.pieces) for (let j = 0; j < 2 ** walk.order; j++) pages.push(p + j);
        if (pages.length * RECORDS_PER_PAGE < ser.nrFolios)
          return kerr('EINVAL', `the folio array holds fewer than ${ser.nrFolios} records`);
        for (const pfn of pages)
          meta.push({ pfn, order: 0, as: 'pages', what: 'memfd_luo folio array', errno: 'EINVAL' });
        for (const pfn of walk.chunks)
          meta.push({ pfn, order: 0, as: 'pages', what: 'kho_vmalloc chunk', errno: 'EINVAL' });
        const known = MEMFD_LUO_FOLIO_DIRTY | MEMFD_LUO_FOLIO_UPTODATE;
        const sink = {
          pushRun: (pfn: number, index: number, n: number, flags: number) =>
            folios.pushRun(pfn, index, n, flags & known),
        };
        for (let pg = 0; pg * RECORDS_PER_PAGE < ser.nrFolios; pg++) {
          const bytes = ram.page(pages[pg]!); // read only, not kept: no copy
          readFolioSerRun(bytes, 0, Math.min(RECORDS_PER_PAGE, ser.nrFolios - pg * RECORDS_PER_PAGE), sink);
        }
      }
      // The ser, the records, and each chunk's next pointer and piece addresses.
      const chunkBytes = meta.filter((m) => m.what !== 'memfd_luo_ser').length * 8;
      const usedBytes = serSize + ser.nrFolios * MEMFD_LUO_FOLIO_SER_SIZE + chunkBytes;
      return {
        pos: ser.pos,
        size: ser.size,
        folios,
        meta,
        usedBytes,
        ...(ser.seals !== undefined ? { seals: ser.seals } : {}),
      };
    },
  };
}

export const memfdV1 = vmallocRecordFormat({
  compatible: MEMFD_LUO_FH_COMPATIBLE,
  origin: 'merged in Linux 6.19',
  serSize: MEMFD_LUO_SER_SIZE,
  encode: (file, nrFolios, folios) => encodeMemfdSer({ pos: file.pos, size: file.inode.size, nrFolios, folios }),
  decode: (b) => decodeMemfdSer(b),
});
