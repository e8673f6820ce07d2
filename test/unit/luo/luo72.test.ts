/**
 * LUO's storage as Linux 7.2 has it (kernel/liveupdate/luo_core.c, luo_session.c, luo_file.c,
 * luo_flb.c, kho_block.c; mm/memfd_luo.c): luo_ser instead of the LUO FDT, sessions and files in
 * kho_block chains, FLB records, memfd-v2 — read back from simulated RAM with the ABI codecs. Each
 * test names the kernel function whose behaviour it pins.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { getU64, putU64 } from '../../../electron/kernel/abi/bytes';
import { KHO_BLOCK_HDR_SIZE } from '../../../electron/kernel/abi/kho-block';
import { LUO_FLB_HEADER_SER, decodeFlbArea } from '../../../electron/kernel/abi/luo-flb';
import { LUO_SER, LUO_SESSION_SER, decodeLuoSer, decodeLuoV5 } from '../../../electron/kernel/abi/luo-v5';
import { F_SEAL, MEMFD_LUO_SER_V2, decodeMemfdSerV2 } from '../../../electron/kernel/abi/memfd-v2';
import { ramReader } from '../../../electron/kernel/abi/phys-reader';
import { isErr } from '../../../electron/kernel/lib/errno';
import type { Machine } from '../../../electron/kernel/machine';
import { PG } from '../../../electron/kernel/mm/page-flags';
import { logLines } from '../kho/helpers';
import { machine72, memfdFile, session } from './luo72-helpers';

const PANIC = 'The incoming tree failed to initialize properly [-22], disabling live update';

/** The selftest's stage 1 on 7.2: "hello kexec world" in memfd fd 3, session "s" (fd 5) holding it as token 0x1a. */
function hello72() {
  const t = machine72();
  t.ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 3
  t.ok({ op: 'write', process: 'vmm', fd: 3, data: { text: 'hello kexec world' } });
  t.ok({ op: 'luo_open', process: 'vmm' }); // 4
  t.ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' }); // 5
  t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 0x1a });
  return t;
}

const luoSer = (m: Machine, pa: number) => {
  const s = decodeLuoSer(m.ram.read(pa, LUO_SER.size));
  if (isErr(s) || 'code' in s) throw new Error(String(s));
  return s;
};

describe('luo_state_setup() (luo_core.c): a raw luo_ser as KHO entry "LUO", no LUO FDT', () => {
  it('at boot: "luo-v5", liveupdate_num 1, sessions_pa 0, flbs_pa = a one-page FLB area with count 0', () => {
    const t = machine72();
    const luo = t.k().luo!;
    expect(luo.store.storage).toBe('luo_ser-blocks');
    expect(luo.fdtPhys % PAGE_SIZE).toBe(0);
    expect(t.k().pages.flags.get(luo.fdtPhys / PAGE_SIZE) & PG.kho_preserved).not.toBe(0);
    const ser = luoSer(t.m, luo.fdtPhys);
    expect(ser).toMatchObject({ compatible: 'luo-v5', liveupdateNum: 1, sessionsPa: 0 });
    const flbs = decodeFlbArea(ramReader(t.m.ram), ser.flbsPa);
    expect(flbs).toEqual({ pgcnt: 1, flbs: [] });
  });

  it('liveupdate_reboot() alone writes sessions_pa and the FLB records: before it both stay 0 with a file preserved', () => {
    const t = hello72();
    const pa = t.k().luo!.fdtPhys;
    const before = luoSer(t.m, pa);
    expect(before.sessionsPa).toBe(0);
    expect(getU64(t.m.ram.read(before.flbsPa + LUO_FLB_HEADER_SER.count, 8), 0)).toBe(0);
    // The blocks exist already (kho_block_set_grow() at create/preserve) but hold no record yet.
    const head = t.k().luo!.sessionBlockPhys;
    expect(head).not.toBe(0);
    expect(getU64(t.m.ram.read(head + 8, 8), 0)).toBe(0);
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    const after = luoSer(t.m, pa);
    expect(after.sessionsPa).toBe(head);
    expect(after.flbsPa).toBe(before.flbsPa);
    const d = decodeLuoV5(ramReader(t.m.ram), pa, LUO_SER.size);
    if ('code' in d) throw new Error(d.message);
    expect(d.sessions.map((s) => [s.name, s.fileCount, s.files.map((f) => [f.compatible, f.token])])).toEqual([
      ['s', 1, [['memfd-v2', 0x1an]]],
    ]);
    expect(d.sessionBlocks).toEqual([{ pa: head, next: 0, count: 1 }]);
    const flbs = decodeFlbArea(ramReader(t.m.ram), after.flbsPa);
    expect(flbs).toMatchObject({
      pgcnt: 1,
      flbs: [0, 1, 2].map((i) => ({
        name: `liveupdate-test-flb-v${i}`,
        data: 0xfeedf00dcafebee0n + BigInt(i),
        count: 1,
      })),
    });
  });

  it('memfd_luo_preserve() (memfd-v2): the 48-byte record with F_SEAL_SEAL from memfd_create() and flags 0', () => {
    const t = hello72();
    const pa = t.k().luo!.fdtPhys;
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    const d = decodeLuoV5(ramReader(t.m.ram), pa, LUO_SER.size);
    if ('code' in d) throw new Error(d.message);
    const data = Number(d.sessions[0]!.files[0]!.data);
    const rec = decodeMemfdSerV2(t.m.ram.read(data, MEMFD_LUO_SER_V2.bytes));
    expect(rec).toMatchObject({ pos: 0, size: 17, seals: F_SEAL.SEAL, flags: 0, nrFolios: 1 });
  });

  it('the next kernel: "Retrieved live update data, liveupdate number: 1", luo_ser and the session blocks freed, memfd back, liveupdate_num 2', () => {
    const t = hello72();
    const pa = t.k().luo!.fdtPhys;
    const head = t.k().luo!.sessionBlockPhys;
    const { r, since } = t.liveUpdate();
    expect(r.ok).toBe(true);
    expect(logLines(t.m, 'info', since)).toContain('Retrieved live update data, liveupdate number: 1');
    const k2 = t.k();
    // luo_early_startup(): kho_restore_free(luo_ser); the session chain is restored, freed at deserialize.
    expect(k2.pages.flags.get(pa / PAGE_SIZE) & PG.kho_restored).toBe(0);
    expect(luoSer(t.m, k2.luo!.fdtPhys).liveupdateNum).toBe(2);
    expect(k2.luo!.incomingHeaderPhys).toBe(head);
    t.ok({ op: 'luo_open', process: 'vmm' }); // 3
    expect(k2.luo!.incomingHeaderPhys).toBe(0);
    t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 's' }); // 4
    t.ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 0x1a }); // 5
    t.ok({ op: 'expect_content', process: 'vmm', fd: 5, text: 'hello kexec world' });
    expect(k2.processes.byName.get('vmm')!.fds.get(5)).toMatchObject({ inode: { seals: F_SEAL.SEAL } });
    t.ok({ op: 'luo_finish', process: 'vmm', session_fd: 4 });
  });
});

describe('no fixed limits on 7.2 (luo_session_insert / luo_preserve_file grow kho_block sets); 6.19 keeps 819 and 128', () => {
  it('7.2: 2000 sessions and 1000 files in one session cross the kexec and come back', () => {
    const t = machine72('7.2', '512M');
    const k = t.k();
    for (let i = 0; i < 2000; i++) session(k, `s${i}`);
    const big = k.luo!.outgoing[0]!;
    for (let i = 0; i < 1000; i++) expect(k.luo!.preserveFd(big, memfdFile(k, `f${i}`), BigInt(i))).toBeNull();
    // 80-byte sessions: 51 per block; 64-byte files: 63 per block.
    const pa = k.luo!.fdtPhys;
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    const d = decodeLuoV5(ramReader(t.m.ram), pa, LUO_SER.size);
    if ('code' in d) throw new Error(d.message);
    expect(d.sessionBlocks.length).toBe(Math.ceil(2000 / 51));
    expect(d.sessions[0]!.fileBlocks.length).toBe(Math.ceil(1000 / 63));
    expect(t.run({ op: 'boot' }).ok).toBe(true);
    const luo = t.k().luo!;
    expect(luo.open()).toBeNull();
    expect(luo.incoming.length).toBe(2000);
    expect(luo.incoming[0]!.files.length).toBe(1000);
    expect(luo.incoming[1999]!.name).toBe('s1999');
  });

  it('6.19: session 820 is ENOMEM (the 16-page array), file 129 ENOSPC (the 2-page array)', () => {
    const t = machine72('6.19', '512M');
    const k = t.k();
    for (let i = 0; i < 819; i++) session(k, `s${i}`);
    const e = k.luo!.createSession('one-too-many');
    expect(isErr(e) && e.errno).toBe('ENOMEM');
    const s = k.luo!.outgoing[0]!;
    for (let i = 0; i < 128; i++) expect(k.luo!.preserveFd(s, memfdFile(k, `f${i}`), BigInt(i))).toBeNull();
    expect(k.luo!.preserveFd(s, memfdFile(k, 'x'), 999n)?.errno).toBe('ENOSPC');
  });

  it('kho_block_set_grow()/_shrink(): the 52nd session links a second preserved block; closing it frees that block and ends the chain', () => {
    const t = machine72();
    const k = t.k();
    const luo = k.luo!;
    for (let i = 0; i < 51; i++) session(k, `s${i}`);
    const head = luo.sessionBlockPhys;
    expect(getU64(t.m.ram.read(head, 8), 0)).toBe(0);
    const last = session(k, 's51');
    const second = getU64(t.m.ram.read(head, 8), 0);
    expect(second).not.toBe(0);
    expect(k.pages.flags.get(second / PAGE_SIZE) & PG.kho_preserved).not.toBe(0);
    luo.closeSession(last);
    expect(getU64(t.m.ram.read(head, 8), 0)).toBe(0);
    expect(k.pages.flags.get(second / PAGE_SIZE) & PG.kho_preserved).toBe(0);
  });
});

/** Boots the next 7.2 kernel after `edit` changed RAM; the outgoing luo_ser and session chain head are given. */
function corrupt72(edit: (m: Machine, at: { luoSer: number; sessions: number; files: number }) => void) {
  const t = hello72();
  const luo = t.k().luo!;
  const at = { luoSer: luo.fdtPhys, sessions: luo.sessionBlockPhys, files: luo.outgoing[0]!.filesPhys };
  const { r, since } = t.liveUpdate((m) => edit(m, at));
  return { ...t, r, since };
}

const setU64 = (m: Machine, pa: number, v: number) => {
  const b = new Uint8Array(8);
  putU64(b, 0, v);
  m.ram.write(pa, b);
};

describe('a corrupt incoming state is refused as 7.2 refuses it — a panic early at boot, never a hang', () => {
  const cases: Array<[string, (m: Machine, at: { luoSer: number; sessions: number }) => void, string]> = [
    [
      'luo_early_startup(): a compatible other than luo-v5',
      (m, at) => m.ram.write(at.luoSer, new TextEncoder().encode('luo-v4\0\0')),
      "LUO state is incompatible with 'luo-v5'",
    ],
    [
      'kho_block_set_is_cyclic(): a session block whose next is itself',
      (m, at) => setU64(m, at.sessions, at.sessions),
      'Block set is corrupted',
    ],
    [
      'kho_block_set_restore(): a session block with count 0',
      (m, at) => setU64(m, at.sessions + 8, 0),
      'Block contains invalid entry count: 0',
    ],
    [
      'kho_block_set_restore(): a count above the 51 a block of luo_session_ser holds',
      (m, at) => setU64(m, at.sessions + 8, 52),
      'Block contains invalid entry count: 52',
    ],
  ];
  for (const [what, edit, line] of cases) {
    it(`${what}: "${line}", then luo_restore_fail()`, () => {
      const t = corrupt72(edit);
      expect(t.r).toMatchObject({ ok: false, panicked: PANIC });
      expect(
        logLines(t.m, 'err', t.since)
          .concat(logLines(t.m, 'warn', t.since))
          .join('\n'),
      ).toContain(line);
      expect(t.m.kernel!.luo).toBeNull();
    });
  }

  it('a next pointer outside RAM (the kernel would fault): refused by the simulator, a panic, no hang', () => {
    const t = corrupt72((m, at) => setU64(m, at.sessions, 0x7f_0000_0000));
    expect(t.r).toMatchObject({ ok: false, panicked: PANIC });
    expect(logLines(t.m, 'err', t.since).join('\n')).toMatch(/outside RAM.*real kernel would fault/);
  });

  it('kho_block_set_is_cyclic(): a loop that does not return to the head (head → a → b → a) is found too', () => {
    const t = corrupt72((m, at) => {
      // 3 blocks in a loop that does not come back to the head: head → a → b → a.
      const a = at.sessions + 16 * PAGE_SIZE;
      const b = a + PAGE_SIZE;
      setU64(m, at.sessions, a);
      setU64(m, a, b);
      setU64(m, a + 8, 1);
      setU64(m, b, a);
      setU64(m, b + 8, 1);
    });
    expect(t.r).toMatchObject({ ok: false, panicked: PANIC });
    expect(logLines(t.m, 'err', t.since)).toContain('Block set is corrupted');
  });

  it('luo_file_deserialize(): a cyclic file chain fails the first open of /dev/liveupdate with EIO, every time', () => {
    const t = corrupt72((m, at) => setU64(m, at.files, at.files));
    expect(t.r.ok).toBe(true);
    expect(t.run({ op: 'luo_open', process: 'vmm' }).errno).toBe('EIO');
    expect(logLines(t.m, 'warn', t.since)).toContain('Failed to deserialize files for session [s] -EINVAL');
    expect(t.run({ op: 'luo_open', process: 'vmm' }).errno).toBe('EIO');
  });

  it('luo_file_deserialize(): file_set_ser.count 2 with one record is "File count mismatch", EIO', () => {
    const t = corrupt72((m, at) => setU64(m, at.sessions + KHO_BLOCK_HDR_SIZE + LUO_SESSION_SER.count, 2));
    expect(t.run({ op: 'luo_open', process: 'vmm' }).errno).toBe('EIO');
    expect(logLines(t.m, 'warn', t.since)).toContain('File count mismatch: expected 2, found 1');
  });
});
