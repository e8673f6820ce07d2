/**
 * FLB global state (kernel/liveupdate/luo_flb.c, Linux 7.2) with the test FLBs of
 * lib/tests/liveupdate.c: registration limits, the refcount rules across a live update, and the
 * records luo_flb_serialize() writes at reboot.
 */
import { describe, expect, it } from 'vitest';
import { LUO_FLB_MAX, decodeFlbArea } from '../../../electron/kernel/abi/luo-flb';
import { LUO_SER, decodeLuoSer } from '../../../electron/kernel/abi/luo-v5';
import { ramReader } from '../../../electron/kernel/abi/phys-reader';
import { kerr } from '../../../electron/kernel/lib/errno';
import { type LiveupdateFlbOps, LuoFlb } from '../../../electron/kernel/luo/flb';
import type { Machine } from '../../../electron/kernel/machine';
import { logLines } from '../kho/helpers';
import { machine72, memfdFile, session } from './luo72-helpers';

const quiet: LiveupdateFlbOps = {
  preserve: () => 7n,
  unpreserve: () => {},
  retrieve: (_f, data) => ({ obj: data }),
  finish: () => {},
};

const flbRecords = (m: Machine, luoPa: number) => {
  const ser = decodeLuoSer(m.ram.read(luoPa, LUO_SER.size));
  if ('code' in ser) throw new Error(ser.message);
  const a = decodeFlbArea(ramReader(m.ram), ser.flbsPa);
  if ('code' in a) throw new Error(a.message);
  return a.flbs.map((f) => [f.name, f.count]);
};

const TEST_FLBS = [0, 1, 2].map((i) => `liveupdate-test-flb-v${i}`);

describe('liveupdate_register_flb()', () => {
  it('the test FLBs are linked to every handler once; a second link is EEXIST, a second FLB of the same name EEXIST, the 64th ENOSPC', () => {
    const t = machine72();
    const flb = t.k().luo!.flb!;
    expect(flb.list.map((f) => [f.compatible, f.users])).toEqual(TEST_FLBS.map((c) => [c, 4]));
    expect(logLines(t.m, 'info')).toContain('Registered 3 FLBs with file handler: [memfd-v2]');
    expect(flb.register('memfd-v2', flb.list[0]!)?.errno).toBe('EEXIST');
    expect(flb.register('memfd-v2', new LuoFlb(TEST_FLBS[0]!, quiet))?.errno).toBe('EEXIST');
    for (let i = flb.list.length; i < LUO_FLB_MAX; i++)
      expect(flb.register('memfd-v2', new LuoFlb(`x${i}`, quiet))).toBeNull();
    expect(flb.register('memfd-v2', new LuoFlb('one-too-many', quiet))?.errno).toBe('ENOSPC');
  });

  it('6.19 has no FLB state', () => {
    expect(machine72('6.19').k().luo!.flb).toBeNull();
  });
});

describe('the refcount rules (luo_flb_file_preserve / _unpreserve / _finish, luo_flb_retrieve_one)', () => {
  it('preserve runs for the first dependent file only, unpreserve for the last; luo_flb_serialize() writes the count at reboot', () => {
    const t = machine72();
    const k = t.k();
    const luo = k.luo!;
    const s = session(k, 'a');
    const since = t.m.log.lastSeq;
    expect(luo.preserveFd(s, memfdFile(k, 'f1'), 1n)).toBeNull();
    expect(luo.preserveFd(s, memfdFile(k, 'f2'), 2n)).toBeNull();
    const preserveLines = logLines(t.m, 'info', since).filter((l) => l.includes('preserve was triggered'));
    expect(preserveLines).toEqual(TEST_FLBS.map((c) => `${c}: preserve was triggered`));
    expect(luo.flb!.list.map((f) => f.outgoing.count)).toEqual([2, 2, 2]);
    // Closing the session unpreserves both files: the FLBs go with the second one, in reverse order.
    const s2 = session(k, 'b');
    expect(luo.preserveFd(s2, memfdFile(k, 'f3'), 3n)).toBeNull();
    const before = t.m.log.lastSeq;
    luo.closeSession(s);
    expect(logLines(t.m, 'info', before).filter((l) => l.includes('unpreserve'))).toEqual([]);
    luo.closeSession(s2);
    expect(logLines(t.m, 'info', before).filter((l) => l.includes('unpreserve'))).toEqual(
      [...TEST_FLBS].reverse().map((c) => `${c}: unpreserve was triggered`),
    );
    // Nothing depends on them now: the reboot writes no record.
    const pa = luo.fdtPhys;
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    expect(flbRecords(t.m, pa)).toEqual([]);
  });

  it('a failing FLB preserve fails PRESERVE_FD and rolls back the FLBs counted before it', () => {
    const t = machine72();
    const k = t.k();
    const luo = k.luo!;
    const failing = new LuoFlb('failing', { ...quiet, preserve: () => kerr('ENOMEM', 'no room') });
    expect(luo.flb!.register('memfd-v2', failing)).toBeNull();
    const s = session(k, 'a');
    expect(luo.preserveFd(s, memfdFile(k, 'f'), 1n)?.errno).toBe('ENOMEM');
    expect(s.files).toEqual([]);
    expect(luo.flb!.list.map((f) => f.outgoing.count)).toEqual([0, 0, 0, 0]);
    expect(logLines(t.m, 'info').filter((l) => l.includes('unpreserve was triggered'))).toHaveLength(3);
  });

  it('next kernel: retrieved when the first handler registers (liveupdate_test_init), finished with the last dependent file', () => {
    const t = machine72();
    const k = t.k();
    for (const name of ['a', 'b']) {
      const s = session(k, name);
      expect(k.luo!.preserveFd(s, memfdFile(k, name), 1n)).toBeNull();
    }
    const pa = k.luo!.fdtPhys;
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    expect(flbRecords(t.m, pa)).toEqual(TEST_FLBS.map((c) => [c, 2]));
    const since = t.m.log.lastSeq;
    expect(t.run({ op: 'boot' }).ok).toBe(true);
    expect(logLines(t.m, 'info', since)).toEqual(
      expect.arrayContaining(TEST_FLBS.map((c) => `${c}: found flb data from the previous boot`)),
    );
    const luo = t.k().luo!;
    expect(luo.flb!.list.map((f) => [f.incoming.retrieved, f.incoming.count])).toEqual([
      [true, 2],
      [true, 2],
      [true, 2],
    ]);
    expect(luo.open()).toBeNull();
    const [a, b] = luo.incoming as [NonNullable<(typeof luo.incoming)[0]>, NonNullable<(typeof luo.incoming)[0]>];
    a.retrieved = b.retrieved = true;
    const mark = t.m.log.lastSeq;
    expect(luo.finish(a)).toBeNull();
    expect(logLines(t.m, 'info', mark).filter((l) => l.includes('finish was triggered'))).toEqual([]);
    expect(luo.finish(b)).toBeNull();
    expect(logLines(t.m, 'info', mark).filter((l) => l.includes('finish was triggered'))).toEqual(
      [...TEST_FLBS].reverse().map((c) => `${c}: finish was triggered`),
    );
    expect(luo.flb!.list.every((f) => f.incoming.finished)).toBe(true);
  });
});
