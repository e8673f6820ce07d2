/**
 * DOC: the 7.x handover's records, annotated
 *
 * What a 7.1+ kernel hands over beside the root FDT, decoded from RAM for the struct viewer with
 * the offsets of the 7.x codecs (electron/kernel/abi): a radix tree node
 * (include/linux/kho/abi/kexec_handover.h: struct kho_radix_node / kho_radix_leaf), a kho_block of
 * LUO sessions or files (include/linux/kho/abi/block.h, luo.h), `struct luo_ser`, the FLB area,
 * memfd-v2's `struct memfd_luo_ser` and `struct kho_kexec_metadata`. Everything reads through a
 * PhysReader, so the same records show a simulated machine's RAM and a real kernel's dump.
 *
 * A radix node request carries its level and the lowest key under it (a node page does not say
 * which level it is); with `pathKey` the entry or bit on that key's way is highlighted and its link
 * carries the key on, so following the highlighted links from the root is the block's path.
 */
import { PAGE_SIZE, formatBytes, hex } from '../../shared/units';
import type { AnnotatedStruct, RecordRequest, StructField } from '../../shared/views';
import { type Result, failure, ok } from '../../shared/result';
import { getU64 } from '../kernel/abi/bytes';
import { KHO_KEXEC_METADATA, PREVIOUS_RELEASE_LEN } from '../kernel/abi/kexec-metadata';
import { KHO_BLOCK_HDR_SIZE, countPerBlock } from '../kernel/abi/kho-block';
import { decodeRadixKey, radixPath } from '../kernel/abi/kho-radix-tree';
import { LIVEUPDATE_FLB_COMPAT_LENGTH, LUO_FLB_HEADER_SER, LUO_FLB_MAX, LUO_FLB_SER } from '../kernel/abi/luo-flb';
import {
  LIVEUPDATE_HNDL_COMPAT_LENGTH,
  LIVEUPDATE_SESSION_NAME_LENGTH,
  LUO_ABI_COMPAT_LEN,
  LUO_FILE_SER,
  LUO_KHO_ENTRY_NAME,
  LUO_SER,
  LUO_SESSION_SER,
} from '../kernel/abi/luo-v5';
import { F_SEAL, MEMFD_LUO_FH_COMPATIBLE_V2, MEMFD_LUO_SER_V2 } from '../kernel/abi/memfd-v2';
import type { PhysReader } from '../kernel/abi/phys-reader';
import { FieldReader, MAX_RECORD_ELEMENTS } from './annotate';
import { folioVmallocFields, memfdDataRecord } from './memfd-records';

/** RAM as these decoders see it: a reader and one past its last byte. */
export interface Ram7x {
  mem: PhysReader;
  end: number;
}

const TABLE_ENTRIES = 512;
const LEAF_BITS = PAGE_SIZE * 8;
/** Keys one entry of a level-`level` table covers: 2^(9·(level-1) + 15) (kho_radix_get_table_index()). */
const keysPerEntry = (level: number): number => 2 ** (9 * (level - 1) + 15);
const orderOfSize = (order: number) => formatBytes(PAGE_SIZE * 2 ** order);

function read(ram: Ram7x, kind: string, phys: number, len: number): Uint8Array | string {
  if (!Number.isSafeInteger(phys) || phys < 0 || phys + len > ram.end) return `${kind}: ${hex(phys)} is not inside RAM`;
  return ram.mem.read(phys, len) ?? `${kind}: ${hex(phys)}+${len} is not in memory (not captured in the dump)`;
}

/** The block a key stands for, as the kernel logs it: `0x1234000 order 0 (4 KiB)`. */
function blockText(key: number): string {
  const b = decodeRadixKey(key);
  return b ? `${hex(b.phys)} order ${b.order} (${orderOfSize(b.order)})` : `key ${hex(key)} (no block)`;
}

/** A radix node: the table entries that are set (levels 5 … 1) or the leaf's words with bits set. */
export function radixNodeRecord(ram: Ram7x, req: RecordRequest): Result<AnnotatedStruct> {
  const level = req.level ?? 5;
  const keyStart = req.keyStart ?? 0;
  if (req.phys % PAGE_SIZE !== 0) return failure(`kho-radix-node: ${hex(req.phys)} is not page-aligned`);
  const page = read(ram, 'kho-radix-node', req.phys, PAGE_SIZE);
  if (typeof page === 'string') return failure(page);
  const path = req.pathKey !== undefined ? decodeRadixKey(req.pathKey) : null;
  const way = path ? radixPath(path.phys, path.order) : null;
  return ok(
    level === 0 ? leafRecord(ram, req, page, keyStart, way?.bit) : tableRecord(ram, req, page, level, keyStart, way),
  );
}

function tableRecord(
  ram: Ram7x,
  req: RecordRequest,
  page: Uint8Array,
  level: number,
  keyStart: number,
  way: { indices: number[] } | null,
): AnnotatedStruct {
  const span = keysPerEntry(level);
  const onWay = way ? way.indices[5 - level] : undefined;
  const fields: StructField[] = [];
  let last = 0;
  let set = 0;
  for (let i = 0; i < TABLE_ENTRIES; i++) {
    const child = getU64(page, i * 8);
    if (child === 0) continue;
    set++;
    last = i * 8 + 8;
    if (fields.length >= MAX_RECORD_ELEMENTS && i !== onWay) continue;
    const first = keyStart + i * span;
    const f: StructField = {
      offset: i * 8,
      size: 8,
      name: `table[${i}]`,
      type: 'u64',
      value: Number.isFinite(child) ? hex(child) : 'beyond 2^53',
    };
    if (!Number.isFinite(child) || child >= ram.end) f.problem = 'beyond the end of RAM';
    else if (child % PAGE_SIZE !== 0) f.problem = 'not page-aligned: no node starts there';
    else {
      f.phys = child;
      f.opens = {
        kind: 'kho-radix-node',
        phys: child,
        level: level - 1,
        keyStart: first,
        ...(i === onWay && req.pathKey !== undefined ? { pathKey: req.pathKey } : {}),
      };
    }
    if (i === onWay) f.highlight = true;
    fields.push(f);
  }
  const childWhat = level === 1 ? 'leaf bitmap' : `level-${level - 1} table`;
  return {
    kind: 'kho-radix-node',
    title: `kho_radix_node, level ${level}: ${set} of ${TABLE_ENTRIES} entries set`,
    phys: req.phys,
    bytes: page.subarray(0, Math.max(8, last)),
    sections: [
      {
        type: `u64 table[${TABLE_ENTRIES}]: entries that are set, each the physical address of a ${childWhat}`,
        fields,
      },
    ],
    notes: [
      `${level === 5 ? 'The root (preserved-memory-map). ' : ''}Entry i covers keys ${hex(keyStart)} + i × ${hex(span)}; a key is 1 << (52 − order) | phys >> (12 + order), so the order bit sorts higher orders first.`,
      ...(set > fields.length ? [`${set - fields.length} more entries not listed (their bytes are in the hex).`] : []),
      ...(onWay !== undefined && !fields.some((f) => f.highlight)
        ? [`Entry ${onWay} on the block's way is 0: the block is not in this tree.`]
        : []),
    ],
  };
}

function leafRecord(
  ram: Ram7x,
  req: RecordRequest,
  page: Uint8Array,
  keyStart: number,
  bitOnWay: number | undefined,
): AnnotatedStruct {
  const first = decodeRadixKey(keyStart || LEAF_BITS);
  const fields: StructField[] = [];
  let blocks = 0;
  let last = 0;
  for (let w = 0; w < PAGE_SIZE / 8; w++) {
    const lo = page[w * 8]! | (page[w * 8 + 1]! << 8) | (page[w * 8 + 2]! << 16) | (page[w * 8 + 3]! << 24);
    const hi = page[w * 8 + 4]! | (page[w * 8 + 5]! << 8) | (page[w * 8 + 6]! << 16) | (page[w * 8 + 7]! << 24);
    const onWay = bitOnWay !== undefined && bitOnWay >> 6 === w;
    if (lo === 0 && hi === 0 && !onWay) continue;
    const bits: number[] = [];
    for (let b = 0; b < 64; b++) if (((b < 32 ? lo : hi) >>> (b % 32)) & 1) bits.push(w * 64 + b);
    blocks += bits.length;
    if (bits.length) last = w * 8 + 8;
    if (fields.length >= MAX_RECORD_ELEMENTS && !onWay) continue;
    const shown = bits.slice(0, 4).map((b) => `bit ${b} → ${blockText(keyStart + b)}`);
    const f: StructField = {
      offset: w * 8,
      size: 8,
      name: `bitmap[${w}]`,
      type: 'u64',
      value: bits.length ? shown.join('; ') + (bits.length > 4 ? `; … ${bits.length - 4} more` : '') : '0',
    };
    if (onWay) {
      f.highlight = true;
      const set = bits.includes(bitOnWay);
      f.value = `bit ${bitOnWay} → ${blockText(keyStart + bitOnWay)}: ${set ? 'set (preserved)' : 'CLEAR: not preserved'}${bits.length > 1 ? ` · ${bits.length} bits set in this word` : ''}`;
      last = Math.max(last, w * 8 + 8);
    }
    fields.push(f);
  }
  const range = first
    ? `order ${first.order}, blocks from ${hex(first.phys)} every ${orderOfSize(first.order)}`
    : 'keys below 2^15 (no block encodes to them)';
  return {
    kind: 'kho-radix-node',
    title: `kho_radix_leaf: keys ${hex(keyStart)} … ${hex(keyStart + LEAF_BITS - 1)}, ${blocks} bit${blocks === 1 ? '' : 's'} set`,
    phys: req.phys,
    bytes: page.subarray(0, Math.max(8, last)),
    sections: [{ type: `u64 bitmap[${PAGE_SIZE / 8}]: words with bits set (${range})`, fields }],
    notes: [
      `Bit b preserves the block of key ${hex(keyStart)} + b: ${range}. kho_radix_walk_leaf() reserves each set bit's block in the next kernel.`,
      "The real 7.2 kernel does not preserve the tree's own pages: the next kernel reads them before its memory init hands them back.",
    ],
    ...(ram.end && first && first.phys >= ram.end ? { error: `blocks of this leaf start beyond the end of RAM` } : {}),
  };
}

type EntryKind = 'luo-session-blocks' | 'luo-file-blocks';

const seals = (v: number): string =>
  Object.entries(F_SEAL)
    .filter(([, bit]) => v & bit)
    .map(([n]) => `F_SEAL_${n}`)
    .join('|') || 'none';

/** Where a luo_file_ser's data leads for this handler. */
function fileDataRecord(compatible: string, phys: number): RecordRequest | undefined {
  return compatible === MEMFD_LUO_FH_COMPATIBLE_V2 ? { kind: 'memfd-v2-ser', phys } : memfdDataRecord(compatible, phys);
}

/**
 * One kho_block of LUO's luo_session_ser or luo_file_ser entries (kernel/liveupdate/kho_block.c:
 * kho_block_set_restore() reads each block's { next, count } then count entries).
 */
export function luoBlockRecord(ram: Ram7x, req: RecordRequest & { kind: EntryKind }): Result<AnnotatedStruct> {
  const sessions = req.kind === 'luo-session-blocks';
  const size = sessions ? LUO_SESSION_SER.size : LUO_FILE_SER.size;
  const per = countPerBlock(size);
  const page = read(ram, req.kind, req.phys, PAGE_SIZE);
  if (typeof page === 'string') return failure(page);
  const head = new FieldReader(page, 0, ram.end);
  head.phys('next', (p) => ({ kind: req.kind, phys: p }));
  const count = head.u64('count', { max: per });
  if (count === 0)
    head.fields[1]!.problem = `0: "Block contains invalid entry count: 0" (kho_block_set_restore(), -EINVAL)`;
  const shown = Number.isFinite(count) ? Math.min(count, per, MAX_RECORD_ELEMENTS) : 0;
  const elements: StructField[][] = [];
  for (let i = 0; i < shown; i++) {
    const r = new FieldReader(page, KHO_BLOCK_HDR_SIZE + i * size, ram.end);
    if (sessions) {
      r.cstring('name', LIVEUPDATE_SESSION_NAME_LENGTH);
      r.phys('file_set.files', (p) => ({ kind: 'luo-file-blocks', phys: p }));
      r.u64('file_set.count');
    } else {
      const compatible = r.cstring('compatible', LIVEUPDATE_HNDL_COMPAT_LENGTH);
      r.phys('data', (p) => fileDataRecord(compatible, p));
      r.u64hex('token');
    }
    elements.push(r.fields);
  }
  const what = sessions ? 'luo_session_ser' : 'luo_file_ser';
  return ok({
    kind: req.kind,
    title: `kho_block of ${what}: ${Number.isFinite(count) ? count : '?'} of ${per} entries`,
    phys: req.phys,
    bytes: page.subarray(0, KHO_BLOCK_HDR_SIZE + shown * size),
    header: { type: 'kho_block_header_ser', fields: head.fields },
    array: {
      type: what,
      offset: KHO_BLOCK_HDR_SIZE,
      stride: size,
      count: Number.isFinite(count) ? count : 0,
      elements,
    },
    notes: [
      `A page-sized block: a 16-byte { next, count } header, then up to ${per} ${size}-byte entries; next links the following block (0 ends the chain).`,
      sessions
        ? "Each session's files sit in a block chain of their own (file_set.files, file_set.count)."
        : "data is the handler's u64: memfd-v2 puts the physical address of its memfd_luo_ser there.",
    ],
  });
}

/** struct luo_ser, the whole of LUO's sub-blob (luo_core.c: luo_early_startup()). */
export function luoSerRecord(ram: Ram7x, req: RecordRequest): Result<AnnotatedStruct> {
  const bytes = read(ram, 'luo-ser', req.phys, LUO_SER.size);
  if (typeof bytes === 'string') return failure(bytes);
  const r = new FieldReader(bytes, 0, ram.end);
  const compat = r.cstring('compatible', LUO_ABI_COMPAT_LEN);
  r.u64('liveupdate_num');
  const sessions = r.phys('sessions_pa', (p) => ({ kind: 'luo-session-blocks', phys: p }));
  r.phys('flbs_pa', (p) => ({ kind: 'luo-flb-area', phys: p }));
  return ok({
    kind: 'luo-ser',
    title: `luo_ser "${compat}"`,
    phys: req.phys,
    bytes,
    header: { type: 'struct luo_ser', fields: r.fields },
    notes: [
      `KHO's "${LUO_KHO_ENTRY_NAME}" sub-blob from 7.2: no LUO FDT any more. The next kernel refuses any compatible but its own ("LUO state is incompatible") and panics.`,
      sessions === 0
        ? 'sessions_pa is 0: the real 7.2 writes it only in the reboot path (liveupdate_reboot()), so before kexec -e it reads 0.'
        : 'sessions_pa heads the sessions’ kho_block chain.',
    ],
  });
}

/** The FLB area luo_ser.flbs_pa points at: header then luo_flb_ser records (luo_flb.c). */
export function flbAreaRecord(ram: Ram7x, req: RecordRequest): Result<AnnotatedStruct> {
  const page = read(ram, 'luo-flb-area', req.phys, PAGE_SIZE);
  if (typeof page === 'string') return failure(page);
  const head = new FieldReader(page, 0, ram.end);
  head.u64('pgcnt', { unit: 'pages' });
  const count = head.u64('count', { max: LUO_FLB_MAX });
  const shown = Number.isFinite(count) ? Math.min(count, LUO_FLB_MAX) : 0;
  const elements: StructField[][] = [];
  for (let i = 0; i < shown; i++) {
    const r = new FieldReader(page, LUO_FLB_HEADER_SER.size + i * LUO_FLB_SER.size, ram.end);
    r.cstring('name', LIVEUPDATE_FLB_COMPAT_LENGTH);
    r.u64hex('data');
    r.u64('count', { unit: 'files' });
    elements.push(r.fields);
  }
  return ok({
    kind: 'luo-flb-area',
    title: `luo_flb_header_ser: ${shown} FLB record${shown === 1 ? '' : 's'}`,
    phys: req.phys,
    bytes: page.subarray(0, LUO_FLB_HEADER_SER.size + shown * LUO_FLB_SER.size),
    header: { type: 'luo_flb_header_ser', fields: head.fields },
    array: { type: 'luo_flb_ser', offset: LUO_FLB_HEADER_SER.size, stride: LUO_FLB_SER.size, count: shown, elements },
    notes: [
      'File-Lifecycle-Bound global state: one record per FLB that files depended on, its handler data and how many files. The real 7.2 writes the records only in the reboot path.',
    ],
  });
}

/** memfd-v2's struct memfd_luo_ser (mm/memfd_luo.c: memfd_luo_preserve()). */
export function memfdV2Record(ram: Ram7x, req: RecordRequest): Result<AnnotatedStruct> {
  const bytes = read(ram, 'memfd-v2-ser', req.phys, MEMFD_LUO_SER_V2.bytes);
  if (typeof bytes === 'string') return failure(bytes);
  const r = new FieldReader(bytes, 0, ram.end);
  r.u64('pos', { unit: 'bytes' });
  r.u64('size', { unit: 'bytes' });
  r.uint('seals', 4, (v) => `${hex(v)} (${seals(v)})`);
  const flags = r.uint('flags', 4, hex);
  if (flags !== 0) r.fields.at(-1)!.problem = 'no flags are defined: memfd_luo_retrieve() refuses non-zero';
  const n = r.u64('nr_folios');
  folioVmallocFields(r);
  return ok({
    kind: 'memfd-v2-ser',
    title: 'memfd_luo_ser (memfd-v2)',
    phys: req.phys,
    bytes,
    header: { type: 'struct memfd_luo_ser', fields: r.fields },
    notes: [
      `48 bytes with the file's seals. Its ${n} folio record${n === 1 ? '' : 's'} (16 bytes each, DIRTY|UPTODATE from 7.2) are in a preserved vmalloc array; folios.first is its first chunk.`,
    ],
  });
}

/** struct kho_kexec_metadata (kexec_handover.c: kho_out_kexec_metadata()). */
export function kexecMetadataRecord(ram: Ram7x, req: RecordRequest): Result<AnnotatedStruct> {
  const bytes = read(ram, 'kexec-metadata', req.phys, KHO_KEXEC_METADATA.size);
  if (typeof bytes === 'string') return failure(bytes);
  const r = new FieldReader(bytes, 0, ram.end);
  r.uint('version', 4);
  const rel = r.cstring('previous_release', PREVIOUS_RELEASE_LEN);
  const count = r.uint('kexec_count', 4);
  return ok({
    kind: 'kexec-metadata',
    title: `kho_kexec_metadata: from ${rel} (count ${count})`,
    phys: req.phys,
    bytes,
    header: { type: 'struct kho_kexec_metadata (packed)', fields: r.fields },
    notes: ['The next kernel logs "KHO: exec from: <release> (count N)"; a bad version or size only warns.'],
  });
}

/** The 7.x decoders by record kind. */
export const DECODERS_7X = {
  'kho-radix-node': radixNodeRecord,
  'luo-ser': luoSerRecord,
  'luo-session-blocks': (ram: Ram7x, r: RecordRequest) => luoBlockRecord(ram, { ...r, kind: 'luo-session-blocks' }),
  'luo-file-blocks': (ram: Ram7x, r: RecordRequest) => luoBlockRecord(ram, { ...r, kind: 'luo-file-blocks' }),
  'luo-flb-area': flbAreaRecord,
  'memfd-v2-ser': memfdV2Record,
  'kexec-metadata': kexecMetadataRecord,
} as const;

/**
 * A 7.x root FDT's links: `preserved-memory-map` opens the radix root, each sub-node's
 * `preserved-data` the record of its blob (LUO's luo_ser, kexec-metadata, else an FDT). kho-v1
 * records keep the links kho-records.ts gave them.
 */
export function link7xFdt(rec: AnnotatedStruct): AnnotatedStruct {
  const compat = rec.sections?.flatMap((s) => s.fields).find((f) => f.property === 'compatible');
  if (!compat || !/"kho-v[2-9]/.test(compat.value)) return rec;
  for (const f of rec.sections!.flatMap((s) => s.fields)) {
    if (f.phys === undefined || !f.property) continue;
    if (f.property === 'preserved-memory-map')
      f.opens = { kind: 'kho-radix-node', phys: f.phys, level: 5, keyStart: 0 };
    else if (f.property.endsWith('/preserved-data')) {
      const node = f.property.slice(0, -'/preserved-data'.length);
      f.opens =
        node === LUO_KHO_ENTRY_NAME
          ? { kind: 'luo-ser', phys: f.phys }
          : node === 'kexec-metadata'
            ? { kind: 'kexec-metadata', phys: f.phys }
            : { kind: 'fdt', phys: f.phys };
    }
  }
  return rec;
}
