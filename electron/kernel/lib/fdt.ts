/**
 * DOC: flattened devicetree (DTB v17)
 *
 * KHO hands the next kernel one FDT page (kernel/liveupdate/kexec_handover.c: kho_out_fdt_setup) whose
 * sub-nodes point at further FDTs and blobs (kho_add_subtree); the handoff passes its address and
 * fdt_len = PAGE_SIZE (kho_fill_kimage).
 * This module is our libfdt: a plain tree model, a writer that lays blobs out as dtc and libfdt's
 * fdt_pack() do (header, memory reservation block at 0x28, structure block, deduplicated strings
 * block, nothing in between) or as libfdt's sequential-write functions do (the kernel's own FDTs:
 * the map at 0x30, strings newest first), and a reader that validates like fdt_check_full() before it
 * builds a tree. The reader never throws: any byte string gives a value, and an error names the
 * libfdt error code, what was wrong and the offset.
 *
 * The container is big-endian, but KHO's own properties are native-endian: a u64 is 8
 * little-endian bytes (fdt_property of a u64), which is why fdtU64le/readU64le sit beside the standard cells.
 */
import { utf8Decode, utf8Encode } from './utf8';

interface FdtProp {
  name: string;
  value: Uint8Array;
}

export interface FdtNode {
  /** '' for the root; "name" or "name@unit-address" below it. */
  name: string;
  props: FdtProp[];
  children: FdtNode[];
}

/** The 40-byte v17 header (libfdt's struct fdt_header), fields in host numbers. */
export interface FdtHeader {
  magic: number;
  totalsize: number;
  offDtStruct: number;
  offDtStrings: number;
  offMemRsvmap: number;
  version: number;
  lastCompVersion: number;
  bootCpuidPhys: number;
  sizeDtStrings: number;
  /** From the header for v17; for v16 (no such field) the rest of the blob after off_dt_struct. */
  sizeDtStruct: number;
}

/** A /memreserve/ entry: [address, size]. */
export type FdtMemReserve = readonly [bigint, bigint];

/** libfdt's error numbers (libfdt.h); a libfdt call returns the negated value. */
export const FDT_ERRNO = {
  FDT_ERR_NOTFOUND: 1,
  FDT_ERR_EXISTS: 2,
  FDT_ERR_NOSPACE: 3,
  FDT_ERR_BADOFFSET: 4,
  FDT_ERR_TRUNCATED: 8,
  FDT_ERR_BADMAGIC: 9,
  FDT_ERR_BADVERSION: 10,
  FDT_ERR_BADSTRUCTURE: 11,
  FDT_ERR_BADVALUE: 15,
  FDT_ERR_ALIGNMENT: 19,
} as const;
type FdtErrorCode = keyof typeof FDT_ERRNO;

interface FdtError {
  ok: false;
  error: FdtErrorCode;
  message: string;
  /** Byte offset in the blob where the problem is, when there is one. */
  offset?: number;
}

export type FdtEncodeResult = { ok: true; bytes: Uint8Array } | FdtError;
export type FdtDecodeResult = { ok: true; root: FdtNode; header: FdtHeader; memReserve: FdtMemReserve[] } | FdtError;

/**
 * The two layouts the kernel's FDTs come in: dtc's (and fdt_pack()'s), or what libfdt's
 * sequential-write functions leave, with the reservation map at 0x30 and the strings reversed.
 */
type FdtStringOrder = 'append' | 'sequential-write';

export interface FdtEncodeOptions {
  /** 'append' (default) lays the blob out as dtc does; 'sequential-write' as fdt_create()…fdt_finish() does. */
  strings?: FdtStringOrder;
  /**
   * With 'append': a strings block to start from, as libfdt's read-write functions keep the one
   * already in the blob (names no node uses any more stay in it) and append new names.
   */
  existingStrings?: Uint8Array;
  /** Bytes available for the blob (KHO's root FDT: one page); larger blobs fail with NOSPACE. */
  capacity?: number;
  bootCpuid?: number;
  memReserve?: readonly FdtMemReserve[];
}

export const FDT_MAGIC = 0xd00dfeed;
export const FDT_BEGIN_NODE = 1;
export const FDT_END_NODE = 2;
export const FDT_PROP = 3;
export const FDT_NOP = 4;
export const FDT_END = 9;
const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const FDT_FIRST_SUPPORTED_VERSION = 16;
const HEADER_SIZE_V17 = 40;
const HEADER_SIZE_V16 = 36;
/** The smallest header (v1); libfdt wants this much before it looks at the version. */
const HEADER_SIZE_V1 = 28;
const RSV_ENTRY_SIZE = 16;
const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;
const align = (n: number, a: number): number => Math.ceil(n / a) * a;
const at = (offset: number): string => `at offset ${hex(offset)}`;
/** An error value; `offset` is where in the blob, which the message also says (see at()). */
const fail = (error: FdtErrorCode, message: string, offset?: number): FdtError =>
  offset === undefined ? { ok: false, error, message } : { ok: false, error, message, offset };

// ---------------------------------------------------------------------------------------------
// Walking a tree

export interface FdtWalkEvent {
  kind: 'enter' | 'leave';
  node: FdtNode;
  depth: number;
  /**
   * The node's path ('/' for the root), built on demand and valid only until the walk moves on:
   * storing every path would cost O(depth²) on a deep tree.
   */
  path(): string;
}

/** Depth-first enter/leave events without recursion, so a deep tree cannot overflow the stack. */
export function* fdtWalk(root: FdtNode): Generator<FdtWalkEvent> {
  const stack: Array<{ node: FdtNode; next: number }> = [{ node: root, next: 0 }];
  const path = (): string =>
    '/' +
    stack
      .slice(1)
      .map((f) => f.node.name)
      .join('/');
  yield { kind: 'enter', node: root, depth: 0, path };
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const child = top.node.children[top.next++];
    if (child) {
      stack.push({ node: child, next: 0 });
      yield { kind: 'enter', node: child, depth: stack.length - 1, path };
    } else {
      yield { kind: 'leave', node: top.node, depth: stack.length - 1, path };
      stack.pop();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** A growable big-endian byte buffer. */
class ByteSink {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      bigger.set(this.buf);
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    this.length += n;
    return at;
  }
  // reserve() may replace buf and view, so it runs before either is read.
  u32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v);
  }
  u64(v: bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, v);
  }
  bytes(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }
  /** Zero padding up to the next 4-byte boundary (the buffer starts zeroed and only grows). */
  pad4(): void {
    this.reserve(align(this.length, 4) - this.length);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** One char per byte; chunked because spreading a long array into fromCharCode overflows. */
function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return s;
}

/**
 * The strings block. Like dtc's stringtable_insert() and libfdt's fdt_find_string_(), a name that
 * is a suffix of one already stored ("name" inside "linux,name") reuses its tail. dtc and
 * libfdt's read-write functions append a new name; libfdt's sequential-write functions
 * (fdt_create() … fdt_finish(), how the kernel builds most of its FDTs) prepend it, because they
 * grow the block down from the end of the buffer, so the last new name comes first.
 */
class StringTable {
  /** The block so far, one char per byte, so String.indexOf can search it. */
  private text = '';
  /** Sequential-write order: each name's distance from the end of the block, which never moves. */
  private readonly fromEnd = new Map<string, number>();

  constructor(
    private readonly order: FdtStringOrder,
    existing?: Uint8Array,
  ) {
    if (existing) this.text = latin1(existing);
  }

  offsetOf(name: Uint8Array): number {
    const needle = latin1(name) + '\0';
    if (this.order === 'sequential-write') {
      let back = this.fromEnd.get(needle);
      if (back === undefined) {
        const found = this.text.indexOf(needle);
        if (found < 0) this.text = needle + this.text;
        back = found < 0 ? this.text.length : this.text.length - found;
        this.fromEnd.set(needle, back);
      }
      return back;
    }
    const found = this.text.indexOf(needle);
    if (found >= 0) return found;
    const at = this.text.length;
    this.text += needle;
    return at;
  }

  /** The final offset of a name handed out as offsetOf() (sequential-write offsets count from the end). */
  finalOffset(given: number): number {
    return this.order === 'sequential-write' ? this.text.length - given : given;
  }

  result(): Uint8Array {
    const out = new Uint8Array(this.text.length);
    for (let i = 0; i < out.length; i++) out[i] = this.text.charCodeAt(i);
    return out;
  }
}

function checkName(name: string, what: string, path: () => string): FdtError | null {
  if (name.includes('\0'))
    return fail('FDT_ERR_BADVALUE', `${what} "${name.replace(/\0/g, '\\0')}" in ${path()} contains NUL`);
  return null;
}

function checkNodeName(e: FdtWalkEvent): FdtError | null {
  if (e.depth === 0)
    return e.node.name === ''
      ? null
      : fail('FDT_ERR_BADVALUE', `the root node must have an empty name, not "${e.node.name}"`);
  if (e.node.name === '' || e.node.name.includes('/'))
    return fail('FDT_ERR_BADVALUE', `bad node name "${e.node.name}" at ${e.path()}`);
  return checkName(e.node.name, 'node name', e.path);
}

/** Rejects what libfdt would refuse to build: duplicate properties or children, unnamed properties. */
function checkNodeContents(node: FdtNode, path: () => string): FdtError | null {
  const props = new Set<string>();
  for (const p of node.props) {
    if (p.name === '') return fail('FDT_ERR_BADVALUE', `empty property name in ${path()}`);
    const bad = checkName(p.name, 'property name', path);
    if (bad) return bad;
    if (props.has(p.name)) return fail('FDT_ERR_EXISTS', `duplicate property "${p.name}" in ${path()}`);
    props.add(p.name);
  }
  const children = new Set<string>();
  for (const c of node.children) {
    if (children.has(c.name)) return fail('FDT_ERR_EXISTS', `duplicate node "${c.name}" in ${path()}`);
    children.add(c.name);
  }
  return null;
}

/** The structure block for the tree; property names go into `strings`. */
function encodeStruct(root: FdtNode, strings: StringTable): { ok: true; bytes: Uint8Array } | FdtError {
  const out = new ByteSink();
  const nameoffs: Array<[at: number, given: number]> = [];
  for (const e of fdtWalk(root)) {
    if (e.kind === 'leave') {
      out.u32(FDT_END_NODE);
      continue;
    }
    const bad = checkNodeName(e) ?? checkNodeContents(e.node, e.path);
    if (bad) return bad;
    out.u32(FDT_BEGIN_NODE);
    out.bytes(utf8Encode(e.node.name + '\0'));
    out.pad4();
    for (const p of e.node.props) {
      out.u32(FDT_PROP);
      out.u32(p.value.length);
      nameoffs.push([out.length, strings.offsetOf(utf8Encode(p.name))]);
      out.u32(0);
      out.bytes(p.value);
      out.pad4();
    }
  }
  out.u32(FDT_END);
  const bytes = out.result();
  const view = new DataView(bytes.buffer);
  // Like fdt_finish(), which corrects every nameoff once the strings block is complete.
  for (const [at, given] of nameoffs) view.setUint32(at, strings.finalOffset(given));
  return { ok: true, bytes };
}

function checkOptions(opts: FdtEncodeOptions): FdtError | null {
  const { capacity, bootCpuid = 0, memReserve = [] } = opts;
  if (capacity !== undefined && !(Number.isSafeInteger(capacity) && capacity >= 0))
    return fail('FDT_ERR_BADVALUE', `capacity ${capacity} is not a byte count`);
  if (!(Number.isInteger(bootCpuid) && bootCpuid >= 0 && bootCpuid <= U32_MAX))
    return fail('FDT_ERR_BADVALUE', `boot cpuid ${bootCpuid} is not a u32`);
  for (const [i, [addr, size]] of memReserve.entries()) {
    const inRange = (v: bigint): boolean => v >= 0n && v <= U64_MAX;
    if (!inRange(addr) || !inRange(size))
      return fail('FDT_ERR_BADVALUE', `memreserve entry ${i} (${addr}, ${size}) is not a pair of u64`);
    // libfdt and dtc end the block at the first size 0, so such an entry would hide the rest.
    if (size === 0n)
      return fail('FDT_ERR_BADVALUE', `memreserve entry ${i} has size 0, which reads back as the terminator`);
  }
  return null;
}

/**
 * Builds a DTB v17 from a tree, laid out as dtc and libfdt's fdt_pack() leave it, so our blob of
 * a tree equals `dtc -O dtb` of the same source byte for byte. With `strings: 'sequential-write'`
 * it equals what the kernel's fdt_create() … fdt_finish() leaves; `capacity` is the buffer.
 */
export function encodeFdt(root: FdtNode, opts: FdtEncodeOptions = {}): FdtEncodeResult {
  const badOpts = checkOptions(opts);
  if (badOpts) return badOpts;
  const strings = new StringTable(
    opts.strings ?? 'append',
    opts.strings === 'sequential-write' ? undefined : opts.existingStrings,
  );
  const struct = encodeStruct(root, strings);
  if (!struct.ok) return struct;
  const stringBytes = strings.result();
  const memReserve = opts.memReserve ?? [];

  // fdt_create() aligns the reservation map to its 16-byte entry; dtc and fdt_pack() to 8 bytes.
  const offMemRsvmap = align(HEADER_SIZE_V17, opts.strings === 'sequential-write' ? RSV_ENTRY_SIZE : 8);
  const offDtStruct = offMemRsvmap + (memReserve.length + 1) * RSV_ENTRY_SIZE;
  const offDtStrings = offDtStruct + struct.bytes.length;
  const totalsize = offDtStrings + stringBytes.length;
  if (opts.capacity !== undefined && totalsize > opts.capacity) {
    return fail('FDT_ERR_NOSPACE', `the tree needs ${totalsize} bytes but only ${opts.capacity} are available`);
  }
  if (totalsize > U32_MAX)
    return fail('FDT_ERR_NOSPACE', `the tree needs ${totalsize} bytes, more than a u32 totalsize can say`);

  const out = new ByteSink();
  for (const field of [
    FDT_MAGIC,
    totalsize,
    offDtStruct,
    offDtStrings,
    offMemRsvmap,
    FDT_VERSION,
    FDT_LAST_COMP_VERSION,
    opts.bootCpuid ?? 0,
    stringBytes.length,
    struct.bytes.length,
  ]) {
    out.u32(field);
  }
  out.bytes(new Uint8Array(offMemRsvmap - HEADER_SIZE_V17));
  for (const [addr, size] of [...memReserve, [0n, 0n] as const]) {
    out.u64(addr);
    out.u64(size);
  }
  out.bytes(struct.bytes);
  out.bytes(stringBytes);
  return { ok: true, bytes: out.result() };
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Bounds-checked reads: every caller has already checked the range, so these never throw. */
class Blob {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u32(off: number): number {
    return this.view.getUint32(off);
  }
  u64(off: number): bigint {
    return this.view.getBigUint64(off);
  }
  /** Index of the first NUL in [from, end), or -1. */
  nul(from: number, end: number): number {
    const i = this.bytes.subarray(from, end).indexOf(0);
    return i < 0 ? -1 : from + i;
  }
}

/** UTF-8 is decoded only when well formed; other bytes become U+FFFD rather than an exception. */
function decodeName(bytes: Uint8Array): string {
  if (isWellFormedUtf8(bytes)) return utf8Decode(bytes);
  return Array.from(bytes, (b) => (b < 0x80 ? String.fromCharCode(b) : '\uFFFD')).join('');
}

function isWellFormedUtf8(b: Uint8Array): boolean {
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= b.length) return false;
    let cp = n === 0 ? c : c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k]!;
      if ((cc & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF.
    if ((n === 2 && cp < 0x800) || (n === 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

function checkHeader(blob: Blob): { ok: true; header: FdtHeader } | FdtError {
  const len = blob.bytes.length;
  if (len < 4)
    return fail('FDT_ERR_TRUNCATED', len === 0 ? 'empty: 0 bytes' : `only ${len} bytes, too short for an FDT header`);
  const magic = blob.u32(0);
  if (magic !== FDT_MAGIC)
    return fail('FDT_ERR_BADMAGIC', `bad magic ${hex(magic)} ${at(0)} (expected ${hex(FDT_MAGIC)})`, 0);
  if (len < HEADER_SIZE_V1) return fail('FDT_ERR_TRUNCATED', `only ${len} bytes, too short for an FDT header`);
  const version = blob.u32(20);
  const lastCompVersion = blob.u32(24);
  if (version < FDT_FIRST_SUPPORTED_VERSION || lastCompVersion > FDT_VERSION || version < lastCompVersion) {
    return fail(
      'FDT_ERR_BADVERSION',
      `unsupported version ${version} ${at(20)} (last compatible ${lastCompVersion}); this reader handles 16 and 17`,
      20,
    );
  }
  const hdrsize = version >= 17 ? HEADER_SIZE_V17 : HEADER_SIZE_V16;
  if (len < hdrsize)
    return fail('FDT_ERR_TRUNCATED', `only ${len} bytes, too short for a ${hdrsize}-byte v${version} header`);
  const totalsize = blob.u32(4);
  const header: FdtHeader = {
    magic,
    totalsize,
    offDtStruct: blob.u32(8),
    offDtStrings: blob.u32(12),
    offMemRsvmap: blob.u32(16),
    version,
    lastCompVersion,
    bootCpuidPhys: blob.u32(28),
    sizeDtStrings: blob.u32(32),
    sizeDtStruct: version >= 17 ? blob.u32(36) : Math.max(0, totalsize - blob.u32(8)),
  };
  return checkLayout(header, hdrsize, len);
}

/** libfdt's fdt_check_header(): every block lies between the header and totalsize. */
function checkLayout(h: FdtHeader, hdrsize: number, len: number): { ok: true; header: FdtHeader } | FdtError {
  if (h.totalsize < hdrsize || h.totalsize > 0x7fff_ffff)
    return fail('FDT_ERR_TRUNCATED', `totalsize ${h.totalsize} ${at(4)} is impossible`, 4);
  if (h.totalsize > len)
    return fail(
      'FDT_ERR_TRUNCATED',
      `truncated: totalsize ${at(4)} is ${h.totalsize} bytes but only ${len} are present`,
      4,
    );
  const blocks: Array<[string, number, number, number]> = [
    ['memory reservation block', h.offMemRsvmap, 0, 16],
    ['structure block', h.offDtStruct, h.sizeDtStruct, 8],
    ['strings block', h.offDtStrings, h.sizeDtStrings, 12],
  ];
  for (const [what, off, size, field] of blocks) {
    if (off < hdrsize || off + size > h.totalsize) {
      return fail(
        'FDT_ERR_TRUNCATED',
        `${what} [${hex(off)}, ${hex(off + size)}) (header field ${at(field)}) lies outside the blob: header ${hdrsize} bytes, totalsize ${h.totalsize}`,
        field,
      );
    }
  }
  if (h.offMemRsvmap % 8 !== 0)
    return fail(
      'FDT_ERR_ALIGNMENT',
      `memory reservation block ${at(h.offMemRsvmap)} is not 8-byte aligned`,
      h.offMemRsvmap,
    );
  if (h.offDtStruct % 4 !== 0)
    return fail('FDT_ERR_ALIGNMENT', `structure block ${at(h.offDtStruct)} is not 4-byte aligned`, h.offDtStruct);
  return { ok: true, header: h };
}

/** The entries before the first of size 0 (the terminator), which must lie inside totalsize (fdt_num_mem_rsv()). */
function readMemReserve(blob: Blob, h: FdtHeader): { ok: true; entries: FdtMemReserve[] } | FdtError {
  const entries: FdtMemReserve[] = [];
  for (let off = h.offMemRsvmap; ; off += RSV_ENTRY_SIZE) {
    if (off + RSV_ENTRY_SIZE > h.totalsize)
      return fail(
        'FDT_ERR_TRUNCATED',
        `memory reservation entry ${at(off)} runs past totalsize: no terminating entry of size 0`,
        off,
      );
    const addr = blob.u64(off);
    const size = blob.u64(off + 8);
    if (size === 0n) return { ok: true, entries };
    entries.push([addr, size]);
  }
}

/** Property names, each decoded once per offset. */
class StringsBlock {
  private readonly cache = new Map<number, string>();
  constructor(
    private readonly blob: Blob,
    private readonly h: FdtHeader,
  ) {}

  /** fdt_get_string(): the offset is inside the block and the string ends inside it. */
  at(nameoff: number): string | { error: FdtErrorCode; message: string } {
    const hit = this.cache.get(nameoff);
    if (hit !== undefined) return hit;
    const size = this.h.sizeDtStrings;
    if (nameoff >= size)
      return {
        error: 'FDT_ERR_BADOFFSET',
        message: `name offset ${hex(nameoff)} is outside the ${size}-byte strings block`,
      };
    const start = this.h.offDtStrings + nameoff;
    const end = this.blob.nul(start, this.h.offDtStrings + size);
    if (end < 0)
      return {
        error: 'FDT_ERR_TRUNCATED',
        message: `name at strings offset ${hex(nameoff)} has no NUL before the end of the strings block`,
      };
    const name = decodeName(this.blob.bytes.subarray(start, end));
    this.cache.set(nameoff, name);
    return name;
  }
}

/** State of the structure walk: the open nodes, and the root once it has closed. */
interface Walk {
  blob: Blob;
  strings: StringsBlock;
  /** Absolute end of the structure block. */
  end: number;
  open: FdtNode[];
  root: FdtNode | null;
  closed: boolean;
  /** When set, every token read is recorded with its byte offset (decodeFdtLayout). */
  tokens?: FdtToken[];
}

const openPath = (w: Walk): string =>
  w.open.length <= 1
    ? '/'
    : '/' +
      w.open
        .slice(1)
        .map((n) => n.name)
        .join('/');

/**
 * How deep a node may nest: drivers/of/fdt.c: unflatten_dt_nodes() keeps its parents in
 * nps[FDT_MAX_DEPTH] with FDT_MAX_DEPTH 64 and skips (WARN_ON_ONCE) any node at depth
 * ≥ FDT_MAX_DEPTH - 1, the root being depth 0. libfdt itself (fdt_check_full()) only stops at
 * INT_MAX; we refuse such a blob outright so that no reader or printer can be made to spend
 * O(depth²) on indentation and paths.
 */
export const FDT_MAX_DEPTH = 64;

/** FDT_BEGIN_NODE at `off`; returns the offset of the next token. */
function beginNode(w: Walk, off: number): number | FdtError {
  if (w.open.length >= FDT_MAX_DEPTH - 1)
    return fail(
      'FDT_ERR_BADSTRUCTURE',
      `node ${at(off)} is nested ${w.open.length} deep, past the kernel's limit of ${FDT_MAX_DEPTH - 2} (FDT_MAX_DEPTH ${FDT_MAX_DEPTH} in drivers/of/fdt.c: unflatten_dt_nodes())`,
      off,
    );
  const nul = w.blob.nul(off + 4, w.end);
  if (nul < 0)
    return fail(
      'FDT_ERR_TRUNCATED',
      `node ${at(off)} in ${openPath(w)}: name has no NUL before the end of the structure block`,
      off,
    );
  const node: FdtNode = { name: decodeName(w.blob.bytes.subarray(off + 4, nul)), props: [], children: [] };
  const parent = w.open[w.open.length - 1];
  if (parent) parent.children.push(node);
  else if (node.name !== '')
    return fail('FDT_ERR_BADSTRUCTURE', `root node ${at(off)} has the name "${node.name}"; it must be empty`, off);
  else w.root = node;
  w.open.push(node);
  const next = align(nul + 1, 4);
  w.tokens?.push({
    tag: FDT_BEGIN_NODE,
    offset: off,
    size: next - off,
    depth: w.open.length - 1,
    path: openPath(w),
    name: node.name,
  });
  return next;
}

/** FDT_PROP at `off`: len, nameoff, then the value padded to 4. */
function prop(w: Walk, off: number): number | FdtError {
  const node = w.open[w.open.length - 1];
  if (!node) return fail('FDT_ERR_BADSTRUCTURE', `property ${at(off)} outside any node`, off);
  if (off + 12 > w.end)
    return fail(
      'FDT_ERR_TRUNCATED',
      `property ${at(off)} in ${openPath(w)}: header runs past the end of the structure block`,
      off,
    );
  const len = w.blob.u32(off + 4);
  if (len > w.end - (off + 12))
    return fail(
      'FDT_ERR_TRUNCATED',
      `property ${at(off)} in ${openPath(w)} claims ${len} bytes, past the end of the structure block`,
      off,
    );
  const name = w.strings.at(w.blob.u32(off + 8));
  if (typeof name !== 'string') return fail(name.error, `property ${at(off)} in ${openPath(w)}: ${name.message}`, off);
  node.props.push({ name, value: w.blob.bytes.slice(off + 12, off + 12 + len) });
  const next = align(off + 12 + len, 4);
  w.tokens?.push({
    tag: FDT_PROP,
    offset: off,
    size: next - off,
    depth: w.open.length,
    path: openPath(w),
    name,
    nameoff: w.blob.u32(off + 8),
    valueOffset: off + 12,
    len,
  });
  return next;
}

/** One token at `off`: the next offset, 'done' at a valid FDT_END, or an error. */
function step(w: Walk, off: number): number | 'done' | FdtError {
  if (off + 4 > w.end) return fail('FDT_ERR_TRUNCATED', `structure block ends ${at(off)} without FDT_END`, off);
  const tag = w.blob.u32(off);
  if (w.closed && tag !== FDT_END)
    return fail(
      'FDT_ERR_BADSTRUCTURE',
      `token ${hex(tag)} ${at(off)} after the root node closed (a second root, or FDT_END missing)`,
      off,
    );
  switch (tag) {
    case FDT_BEGIN_NODE:
      return beginNode(w, off);
    case FDT_END_NODE:
      if (w.open.length === 0) return fail('FDT_ERR_BADSTRUCTURE', `FDT_END_NODE ${at(off)} with no open node`, off);
      w.tokens?.push({ tag, offset: off, size: 4, depth: w.open.length - 1, path: openPath(w) });
      w.open.pop();
      w.closed = w.open.length === 0;
      return off + 4;
    case FDT_PROP:
      return prop(w, off);
    case FDT_NOP:
      w.tokens?.push({ tag, offset: off, size: 4, depth: w.open.length, path: openPath(w) });
      return off + 4;
    case FDT_END:
      if (w.open.length > 0)
        return fail(
          'FDT_ERR_BADSTRUCTURE',
          `FDT_END ${at(off)} inside ${openPath(w)}: ${w.open.length} node(s) still open`,
          off,
        );
      if (!w.root) return fail('FDT_ERR_BADSTRUCTURE', `FDT_END ${at(off)} before any root node`, off);
      w.tokens?.push({ tag, offset: off, size: 4, depth: 0, path: '/' });
      return 'done';
    default:
      return fail('FDT_ERR_BADSTRUCTURE', `unknown token ${hex(tag)} ${at(off)}`, off);
  }
}

/** fdt_check_full()'s walk, building the tree as it goes. Each step advances ≥ 4 bytes, so it ends. */
function readStruct(blob: Blob, h: FdtHeader, tokens?: FdtToken[]): { ok: true; root: FdtNode } | FdtError {
  const w: Walk = {
    blob,
    strings: new StringsBlock(blob, h),
    end: h.offDtStruct + h.sizeDtStruct,
    open: [],
    root: null,
    closed: false,
    ...(tokens ? { tokens } : {}),
  };
  for (let off = h.offDtStruct; ;) {
    const next = step(w, off);
    if (next === 'done') return { ok: true, root: w.root! };
    if (typeof next !== 'number') return next;
    off = next;
  }
}

/**
 * Parses and validates a DTB (libfdt's fdt_check_full() plus building the tree). Never throws:
 * anything that is not a well-formed v16/v17 blob comes back as { ok: false } with the libfdt
 * error code and a message naming the problem and its offset. Bytes past totalsize are ignored,
 * as in a KHO page holding a smaller FDT.
 */
export function decodeFdt(bytes: Uint8Array): FdtDecodeResult {
  if (!(bytes instanceof Uint8Array)) return fail('FDT_ERR_BADVALUE', 'input is not a byte array');
  const blob = new Blob(bytes);
  const checked = checkHeader(blob);
  if (!checked.ok) return checked;
  const { header } = checked;
  const rsv = readMemReserve(blob, header);
  if (!rsv.ok) return rsv;
  const tree = readStruct(blob, header);
  if (!tree.ok) return tree;
  return { ok: true, root: tree.root, header, memReserve: rsv.entries };
}

// ---------------------------------------------------------------------------------------------
// Where every byte is: the layout for annotated views and for pokes

/** struct fdt_header's be32 fields in blob order (libfdt.h); a v16 header lacks the last. */
export const FDT_HEADER_FIELDS = [
  'magic',
  'totalsize',
  'off_dt_struct',
  'off_dt_strings',
  'off_mem_rsvmap',
  'version',
  'last_comp_version',
  'boot_cpuid_phys',
  'size_dt_strings',
  'size_dt_struct',
] as const;

/** One structure-block token as it lies in the blob. */
export interface FdtToken {
  tag: number;
  /** Byte offset of the tag, and the bytes up to the next token (name or value and padding included). */
  offset: number;
  size: number;
  /** Nesting: 0 for the root's FDT_BEGIN_NODE and its properties' parent level. */
  depth: number;
  /** Path of the node the token opens, closes or belongs to ('/' for the root). */
  path: string;
  /** FDT_BEGIN_NODE: the node's name; FDT_PROP: the property's name. */
  name?: string;
  /** FDT_PROP: nameoff into the strings block, the value's offset and length. */
  nameoff?: number;
  valueOffset?: number;
  len?: number;
}

export interface FdtLayout {
  /** Null when the header itself does not check out (see `error`). */
  header: FdtHeader | null;
  /** Reservation entries with their offsets, the terminator last when there is one. */
  memReserve: Array<{ offset: number; address: bigint; size: bigint }>;
  /** Tokens in blob order, up to the first malformed one. */
  tokens: FdtToken[];
  /** The strings block, NUL-separated, each with its offset. */
  strings: Array<{ offset: number; text: string; terminated: boolean }>;
  /** The first problem decodeFdt() reports for this blob, if any. */
  error?: FdtError;
}

/**
 * The same walk as decodeFdt(), keeping the byte offset of every header field, reservation entry,
 * token and string: what an annotated hex view or a poke at a property needs. A malformed blob
 * gives the layout up to the problem, with the error decodeFdt() would give.
 */
export function decodeFdtLayout(bytes: Uint8Array): FdtLayout {
  const out: FdtLayout = { header: null, memReserve: [], tokens: [], strings: [] };
  const blob = new Blob(bytes);
  const checked = checkHeader(blob);
  if (!checked.ok) return { ...out, error: checked };
  const h = (out.header = checked.header);
  for (let off = h.offMemRsvmap; off + RSV_ENTRY_SIZE <= h.totalsize; off += RSV_ENTRY_SIZE) {
    const entry = { offset: off, address: blob.u64(off), size: blob.u64(off + 8) };
    out.memReserve.push(entry);
    if (entry.size === 0n) break;
  }
  const stringsEnd = h.offDtStrings + h.sizeDtStrings;
  for (let off = h.offDtStrings; off < stringsEnd;) {
    const nul = blob.nul(off, stringsEnd);
    const end = nul < 0 ? stringsEnd : nul;
    out.strings.push({ offset: off, text: decodeName(bytes.subarray(off, end)), terminated: nul >= 0 });
    off = end + 1;
  }
  const rsv = readMemReserve(blob, h);
  if (!rsv.ok) return { ...out, error: rsv };
  const tree = readStruct(blob, h, out.tokens);
  return tree.ok ? out : { ...out, error: tree };
}

// ---------------------------------------------------------------------------------------------
// Property values and lookups

/** A string property: the UTF-8 bytes and a NUL. */
export function fdtString(s: string): Uint8Array {
  return fdtStringList([s]);
}

/** A string list ("a", "b"): each string NUL-terminated, back to back. */
export function fdtStringList(list: readonly string[]): Uint8Array {
  for (const s of list)
    if (s.includes('\0')) throw new RangeError(`FDT string "${s.replace(/\0/g, '\\0')}" contains NUL`);
  return utf8Encode(list.map((s) => s + '\0').join(''));
}

/** Standard devicetree cells: each number a big-endian u32, as `<a b c>` in DTS. */
export function fdtU32be(...cells: number[]): Uint8Array {
  const out = new Uint8Array(cells.length * 4);
  const view = new DataView(out.buffer);
  cells.forEach((c, i) => {
    if (!(Number.isInteger(c) && c >= 0 && c <= U32_MAX)) throw new RangeError(`FDT cell ${c} is not a u32`);
    view.setUint32(i * 4, c);
  });
  return out;
}

/** KHO's native-endian u64 (kexec_handover.c writes u64 properties as raw memory): 8 little-endian bytes. */
export function fdtU64le(v: bigint): Uint8Array {
  if (v < 0n || v > U64_MAX) throw new RangeError(`FDT u64 ${v} is out of range`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, true);
  return out;
}

/** A KHO u64 property; null unless it is exactly 8 bytes (kho_retrieve_subtree's -EINVAL). */
export function readU64le(value: Uint8Array): bigint | null {
  if (value.length !== 8) return null;
  return new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0, true);
}

/** Cell `index` of a standard big-endian cell array, or null when the value is too short. */
export function readU32be(value: Uint8Array, index = 0): number | null {
  if (!Number.isInteger(index) || index < 0 || (index + 1) * 4 > value.length) return null;
  return new DataView(value.buffer, value.byteOffset, value.length).getUint32(index * 4);
}

/** All strings of a string list, or null when the value does not end with NUL. */
export function readStringList(value: Uint8Array): string[] | null {
  if (value.length === 0 || value[value.length - 1] !== 0) return null;
  const out: string[] = [];
  for (let start = 0; start < value.length;) {
    const end = value.indexOf(0, start);
    out.push(decodeName(value.subarray(start, end)));
    start = end + 1;
  }
  return out;
}

/** The value as one string, or null unless it is exactly one NUL-terminated string. */
export function readString(value: Uint8Array): string | null {
  const list = readStringList(value);
  return list && list.length === 1 ? list[0]! : null;
}

export function getProp(node: FdtNode, name: string): Uint8Array | undefined {
  return node.props.find((p) => p.name === name)?.value;
}

/** libfdt's fdt_nodename_eq_(): "name" also matches "name@unit" when it gives no unit address. */
function nodeNameMatches(nodeName: string, wanted: string): boolean {
  if (nodeName === wanted) return true;
  return !wanted.includes('@') && nodeName.startsWith(wanted + '@');
}

/** fdt_path_offset() on a tree: "/", "/a/b" (or "a/b"); the first matching child at each level. */
export function findNode(root: FdtNode, path: string): FdtNode | undefined {
  let node: FdtNode | undefined = root;
  for (const part of path.split('/').filter((s) => s !== '')) {
    node = node.children.find((c) => nodeNameMatches(c.name, part));
    if (!node) return undefined;
  }
  return node;
}

/**
 * fdt_node_check_compatible(): 0 when `compatible` is one of the node's compatible strings, 1 when
 * it is not, -FDT_ERR_NOTFOUND when the node has no compatible property. KHO refuses an incoming
 * FDT unless this is 0 for "kho-v1" (kho_populate). A last string without its NUL never matches,
 * as in fdt_stringlist_contains().
 */
export function fdtCheckCompatible(node: FdtNode, compatible: string): 0 | 1 | -1 {
  const value = getProp(node, 'compatible');
  if (!value) return -FDT_ERRNO.FDT_ERR_NOTFOUND as -1;
  const wanted = utf8Encode(compatible + '\0');
  for (let start = 0; start < value.length;) {
    const end = value.indexOf(0, start);
    if (end < 0) break;
    if (end + 1 - start === wanted.length && wanted.every((b, i) => value[start + i] === b)) return 0;
    start = end + 1;
  }
  return 1;
}
