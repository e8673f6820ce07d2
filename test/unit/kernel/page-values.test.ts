/** PageValues (electron/kernel/lib/page-values.ts) against a Map model: set, get, truncate, entries in order. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageValues } from '../../../electron/kernel/lib/page-values';

describe('PageValues', () => {
  it('property: agrees with a Map under random sets and truncations', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), index: fc.nat(5000), value: fc.nat(0xffffffff) }),
      fc.record({ kind: fc.constant('truncate' as const), end: fc.nat(5000) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const v = new PageValues();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            v.set(o.index, o.value);
            model.set(o.index, o.value);
          } else {
            v.truncate(o.end);
            for (const k of [...model.keys()]) if (k >= o.end) model.delete(k);
          }
        }
        expect(v.size).toBe(model.size);
        expect([...v.entries()]).toEqual([...model.entries()].sort((a, b) => a[0] - b[0]));
        for (const [k, val] of model) expect(v.get(k)).toBe(val);
        expect(v.get(5001)).toBeUndefined();
      }),
    );
  });
});
