/**
 * DOC: KHO's records, annotated
 *
 * The KHO structures the next kernel reads, decoded from RAM for the struct viewer with the
 * kernel's own codecs — no second parser: a devicetree blob (the root FDT or any sub-FDT) through
 * decodeFdtLayout() (electron/kernel/lib/fdt.ts), and one page of the kho-v1 chunk list
 * (struct khoser_mem_chunk, kernel/liveupdate/kexec_handover.c: kho_mem_deserialize()) through
 * the field offsets of electron/kernel/abi/kho-v1.ts. Every field carries its byte offset, so the
 * viewer colours its bytes and the poke editor can corrupt exactly that field.
 */
import { MAX_PAGE_ORDER, PAGE_SIZE, formatBytes, hex } from '../../shared/units';
import {
  type AnnotatedStruct,
  type RecordRequest,
  type StructField,
  type StructSection,
  readAtBootMarker,
} from '../../shared/views';
import { getU64 } from '../kernel/abi/bytes';
import { CHUNK_ENTRY, CHUNK_HDR, KHOSER_BITMAP_SIZE, chunkEntryOffset, decodeChunk } from '../kernel/abi/kho-v1';
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_HEADER_FIELDS,
  FDT_MAGIC,
  FDT_NOP,
  FDT_PROP,
  type FdtLayout,
  type FdtToken,
  decodeFdtLayout,
} from '../kernel/lib/fdt';
import type { Machine } from '../kernel/machine';
import { FieldReader, MAX_RECORD_ELEMENTS } from './annotate';
import { describeValue } from './fdt-text';
import { type Result, failure, ok } from '../../shared/result';
import { chunkPageRead } from './chunks-read';
import { utf8Decode } from '../kernel/lib/utf8';

/** The most of a blob read for one view (KHO's FDTs are a page or a few). */
const MAX_FDT_BYTES = 64 * 1024;
/** FDT_BEGIN_NODE … FDT_END tokens shown for one blob. */
const MAX_FDT_TOKENS = 4096;
const FDT_HEADER_SIZE = 40;
/** A value column longer than this (a memfd FDT's folio array) is cut: its bytes are in the hex. */
const MAX_VALUE_CHARS = 160;
const cut = (s: string): string => (s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS)}…` : s);

const ramEnd = (m: Machine): number => m.layout.maxPfn * PAGE_SIZE;

/** The blob at `phys` as far as its totalsize says (at least the header, at most MAX_FDT_BYTES and RAM). */
export function readFdtBlob(m: Machine, phys: number): Result<Uint8Array> {
  const end = ramEnd(m);
  if (phys + FDT_HEADER_SIZE > end) return failure(`fdt: ${hex(phys)} is beyond the end of RAM`);
  const total = new DataView(m.ram.read(phys, 8).buffer).getUint32(4);
  return ok(m.ram.read(phys, Math.min(Math.max(FDT_HEADER_SIZE, total), MAX_FDT_BYTES, end - phys)));
}

/** Address properties KHO and LUO put in their FDTs, and the record each one leads to. */
const FDT_LINKS: Record<string, RecordRequest['kind'] | null> = {
  fdt: 'fdt',
  'preserved-memory-map': 'kho-mem-chunk',
  'luo-session-header': 'luo-session-block',
  'preserved-data': null,
};

const TOKEN_NAMES: Record<number, string> = {
  [FDT_BEGIN_NODE]: 'FDT_BEGIN_NODE',
  [FDT_END_NODE]: 'FDT_END_NODE',
  [FDT_PROP]: 'FDT_PROP',
  [FDT_NOP]: 'FDT_NOP',
  [FDT_END]: 'FDT_END',
};

/** A property's path relative to the blob's root, as a poke names it: `compatible`, `luo-session/luo-session-header`. */
const propertyPath = (t: FdtToken): string => (t.path === '/' ? '' : `${t.path.slice(1)}/`) + (t.name ?? '');

function headerFields(bytes: Uint8Array, end: number): StructField[] {
  const r = new FieldReader(bytes, 0, end);
  const show: Record<string, (v: number) => string> = {
    magic: (v) => `${hex(v)}${v === FDT_MAGIC ? ' (FDT_MAGIC)' : ''}`,
    totalsize: (v) => `${v} bytes`,
  };
  for (const name of FDT_HEADER_FIELDS)
    r.be32(
      name,
      show[name] ?? (name.startsWith('off_') ? hex : name.startsWith('size_') ? (v) => `${v} bytes` : String),
    );
  if (!r.fields[0]!.value.includes('FDT_MAGIC'))
    r.fields[0]!.problem = `not ${hex(FDT_MAGIC)}: fdt_check_header() fails with FDT_ERR_BADMAGIC`;
  return r.fields;
}

/**
 * True for a kho-v2+ root FDT, whose `preserved-memory-map` is a radix-tree root (Linux 7.1+),
 * not a kho-v1 chunk list: the chunk record would decode a table page as garbage.
 */
function radixRoot(bytes: Uint8Array, layout: FdtLayout): boolean {
  const c = layout.tokens.find((t) => t.tag === FDT_PROP && t.path === '/' && t.name === 'compatible');
  if (!c || c.valueOffset === undefined) return false;
  const v = utf8Decode(bytes.subarray(c.valueOffset, c.valueOffset + c.len!));
  return /^kho-v([2-9]|\d\d)\0/.test(v);
}

function tokenFields(bytes: Uint8Array, layout: FdtLayout, end: number): StructField[] {
  const r = new FieldReader(bytes, 0, end);
  const radix = radixRoot(bytes, layout);
  for (const t of layout.tokens.slice(0, MAX_FDT_TOKENS)) {
    r.seek(t.offset);
    const indent = '  '.repeat(t.depth);
    if (t.tag === FDT_BEGIN_NODE) r.field('FDT_BEGIN_NODE', t.size, 'be32 + name', `${indent}${t.name || '/'} {`);
    else if (t.tag === FDT_END_NODE) r.field('FDT_END_NODE', 4, 'be32', `${indent}};`);
    else if (t.tag === FDT_PROP) {
      r.field('FDT_PROP', 12, '3 × be32', `len ${t.len}, nameoff ${hex(t.nameoff!)}`);
      if (t.len! > 0) {
        const value = bytes.subarray(t.valueOffset!, t.valueOffset! + t.len!);
        const extra: Partial<StructField> = { property: propertyPath(t) };
        const link = radix && t.name === 'preserved-memory-map' ? null : FDT_LINKS[t.name!];
        if (link !== undefined && t.len === 8) {
          const at = getU64(value, 0);
          if (Number.isFinite(at) && at > 0 && at < end) {
            extra.phys = at;
            if (link) extra.opens = { kind: link, phys: at };
          } else extra.problem = 'beyond the end of RAM';
        }
        r.field(
          propertyPath(t),
          t.len!,
          `u8[${t.len}]`,
          cut(`${indent}${describeValue(t.name!, value, t.path === '/') ?? ''}`),
          extra,
        );
      }
    } else r.field(TOKEN_NAMES[t.tag]!, 4, 'be32', '');
  }
  return r.fields;
}

/** Marks the field an FDT error points into, so the viewer shows where the blob breaks. */
function markProblem(sections: StructField[][], offset: number | undefined, message: string): boolean {
  if (offset === undefined) return false;
  for (const fields of sections) {
    const f = fields.find((x) => offset >= x.offset && offset < x.offset + x.size);
    if (f) {
      f.problem = message;
      return true;
    }
  }
  return false;
}

/**
 * A devicetree blob at `phys`, every byte accounted for: the header's be32 fields, the memory
 * reservation map, each structure token (a property's value as its own field, named by its path
 * so a poke can name it) and the strings block. A blob that does not check out shows up to the
 * problem, with libfdt's error.
 */
export function fdtRecord(m: Machine, phys: number): Result<AnnotatedStruct> {
  const blob = readFdtBlob(m, phys);
  if (!blob.ok) return blob;
  const read = blob.value;
  const end = ramEnd(m);
  const layout = decodeFdtLayout(read);
  const h = layout.header;
  const bytes = h ? read.subarray(0, Math.min(read.length, h.totalsize)) : read.subarray(0, FDT_HEADER_SIZE);
  const header = headerFields(bytes, end);
  const rsv = layout.memReserve.map((e): StructField => ({
    offset: e.offset,
    size: 16,
    name: e.size === 0n ? 'terminator' : '/memreserve/',
    type: 'be64 address, be64 size',
    value: `${hex(e.address)} size ${hex(e.size)}`,
  }));
  const tokens = tokenFields(bytes, layout, end);
  const strings = layout.strings.map((s): StructField => ({
    offset: s.offset,
    size: s.text.length + (s.terminated ? 1 : 0),
    name: `+${hex(s.offset - h!.offDtStrings)}`,
    type: 'char[]',
    value: JSON.stringify(s.text),
    ...(s.terminated ? {} : { problem: 'no NUL before the end of the strings block' }),
  }));
  const sections: StructSection[] = [];
  if (h) {
    sections.push({ type: `memory reservation map at ${hex(h.offMemRsvmap)}`, fields: rsv });
    sections.push({ type: `structure block at ${hex(h.offDtStruct)}, ${h.sizeDtStruct} bytes`, fields: tokens });
    sections.push({ type: `strings block at ${hex(h.offDtStrings)}, ${h.sizeDtStrings} bytes`, fields: strings });
  }
  const notes = [
    "The container is big-endian; KHO's own u64 properties are native-endian (little-endian on x86_64). Bytes no field covers are padding or free space.",
  ];
  if (layout.tokens.length > MAX_FDT_TOKENS)
    notes.push(`${layout.tokens.length - MAX_FDT_TOKENS} more tokens not shown.`);
  const err = layout.error;
  if (
    err &&
    !markProblem([header, rsv, tokens, strings], err.offset, `${err.error}: ${err.message}`) &&
    h &&
    err.offset !== undefined &&
    err.offset + 4 <= bytes.length
  ) {
    // The token the walk refused has no field of its own yet: give it one, so its bytes show where the blob breaks.
    const word = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(err.offset);
    tokens.push({
      offset: err.offset,
      size: 4,
      name: 'bad token',
      type: 'be32',
      value: hex(word),
      problem: `${err.error}: ${err.message}`,
    });
  }
  return ok({
    kind: 'fdt',
    title: h ? `FDT v${h.version}, ${h.totalsize} bytes` : 'FDT (header does not check out)',
    phys,
    bytes,
    header: { type: 'struct fdt_header (be32)', fields: header },
    sections,
    notes,
    ...(err ? { error: `${err.error}: ${err.message}` } : {}),
  });
}

/**
 * One page of the kho-v1 chunk list as the next kernel walks it (kho_mem_deserialize()): the
 * header { next, order, num_elms } and num_elms khoser_mem_bitmap_ptr { phys_start, bitmap }.
 * A page of the list the running kernel walked at early boot is shown as it was read then
 * (chunks-read.ts): its RAM has since been freed, and decoding it now would print garbage.
 */
export function khoMemChunk(m: Machine, phys: number): Result<AnnotatedStruct> {
  const end = ramEnd(m);
  if (phys % PAGE_SIZE !== 0 || phys + PAGE_SIZE > end)
    return failure(`kho-mem-chunk: ${hex(phys)} is not a page inside RAM`);
  const read = chunkPageRead(m, phys);
  const rec = annotateChunk(read ? read.read.page : m.ram.read(phys, PAGE_SIZE), phys, end);
  if (!read) return ok(rec);
  const marker = readAtBootMarker(read.state);
  rec.readAtBoot = read.state;
  rec.notes.unshift(
    marker
      ? `KHO Lab's copy of this page as kho_mem_deserialize() read it (${marker}).`
      : "KHO Lab's copy of this page as kho_mem_deserialize() read it at early boot; the page still holds these bytes.",
  );
  if (read.state.overwritten) rec.notes.splice(1, 0, 'RAM at this address holds something else now.');
  return ok(rec);
}

/** Field layout of a chunk page's bytes (from RAM or from a copy). */
function annotateChunk(page: Uint8Array, phys: number, end: number): AnnotatedStruct {
  const decoded = decodeChunk(page);
  const head = new FieldReader(page, CHUNK_HDR.next, end);
  head.phys('next', (p) => ({ kind: 'kho-mem-chunk', phys: p }));
  const order = head.uint('order', 4, (v) =>
    v <= MAX_PAGE_ORDER ? `${v} (one bit per ${formatBytes(PAGE_SIZE * 2 ** v)})` : String(v),
  );
  if (order > MAX_PAGE_ORDER) head.fields[1]!.problem = `beyond MAX_PAGE_ORDER (${MAX_PAGE_ORDER}): no block that size`;
  const n = head.uint('num_elms', 4);
  if (n > KHOSER_BITMAP_SIZE) head.fields[2]!.problem = `more than the ${KHOSER_BITMAP_SIZE} entries a chunk holds`;
  const shown = Math.min(n, KHOSER_BITMAP_SIZE, MAX_RECORD_ELEMENTS);
  const elements: StructField[][] = [];
  for (let i = 0; i < shown; i++) {
    const r = new FieldReader(page, chunkEntryOffset(i) + CHUNK_ENTRY.physStart, end);
    const start = getU64(page, chunkEntryOffset(i) + CHUNK_ENTRY.physStart);
    r.field(
      'phys_start',
      8,
      'u64',
      hex(start),
      Number.isFinite(start) && start < end ? { phys: start } : { problem: 'beyond the end of RAM' },
    );
    r.phys('bitmap');
    elements.push(r.fields);
  }
  const sane = order <= MAX_PAGE_ORDER && n <= KHOSER_BITMAP_SIZE;
  return {
    kind: 'kho-mem-chunk',
    title: sane
      ? `khoser_mem_chunk: order ${order}, ${n} bitmap${n === 1 ? '' : 's'}`
      : 'khoser_mem_chunk (header does not check out)',
    phys,
    bytes: page.subarray(0, chunkEntryOffset(shown)),
    header: { type: 'khoser_mem_chunk_hdr', fields: head.fields },
    array: {
      type: 'khoser_mem_bitmap_ptr',
      offset: chunkEntryOffset(0),
      stride: chunkEntryOffset(1) - chunkEntryOffset(0),
      count: n,
      elements,
    },
    notes: [
      sane
        ? `Bit b of a bitmap page preserves the block at phys_start + b × ${formatBytes(PAGE_SIZE * 2 ** order)}. The rest of the page is unused.`
        : 'Bit b of a bitmap page preserves the block at phys_start + b × (4 KiB << order). The rest of the page is unused.',
    ],
    ...(typeof decoded === 'string' ? { error: decoded } : {}),
  };
}
