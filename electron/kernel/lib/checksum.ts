/**
 * DOC: the Internet checksum, as lib/checksum.c computes it (little-endian)
 *
 * csum_partial() sums a buffer in one's-complement arithmetic — 32-bit little-endian words with
 * the carries added back, folded to 16 bits by do_csum() — and adds that to a running 32-bit
 * `__wsum` with an end-around carry. lib/test_kho.c chains it over every folio it preserves.
 */

/** from32to16(): fold a 32-bit one's-complement sum to 16 bits. */
function from32to16(x: number): number {
  x = (x & 0xffff) + (x >>> 16);
  x = (x & 0xffff) + (x >>> 16);
  return x;
}

/** do_csum() of lib/checksum.c for a little-endian machine. */
function doCsum(buf: Uint8Array): number {
  const len = buf.length;
  if (len <= 0) return 0;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // The buffer's own address decides the head alignment in the kernel; here offset 0 is taken as aligned.
  let at = 0;
  let result = 0;
  if (len >= 2) {
    if (len >= 4) {
      const end = len & ~3;
      let carry = 0;
      for (; at < end; at += 4) {
        const w = view.getUint32(at, true);
        result = (result + carry) >>> 0;
        result = (result + w) >>> 0;
        carry = w > result ? 1 : 0;
      }
      result = (result + carry) >>> 0;
      result = (result & 0xffff) + (result >>> 16);
    }
    if (len & 2) {
      result += view.getUint16(at, true);
      at += 2;
    }
  }
  if (len & 1) result += buf[at]!;
  return from32to16(result);
}

/** csum_partial(buff, len, wsum): do_csum() added to the running sum with the carry brought round. */
export function csumPartial(buf: Uint8Array, wsum: number): number {
  const sum = wsum >>> 0;
  let result = (doCsum(buf) + sum) >>> 0;
  if (sum > result) result = (result + 1) >>> 0;
  return result;
}
