/**
 * DOC: byte access
 *
 * Little-endian field access for structures the kernel lays out in memory (x86_64 and arm64 are
 * little-endian). Physical addresses stay below 2^52, so a JavaScript number holds them exactly;
 * a u64 that is not a valid address is refused rather than rounded. Plain byte arithmetic, not a
 * DataView per call: these run once per folio record when a 64 GiB memfd is decoded.
 */
export function putU32(b: Uint8Array, off: number, value: number): void {
  b[off] = value;
  b[off + 1] = value >>> 8;
  b[off + 2] = value >>> 16;
  b[off + 3] = value >>> 24;
}

export function getU32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

export function putU64(b: Uint8Array, off: number, value: number): void {
  putU32(b, off, value >>> 0);
  putU32(b, off + 4, Math.floor(value / 0x1_0000_0000));
}

/** Reads a u64; values above 2^53 come back as NaN so that callers treat them as corrupt. */
export function getU64(b: Uint8Array, off: number): number {
  const hi = getU32(b, off + 4);
  if (hi >= 0x20_0000) return Number.NaN;
  return hi * 0x1_0000_0000 + getU32(b, off);
}

export function putU16(b: Uint8Array, off: number, value: number): void {
  b[off] = value;
  b[off + 1] = value >>> 8;
}

export function getU16(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}
