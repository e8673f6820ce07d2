/**
 * The memfd format comparison (electron/host/compare.ts): every format preserves the same files
 * on one machine sized for them, KHO scratch included.
 */
import { describe, expect, it } from 'vitest';
import { runMemfdCompare } from '../../../electron/host/compare';
import { MemfdCompareSpecSchema } from '../../../shared/compare';
import { GiB } from '../../../shared/units';

describe('runMemfdCompare()', () => {
  it('memfd_pin_folios() migrates folios out of CMA: a 16 GiB memfd of 2 MiB folios preserves in every format', () => {
    const r = runMemfdCompare(MemfdCompareSpecSchema.parse({ size: '16G', order: '9' }));
    if (!r.ok) throw new Error(r.error.message);
    for (const f of r.value.formats) {
      expect(f.error, f.compatible).toBeNull();
      expect(f.dataFolios, f.compatible).toBe(8192);
      expect(f.dataPages, f.compatible).toBe(16 * 262_144);
    }
    // Room beyond the first guess (1.1 × the files + 2 GiB): scratch is CMA, and the files must fit beside it.
    expect(r.value.ramBytes).toBeGreaterThan(20 * GiB);
  });

  it('a 64 MiB memfd of 4 KiB folios keeps the first guess of machine size, and every format preserves it', () => {
    const r = runMemfdCompare(MemfdCompareSpecSchema.parse({ size: '64M', order: '0' }));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.ramBytes).toBe(3 * GiB);
    expect(r.value.formats.map((f) => [f.compatible, f.ok, f.dataFolios])).toEqual([
      ['memfd-v1', true, 16_384],
      ['memfd-fdt-v1', true, 16_384],
      ['memfd-karr-v1', true, 16_384],
    ]);
  });
});
