/**
 * DOC: UTF-8
 *
 * The kernel layer has no DOM or Node APIs (no TextEncoder), so strings that go into simulated
 * RAM are encoded here.
 */
export function utf8Encode(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/**
 * Decodes UTF-8 as a reader of untrusted memory must: a malformed sequence (a stray continuation
 * byte, a truncated or overlong sequence, a surrogate, a code point past U+10FFFF) becomes U+FFFD
 * and decoding goes on at the next byte, as TextDecoder does without `fatal`. Scribbled RAM read as
 * a name must print as replacement characters, never throw.
 */
export function utf8Decode(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    const [len, min] =
      c < 0x80 ? [1, 0] : c >> 5 === 6 ? [2, 0x80] : c >> 4 === 14 ? [3, 0x800] : c >> 3 === 30 ? [4, 0x10000] : [0, 0];
    let cp = len === 1 ? c : c & (0x7f >> len);
    let ok = len > 0 && i + len <= b.length;
    for (let k = 1; ok && k < len; k++) {
      const cc = b[i + k]!;
      if (cc >> 6 !== 2) ok = false;
      else cp = (cp << 6) | (cc & 63);
    }
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (ok) {
      s += String.fromCodePoint(cp);
      i += len;
    } else {
      s += '\ufffd';
      i += 1;
    }
  }
  return s;
}
