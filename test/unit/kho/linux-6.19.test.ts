/**
 * KHO as Linux 6.19 has it (kernel/liveupdate/kexec_handover.c, kexec_handover_debug.c,
 * lib/test_kho.c, lib/checksum.c): each test names the kernel function whose behaviour it pins.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { allocFolio, bootKho, kexecLoad, logLines } from './helpers';

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

describe('kho_fill_kimage(): the scratch array segment is added before the image loader\'s (kernel/kexec_file.c)', () => {
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
