/**
 * sparseSource: a dump kept as its data pieces, its holes read as zeroes — the simulated side of
 * the side-by-side view, a whole-RAM vmcore (vmcoreChunks at dump level 0) that costs only what
 * its non-zero pages hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DumpChunk, DumpError, sparseSource } from '../../../electron/host/dump/source';
import { planVmcore, vmcoreBytes, vmcoreChunks } from '../../../electron/host/vmcore';
import { Machine } from '../../../electron/kernel/machine';
import { MachineConfigSchema } from '../../../shared/machine-config';

/** Chunks as a stream yields them: one reused buffer for the data, holes between. */
function* stream(parts: Array<number | number[]>): Generator<DumpChunk> {
  const buffer = new Uint8Array(64);
  for (const p of parts) {
    if (typeof p === 'number') yield { hole: p };
    else {
      buffer.set(p);
      yield buffer.subarray(0, p.length);
    }
  }
}

describe('sparseSource', () => {
  it('property: every read equals the same read of the whole file, holes as zeroes', () => {
    const part = fc.oneof(
      fc.integer({ min: 1, max: 40 }),
      fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 64 }),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 12 }), fc.nat(400), fc.nat(400), (parts, offset, length) => {
        const whole: number[] = [];
        for (const p of parts) whole.push(...(typeof p === 'number' ? new Array<number>(p).fill(0) : p));
        const src = sparseSource(stream(parts));
        expect(src.size).toBe(whole.length);
        const end = Math.min(whole.length, offset + length);
        expect(Array.from(src.read(offset, length))).toEqual(whole.slice(offset, Math.max(offset, end)));
        // A hole it names reads as zeroes; a stretch of data is never called one.
        const zero = whole.slice(offset, Math.max(offset, end)).every((b) => b === 0);
        if (src.isHole(offset, length)) expect(zero).toBe(true);
        if (!zero) expect(src.isHole(offset, length)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a copy of each data chunk (a stream reuses its buffer) and counts only the data', () => {
    const src = sparseSource(stream([[1, 2], 10, [3]]));
    expect(src.dataBytes).toBe(3);
    expect(Array.from(src.read(0, 2))).toEqual([1, 2]);
    expect(src.pieces.map((p) => p.offset)).toEqual([0, 12]);
  });

  it('refuses more data than the limit, saying so', () => {
    expect(() => sparseSource(stream([[1, 2, 3], 5, [4, 5]]), 4)).toThrow(DumpError);
    expect(() => sparseSource(stream([[1, 2, 3], 5, [4, 5]]), 4)).toThrow(/more than 4 bytes of data/);
  });

  it('a whole-RAM vmcore (dump level 0) read through it equals vmcoreBytes, for a fraction of its size', () => {
    const m = new Machine(MachineConfigSchema.parse({ ram: '64M', cmdline: 'kho=on' }));
    expect(m.boot()).toBeNull();
    const plan = planVmcore(m, { all: true });
    if (!plan.ok) throw new Error(plan.error.message);
    const src = sparseSource(vmcoreChunks(m, plan.value));
    const bytes = vmcoreBytes(m, { all: true });
    if (!bytes.ok) throw new Error(bytes.error.message);
    expect(src.size).toBe(bytes.value.length);
    expect(Buffer.from(src.read(0, src.size)).equals(Buffer.from(bytes.value))).toBe(true);
    expect(src.dataBytes).toBeLessThan(src.size / 2);
  });
});
