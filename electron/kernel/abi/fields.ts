/**
 * DOC: fixed-size C fields the 7.x records share
 *
 * `char name[N]` fields (session names, handler and FLB compatibles, the release string) and
 * opaque u64 values (tokens, handler data, FLB data) that may use all 64 bits, so they are
 * bigint rather than the address-sized numbers of bytes.ts. Decoding never throws, whatever the
 * bytes.
 */
import { utf8Encode } from '../lib/utf8';

/** The bytes of a fixed char[] field up to the first NUL (all of them when there is none). */
export function getCBytes(b: Uint8Array, off: number, len: number): Uint8Array {
  const f = b.subarray(off, off + len);
  const nul = f.indexOf(0);
  return nul < 0 ? f : f.subarray(0, nul);
}

/**
 * A fixed char[] field as text: printable ASCII as is, any other byte as \xNN. Names in RAM are
 * byte strings the kernel compares with strncmp(); escaping keeps arbitrary (or corrupt) bytes
 * readable without guessing an encoding.
 */
export function getCString(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (const c of getCBytes(b, off, len))
    s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return s;
}

/** strscpy() into a zeroed char[len]: at most len-1 bytes and a NUL. */
export function putCString(b: Uint8Array, off: number, len: number, s: string): void {
  b.set(utf8Encode(s).subarray(0, len - 1), off);
}

/** Reads a u64 that is an opaque value (tokens, handler data), exactly. */
export function getU64Big(b: Uint8Array, off: number): bigint {
  return new DataView(b.buffer, b.byteOffset + off, 8).getBigUint64(0, true);
}

export function putU64Big(b: Uint8Array, off: number, v: bigint): void {
  new DataView(b.buffer, b.byteOffset + off, 8).setBigUint64(0, BigInt.asUintN(64, v), true);
}
