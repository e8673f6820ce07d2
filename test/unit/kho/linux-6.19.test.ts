/**
 * KHO as Linux 6.19 has it (kernel/liveupdate/kexec_handover.c, kexec_handover_debug.c,
 * lib/test_kho.c, lib/checksum.c): each test names the kernel function whose behaviour it pins.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { KHO_PAGE_MAGIC } from '../../../electron/kernel/abi/kho-v1';
import { getU32 } from '../../../electron/kernel/abi/bytes';
import { csumPartial } from '../../../electron/kernel/lib/checksum';
import { isErr } from '../../../electron/kernel/lib/errno';
import { PG } from '../../../electron/kernel/mm/page-flags';
import { decodeFdt, getProp, readU64le } from '../../../electron/kernel/lib/fdt';
import { testKhoInit } from '../../../electron/kernel/modules/test-kho';
import { allocFolio, bootKho, kexecLoad, logLines, rebootInto } from './helpers';

describe('kho_scratch_overlap(): only CONFIG_KEXEC_HANDOVER_DEBUG refuses preservations in scratch (kexec_handover_debug.c)', () => {
  it('without khoDebug (the default, as distributions build): a folio inside scratch is preserved, no warning', () => {
    const { m, k } = bootKho();
    const area = k.khoOut!.scratch.find((s) => s.size > 0)!;
    const pfn = area.addr / PAGE_SIZE;
    const since = m.log.lastSeq;
    expect(k.khoOut!.preservePages(pfn, 4)).toBeNull();
    expect(k.khoOut!.tracker.isMarked(pfn, 2)).toBe(true);
    expect(logLines(m, 'warn', since)).toEqual([]);
  });

  it('with khoDebug: the same preservation is EINVAL with a WARNING', () => {
    const { m, k } = bootKho({ khoDebug: true });
    const area = k.khoOut!.scratch.find((s) => s.size > 0)!;
    const since = m.log.lastSeq;
    expect(k.khoOut!.preservePages(area.addr / PAGE_SIZE, 4)?.errno).toBe('EINVAL');
    expect(logLines(m, 'warn', since).some((l) => l.startsWith('WARNING:'))).toBe(true);
  });
});

describe("kho_fill_kimage(): the scratch array segment is added before the image loader's (kernel/kexec_file.c)", () => {
  it('it takes the top of the first scratch area, 64 KiB aligned; the kernel goes below or elsewhere', () => {
    const { m, k } = bootKho();
    allocFolio(k, 0);
    const image = kexecLoad(m);
    const first = k.khoOut!.scratch[0]!;
    expect(image.segments[0]!.name).toBe('KHO scratch array');
    const seg = image.segments[0]!;
    const top = Math.floor((first.addr + first.size - seg.size) / 0x10000) * 0x10000;
    expect(seg.dest).toBe(top);
  });
});

describe('csum_partial() (lib/checksum.c)', () => {
  it("gives the known values: RFC 1071's example, all-ones, a carry out of the running sum", () => {
    expect(csumPartial(new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0)).toBe(0xf2dd);
    expect(csumPartial(new Uint8Array(4096).fill(0xff), 0)).toBe(0xffff);
    const ramp = new Uint8Array(4096).map((_, i) => i & 0xff);
    expect(csumPartial(ramp, 0xfffffff0)).toBe(0xfbf4);
    expect(csumPartial(new Uint8Array(3).fill(1), 0)).toBe(0x0102);
  });
});

describe('lib/test_kho.c: kho_test_prepare_fdt() / kho_test_restore_data()', () => {
  /** test_kho saved in kernel 1 (forgetting folio `forget`), handed over, and the next kernel booted. */
  function savedAndHandedOver(forget?: number) {
    const { m, k } = bootKho({ ram: '512M' });
    const r = testKhoInit(k, forget === undefined ? {} : { forget });
    expect(r.ok).toBe(true);
    const root = decodeFdt(m.ram.read(k.khoOut!.fdtPhys, PAGE_SIZE));
    if (!root.ok) throw new Error(root.message);
    const fdtPhys = Number(
      readU64le(
        getProp(
          root.root.children.find((c) => c.name === 'kho_test')!,
          'fdt',
        )!,
      )!,
    );
    const d = decodeFdt(m.ram.read(fdtPhys, 2 * PAGE_SIZE));
    if (!d.ok) throw new Error(d.message);
    const data = d.root.children.find((c) => c.name === 'data')!;
    const nr = getU32(getProp(data, 'nr_folios')!, 0);
    const csum = getU32(getProp(data, 'csum')!, 0);
    expect(k.khoOut!.finalize()).toBeNull();
    kexecLoad(m);
    const k2 = rebootInto(m);
    return { m, k, k2, fdtPhys, nr, csum };
  }

  it('the sub-FDT is a folio of order get_order(nr*8 + PAGE_SIZE); the next kernel never restores it: it stays reserved', () => {
    const { k, k2, fdtPhys, nr } = savedAndHandedOver();
    const order = Math.ceil(Math.log2((nr * 8 + PAGE_SIZE) / PAGE_SIZE));
    expect(k.pages.order.get(fdtPhys / PAGE_SIZE)).toBe(order);
    expect(testKhoInit(k2, {}).ok).toBe(true);
    const pfn = fdtPhys / PAGE_SIZE;
    expect(k2.khoIn!.blocks.some((b) => b.pfn === pfn && b.order === order)).toBe(true);
    expect(k2.pages.privateHi(pfn)).toBe(KHO_PAGE_MAGIC); // stamped, never restored
    expect(k2.pages.owner.get(pfn)).toBe(0);
  });

  it('csum is csum_partial() chained over the folios: recomputed from RAM, it matches', () => {
    const { m, k2, csum } = savedAndHandedOver();
    const since = m.log.lastSeq;
    expect(testKhoInit(k2, {}).ok).toBe(true);
    expect(logLines(m, 'info', since)).toContain('KHO restore succeeded');
    expect(csum).not.toBe(0);
  });

  it('a folio that cannot be restored ends the loop: the folios after it stay preserved, unrestored; "KHO restore failed"', () => {
    const { m, k2 } = savedAndHandedOver(3);
    const since = m.log.lastSeq;
    const r = testKhoInit(k2, {});
    expect(r.ok).toBe(false);
    expect(logLines(m, 'err', since)).toContain('KHO restore failed');
    const later = /folios 3\.\.(\d+) left unrestored/.exec(r.message);
    expect(later).not.toBeNull();
    // folio 4 onwards still carries the KHOP stamp: nobody restored it
    const stamped = k2.khoIn!.blocks.filter((b) => k2.pages.privateHi(b.pfn) === KHO_PAGE_MAGIC);
    expect(stamped.length).toBeGreaterThan(Number(later![1]) - 4);
  });
});

describe('kho_restore_vmalloc(): unknown flags dropped, restored chunk by chunk (kernel/liveupdate/kexec_handover.c)', () => {
  /** A 600-page vmalloc area (two chunk pages) preserved in kernel 1; its descriptor and the next kernel. */
  function preservedArea() {
    const { m, k } = bootKho();
    const area = k.vmalloc.alloc('v', 600 * PAGE_SIZE);
    if (isErr(area)) throw new Error(area.reason);
    const desc = k.khoOut!.preserveVmalloc(area);
    if (isErr(desc)) throw new Error(desc.reason);
    expect(k.khoOut!.finalize()).toBeNull();
    kexecLoad(m);
    return { m, k2: rebootInto(m), desc: desc.slice(), pfns: area.pfns.slice() };
  }

  it('flags it does not know are ignored: the area comes back', () => {
    const { k2, desc, pfns } = preservedArea();
    desc[13] = 0x80; // flags |= 0x8000
    const back = k2.khoIn!.restoreVmalloc(desc, 'v');
    expect(back).not.toBeNull();
    expect(back!.pfns).toEqual(pfns);
  });

  it('a descriptor declaring too few pages: the first pieces are restored, then NULL — a partial restore', () => {
    const { m, k2, desc, pfns } = preservedArea();
    desc.set([100, 0, 0, 0], 8); // total_pages = 100
    const since = m.log.lastSeq;
    expect(k2.khoIn!.restoreVmalloc(desc, 'v')).toBeNull();
    expect(logLines(m, 'info', since).some((l) => /100 page\(s\) restored before it stay restored/.test(l))).toBe(true);
    expect(k2.pages.flags.get(pfns[0]!) & PG.kho_restored).not.toBe(0);
    expect(k2.pages.flags.get(pfns[99]!) & PG.kho_restored).not.toBe(0);
    expect(k2.pages.privateHi(pfns[100]!)).toBe(KHO_PAGE_MAGIC); // never reached
  });
});
