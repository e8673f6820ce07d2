/**
 * Golden bytes for LUO's and memfd-v1's records (include/linux/kho/abi/luo.h,
 * include/linux/kho/abi/memfd.h), and the LUO sub-FDT as a booted kernel leaves it in RAM.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import {
  LUO_FILE_MAX,
  LUO_SESSION_MAX,
  decodeFileSer,
  decodeSessionSer,
  encodeFileSer,
  encodeSessionSer,
} from '../../../electron/kernel/abi/luo-v1';
import {
  MEMFD_LUO_FOLIO_DIRTY,
  MEMFD_LUO_FOLIO_UPTODATE,
  decodeMemfdSer,
  encodeFolioSer,
  encodeMemfdSer,
  getFolioSer,
} from '../../../electron/kernel/abi/memfd-v1';
import { decodeFdt, fdtCheckCompatible, getProp, readU64le } from '../../../electron/kernel/lib/fdt';
import { bootKho, hx, toHex } from '../../unit/kho/helpers';

const pad = (hex: string, bytes: number) => hex + '00'.repeat(bytes - hex.length / 2);

describe('luo-v1 records', () => {
  it('luo_session_ser is 80 bytes: name[64], files u64, count u64', () => {
    const b = encodeSessionSer({ name: 'test-session', files: 0x12345000, count: 3 });
    expect(b.length).toBe(80);
    const name = toHex(new TextEncoder().encode('test-session'));
    expect(toHex(b)).toBe(pad(name, 64) + hx('00 50 34 12 00 00 00 00') + hx('03 00 00 00 00 00 00 00'));
    expect(decodeSessionSer(b)).toEqual({ name: 'test-session', files: 0x12345000, count: 3 });
  });

  it('luo_file_ser is 64 bytes: compatible[48], data u64, token u64 (a full u64 token survives)', () => {
    const b = encodeFileSer({ compatible: 'memfd-v1', data: 0x3940_7000, token: 0xfedc_ba98_7654_3210n });
    expect(b.length).toBe(64);
    expect(toHex(b)).toBe(
      pad(toHex(new TextEncoder().encode('memfd-v1')), 48) +
        hx('00 70 40 39 00 00 00 00') +
        hx('10 32 54 76 98 ba dc fe'),
    );
    expect(decodeFileSer(b)).toEqual({ compatible: 'memfd-v1', data: 0x3940_7000, token: 0xfedc_ba98_7654_3210n });
  });

  it('capacities: 819 sessions in 16 pages, 128 files in 2 pages', () => {
    expect(LUO_SESSION_MAX).toBe(819);
    expect(LUO_FILE_MAX).toBe(128);
  });
});

describe('memfd-v1 records', () => {
  it('memfd_luo_ser is 40 bytes: pos, size, nr_folios, kho_vmalloc', () => {
    const desc = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    const b = encodeMemfdSer({ pos: 5, size: 17, nrFolios: 1, folios: desc });
    expect(b.length).toBe(40);
    expect(toHex(b)).toBe(
      hx('05 00 00 00 00 00 00 00  11 00 00 00 00 00 00 00  01 00 00 00 00 00 00 00') + toHex(desc),
    );
    const d = decodeMemfdSer(b);
    expect([d.pos, d.size, d.nrFolios, toHex(d.folios)]).toEqual([5, 17, 1, toHex(desc)]);
  });

  it('a folio record puts pfn in bits 0..51 and flags in 52..63 (dirty bit 0, uptodate bit 1), then index', () => {
    const flags = MEMFD_LUO_FOLIO_DIRTY | MEMFD_LUO_FOLIO_UPTODATE;
    const b = encodeFolioSer({ pfn: 0xf_1234_5678_9abc, flags, index: 0x200 });
    expect(b.length).toBe(16);
    // u64 = 3 << 52 | 0xf123456789abc = 0x003f_1234_5678_9abc, little-endian.
    expect(toHex(b)).toBe(hx('bc 9a 78 56 34 12 3f 00  00 02 00 00 00 00 00 00'));
    expect(getFolioSer(b, 0)).toEqual({ pfn: 0xf_1234_5678_9abc, flags, index: 0x200 });
    expect(toHex(encodeFolioSer({ pfn: 1, flags: 0xfff, index: 0 }))).toBe(
      hx('01 00 00 00 00 00 f0 ff  00 00 00 00 00 00 00 00'),
    );
  });
});

describe('the LUO sub-FDT in RAM after a KHO boot', () => {
  it('is the KHO subtree "LUO": luo-v1, liveupdate-number 1, luo-session → a 16-page preserved block', () => {
    const { m, k } = bootKho({ cmdline: 'kho=on liveupdate=on kho_scratch=64M,32M,16M' });
    const root = decodeFdt(m.ram.read(k.khoOut!.fdtPhys, PAGE_SIZE));
    if (!root.ok) throw new Error(root.message);
    const node = root.root.children.find((c) => c.name === 'LUO');
    expect(node).toBeDefined();
    const phys = Number(readU64le(getProp(node!, 'fdt')!));
    expect(phys).toBe(k.luo!.fdtPhys);
    const luo = decodeFdt(m.ram.read(phys, PAGE_SIZE));
    if (!luo.ok) throw new Error(luo.message);
    expect(fdtCheckCompatible(luo.root, 'luo-v1')).toBe(0);
    expect(toHex(getProp(luo.root, 'liveupdate-number')!)).toBe('0100000000000000');
    const s = luo.root.children.find((c) => c.name === 'luo-session')!;
    expect(fdtCheckCompatible(s, 'luo-session-v2')).toBe(0);
    const head = Number(readU64le(getProp(s, 'luo-session-header')!));
    expect(head).toBe(k.luo!.sessionBlockPhys);
    expect(k.pages.order.get(head / PAGE_SIZE)).toBe(4);
    expect(k.khoOut!.tracker.isMarked(head / PAGE_SIZE, 4)).toBe(true);
    expect(k.khoOut!.tracker.isMarked(phys / PAGE_SIZE, 0)).toBe(true);
  });
});
