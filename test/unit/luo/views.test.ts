/**
 * The host's LUO and user-space views (electron/host/luo-views.ts, records.ts): processes and
 * their fds as a VMM developer reads them, LUO's sessions and files, and LUO's records decoded
 * from the bytes in RAM — zero before reboot() writes them, the next kernel's view after the
 * kexec, corrupt bytes shown as they are — plus the argument checks of the new SimApi methods.
 */
import { describe, expect, it } from 'vitest';
import { validateCall } from '../../../shared/api';
import type { AnnotatedStruct, FdInfo, StructField } from '../../../shared/views';
import { Host } from '../../../electron/host/host';
import { luoView, userspaceView } from '../../../electron/host/luo-views';
import { recordView } from '../../../electron/host/records';
import type { Machine } from '../../../electron/kernel/machine';
import { LUO_CMDLINE, luoMachine as machine } from './helpers';

/** vmm: memfd "guest" fd 3 (5 bytes), /dev/liveupdate fd 4, session "s" fd 5 preserving fd 3 as 0x7. */
function preserved() {
  const t = machine();
  t.ok({ op: 'memfd_create', process: 'vmm', name: 'guest' });
  t.ok({ op: 'write', process: 'vmm', fd: 3, data: { text: 'hello' } });
  t.ok({ op: 'luo_open', process: 'vmm' });
  t.ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' });
  t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 7 });
  return t;
}

function kexec(t: ReturnType<typeof machine>): void {
  t.ok({ op: 'kexec_load' });
  t.ok({ op: 'reboot' });
  t.ok({ op: 'boot' });
}

function record(m: Machine, req: Parameters<typeof recordView>[1]): AnnotatedStruct {
  const r = recordView(m, req);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** An element's fields as name → value. */
const values = (fields: StructField[]) => Object.fromEntries(fields.map((f) => [f.name, f.value]));

describe('userspaceView', () => {
  it('lists every process with its fds as /proc/<pid>/fd reads: memfd size, pages, f_pos, frozen, and the session and token it is preserved under', () => {
    const { m } = preserved();
    const v = userspaceView(m);
    expect(v.running).toBe(true);
    expect(v.processes.map((p) => [p.name, p.pid])).toEqual([['vmm', 1000]]);
    const [memfd, dev, session] = v.processes[0]!.fds;
    expect(memfd).toEqual<FdInfo>({
      fd: 3,
      kind: 'memfd',
      path: '/memfd:guest (deleted)',
      name: 'guest',
      ino: 1,
      size: 5,
      pages: 1,
      pos: 0,
      frozen: true,
      refs: 2,
      luo: [{ session: 's', direction: 'outgoing', token: '0x7' }],
    });
    expect(dev).toEqual({ fd: 4, kind: 'liveupdate', path: '/dev/liveupdate' });
    expect(session).toEqual({
      fd: 5,
      kind: 'session',
      path: 'anon_inode:[luo_session] s',
      session: 's',
      direction: 'outgoing',
      state: 'preserving',
      files: 1,
    });
  });

  it('has no processes when no kernel runs (after kexec -e), and the next kernel starts with none', () => {
    const t = preserved();
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    expect(userspaceView(t.m)).toEqual({ running: false, processes: [] });
    t.ok({ op: 'boot' });
    expect(userspaceView(t.m)).toEqual({ running: true, processes: [] });
  });
});

describe('luoView', () => {
  it('is null when LUO is off', () => {
    const { m } = machine(LUO_CMDLINE.replace('kho=on', 'kho=off'));
    expect(luoView(m)).toBeNull();
  });

  it('outgoing: liveupdate-number 1, /dev/liveupdate held by its fd, the handler, the session with its file, token, data and the fds holding them', () => {
    const { m } = preserved();
    const luo = m.kernel!.luo!;
    const v = luoView(m)!;
    expect(v).toMatchObject({
      liveupdateNumber: '1',
      devOpen: true,
      devHeldBy: [{ process: 'vmm', pid: 1000, fd: 4 }],
      deserialized: 'ok',
      fdtPhys: luo.fdtPhys,
      sessionBlockPhys: luo.sessionBlockPhys,
      incoming: [],
      incomingFdtPhys: 0,
      incomingHeaderPhys: 0,
      failNextFreeze: null,
    });
    expect(v.handlers).toContain('memfd-v1');
    expect(v.outgoing).toEqual([
      {
        name: 's',
        direction: 'outgoing',
        state: 'preserving',
        filesPhys: luo.outgoing[0]!.filesPhys,
        heldBy: [{ process: 'vmm', pid: 1000, fd: 5 }],
        files: [
          {
            token: '0x7',
            compatible: 'memfd-v1',
            data: luo.outgoing[0]!.files[0]!.args.serializedData,
            retrieved: false,
            file: 'memfd:guest (ino 1), 5 B',
            heldBy: [{ process: 'vmm', pid: 1000, fd: 3 }],
          },
        ],
      },
    ]);
    expect(v.outgoing[0]!.filesPhys % 4096).toBe(0);
    expect(v.outgoing[0]!.files[0]!.data).toBeGreaterThan(0);
  });

  it('incoming: the header until the first open, then the sessions deserialized, retrieved and finished', () => {
    const t = preserved();
    const oldFdt = t.m.kernel!.luo!.fdtPhys;
    const oldBlock = t.m.kernel!.luo!.sessionBlockPhys;
    kexec(t);
    let v = luoView(t.m)!;
    expect(v).toMatchObject({
      liveupdateNumber: '2',
      deserialized: 'no',
      devOpen: false,
      incoming: [],
      incomingFdtPhys: oldFdt,
      incomingHeaderPhys: oldBlock,
    });
    t.ok({ op: 'spawn', name: 'vmm' });
    t.ok({ op: 'luo_open', process: 'vmm' }); // fd 3
    v = luoView(t.m)!;
    expect(v.deserialized).toBe('ok');
    expect(v.incomingHeaderPhys).toBe(0); // freed by deserialization
    expect(v.incoming).toMatchObject([
      {
        name: 's',
        direction: 'incoming',
        state: 'deserialized',
        heldBy: [],
        files: [{ token: '0x7', compatible: 'memfd-v1', retrieved: false, file: null, heldBy: [] }],
      },
    ]);
    expect(v.incoming[0]!.filesPhys).toBeGreaterThan(0);
    t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 's' }); // fd 4
    t.ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 7 }); // fd 5
    v = luoView(t.m)!;
    expect(v.incoming[0]).toMatchObject({
      state: 'retrieved',
      heldBy: [{ fd: 4 }],
      files: [{ retrieved: true, heldBy: [{ fd: 5 }] }],
    });
    expect(userspaceView(t.m).processes[0]!.fds.find((f) => f.fd === 5)).toMatchObject({
      kind: 'memfd',
      size: 5,
      luo: [{ session: 's', direction: 'incoming', token: '0x7' }],
    });
    t.ok({ op: 'luo_finish', process: 'vmm', session_fd: 4 });
    v = luoView(t.m)!;
    expect(v.incoming[0]).toMatchObject({ state: 'finished', filesPhys: 0, files: [] });
  });

  it('names an armed freeze fault', () => {
    const t = preserved();
    t.ok({ op: 'luo_fail_next_freeze', errno: 'EIO', token: 7 });
    expect(luoView(t.m)!.failNextFreeze).toBe('EIO at the freeze of token 0x7');
  });
});

describe('LUO records decoded from RAM', () => {
  it('before reboot the session block and the file array are still zero, and say so', () => {
    const { m } = preserved();
    const luo = m.kernel!.luo!;
    const block = record(m, { kind: 'luo-session-block', phys: luo.sessionBlockPhys });
    expect(block.title).toBe('luo_session_header_ser + luo_session_ser[0]');
    expect(block.header!.fields).toEqual([{ offset: 0, size: 8, name: 'count', type: 'u64', value: '0 sessions' }]);
    expect(block.array).toMatchObject({ type: 'luo_session_ser', offset: 8, stride: 80, count: 0, elements: [] });
    expect(block.notes.join(' ')).toMatch(/Not written yet/);
    const files = record(m, { kind: 'luo-file-array', phys: luo.outgoing[0]!.filesPhys, count: 1 });
    expect(files.bytes).toEqual(new Uint8Array(64));
    expect(values(files.array!.elements[0]!)).toEqual({ compatible: '""', data: 'NULL', token: '0x0' });
    expect(files.notes.join(' ')).toMatch(/Not written yet: the 1 file\(s\) of "s"/);
  });

  it('after the kexec: luo_session_ser and luo_file_ser as the next kernel reads them, the files address opening the array with its count', () => {
    const t = preserved();
    const old = t.m.kernel!.luo!;
    const block0 = old.sessionBlockPhys;
    const files0 = old.outgoing[0]!.filesPhys;
    const data0 = old.outgoing[0]!.files[0]!.args.serializedData;
    kexec(t);
    const block = record(t.m, { kind: 'luo-session-block', phys: block0 });
    expect(block.title).toBe('luo_session_header_ser + luo_session_ser[1]');
    expect(block.bytes.length).toBe(8 + 80);
    const [name, files, count] = block.array!.elements[0]!;
    expect(name).toEqual({ offset: 8, size: 64, name: 'name', type: 'char[64]', value: '"s"' });
    expect(files).toMatchObject({
      offset: 72,
      size: 8,
      name: 'files',
      type: 'u64',
      phys: files0,
      opens: { kind: 'luo-file-array', phys: files0, count: 1 },
    });
    expect(count).toMatchObject({ offset: 80, value: '1 file' });
    const arr = record(t.m, files!.opens!);
    expect(arr.title).toBe('luo_file_ser[1]');
    expect(arr.array!.elements[0]!.map((f) => [f.name, f.offset, f.size, f.type])).toEqual([
      ['compatible', 0, 48, 'char[48]'],
      ['data', 48, 8, 'u64'],
      ['token', 56, 8, 'u64'],
    ]);
    expect(values(arr.array!.elements[0]!)).toEqual({
      compatible: '"memfd-v1"',
      data: `0x${data0.toString(16)}`,
      token: '0x7',
    });
    expect(arr.array!.elements[0]![1]!.phys).toBe(data0);
    // Without a count: the entries up to the last non-zero one.
    expect(record(t.m, { kind: 'luo-file-array', phys: files0 }).array!.count).toBe(1);
  });

  it('shows what RAM holds, not what the kernel meant: a token changed in RAM, a name without NUL, a count past the limit', () => {
    const t = preserved();
    const old = t.m.kernel!.luo!;
    const block0 = old.sessionBlockPhys;
    const files0 = old.outgoing[0]!.filesPhys;
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    t.m.ram.write(files0 + 56, new Uint8Array([0xef, 0xbe, 0xad, 0xde, 0xef, 0xbe, 0xad, 0xde]));
    expect(values(record(t.m, { kind: 'luo-file-array', phys: files0, count: 1 }).array!.elements[0]!).token).toBe(
      '0xdeadbeefdeadbeef',
    );
    t.m.ram.write(block0 + 8, new Uint8Array(64).fill(0x41));
    const name = record(t.m, { kind: 'luo-session-block', phys: block0 }).array!.elements[0]![0]!;
    expect(name.problem).toBe('no NUL within 64 bytes');
    expect(name.value).toBe(JSON.stringify('A'.repeat(63)));
    t.m.ram.write(block0, new Uint8Array([0x0f, 0x27, 0, 0, 0, 0, 0, 0])); // 9999 sessions
    const bad = record(t.m, { kind: 'luo-session-block', phys: block0 });
    expect(bad.error).toMatch(/count 9999 exceeds 819.*EINVAL/);
    expect(bad.header!.fields[0]!.problem).toBe('exceeds the limit 819');
    expect(bad.array!.elements).toEqual([]);
    const many = record(t.m, { kind: 'luo-file-array', phys: files0, count: 200 });
    expect(many.error).toMatch(/at most 128/);
    expect(many.array!.elements).toHaveLength(128);
  });

  it('an address past RAM in a field is flagged and opens nothing', () => {
    const t = preserved();
    const files0 = t.m.kernel!.luo!.outgoing[0]!.filesPhys;
    t.m.ram.write(files0 + 48, new Uint8Array([0, 0, 0, 0, 0, 1, 0, 0])); // 1 TiB
    const data = record(t.m, { kind: 'luo-file-array', phys: files0, count: 1 }).array!.elements[0]![1]!;
    expect(data).toMatchObject({ value: '0x10000000000', problem: 'beyond the end of RAM' });
    expect(data.phys).toBeUndefined();
  });
});

describe('Host.userspace / luo / records and their argument checks', () => {
  it('answers through the SimApi and refuses bad records requests with a message naming the problem', async () => {
    const host = new Host();
    await host.newMachine({ ram: '256M', seed: 1, cmdline: LUO_CMDLINE });
    expect(await host.luo()).toEqual({ ok: true, value: null }); // powered off
    expect(await host.userspace()).toEqual({ ok: true, value: { running: false, processes: [] } });
    await host.run({ op: 'boot' });
    const luo = await host.luo();
    if (!luo.ok || !luo.value) throw new Error('LUO should be on');
    const r = await host.records({ kind: 'luo-session-block', phys: luo.value.sessionBlockPhys });
    expect(r.ok && r.value.kind).toBe('luo-session-block');
    const beyond = await host.records({ kind: 'luo-file-array', phys: 512 * 2 ** 20 });
    expect(beyond).toEqual({
      ok: false,
      error: { code: 'invalid-argument', message: 'luo-file-array: 0x20000000 is beyond the end of RAM (0x10000000)' },
    });
    const badKind = await host.records({ kind: 'memfd' as never, phys: 0 });
    expect(!badKind.ok && badKind.error.message).toMatch(/^records: argument 0\.kind: /);
  });

  it('SIM_ARGS: userspace and luo take nothing; records takes { kind, phys, count? } with phys and count in range', () => {
    expect(validateCall('userspace', []).ok).toBe(true);
    expect(validateCall('luo', []).ok).toBe(true);
    expect(validateCall('luo', [1])).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^luo: /) } });
    expect(validateCall('records', [{ kind: 'luo-file-array', phys: 4096, count: 3 }]).ok).toBe(true);
    expect(validateCall('records', [{ kind: 'luo-session-block', phys: 0 }]).ok).toBe(true);
    const refused: Array<[unknown, RegExp]> = [
      [{ kind: 'luo-files', phys: 0 }, /argument 0\.kind/],
      [{ kind: 'luo-file-array', phys: -1 }, /argument 0\.phys/],
      [{ kind: 'luo-file-array', phys: 1.5 }, /argument 0\.phys/],
      [{ kind: 'luo-file-array', phys: 2 ** 53 }, /argument 0\.phys/],
      [{ kind: 'luo-file-array', phys: 0, count: -1 }, /argument 0\.count/],
      [{ kind: 'luo-file-array', phys: 0, count: 2 ** 21 }, /argument 0\.count/],
      [{ kind: 'luo-file-array', phys: 0, extra: 1 }, /argument 0/],
      [{ phys: 0 }, /argument 0\.kind/],
    ];
    for (const [arg, message] of refused)
      expect(validateCall('records', [arg])).toMatchObject({
        ok: false,
        error: { message: expect.stringMatching(message) },
      });
    expect(validateCall('records', [])).toMatchObject({ ok: false });
  });
});
