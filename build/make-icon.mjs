/**
 * Draws build/icon.png (512×512 RGBA): a memory map of page frames, some preserved across kexec
 * (teal), one carried over to the next kernel (amber), on a dark rounded tile. Pure Node (zlib for
 * the PNG encoding), so the icon is reproducible offline:  node build/make-icon.mjs
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

const SIZE = 512;
const RADIUS = 96;
const GRID = 8;
const MARGIN = 64;
const GAP = 8;
const CELL = (SIZE - 2 * MARGIN - (GRID - 1) * GAP) / GRID;

const BG = [0x11, 0x14, 0x18];
const FREE = [0x2a, 0x31, 0x3a];
const PRESERVED = [0x2d, 0xd4, 0xbf];
const HANDOVER = [0xf5, 0x9e, 0x0b];

/** Which cells are preserved: a fixed pattern, so every run draws the same icon. */
function cellColor(row, col) {
  if (row === 3 && col === 4) return HANDOVER;
  return (row * 5 + col * 3) % 7 < 3 || (row >= 2 && row <= 5 && col >= 2 && col <= 5) ? PRESERVED : FREE;
}

/** How much of pixel (x, y) a rounded square (corner x0,y0, side size, radius r) covers: 0..1, blended at the edge. */
function roundedCoverage(x, y, x0, y0, size, r) {
  const cx = Math.min(Math.max(x + 0.5, x0 + r), x0 + size - r);
  const cy = Math.min(Math.max(y + 0.5, y0 + r), y0 + size - r);
  const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
  return Math.min(1, Math.max(0, r - d + 0.5));
}

function pixel(x, y) {
  const tile = roundedCoverage(x, y, 0, 0, SIZE, RADIUS);
  if (tile === 0) return [0, 0, 0, 0];
  let rgb = BG;
  const gx = x - MARGIN;
  const gy = y - MARGIN;
  const col = Math.floor(gx / (CELL + GAP));
  const row = Math.floor(gy / (CELL + GAP));
  if (gx >= 0 && gy >= 0 && col < GRID && row < GRID) {
    const inCell = roundedCoverage(x, y, MARGIN + col * (CELL + GAP), MARGIN + row * (CELL + GAP), CELL, 8);
    const c = cellColor(row, col);
    rgb = rgb.map((v, i) => Math.round(v + (c[i] - v) * inCell));
  }
  return [...rgb, Math.round(255 * tile)];
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

export function makeIcon() {
  // Each scanline starts with filter byte 0 (None).
  const raw = Buffer.alloc(SIZE * (1 + SIZE * 4));
  for (let y = 0; y < SIZE; y++) {
    const row = y * (1 + SIZE * 4);
    for (let x = 0; x < SIZE; x++) raw.set(pixel(x, y), row + 1 + x * 4);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(SIZE, 0);
  ihdr.writeUInt32BE(SIZE, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit depth, RGBA, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'icon.png');
  writeFileSync(out, makeIcon());
  console.log(`wrote ${out}`);
}
