/**
 * What a process remembers of the pages it wrote (electron/kernel/mm/written-sums.ts,
 * electron/kernel/proc.ts: remember()): the compact shapes read back as a map of every page's
 * checksum would, and a file of 2 MiB folios of random data is remembered a seed per chunk.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CommandSchema, type CommandInput } from '../../../shared/commands';
import { applyCommand } from '../../../electron/host/apply';
import type { MemfdFile } from '../../../electron/kernel/proc';
import { SUMS_CHUNK, WrittenSums } from '../../../electron/kernel/mm/written-sums';
import { identityChecksum } from '../../../electron/kernel/ram';
import { bootMachine } from '../kernel/helpers';

type Op =
  { kind: 'set'; i: number; v: number } | { kind: 'chunk'; key: number; seed: number } | { kind: 'cut'; end: number };

const idx = fc.integer({ min: 0, max: 3 * SUMS_CHUNK - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), i: idx, v: fc.nat() }),
  fc.record({ kind: fc.constant('chunk' as const), key: fc.integer({ min: 0, max: 2 }), seed: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), end: idx }),
);

describe('WrittenSums', () => {
  it('identityChecksum() is PhysicalMemory.checksum() of a frame holding that identity', () => {
    const { machine } = bootMachine('64M');
    for (const id of [0, 1, 0x1234_5678, 0xffff_ffff]) {
      machine.ram.setIdentity(100, 1, id);
      expect(identityChecksum(id)).toBe(machine.ram.checksum(100));
    }
  });

  it('any mix of set / setIdentityChunk / truncate reads back as a plain map (get, size, entries)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const s = new WrittenSums();
        const ref = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            s.set(o.i, o.v >>> 0);
            ref.set(o.i, o.v >>> 0);
          } else if (o.kind === 'chunk') {
            s.setIdentityChunk(o.key, o.seed);
            for (let k = 0; k < SUMS_CHUNK; k++) ref.set(o.key * SUMS_CHUNK + k, identityChecksum((o.seed + k) >>> 0));
          } else {
            s.truncate(o.end);
            for (const k of [...ref.keys()]) if (k >= o.end) ref.delete(k);
          }
        }
        const want = [...ref.entries()].sort((a, b) => a[0] - b[0]);
        expect([...s.entries()]).toEqual(want);
        expect(s.size).toBe(ref.size);
        for (let i = 0; i < 3 * SUMS_CHUNK; i += 7) expect(s.get(i)).toBe(ref.get(i));
      }),
      { numRuns: 200 },
    );
  });

  it('remember(): every page written reads back its pageChecksum(); 2 MiB folios of random data cost a seed per chunk', () => {
    const { machine, kernel } = bootMachine('1G');
    const run = (c: CommandInput) => {
      const r = applyCommand(machine, CommandSchema.parse(c));
      if (!r.ok) throw new Error(r.error.message);
    };
    run({ op: 'spawn', name: 'p' });
    run({ op: 'memfd_create', process: 'p', name: 'huge' });
    run({ op: 'write', process: 'p', fd: 3, data: { random: true }, length: '8M', order: 9 });
    run({ op: 'write', process: 'p', fd: 3, data: { text: 'hello' }, offset: 4096 * 3 + 10, length: 100 });
    run({ op: 'memfd_create', process: 'p', name: 'small' });
    run({ op: 'write', process: 'p', fd: 4, data: { random: true }, length: '3M' });
    const p = kernel.processes.byName.get('p')!;
    for (const fd of [3, 4]) {
      const inode = (p.fds.get(fd) as MemfdFile).inode;
      const sums = p.written.get(inode)!;
      const pages = Math.ceil(inode.size / 4096);
      expect(sums.size).toBe(pages);
      for (const [i, sum] of sums.entries())
        expect(sum, `fd ${fd} page ${i}`).toBe(kernel.processes.pageChecksum(inode, i));
    }
    const huge = p.written.get((p.fds.get(3) as MemfdFile).inode)! as unknown as { identity: { keys(): number[] } };
    expect(huge.identity.keys()).toEqual([1, 2, 3]); // chunk 0 holds the text
  });
});
