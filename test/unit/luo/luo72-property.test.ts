/**
 * Property: on 7.2, any sequence of session creates, file preserves and session closes leaves
 * exactly ceil(n / per-block) preserved blocks per chain (kho_block_set_grow/_shrink), and what
 * liveupdate_reboot() writes is what the next kernel's luo_session_deserialize() /
 * luo_file_deserialize() rebuild: the same sessions in creation order with the same files.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LUO_SER, decodeLuoV5 } from '../../../electron/kernel/abi/luo-v5';
import { countPerBlock } from '../../../electron/kernel/abi/kho-block';
import { ramReader } from '../../../electron/kernel/abi/phys-reader';
import { isErr } from '../../../electron/kernel/lib/errno';
import { machine72, memfdFile, session } from './luo72-helpers';

type Op = { kind: 'create' } | { kind: 'preserve'; at: number; n: number } | { kind: 'close'; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'create' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('preserve' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 70 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), at: fc.nat() }) },
);

const PER_SESSION_BLOCK = countPerBlock(80);
const PER_FILE_BLOCK = countPerBlock(64);

describe('7.2 LUO storage survives a live update (property)', () => {
  it('kho_block chains track the counts exactly, and the next kernel rebuilds the same sessions and files', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
        const t = machine72('7.2', '512M');
        const k = t.k();
        const luo = k.luo!;
        let names = 0;
        let token = 0n;
        const model: { name: string; tokens: bigint[] }[] = [];
        for (const o of ops) {
          if (o.kind === 'create') {
            const name = `s${names++}`;
            session(k, name);
            model.push({ name, tokens: [] });
          } else if (model.length) {
            const i = o.at % model.length;
            const s = luo.outgoing.find((x) => x.name === model[i]!.name)!;
            if (o.kind === 'close') {
              luo.closeSession(s);
              model.splice(i, 1);
            } else {
              for (let j = 0; j < o.n; j++) {
                const e = luo.preserveFd(s, memfdFile(k, `f${token}`), token);
                if (isErr(e)) throw new Error(e.reason);
                model[i]!.tokens.push(token++);
              }
            }
          }
        }
        const pa = luo.fdtPhys;
        t.ok({ op: 'kexec_load' });
        t.ok({ op: 'reboot' });
        const d = decodeLuoV5(ramReader(t.m.ram), pa, LUO_SER.size);
        if ('code' in d) throw new Error(d.message);
        expect(d.sessionBlocks.length).toBe(Math.ceil(model.length / PER_SESSION_BLOCK));
        expect(d.sessions.map((s) => [s.name, s.fileBlocks.length, s.files.map((f) => f.token)])).toEqual(
          model.map((s) => [s.name, Math.ceil(s.tokens.length / PER_FILE_BLOCK), s.tokens]),
        );
        expect(t.run({ op: 'boot' }).ok).toBe(true);
        const next = t.k().luo!;
        expect(next.open()).toBeNull();
        expect(next.incoming.map((s) => [s.name, s.files.map((f) => f.token)])).toEqual(
          model.map((s) => [s.name, s.tokens]),
        );
      }),
      { numRuns: 12 },
    );
  });
});
