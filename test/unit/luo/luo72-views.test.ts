/**
 * The LUO view on 7.2 says which storage the kernel uses, so the 6.19 array inspectors
 * (luo-session-block, luo-file-array) are not offered for luo_ser and its block chains.
 */
import { describe, expect, it } from 'vitest';
import { luoView } from '../../../electron/host/luo-views';
import { luoTargets } from '../../../renderer/src/lib/luo-targets';
import { machine72 } from './luo72-helpers';

describe('luoView() storage (luo_core.c luo_state_setup vs luo_fdt_setup)', () => {
  it('7.2: luo_ser-blocks, with the luo_ser and session chain addresses, and no 6.19 array targets', () => {
    const t = machine72();
    t.ok({ op: 'luo_open', process: 'vmm' });
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 's' });
    const v = luoView(t.m)!;
    expect(v.storage).toBe('luo_ser-blocks');
    expect(v.fdtPhys).toBe(t.k().luo!.store.outgoingPhys);
    expect(v.sessionBlockPhys).not.toBe(0);
    expect(luoTargets(v, null)).toEqual([]);
  });

  it('6.19: fdt-arrays, and the session block is a target', () => {
    const v = luoView(machine72('6.19').m)!;
    expect(v.storage).toBe('fdt-arrays');
    expect(luoTargets(v, null).map((x) => x.key)).toEqual(['out:block']);
  });
});
