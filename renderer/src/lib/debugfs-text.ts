/**
 * DOC: debugfs file contents as text
 *
 * How the Debugfs tab prints what a read() of a file returns: a text file as is, anything else as
 * `xxd` prints it (offset, eight 2-byte groups, the printable bytes) — the form the real kernel's
 * captured blobs are kept in beside their .bin files.
 */
const hex2 = (b: number) => b.toString(16).padStart(2, '0');
const printable = (b: number) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.');

/** `xxd` of `bytes`, at most `maxLines` lines (then a line saying how many bytes were left out). */
export function xxd(bytes: Uint8Array, maxLines = 256): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length && lines.length < maxLines; off += 16) {
    const row = bytes.subarray(off, off + 16);
    let groups = '';
    for (let i = 0; i < 16; i += 2) {
      const pair = i < row.length ? hex2(row[i]!) + (i + 1 < row.length ? hex2(row[i + 1]!) : '  ') : '    ';
      groups += pair + ' ';
    }
    lines.push(`${off.toString(16).padStart(8, '0')}: ${groups} ${[...row].map(printable).join('')}`);
  }
  const shown = lines.length * 16;
  if (shown < bytes.length) lines.push(`… ${bytes.length - shown} more bytes`);
  return lines.join('\n');
}

/** A text file's bytes as a string (seq files and attributes are ASCII). */
export const asText = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
