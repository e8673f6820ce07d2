/**
 * DOC: luo-v5, LUO's handover state in Linux 7.2
 *
 * From 7.2 LUO no longer writes an FDT: the KHO sub-tree "LUO" points at a raw `struct luo_ser`
 * (include/linux/kho/abi/luo.h, LUO_ABI_COMPATIBLE "luo-v5"), and sessions and their files sit in
 * kho_block chains (kho-block.ts), so there is no fixed limit on either. Packed layouts:
 *
 *   struct luo_ser          { char compatible[8]; u64 liveupdate_num; u64 sessions_pa; u64 flbs_pa; }   32 B
 *   struct luo_session_ser  { char name[64]; struct luo_file_set_ser { u64 files; u64 count; } }       80 B, 51 per block
 *   struct luo_file_ser     { char compatible[48]; u64 data; u64 token; }                               64 B, 63 per block
 *
 * The reader follows kernel/liveupdate/luo_core.c: luo_early_startup() (blob smaller than
 * luo_ser → "LUO state is too small", a compatible other than the release's → "LUO state is
 * incompatible with '%s'", both -EINVAL, and liveupdate_early_init() then panics through
 * luo_restore_fail()); luo_session.c: luo_session_setup_incoming() (the session chain through
 * kho_block_set_restore()); luo_file.c: luo_file_deserialize() (files 0 with a non-zero count only
 * WARNs; a chain whose entries do not add up to `count` is "File count mismatch", -EINVAL).
 * File errors belong to one session and reach userspace later, so they are reported per session.
 *
 * The real 7.2.13 writes sessions_pa and the FLB entries only in the reboot path
 * (liveupdate_reboot()); before that, sessions_pa is 0. First shipped in 7.2 (v7.2-rc1); the
 * intermediate luo-v2 … luo-v4 lived only in patch series as far as we can tell.
 */
import { ERRNO, type ErrnoName } from '../lib/errno';
import { utf8Encode } from '../lib/utf8';
import { AbiError, hex } from './abi-error';
import { getU64, putU64 } from './bytes';
import { getCBytes, getCString, getU64Big, putCString, putU64Big } from './fields';
import { decodeBlockSet, encodeBlockSet, type BlockHeader } from './kho-block';
import type { PhysReader, PhysWriter } from './phys-reader';

export const LUO_V5_FIRST_RELEASE = '7.2';
/** LUO_KHO_ENTRY_NAME. */
export const LUO_KHO_ENTRY_NAME = 'LUO';
export const LUO_ABI_COMPATIBLE = 'luo-v5';
/** ALIGN(sizeof(LUO_ABI_COMPATIBLE), 8). */
export const LUO_ABI_COMPAT_LEN = 8;
export const LUO_SER = { compatible: 0, liveupdateNum: 8, sessionsPa: 16, flbsPa: 24, size: 32 } as const;
/** LIVEUPDATE_SESSION_NAME_LENGTH (uapi). */
export const LIVEUPDATE_SESSION_NAME_LENGTH = 64;
export const LUO_SESSION_SER = { name: 0, files: 64, count: 72, size: 80 } as const;
/** LIVEUPDATE_HNDL_COMPAT_LENGTH. */
export const LIVEUPDATE_HNDL_COMPAT_LENGTH = 48;
export const LUO_FILE_SER = { compatible: 0, data: 48, token: 56, size: 64 } as const;
/** What liveupdate_early_init() hands luo_restore_fail() (a panic) when luo_early_startup() fails. */
export const luoRestoreFailMessage = (errno: ErrnoName): string =>
  `The incoming tree failed to initialize properly [-${ERRNO[errno]}], disabling live update`;

export interface LuoSer {
  compatible: string;
  liveupdateNum: number;
  sessionsPa: number;
  flbsPa: number;
}

export function encodeLuoSer(s: Omit<LuoSer, 'compatible'> & { compatible?: string }): Uint8Array {
  const b = new Uint8Array(LUO_SER.size);
  b.set(utf8Encode(s.compatible ?? LUO_ABI_COMPATIBLE).subarray(0, LUO_ABI_COMPAT_LEN), LUO_SER.compatible);
  putU64(b, LUO_SER.liveupdateNum, s.liveupdateNum);
  putU64(b, LUO_SER.sessionsPa, s.sessionsPa);
  putU64(b, LUO_SER.flbsPa, s.flbsPa);
  return b;
}

/**
 * luo_early_startup()'s checks of the blob kho_retrieve_subtree() returned, by a kernel whose
 * LUO_ABI_COMPATIBLE is `own` (a patched kernel's differs).
 */
export function decodeLuoSer(blob: Uint8Array, own: string = LUO_ABI_COMPATIBLE): LuoSer | AbiError {
  if (blob.length < LUO_SER.size) {
    return new AbiError(
      'bad-size',
      `LUO blob is ${blob.length} bytes, struct luo_ser is ${LUO_SER.size}`,
      'EINVAL',
      undefined,
      `luo: LUO state is too small (${blob.length} < ${LUO_SER.size})`,
    );
  }
  // strncmp(compatible, LUO_ABI_COMPATIBLE, LUO_ABI_COMPAT_LEN): equal up to the first NUL within 8 bytes.
  const want = new Uint8Array(LUO_ABI_COMPAT_LEN);
  want.set(utf8Encode(own).subarray(0, LUO_ABI_COMPAT_LEN));
  const got = blob.subarray(0, LUO_ABI_COMPAT_LEN);
  let same = true;
  for (let i = 0; i < LUO_ABI_COMPAT_LEN; i++) {
    if (got[i] !== want[i]) same = false;
    if (!same || want[i] === 0) break;
  }
  const compatible = getCString(blob, LUO_SER.compatible, LUO_ABI_COMPAT_LEN);
  if (!same) {
    return new AbiError(
      'incompatible',
      `LUO blob says "${compatible}", this kernel reads "${own}"`,
      'EINVAL',
      undefined,
      `luo: LUO state is incompatible with '${own}'`,
    );
  }
  const ser = {
    compatible,
    liveupdateNum: getU64(blob, LUO_SER.liveupdateNum),
    sessionsPa: getU64(blob, LUO_SER.sessionsPa),
    flbsPa: getU64(blob, LUO_SER.flbsPa),
  };
  for (const k of ['liveupdateNum', 'sessionsPa', 'flbsPa'] as const) {
    if (Number.isNaN(ser[k]))
      return new AbiError('bad-value', `luo_ser.${k} is beyond 2^53`, 'EINVAL', undefined, undefined, false);
  }
  return ser;
}

export interface LuoFileSer {
  compatible: string;
  /** The handler's opaque u64 (memfd: the physical address of its memfd_luo_ser). */
  data: bigint;
  token: bigint;
}

export interface LuoSessionSer {
  name: string;
  /** luo_file_set_ser.files: the first file block, 0 for none. */
  files: number;
  /** luo_file_set_ser.count. */
  count: number;
}

export function encodeSessionSer(s: LuoSessionSer): Uint8Array {
  const b = new Uint8Array(LUO_SESSION_SER.size);
  putCString(b, LUO_SESSION_SER.name, LIVEUPDATE_SESSION_NAME_LENGTH, s.name);
  putU64(b, LUO_SESSION_SER.files, s.files);
  putU64(b, LUO_SESSION_SER.count, s.count);
  return b;
}

export const decodeSessionSer = (b: Uint8Array): LuoSessionSer => ({
  name: getCString(b, LUO_SESSION_SER.name, LIVEUPDATE_SESSION_NAME_LENGTH),
  files: getU64(b, LUO_SESSION_SER.files),
  count: getU64(b, LUO_SESSION_SER.count),
});

export function encodeFileSer(f: LuoFileSer): Uint8Array {
  const b = new Uint8Array(LUO_FILE_SER.size);
  putCString(b, LUO_FILE_SER.compatible, LIVEUPDATE_HNDL_COMPAT_LENGTH, f.compatible);
  putU64Big(b, LUO_FILE_SER.data, f.data);
  putU64Big(b, LUO_FILE_SER.token, f.token);
  return b;
}

export const decodeFileSer = (b: Uint8Array): LuoFileSer => ({
  compatible: getCString(b, LUO_FILE_SER.compatible, LIVEUPDATE_HNDL_COMPAT_LENGTH),
  data: getU64Big(b, LUO_FILE_SER.data),
  token: getU64Big(b, LUO_FILE_SER.token),
});

export interface LuoV5Session {
  name: string;
  files: LuoFileSer[];
}

/**
 * liveupdate_reboot()'s serialization: each session's files into their own block chain, the
 * sessions into one chain, and returns sessions_pa (0 when there are no sessions).
 */
export function writeLuoV5Sessions(
  mem: PhysWriter,
  alloc: () => number | null,
  sessions: readonly LuoV5Session[],
): number | AbiError {
  const sers: Uint8Array[] = [];
  for (const s of sessions) {
    const files = encodeBlockSet(mem, alloc, LUO_FILE_SER.size, s.files.map(encodeFileSer));
    if (files instanceof AbiError) return files;
    sers.push(encodeSessionSer({ name: s.name, files: files.headPa, count: s.files.length }));
  }
  const set = encodeBlockSet(mem, alloc, LUO_SESSION_SER.size, sers);
  return set instanceof AbiError ? set : set.headPa;
}

export interface DecodedLuoSession {
  /** getCString() of the name: printable ASCII, other bytes as \xNN. */
  name: string;
  /** The name's bytes, for strncmp()-exact lookups. */
  nameBytes: Uint8Array;
  /** luo_file_set_ser.files. */
  filesPa: number;
  /** luo_file_set_ser.count. */
  fileCount: number;
  /** Where its luo_session_ser is. */
  pa: number;
  files: (LuoFileSer & { pa: number })[];
  fileBlocks: BlockHeader[];
  /** Why luo_file_deserialize() refuses this session's files, if it does. */
  filesError?: AbiError;
}

export interface DecodedLuoV5 extends LuoSer {
  sessions: DecodedLuoSession[];
  sessionBlocks: BlockHeader[];
}

/** luo_file_deserialize()'s view of one session's files. */
function decodeFiles(
  mem: PhysReader,
  s: LuoSessionSer,
): Pick<DecodedLuoSession, 'files' | 'fileBlocks' | 'filesError'> {
  if (!s.files) return { files: [], fileBlocks: [] };
  const set = decodeBlockSet(mem, s.files, LUO_FILE_SER.size);
  if (set instanceof AbiError) return { files: [], fileBlocks: [], filesError: set };
  const files = set.entries.map((e) => ({ ...decodeFileSer(e.bytes), pa: e.pa }));
  if (files.length !== s.count) {
    const err = new AbiError(
      'bad-count',
      `session "${s.name}" says ${s.count} files, its blocks hold ${files.length}`,
      'EINVAL',
      s.files,
      `luo: File count mismatch: expected ${s.count}, found ${files.length}`,
    );
    return { files, fileBlocks: set.blocks, filesError: err };
  }
  return { files, fileBlocks: set.blocks };
}

/**
 * The whole luo-v5 state at `luoPa` (blob of `blobSize` bytes), as the next kernel reads it:
 * an AbiError for what fails luo_early_startup(), per-session errors for files.
 */
export function decodeLuoV5(mem: PhysReader, luoPa: number, blobSize: number): DecodedLuoV5 | AbiError {
  const blob = mem.read(luoPa, Math.min(blobSize, LUO_SER.size));
  if (!blob)
    return new AbiError('out-of-ram', `LUO blob at ${hex(luoPa)} is outside RAM`, 'EINVAL', luoPa, undefined, false);
  const ser = decodeLuoSer(blobSize < LUO_SER.size ? blob.subarray(0, blobSize) : blob);
  if (ser instanceof AbiError) return ser;
  const set = decodeBlockSet(mem, ser.sessionsPa, LUO_SESSION_SER.size);
  if (set instanceof AbiError) return set;
  const sessions = set.entries.map((e): DecodedLuoSession => {
    const s = decodeSessionSer(e.bytes);
    return {
      name: s.name,
      nameBytes: getCBytes(e.bytes, LUO_SESSION_SER.name, LIVEUPDATE_SESSION_NAME_LENGTH).slice(),
      filesPa: s.files,
      fileCount: s.count,
      pa: e.pa,
      ...decodeFiles(mem, s),
    };
  });
  return { ...ser, sessions, sessionBlocks: set.blocks };
}
