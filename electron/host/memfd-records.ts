/**
 * DOC: memfd's records, annotated (the three formats: include/linux/kho/abi/memfd.h of Linux
 * 6.19, LUO patch v3 29/30 (memfd FDT), and its port to the KHO array RFC (kho_array.h))
 *
 * What `luo_file_ser.data` leads to, decoded from RAM for the struct viewer:
 *  - memfd-v1: `memfd_luo_ser` (pos, size, nr_folios, the `kho_vmalloc` of the folio array), the
 *    `kho_vmalloc_chunk` pages that list the array's pages, and an array page of
 *    `memfd_luo_folio_ser` (pfn:52 | flags:12, index);
 *  - memfd-fdt-v1 and memfd-karr-v1: the per-file FDT, its `pos`, `size` and `folios` properties
 *    where they sit in the blob — v3's 16-byte foliodescs, or the karr port's `struct kho_array`
 *    — and a KHO array page (next, startpos, 510 tagged entries).
 */
import { MAX_PAGE_ORDER, PAGE_SIZE, hex } from '../../shared/units';
import type { AnnotatedStruct, RecordRequest, StructField } from '../../shared/views';
import { getU32, getU64 } from '../kernel/abi/bytes';
import { KHO_VMALLOC_SIZE } from '../kernel/abi/kho-v1';
import {
  KA_PAGE_HEADER_SIZE,
  KA_PAGE_NR_ENTRIES,
  KARR_MEMFD_PFN_SHIFT,
  KHO_ARRAY_MAGIC,
} from '../kernel/abi/kho-array';
import {
  MEMFD_FDT_COMPATIBLE,
  MEMFD_KARR_COMPATIBLE,
  PRESERVED_FOLIO_SIZE,
  V3_PFN_SHIFT,
  getFoliodesc,
} from '../kernel/abi/memfd-fdt';
import {
  MEMFD_LUO_FH_COMPATIBLE,
  MEMFD_LUO_FOLIO_DIRTY,
  MEMFD_LUO_FOLIO_SER_SIZE,
  MEMFD_LUO_FOLIO_UPTODATE,
  MEMFD_LUO_SER_SIZE,
  folioSerFlags,
  folioSerPfn,
} from '../kernel/abi/memfd-v1';
import { FDT_PROP, decodeFdtLayout } from '../kernel/lib/fdt';
import type { Machine } from '../kernel/machine';
import { FieldReader, MAX_RECORD_ELEMENTS } from './annotate';
import { type Result, failure, ok } from '../../shared/result';

const ramEnd = (m: Machine): number => m.layout.maxPfn * PAGE_SIZE;
/**
 * memfd_luo_folio_ser.flags by name (include/linux/kho/abi/memfd.h; set by mm/memfd_luo.c:
 * memfd_luo_preserve_folios(), read back by memfd_luo_retrieve_folios()).
 */
export function folioFlagNames(f: number): string {
  const names = [
    f & MEMFD_LUO_FOLIO_DIRTY ? 'MEMFD_LUO_FOLIO_DIRTY' : '',
    f & MEMFD_LUO_FOLIO_UPTODATE ? 'MEMFD_LUO_FOLIO_UPTODATE' : '',
    f & ~(MEMFD_LUO_FOLIO_DIRTY | MEMFD_LUO_FOLIO_UPTODATE) ? hex(f & ~3) : '',
  ].filter(Boolean);
  return names.join(' | ') || '0';
}
const flagNames = (f: number): string =>
  [f & 1 ? 'DIRTY' : '', f & 2 ? 'UPTODATE' : '', f & ~3 ? hex(f & ~3) : ''].filter(Boolean).join('|') || '0';

/** Where luo_file_ser.data of a file with this compatible leads. */
export function memfdDataRecord(compatible: string, phys: number): RecordRequest | undefined {
  if (compatible === MEMFD_LUO_FH_COMPATIBLE) return { kind: 'memfd-luo-ser', phys };
  if (compatible === MEMFD_FDT_COMPATIBLE || compatible === MEMFD_KARR_COMPATIBLE) return { kind: 'memfd-fdt', phys };
  return undefined;
}

function inRam(m: Machine, kind: string, phys: number, len: number): string | null {
  return phys % 8 === 0 && phys + len <= ramEnd(m) ? null : `${kind}: ${hex(phys)} is not inside RAM`;
}

/** The `struct kho_vmalloc folios` member both memfd formats end with (include/linux/kho/abi/kexec_handover.h). */
export function folioVmallocFields(r: FieldReader): void {
  r.phys('folios.first', (p) => ({ kind: 'kho-vmalloc-chunk', phys: p }));
  r.uint('folios.total_pages', 4);
  r.uint('folios.flags', 2, (v) => `${hex(v)}${v & 1 ? ' VMALLOC_ALLOC' : ''}${v & 2 ? ' HUGE_VMAP' : ''}`);
  r.uint('folios.order', 2);
}

export function memfdLuoSer(m: Machine, phys: number): Result<AnnotatedStruct> {
  const bad = inRam(m, 'memfd-luo-ser', phys, MEMFD_LUO_SER_SIZE);
  if (bad) return failure(bad);
  const bytes = m.ram.read(phys, MEMFD_LUO_SER_SIZE);
  const r = new FieldReader(bytes, 0, ramEnd(m));
  r.u64('pos', { unit: 'bytes' });
  r.u64('size', { unit: 'bytes' });
  const n = r.u64('nr_folios');
  folioVmallocFields(r);
  return ok({
    kind: 'memfd-luo-ser',
    title: 'memfd_luo_ser (memfd-v1, Linux 6.19)',
    phys,
    bytes,
    header: { type: 'memfd_luo_ser', fields: r.fields },
    notes: [
      'kho_alloc_preserve(40) at PRESERVE_FD: a whole zeroed page; freeze rewrites pos at reboot().',
      `The ${n} folio records (16 bytes each) live in a vmalloc'd array preserved with kho_preserve_vmalloc(); folios.first is its first chunk.`,
    ],
  });
}

export function khoVmallocChunk(m: Machine, phys: number): Result<AnnotatedStruct> {
  const bad = inRam(m, 'kho-vmalloc-chunk', phys, PAGE_SIZE);
  if (bad) return failure(bad);
  const bytes = m.ram.read(phys, PAGE_SIZE);
  const head = new FieldReader(bytes, 0, ramEnd(m));
  head.phys('hdr.next', (p) => ({ kind: 'kho-vmalloc-chunk', phys: p }));
  let count = 0;
  while (count < KHO_VMALLOC_SIZE && getU64(bytes, 8 + 8 * count) !== 0) count++;
  const elements: StructField[][] = [];
  for (let i = 0; i < Math.min(count, MAX_RECORD_ELEMENTS); i++) {
    const r = new FieldReader(bytes, 8 + 8 * i, ramEnd(m));
    r.phys('phys', (p) => ({ kind: 'memfd-folio-array', phys: p }));
    elements.push(r.fields);
  }
  return ok({
    kind: 'kho-vmalloc-chunk',
    title: `kho_vmalloc_chunk: ${count} of ${KHO_VMALLOC_SIZE} entries`,
    phys,
    bytes,
    header: { type: 'kho_vmalloc_hdr', fields: head.fields },
    array: { type: 'u64 phys', offset: 8, stride: 8, count, elements },
    notes: [
      'Each entry is a preserved piece of the vmalloc area, zero-terminated; a full chunk is followed by another even when nothing is left for it (kho_preserve_vmalloc).',
    ],
  });
}

export function memfdFolioArray(m: Machine, phys: number): Result<AnnotatedStruct> {
  const bad = inRam(m, 'memfd-folio-array', phys, PAGE_SIZE);
  if (bad) return failure(bad);
  const bytes = m.ram.read(phys, PAGE_SIZE);
  const per = PAGE_SIZE / MEMFD_LUO_FOLIO_SER_SIZE;
  let count = per;
  while (count > 0 && getU64(bytes, (count - 1) * 16) === 0 && getU64(bytes, (count - 1) * 16 + 8) === 0) count--;
  const elements: StructField[][] = [];
  for (let i = 0; i < Math.min(count, MAX_RECORD_ELEMENTS); i++) {
    const off = i * MEMFD_LUO_FOLIO_SER_SIZE;
    const pfn = folioSerPfn(bytes, off);
    const at = pfn * PAGE_SIZE;
    // pfn:52 is bits 0..51 (bytes 0..6), flags:12 bits 52..63 (bytes 6..7): byte 6 holds both.
    const p = new FieldReader(bytes, off, ramEnd(m));
    p.field(
      'pfn',
      7,
      'u64 :52',
      hex(pfn),
      at < ramEnd(m) ? { phys: at, physBeside: true } : { problem: 'pfn beyond the end of RAM' },
    );
    const f = new FieldReader(bytes, off + 6, ramEnd(m));
    f.field('flags', 2, 'u64 :12', folioFlagNames(folioSerFlags(bytes, off)));
    const r = new FieldReader(bytes, off + 8, ramEnd(m));
    r.u64('index');
    elements.push([...p.fields, ...f.fields, ...r.fields]);
  }
  return ok({
    kind: 'memfd-folio-array',
    title: `memfd_luo_folio_ser[${count}] (one page of the array)`,
    phys,
    bytes,
    array: { type: 'memfd_luo_folio_ser', offset: 0, stride: MEMFD_LUO_FOLIO_SER_SIZE, count, elements },
    notes: [
      "GCC packs pfn:52 into bits 0..51 and flags:12 into bits 52..63 on little-endian x86-64 — the reverse of v3's foliodesc. Entries past the last non-zero one are not shown.",
    ],
  });
}

/** The properties of the FDT's root node with where their values sit in the blob (the kernel's FDT walk). */
function rootProps(b: Uint8Array): { props: Array<{ name: string; off: number; len: number }>; error?: string } {
  const layout = decodeFdtLayout(b);
  const props = layout.tokens
    .filter((t) => t.tag === FDT_PROP && t.path === '/')
    .map((t) => ({ name: t.name!, off: t.valueOffset!, len: t.len! }));
  return layout.error ? { props, error: layout.error.message } : { props };
}

export function memfdFdtRecord(m: Machine, phys: number): Result<AnnotatedStruct> {
  const bad = inRam(m, 'memfd-fdt', phys, 40);
  if (bad) return failure(bad);
  const totalsize = Math.min(
    new DataView(m.ram.read(phys, 8).buffer).getUint32(4),
    PAGE_SIZE * 2 ** MAX_PAGE_ORDER,
    ramEnd(m) - phys,
  );
  const blob = m.ram.read(phys, Math.max(40, totalsize));
  const { props, error } = rootProps(blob);
  const r = new FieldReader(blob, 0, ramEnd(m));
  let folios: { off: number; len: number } | null = null;
  for (const p of props) {
    r.seek(p.off);
    if ((p.name === 'pos' || p.name === 'size') && p.len === 8) r.u64(p.name, { unit: 'bytes' });
    else if (p.name === 'folios') {
      folios = p;
      r.field(
        'folios',
        p.len,
        p.len === 16 && getU32(blob, p.off) === KHO_ARRAY_MAGIC ? 'struct kho_array' : `u8[${p.len}]`,
        `${p.len} bytes`,
      );
    } else r.field(p.name, p.len, `u8[${p.len}]`, `${p.len} bytes`);
  }
  const karr = folios !== null && folios.len === 16 && getU32(blob, folios.off) === KHO_ARRAY_MAGIC;
  const elements: StructField[][] = [];
  const notes: string[] = [];
  let array: AnnotatedStruct['array'];
  if (folios && karr) {
    const d = new FieldReader(blob, folios.off, ramEnd(m));
    d.uint('kho_array.magic', 4, (v) => `${hex(v)} ("KARR")`);
    d.uint('kho_array.version', 2);
    d.uint('kho_array.__reserved', 2);
    d.phys('kho_array.first', (p) => ({ kind: 'kho-array-page', phys: p }));
    r.fields.push(...d.fields);
    notes.push(
      'memfd-karr-v1 (KHO array RFC, September 2025): one zeroed page of FDT; `folios` holds the 16-byte kho_array descriptor, whose pages hold one entry per folio at its file index.',
    );
  } else if (folios) {
    const n = Math.floor(folios.len / PRESERVED_FOLIO_SIZE);
    for (let i = 0; i < Math.min(n, MAX_RECORD_ELEMENTS); i++) {
      const off = folios.off + i * PRESERVED_FOLIO_SIZE;
      const e = new FieldReader(blob, off, ramEnd(m));
      const f = getFoliodesc(blob, off, V3_PFN_SHIFT);
      e.field(
        'foliodesc',
        8,
        'u64',
        f.pfn === 0 && f.flags === 0 ? '0 (skip)' : `pfn ${hex(f.pfn)} · ${flagNames(f.flags)}`,
        f.pfn * PAGE_SIZE < ramEnd(m)
          ? { phys: f.pfn * PAGE_SIZE, physBeside: true }
          : { problem: 'pfn beyond the end of RAM' },
      );
      e.u64('index');
      elements.push(e.fields);
    }
    array = { type: 'memfd_luo_preserved_folio', offset: folios.off, stride: PRESERVED_FOLIO_SIZE, count: n, elements };
    notes.push(
      `memfd-fdt-v1 (LUO patch v3, August 2025): one FDT folio built with fdt_create(); foliodesc = pfn << 12 | flags (DIRTY bit 0, UPTODATE bit 1). ${n.toLocaleString('en-US')} entries in a ${totalsize.toLocaleString('en-US')}-byte blob.`,
    );
  }
  return ok({
    kind: 'memfd-fdt',
    title: karr ? 'memfd FDT with a struct kho_array (memfd-karr-v1)' : 'memfd FDT (memfd-fdt-v1)',
    phys,
    bytes: blob.subarray(
      0,
      Math.min(
        blob.length,
        folios ? folios.off + Math.min(folios.len, MAX_RECORD_ELEMENTS * PRESERVED_FOLIO_SIZE) : blob.length,
      ),
    ),
    header: { type: 'FDT root properties', fields: r.fields },
    ...(array ? { array } : {}),
    notes,
    ...(error ? { error } : {}),
  });
}

export function khoArrayPage(m: Machine, phys: number): Result<AnnotatedStruct> {
  const bad = inRam(m, 'kho-array-page', phys, PAGE_SIZE);
  if (bad) return failure(bad);
  const bytes = m.ram.read(phys, PAGE_SIZE);
  const head = new FieldReader(bytes, 0, ramEnd(m));
  head.phys('next', (p) => ({ kind: 'kho-array-page', phys: p }));
  const startpos = head.u64('startpos');
  const elements: StructField[][] = [];
  let used = 0;
  for (let i = 0; i < KA_PAGE_NR_ENTRIES; i++) {
    const off = KA_PAGE_HEADER_SIZE + 8 * i;
    const v = getU64(bytes, off);
    if (v === 0) continue;
    used++;
    if (elements.length >= MAX_RECORD_ELEMENTS) continue;
    const e = new FieldReader(bytes, off, ramEnd(m));
    const isValue = (getU32(bytes, off) & 1) === 1;
    const desc = Math.floor(v / 2);
    const pfn = Math.floor(desc / 2 ** KARR_MEMFD_PFN_SHIFT);
    e.field(
      `entries[${i}] (index ${startpos + i})`,
      8,
      'u64',
      isValue ? `value: pfn ${hex(pfn)} · ${flagNames(desc & 0x7ff)}` : `pointer ${hex(v)}`,
      isValue && pfn * PAGE_SIZE < ramEnd(m) ? { phys: pfn * PAGE_SIZE, physBeside: true } : {},
    );
    elements.push(e.fields);
  }
  return ok({
    kind: 'kho-array-page',
    title: `kho_array_page: ${used} of ${KA_PAGE_NR_ENTRIES} entries used (indices ${startpos}…${startpos + KA_PAGE_NR_ENTRIES - 1})`,
    phys,
    bytes,
    header: { type: 'kho_array_page', fields: head.fields },
    array: { type: 'u64 entry (non-empty only)', offset: KA_PAGE_HEADER_SIZE, stride: 8, count: used, elements },
    notes: [
      `Entries are (value << 1) | 1; the memfd port's value is pfn << 11 | flags. ${KA_PAGE_NR_ENTRIES - used} of the page's slots are empty${used <= 2 ? ': the sparse-index cost Jason Gunthorpe warned about' : ''}.`,
    ],
  });
}
