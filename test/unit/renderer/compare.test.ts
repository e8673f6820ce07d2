import { describe, expect, it } from 'vitest';
import type { FormatResult, MemfdCompare } from '../../../shared/compare';
import {
  addressTicks,
  barData,
  bytesTick,
  formatStyle,
  log2Splits,
  logRange,
  metadataSpan,
  runAt,
  runRects as rects,
  splitError,
  sparseText,
  stripRange,
  sweepCsv,
  sweepSeries,
  sweepX,
  type SweepPoint,
} from '../../../renderer/src/lib/compare-data';
import { DEFAULT_COMPARE_FORM, checkCompareForm, exportBase, parseSweep } from '../../../renderer/src/lib/compare-form';
import { downloadName } from '../../../renderer/src/lib/save-file';

const GiB = 1024 ** 3;

function format(compatible: string, over: Partial<FormatResult> = {}): FormatResult {
  return {
    compatible,
    origin: 'x',
    ok: true,
    errno: null,
    error: null,
    limit: null,
    dataFolios: 1000,
    dataPages: 1000,
    metaPages: 4,
    metaBytes: 16384,
    usedBytes: 16000,
    bytesPerFolio: 16.384,
    trackerPages: 0,
    groups: [],
    layout: [],
    restoreSteps: [],
    preserveMs: 1,
    ...over,
  };
}

function compare(sparse: number, formats: FormatResult[]): MemfdCompare {
  return {
    spec: { size: GiB, order: '0', sparse, files: 1, holes: 'keep', seed: 1 },
    ramBytes: 3 * GiB,
    maxPfn: 786432,
    populatedPages: 1000,
    formats,
    elapsedMs: 5,
  };
}

const ENOMEM =
  'ioctl(LIVEUPDATE_SESSION_PRESERVE_FD): ENOMEM (524288 folios need a 16384 KiB FDT: more than one order-10 folio (MAX_PAGE_ORDER) can hold)';

describe('the compare form', () => {
  it('accepts the defaults and hands the host the fields as typed', () => {
    expect(checkCompareForm(DEFAULT_COMPARE_FORM)).toEqual({
      ok: true,
      spec: { size: '1G', order: '0', sparse: 0, files: 1, holes: 'keep', seed: 1 },
    });
    expect(checkCompareForm({ ...DEFAULT_COMPARE_FORM, size: ' 4G ' })).toMatchObject({
      ok: true,
      spec: { size: '4G' },
    });
  });

  it("puts the schema's message next to the field it is about", () => {
    const bad = (over: object) => {
      const r = checkCompareForm({ ...DEFAULT_COMPARE_FORM, ...over });
      return r.ok ? {} : r.errors;
    };
    expect(bad({ size: '6K' }).size).toMatch(/must be a positive multiple of 4 KiB/);
    expect(bad({ size: 'lots' }).size).toBeTruthy();
    expect(bad({ size: '200G' }).size).toMatch(/above the 128 GiB/);
    expect(bad({ sparse: 1 }).sparse).toBe('expected fraction of the file left as holes, 0 – 0.9999');
    expect(bad({ files: 0 }).files).toMatch(/^expected 1 – 16 memfds/);
    expect(bad({ files: 16, size: '16G' }).files).toBe('16 files of 16 GiB exceed 128 GiB');
    expect(bad({ seed: -1 }).seed).toMatch(/^expected .*0 – 4294967295/);
  });

  it('calls an empty number field empty instead of letting the default stand in', () => {
    for (const field of ['sparse', 'files', 'seed'] as const) {
      const r = checkCompareForm({ ...DEFAULT_COMPARE_FORM, [field]: null as unknown as number });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(Object.keys(r.errors)).toEqual([field]);
    }
    expect(checkCompareForm({ ...DEFAULT_COMPARE_FORM, sparse: undefined as unknown as number }).ok).toBe(false);
  });

  it('parses a sweep list: sorted, without repeats, every value a sparseness', () => {
    expect(parseSweep('0.99, 0 0.5;0.9,0.5')).toEqual({ ok: true, value: [0, 0.5, 0.9, 0.99] });
    expect(parseSweep('0.5')).toMatchObject({ ok: false, error: { message: expect.stringMatching(/at least two/) } });
    expect(parseSweep('0, 1')).toEqual({ ok: false, error: { message: '"1" is not a sparseness from 0 to 0.9999' } });
    expect(parseSweep('0, x')).toMatchObject({ ok: false });
    expect(parseSweep(Array.from({ length: 13 }, (_, i) => i / 100).join(','))).toEqual({
      ok: false,
      error: { message: 'at most 12 values' },
    });
  });

  it('names exports after what they are of', () => {
    const spec = { size: 2 * GiB, order: '0' as const, sparse: 0.99, files: 1, holes: 'keep' as const, seed: 1 };
    expect(exportBase(spec)).toBe('memfd-compare-2G-order0-sparse0.99-keep');
    expect(exportBase({ ...spec, files: 4, order: 'mixed', holes: 'fill' }, 'sweep')).toBe(
      'memfd-sweep-2G-ordermixed-fill-x4',
    );
    expect(downloadName({ kind: 'csv', name: '../../etc/x y.csv' })).toBe('x-y.csv');
    expect(downloadName({ kind: 'json', name: 'C:\\tmp\\.hidden' })).toBe('hidden.json');
    expect(downloadName({ kind: 'json', name: '' })).toBe('kho-lab.json');
  });
});

describe('compare data for the view', () => {
  it('labels the three formats of the debate, and any other by its origin', () => {
    expect(formatStyle({ compatible: 'memfd-v1', origin: '' }, 0)).toMatchObject({
      short: 'merged in 6.19',
      merged: true,
    });
    expect(formatStyle({ compatible: 'memfd-fdt-v1', origin: '' }, 1)).toMatchObject({
      short: 'LUO patch v3 · Aug 2025',
      merged: false,
    });
    expect(formatStyle({ compatible: 'memfd-karr-v1', origin: '' }, 2)).toMatchObject({
      short: 'KHO array RFC · Sep 2025',
      merged: false,
    });
    const other = formatStyle({ compatible: 'memfd-v2', origin: 'merged in Linux 7.1' }, 3);
    expect(other).toMatchObject({ short: 'merged in Linux 7.1', merged: true });
    expect(other.color).toMatch(/^#[0-9a-f]{6}$/);
    const colours = ['memfd-v1', 'memfd-fdt-v1', 'memfd-karr-v1'].map(
      (c, i) => formatStyle({ compatible: c, origin: '' }, i).color,
    );
    expect(new Set(colours).size).toBe(3);
  });

  it('splits an error into the call, the errno and the reason', () => {
    expect(splitError(ENOMEM)).toEqual({
      call: 'ioctl(LIVEUPDATE_SESSION_PRESERVE_FD)',
      errno: 'ENOMEM',
      reason: '524288 folios need a 16384 KiB FDT: more than one order-10 folio (MAX_PAGE_ORDER) can hold',
    });
    expect(splitError('ioctl(X): E2BIG')).toEqual({ call: 'ioctl(X)', errno: 'E2BIG', reason: '' });
    expect(splitError('something else')).toEqual({ call: null, errno: null, reason: 'something else' });
  });

  it('makes a log₂ axis: ranges on powers of two with room above, ticks thinned by stride', () => {
    expect(logRange([16.05, 8.05])).toEqual([1, 64]);
    expect(logRange([785.8, 19.9])).toEqual([1, 2048]);
    expect(logRange([0.5, 4096])).toEqual([0.5, 8192]);
    expect(logRange([])).toEqual([1, 4]);
    expect(log2Splits(1, 64, 10)).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(log2Splits(1, 8192, 8)).toEqual([1, 4, 16, 64, 256, 1024, 4096]);
    expect(log2Splits(1, 8192, 3)).toEqual([1, 256]);
    expect(log2Splits(0, 8, 4)).toEqual([]);
    expect([1, 8, 16, 256, 1024, 4096, 1536, 0.5].map(bytesTick)).toEqual([
      '1 B',
      '8 B',
      '16 B',
      '256 B',
      '1 KiB',
      '4 KiB',
      '1.5 KiB',
      '0.5 B',
    ]);
  });

  it('gives each format a bar at its own index, none where it failed', () => {
    const c = compare(0, [
      format('memfd-v1'),
      format('memfd-fdt-v1', { ok: false, error: ENOMEM, dataFolios: 0, bytesPerFolio: 0 }),
      format('memfd-karr-v1', { bytesPerFolio: 8 }),
    ]);
    expect(barData(c)).toEqual({
      x: [0, 1, 2],
      series: [
        [16.384, null, null],
        [null, null, null],
        [null, null, 8],
      ],
    });
  });

  it('spaces a sweep by nines and lines the formats up, failures as errnos', () => {
    expect([0, 0.9, 0.99, 0.999].map((s) => sweepX(s).toFixed(6))).toEqual([
      '0.000000',
      '1.000000',
      '2.000000',
      '3.000000',
    ]);
    expect([0, 0.5, 0.999, 1 - 1e-4].map(sparseText)).toEqual(['0', '0.5', '0.999', '0.9999']);
    const points: SweepPoint[] = [
      {
        sparse: 0.9,
        result: compare(0.9, [
          format('memfd-v1', { bytesPerFolio: 16.4 }),
          format('memfd-fdt-v1', { bytesPerFolio: 20 }),
        ]),
      },
      {
        sparse: 0,
        result: compare(0, [
          format('memfd-v1', { bytesPerFolio: 16 }),
          format('memfd-fdt-v1', { ok: false, error: ENOMEM, limit: 'cap', dataFolios: 0 }),
        ]),
      },
    ];
    const s = sweepSeries(points);
    expect(s.compatibles).toEqual(['memfd-v1', 'memfd-fdt-v1']);
    expect(s.x).toEqual([0, sweepX(0.9)]);
    expect(s.y).toEqual([
      [16, 16.4],
      [null, 20],
    ]);
    expect(s.failed).toEqual([
      [null, null],
      ['ENOMEM', null],
    ]);
    expect(sweepCsv(points).split('\n')).toEqual([
      'sparse,compatible,ok,error,limit,dataFolios,metaPages,metaBytes,usedBytes,bytesPerFolio',
      '0,memfd-v1,true,,,1000,4,16384,16000,16',
      `0,memfd-fdt-v1,false,${ENOMEM},cap,0,4,16384,16000,16.384`,
      '0.9,memfd-v1,true,,,1000,4,16384,16000,16.4',
      '0.9,memfd-fdt-v1,true,,,1000,4,16384,16000,20',
      '',
    ]);
  });
});

describe('the layout strips', () => {
  const layout: Array<[number, number]> = [
    [1000, 24],
    [1100, 5],
    [5000, 1024],
  ];

  it('spans the whole machine or the metadata with a margin', () => {
    const fs = [format('a', { layout }), format('b', { layout: [[900, 1]] }), format('c', { ok: false, layout: [] })];
    expect(metadataSpan(fs)).toEqual({ first: 900, end: 6024 });
    expect(metadataSpan([format('c')])).toBeNull();
    expect(stripRange('ram', 786432, fs)).toEqual({ first: 0, end: 786432 });
    // A margin of 2% of the 5,124-page span (103 pages) a side.
    expect(stripRange('metadata', 786432, fs)).toEqual({ first: 797, end: 6127 });
    expect(stripRange('metadata', 6030, fs)).toEqual({ first: 797, end: 6030 });
    expect(stripRange('metadata', 786432, [format('c')])).toEqual({ first: 0, end: 786432 });
  });

  it('draws runs at least 2 px wide and merges those that touch', () => {
    // 10,000 pages over 1,000 px: 10 pages a pixel.
    const range = { first: 0, end: 10000 };
    const runRects = (...a: Parameters<typeof rects>) =>
      rects(...a).map((r) => ({ x: +r.x.toFixed(6), w: +r.w.toFixed(6) }));
    expect(runRects(layout, range, 1000)).toEqual([
      { x: 100, w: 2.4 },
      { x: 110, w: 2 },
      { x: 500, w: 102.4 },
    ]);
    // Over 100 px the first two land on the same pixels and merge.
    expect(runRects(layout, range, 100)).toEqual([
      { x: 10, w: 3 },
      { x: 50, w: 10.24 },
    ]);
    // Clipped to the range; a run at the right edge stays inside.
    expect(runRects([[9999, 1]], range, 1000)).toEqual([{ x: 998, w: 2 }]);
    expect(runRects(layout, { first: 5100, end: 5200 }, 100)).toEqual([{ x: 0, w: 100 }]);
  });

  it('finds the run under the pointer, or the nearest within the slack', () => {
    expect(runAt(layout, 1010)).toEqual([1000, 24]);
    expect(runAt(layout, 1024)).toBeNull();
    expect(runAt(layout, 1030, 10)).toEqual([1000, 24]);
    expect(runAt(layout, 1098, 3)).toEqual([1100, 5]);
    expect(runAt(layout, 6023)).toEqual([5000, 1024]);
    expect(runAt(layout, 10)).toBeNull();
    expect(runAt([], 10, 100)).toBeNull();
  });

  it('puts address ticks at a power-of-two stride of pages', () => {
    const ticks = addressTicks({ first: 0, end: 786432 }, 1100, 110);
    // 786,432 pages over 1,100 px at ≥ 110 px: a stride of 131,072 pages = 512 MiB.
    expect(ticks.map((t) => t.label)).toEqual([
      '0x0',
      '0x20000000',
      '0x40000000',
      '0x60000000',
      '0x80000000',
      '0xa0000000',
      '0xc0000000',
    ]);
    expect(ticks[1]!.x).toBeCloseTo((131072 / 786432) * 1100);
    expect(addressTicks({ first: 100, end: 300 }, 0)).toEqual([]);
    expect(addressTicks({ first: 1000, end: 1100 }, 400, 100).map((t) => t.pfn)).toEqual([1024, 1056, 1088]);
  });
});
