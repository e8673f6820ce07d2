/**
 * The LUO view on 7.2 says which storage the kernel uses, so the 6.19 array inspectors
 * (luo-session-block, luo-file-array) are not offered for luo_ser and its block chains; the 7.2
 * records (luo_ser, the session and file kho_block chains) are, and each decodes from RAM.
 */
import { describe, expect, it } from 'vitest';
import { luoView } from '../../../electron/host/luo-views';
import { luoTargets } from '../../../renderer/src/lib/luo-targets';
import { machine72 } from './luo72-helpers';
import { recordView } from '../../../electron/host/records';

describe('luoView() storage (luo_core.c luo_state_setup vs luo_fdt_setup)', () => {
  it('7.2: luo_ser-blocks; the targets are luo_ser and the kho_block chains, and each record decodes', () => {
    const t = machine72();
    t.ok({ op: 'luo_open', process: 'vmm' });
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 's' });
    const v = luoView(t.m)!;
    expect(v.storage).toBe('luo_ser-blocks');
    expect(v.fdtPhys).toBe(t.k().luo!.store.outgoingPhys);
    expect(v.sessionBlockPhys).not.toBe(0);
    const targets = luoTargets(v, null);
    expect(targets.map((x) => [x.key, x.req.kind])).toEqual([
      ['out:luo_ser', 'luo-ser'],
      ['out:block', 'luo-session-blocks'],
    ]);
    for (const x of targets) expect(recordView(t.m, x.req).ok, x.key).toBe(true);
  });

  it('6.19: fdt-arrays, and the session block is a target', () => {
    const v = luoView(machine72('6.19').m)!;
    expect(v.storage).toBe('fdt-arrays');
    expect(luoTargets(v, null).map((x) => x.key)).toEqual(['out:block']);
  });
});
