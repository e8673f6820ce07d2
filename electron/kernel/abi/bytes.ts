/**
 * DOC: byte access
 *
 * Little-endian field access for structures the kernel lays out in memory (x86_64 and arm64 are
 * little-endian). Physical addresses stay below 2^52, so a JavaScript number holds them exactly;
 * a u64 that is not a valid address is refused rather than rounded.
 */
export function putU64(b: Uint8Array, off: number, value: number): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint32(off, value >>> 0, true);
  v.setUint32(off + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** Reads a u64; values above 2^53 come back as NaN so that callers treat them as corrupt. */
export function getU64(b: Uint8Array, off: number): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hi = v.getUint32(off + 4, true);
  if (hi >= 0x20_0000) return Number.NaN;
  return hi * 0x1_0000_0000 + v.getUint32(off, true);
}

export function putU32(b: Uint8Array, off: number, value: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(off, value >>> 0, true);
}

export function getU32(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}

export function putU16(b: Uint8Array, off: number, value: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint16(off, value, true);
}

export function getU16(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(off, true);
}
