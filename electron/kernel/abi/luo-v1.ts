/**
 * DOC: LUO's records inside KHO, Linux 6.19 (include/linux/kho/abi/luo.h)
 *
 * The "LUO" KHO sub-FDT (one page): `compatible = "luo-v1"`, `liveupdate-number` (u64, native
 * little-endian, exactly 8 bytes) and a `luo-session` node (`compatible = "luo-session-v2"`,
 * `luo-session-header` = u64 physical address of the session block). The session block is 16
 * preserved pages: `luo_session_header_ser` {count u64} followed by packed 80-byte
 * `luo_session_ser` {name char[64], files u64, count u64}. Each session's files sit in a 2-page
 * array of packed 64-byte `luo_file_ser` {compatible char[48], data u64, token u64}. All
 * little-endian and `__packed`; any change here is an ABI break and needs a new compatible.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { type FdtNode, fdtString, fdtU64le } from '../lib/fdt';
import { utf8Decode, utf8Encode } from '../lib/utf8';
import { getU64, putU64 } from './bytes';

/** LUO_FDT_KHO_ENTRY_NAME: the KHO subtree's name. */
export const LUO_FDT_KHO_ENTRY_NAME = 'LUO';
export const LUO_FDT_COMPATIBLE = 'luo-v1';
export const LUO_FDT_LIVEUPDATE_NUM = 'liveupdate-number';
export const LUO_FDT_SESSION_NODE_NAME = 'luo-session';
export const LUO_FDT_SESSION_COMPATIBLE = 'luo-session-v2';
export const LUO_FDT_SESSION_HEADER = 'luo-session-header';
/** LUO_FDT_SIZE. */
export const LUO_FDT_SIZE = PAGE_SIZE;

/** LIVEUPDATE_SESSION_NAME_LENGTH: including the NUL. */
export const LIVEUPDATE_SESSION_NAME_LENGTH = 64;
/** LIVEUPDATE_HNDL_COMPAT_LENGTH. */
export const LIVEUPDATE_HNDL_COMPAT_LENGTH = 48;

/**
 * uapi ioctl argument structs (include/uapi/linux/liveupdate.h): the first u32 is `size`; the
 * minimum a caller may pass is offsetofend() of the last field, i.e. the whole 6.19 struct.
 */
export const LIVEUPDATE_IOCTL_SIZES = {
  create_session: 72, // u32 size; s32 fd; u8 name[64]
  retrieve_session: 72,
  preserve_fd: 16, // u32 size; s32 fd; aligned u64 token
  retrieve_fd: 16,
  finish: 8, // u32 size; u32 reserved
  /**
   * 7.2: struct liveupdate_session_get_name is u32 size; u32 reserved; u8 name[64] (72 bytes), but
   * luo_session_ioctl_ops[] declares its row with struct liveupdate_session_retrieve_fd / token
   * (kernel/liveupdate/luo_session.c as stored): min size and known size 16, so bytes 16..size must
   * be zero (E2BIG) and the name comes back through luo_ucmd_respond() all the same.
   */
  get_name: 16,
} as const;
/** sizeof(struct liveupdate_session_get_name): what luo_ucmd_respond() copies back at most. */
export const LIVEUPDATE_SESSION_GET_NAME_SIZE = 72;
export type LiveupdateIoctl = keyof typeof LIVEUPDATE_IOCTL_SIZES;

export const LUO_SESSION_PGCNT = 16;
export const LUO_FILE_PGCNT = 2;
export const LUO_SESSION_HEADER_SER_SIZE = 8;
export const LUO_SESSION_SER_SIZE = 80;
export const LUO_FILE_SER_SIZE = 64;
/** (16 · 4096 − 8) / 80 = 819 sessions (luo_session.c's comment of 744 is stale). */
export const LUO_SESSION_MAX = Math.floor(
  (LUO_SESSION_PGCNT * PAGE_SIZE - LUO_SESSION_HEADER_SER_SIZE) / LUO_SESSION_SER_SIZE,
);
/** 2 pages / 64 bytes = 128 files per session. */
export const LUO_FILE_MAX = (LUO_FILE_PGCNT * PAGE_SIZE) / LUO_FILE_SER_SIZE;

export interface LuoSessionSer {
  name: string;
  /** Physical address of the session's luo_file_ser array (0 when it has none). */
  files: number;
  count: number;
}

export interface LuoFileSer {
  compatible: string;
  /** The handler's serialized_data (memfd-v1: phys of memfd_luo_ser). */
  data: number;
  token: bigint;
}

/** The LUO sub-FDT as the outgoing kernel writes it at boot. */
export function luoFdt(liveupdateNumber: bigint, sessionHeaderPhys: number): FdtNode {
  return {
    name: '',
    props: [
      { name: 'compatible', value: fdtString(LUO_FDT_COMPATIBLE) },
      { name: LUO_FDT_LIVEUPDATE_NUM, value: fdtU64le(liveupdateNumber) },
    ],
    children: [
      {
        name: LUO_FDT_SESSION_NODE_NAME,
        props: [
          { name: 'compatible', value: fdtString(LUO_FDT_SESSION_COMPATIBLE) },
          { name: LUO_FDT_SESSION_HEADER, value: fdtU64le(BigInt(sessionHeaderPhys)) },
        ],
        children: [],
      },
    ],
  };
}

/** A NUL-padded char[len]; null when the text does not fit with its NUL. */
function putCString(b: Uint8Array, off: number, len: number, s: string): boolean {
  const bytes = utf8Encode(s);
  if (bytes.length >= len) return false;
  b.fill(0, off, off + len);
  b.set(bytes, off);
  return true;
}

/** Reads a char[len] up to its first NUL (strscpy into a buffer of the same size keeps len−1 bytes). */
export function getCString(b: Uint8Array, off: number, len: number): string {
  const field = b.subarray(off, off + len);
  const end = field.indexOf(0);
  return utf8Decode(field.subarray(0, end < 0 ? len - 1 : end));
}

export function encodeSessionSer(s: LuoSessionSer): Uint8Array {
  const b = new Uint8Array(LUO_SESSION_SER_SIZE);
  putCString(b, 0, LIVEUPDATE_SESSION_NAME_LENGTH, s.name);
  putU64(b, 64, s.files);
  putU64(b, 72, s.count);
  return b;
}

export function decodeSessionSer(b: Uint8Array, off = 0): LuoSessionSer {
  return {
    name: getCString(b, off, LIVEUPDATE_SESSION_NAME_LENGTH),
    files: getU64(b, off + 64),
    count: getU64(b, off + 72),
  };
}

export function encodeFileSer(f: LuoFileSer): Uint8Array {
  const b = new Uint8Array(LUO_FILE_SER_SIZE);
  putCString(b, 0, LIVEUPDATE_HNDL_COMPAT_LENGTH, f.compatible);
  putU64(b, 48, f.data);
  new DataView(b.buffer).setBigUint64(56, f.token, true);
  return b;
}

export function decodeFileSer(b: Uint8Array, off = 0): LuoFileSer {
  return {
    compatible: getCString(b, off, LIVEUPDATE_HNDL_COMPAT_LENGTH),
    data: getU64(b, off + 48),
    token: new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off + 56, true),
  };
}
