/**
 * LUO as Linux 6.19 has it (kernel/liveupdate/luo_core.c, luo_session.c, luo_file.c,
 * mm/memfd_luo.c): each test names the kernel function whose behaviour it pins.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import {
  LUO_FDT_COMPATIBLE,
  LUO_FDT_LIVEUPDATE_NUM,
  LUO_FDT_SESSION_COMPATIBLE,
  LUO_FDT_SESSION_HEADER,
  LUO_FDT_SESSION_NODE_NAME,
  LUO_FDT_SIZE,
  luoFdt,
} from '../../../electron/kernel/abi/luo-v1';
import { type FdtNode, encodeFdt } from '../../../electron/kernel/lib/fdt';
import { KHO_PAGE_MAGIC } from '../../../electron/kernel/abi/kho-v1';
import { writeFolioSer } from '../../../electron/kernel/abi/memfd-v1';
import { isErr } from '../../../electron/kernel/lib/errno';
import { memfdV1 } from '../../../electron/kernel/luo/memfd/v1';
import type { Machine } from '../../../electron/kernel/machine';
import type { MemfdFile } from '../../../electron/kernel/proc';
import { PG } from '../../../electron/kernel/mm/page-flags';
import { Host } from '../../../electron/host/host';
import { logLines, okOf } from '../kho/helpers';
import { luoMachine } from './helpers';

/** The selftest's stage 1 in process vmm: memfd fd 3 with text, /dev/liveupdate fd 4, session fd 5 holding fd 3 as token 1. */
function preservedHello(cmdline?: string) {
  const t = luoMachine(cmdline);
  t.ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 3
  t.ok({ op: 'write', process: 'vmm', fd: 3, data: { text: 'hello kexec world' } });
  t.ok({ op: 'luo_open', process: 'vmm' }); // 4
  t.ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' }); // 5
  t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
  return t;
}

describe('luo_global.enabled: LUO is off unless liveupdate=on (luo_core.c early_liveupdate_param / liveupdate_ioctl_init)', () => {
  it('kho=on alone: no /dev/liveupdate (ENOENT), reboot runs no liveupdate_reboot(), the next kernel disables KHO revival (-2) and boots cold', () => {
    const t = luoMachine('kho=on kho_scratch=64M,32M,16M');
    expect(t.m.kernel!.luo).toBeNull();
    expect(t.m.kernel!.khoOut).not.toBeNull();
    const open = t.run({ op: 'luo_open', process: 'vmm' });
    expect(open.errno).toBe('ENOENT');
    t.ok({ op: 'vmalloc', name: 'v', size: '64K' });
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' }); // no finalize: liveupdate_reboot() returns 0 at once
    const since = t.m.log.lastSeq;
    t.ok({ op: 'boot' });
    const k2 = t.m.kernel!;
    expect(logLines(t.m, 'warn', since)).toContain('disabling KHO revival: -2');
    expect(k2.khoIn).toBeNull();
    expect(k2.khoOut).not.toBeNull(); // a cold boot's KHO: fresh scratch
    expect(k2.luo).toBeNull();
  });

  it('liveupdate=on turns it on; a bare "liveupdate" or "kho" is a kstrtobool() error that leaves it off', () => {
    expect(luoMachine('kho=on liveupdate=on').m.kernel!.luo).not.toBeNull();
    expect(luoMachine('kho=on liveupdate').m.kernel!.luo).toBeNull();
    expect(luoMachine('kho=on liveupdate=1').m.kernel!.luo).not.toBeNull();
    const bare = luoMachine('kho liveupdate=on');
    expect(bare.m.kernel!.khoOut).toBeNull();
    expect(bare.m.kernel!.luo).toBeNull();
    expect(logLines(bare.m, 'warn')).toContain('Disabling liveupdate because KHO is disabled');
  });
});

/** Boots the next kernel after `corrupt` rewrote the outgoing LUO FDT page in RAM (after reboot). */
function bootWithLuoFdt(corrupt: (m: Machine, fdtPhys: number) => void) {
  const t = preservedHello();
  const fdtPhys = t.m.kernel!.luo!.fdtPhys;
  t.ok({ op: 'kexec_load' });
  t.ok({ op: 'reboot' });
  corrupt(t.m, fdtPhys);
  const since = t.m.log.lastSeq;
  const r = t.run({ op: 'boot' });
  return { ...t, r, since, k2: t.m.kernel };
}

function writeLuoFdt(m: Machine, phys: number, root: FdtNode): void {
  const enc = encodeFdt(root, { capacity: LUO_FDT_SIZE, strings: 'sequential-write' });
  if (!enc.ok) throw new Error(enc.message);
  m.ram.write(phys, new Uint8Array(LUO_FDT_SIZE));
  m.ram.write(phys, enc.bytes);
}

describe('luo_restore_fail(): a bad incoming LUO FDT panics the next kernel (luo_core.c luo_early_startup, luo_session.c luo_session_setup_incoming)', () => {
  const PANIC =
    'Kernel panic - not syncing: The incoming tree failed to initialize properly [-22], disabling live update';
  const cases: Array<[string, (root: FdtNode) => void, string]> = [
    [
      'a compatible other than luo-v1',
      (r) => setProp(r, 'compatible', 'luo-v0\0'),
      `FDT 'LUO' is incompatible with '${LUO_FDT_COMPATIBLE}' [1]`,
    ],
    [
      'no liveupdate-number',
      (r) => dropProp(r, LUO_FDT_LIVEUPDATE_NUM),
      `Unable to get live update number '${LUO_FDT_LIVEUPDATE_NUM}' [-1]`,
    ],
    [
      'a 4-byte liveupdate-number',
      (r) => setRaw(r, LUO_FDT_LIVEUPDATE_NUM, new Uint8Array(4)),
      `Unable to get live update number '${LUO_FDT_LIVEUPDATE_NUM}' [4]`,
    ],
    [
      'no luo-session node',
      (r) => (r.children.length = 0),
      `Unable to get session node: [${LUO_FDT_SESSION_NODE_NAME}]`,
    ],
    [
      'a wrong session compatible',
      (r) => setProp(r.children[0]!, 'compatible', 'luo-session-v0\0'),
      `Session node incompatible [${LUO_FDT_SESSION_COMPATIBLE}]`,
    ],
    [
      'a 7-byte session header',
      (r) => setRaw(r.children[0]!, LUO_FDT_SESSION_HEADER, new Uint8Array(7)),
      `Unable to get session header '${LUO_FDT_SESSION_HEADER}' [7]`,
    ],
  ];
  for (const [what, edit, line] of cases) {
    it(`${what}: "${line}" then panic; boot returns the panicked kernel`, () => {
      const t = bootWithLuoFdt((m, phys) => {
        const root = luoFdt(5n, 0x1234000);
        edit(root);
        writeLuoFdt(m, phys, root);
      });
      // boot hands back the panicked kernel: the boot step fails with the panic (electron/host/apply.ts)
      expect(t.r).toMatchObject({
        ok: false,
        panicked: 'The incoming tree failed to initialize properly [-22], disabling live update',
      });
      expect(t.k2!.panicked).toBe('The incoming tree failed to initialize properly [-22], disabling live update');
      expect(logLines(t.m, 'err', t.since)).toContain(line);
      expect(logLines(t.m, 'err', t.since)).toContain(PANIC);
      expect(t.k2!.luo).toBeNull();
    });
  }

  it('a LUO FDT that is not an FDT at all: libfdt error from fdt_node_check_compatible(), then panic', () => {
    const t = bootWithLuoFdt((m, phys) => m.ram.write(phys, new Uint8Array(PAGE_SIZE)));
    expect(logLines(t.m, 'err', t.since)).toContain(`FDT 'LUO' is incompatible with '${LUO_FDT_COMPATIBLE}' [-9]`);
    expect(t.k2!.panicked).not.toBeNull();
  });

  it('the checks run even when the next kernel has liveupdate off (luo_early_startup needs only KHO)', () => {
    const t = preservedHello();
    const fdtPhys = t.m.kernel!.luo!.fdtPhys;
    t.ok({ op: 'kexec_load', cmdline: 'kho=on kho_scratch=64M,32M,16M' });
    t.ok({ op: 'reboot' });
    const root = luoFdt(5n, 0x1234000);
    setProp(root, 'compatible', 'luo-v2\0');
    writeLuoFdt(t.m, fdtPhys, root);
    expect(t.run({ op: 'boot' }).panicked).toBeDefined();
    expect(t.m.kernel!.panicked).not.toBeNull();
  });
});

const utf8 = (s: string) => new TextEncoder().encode(s);
function setRaw(n: FdtNode, name: string, value: Uint8Array): void {
  const p = n.props.find((x) => x.name === name);
  if (p) p.value = value;
  else n.props.push({ name, value });
}
const setProp = (n: FdtNode, name: string, s: string) => setRaw(n, name, utf8(s));
function dropProp(n: FdtNode, name: string): void {
  n.props.splice(
    n.props.findIndex((x) => x.name === name),
    1,
  );
}

describe('shmem_fallocate(): a frozen mapping (SHMEM_F_MAPPING_FROZEN) refuses every fallocate with EPERM (mm/shmem.c)', () => {
  it('a hole punch and a preallocation on a preserved memfd are EPERM; no preserved folio is freed; after the session closes both work again', () => {
    const t = luoMachine();
    t.ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 3
    t.ok({ op: 'write', process: 'vmm', fd: 3, data: { random: true }, length: '64K' });
    t.ok({ op: 'luo_open', process: 'vmm' }); // 4
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' }); // 5
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    const k = t.m.kernel!;
    const file = k.processes.file(k.processes.byName.get('vmm')!, 3) as MemfdFile;
    const pfns = Array.from({ length: 16 }, (_, i) => file.inode.pages.get(i));
    expect(pfns.every((p) => p >= 0)).toBe(true);
    const punch = t.run({ op: 'fallocate', process: 'vmm', fd: 3, offset: '8K', length: '16K', punchHole: true });
    expect(punch.errno).toBe('EPERM');
    expect(t.run({ op: 'fallocate', process: 'vmm', fd: 3, length: '32K' }).errno).toBe('EPERM');
    // every folio is still in the file, pinned, marked for preservation and not on a free list
    expect(Array.from({ length: 16 }, (_, i) => file.inode.pages.get(i))).toEqual(pfns);
    for (const pfn of pfns) {
      expect(k.khoOut!.tracker.isMarked(pfn, 0)).toBe(true);
      expect(k.pages.refcount.get(pfn)).toBeGreaterThan(0);
    }
    t.ok({ op: 'verify_memfd', process: 'vmm', fd: 3 });
    t.ok({ op: 'close', process: 'vmm', fd: 5 }); // unpreserve: shmem_freeze(inode, false)
    t.ok({ op: 'fallocate', process: 'vmm', fd: 3, offset: '8K', length: '16K', punchHole: true });
  });
});

describe('luo_session_serialize() / luo_file_unfreeze_one(): rollback after a failed freeze as in 6.19 (luo_session.c, luo_file.c, mm/memfd_luo.c)', () => {
  /** Sessions A (token 1), B (token 2), C (tokens 3, 4, 5), each token a memfd of one page. */
  function threeSessions() {
    const t = luoMachine();
    const dev = t.ok({ op: 'luo_open', process: 'vmm' })!;
    const sessions: Record<string, number> = {};
    for (const [name, tokens] of [
      ['A', [1]],
      ['B', [2]],
      ['C', [3, 4, 5]],
    ] as const) {
      const sfd = t.ok({ op: 'luo_create_session', process: 'vmm', fd: dev, name })!;
      sessions[name] = sfd;
      for (const token of tokens) {
        const fd = t.ok({ op: 'memfd_create', process: 'vmm', name: `f${token}` })!;
        t.ok({ op: 'write', process: 'vmm', fd, data: { text: `file ${token}` } });
        t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: sfd, fd, token });
      }
    }
    t.ok({ op: 'kexec_load' });
    const luo = t.m.kernel!.luo!;
    const file = (token: number) => luo.outgoing.flatMap((s) => s.files).find((f) => f.token === BigInt(token))!;
    return { ...t, sessions, luo, file };
  }

  it('unfreeze order: forward within the failing session, then the earlier sessions last first; each unfrozen file loses serialized_data', () => {
    const t = threeSessions();
    const before = [1, 2, 3, 4, 5].map((x) => t.file(x).args.serializedData);
    expect(before.every((d) => d > 0)).toBe(true);
    t.ok({ op: 'luo_fail_next_freeze', errno: 'EIO', token: 4 });
    const since = t.m.log.lastSeq;
    expect(t.run({ op: 'reboot' }).errno).toBe('EIO');
    expect(logLines(t.m, 'warn', since)).toContain('Freeze failed for token[0x4] handler[memfd-v1] err[-EIO]');
    const unfrozen = logLines(t.m, 'info', since).filter((l) => l.startsWith('unfroze token'));
    expect(unfrozen).toEqual([
      'unfroze token 0x3 in session "C": its serialized_data is now 0',
      'unfroze token 0x2 in session "B": its serialized_data is now 0',
      'unfroze token 0x1 in session "A": its serialized_data is now 0',
    ]);
    expect([1, 2, 3, 4, 5].map((x) => t.file(x).args.serializedData)).toEqual([0, 0, 0, before[3], before[4]]);
    expect(t.m.kernel).not.toBeNull();
  });

  it('a retried reboot is EINVAL: memfd_luo_freeze() warns once (WARN_ON_ONCE) on the missing handle', () => {
    const t = threeSessions();
    t.ok({ op: 'luo_fail_next_freeze', errno: 'EIO', token: 4 });
    t.run({ op: 'reboot' });
    const since = t.m.log.lastSeq;
    expect(t.run({ op: 'reboot' }).errno).toBe('EINVAL');
    expect(t.run({ op: 'reboot' }).errno).toBe('EINVAL');
    const warns = logLines(t.m, 'warn', since);
    expect(warns.filter((l) => l === 'WARNING: CPU: 0 PID: 1 at mm/memfd_luo.c memfd_luo_freeze')).toHaveLength(1);
    expect(warns.filter((l) => l === 'Freeze failed for token[0x1] handler[memfd-v1] err[-EINVAL]')).toHaveLength(2);
    expect(t.m.kernel).not.toBeNull();
  });

  it('memfd_luo_unpreserve(): closing the session leaks the file — its folios stay preserved and pinned, its mapping frozen', () => {
    const t = threeSessions();
    t.ok({ op: 'luo_fail_next_freeze', errno: 'EIO', token: 4 });
    t.run({ op: 'reboot' });
    const k = t.m.kernel!;
    const f1 = t.file(1).args.file as MemfdFile;
    const pfn = f1.inode.pages.get(0);
    const since = t.m.log.lastSeq;
    t.ok({ op: 'close', process: 'vmm', fd: t.sessions.A! });
    expect(t.luo.outgoing.map((s) => s.name)).toEqual(['B', 'C']);
    expect(logLines(t.m, 'warn', since)).toContain('WARNING: CPU: 0 PID: 1 at mm/memfd_luo.c memfd_luo_unpreserve');
    expect(
      logLines(t.m, 'info', since).some((l) => /unpreserve skipped .* stay pinned and preserved, leaked/.test(l)),
    ).toBe(true);
    expect(k.khoOut!.tracker.isMarked(pfn, 0)).toBe(true);
    expect(k.pages.flags.get(pfn) & PG.pinned).not.toBe(0);
    expect(f1.inode.frozen).toBe(true);
    // the process closes its own fd too: the page cache goes, the pinned folio does not
    const memfdFd = [...k.processes.byName.get('vmm')!.fds].find(
      ([, f]) => f.kind === 'memfd' && f.inode === f1.inode,
    )![0];
    t.ok({ op: 'close', process: 'vmm', fd: memfdFd });
    expect(k.pages.flags.get(pfn) & PG.pinned).not.toBe(0);
    expect(k.pages.refcount.get(pfn)).toBeGreaterThan(0);
    expect(k.khoOut!.tracker.isMarked(pfn, 0)).toBe(true);
  });
});

describe('no guards the kernel lacks (luo_session.c, luo_file.c, luo_core.c as of 6.19)', () => {
  it('luo_session_create() → strscpy(): an empty name is a session; a 100-byte name is cut to 63 bytes, and retrieving it by either spelling finds it', () => {
    const t = luoMachine();
    const dev = t.ok({ op: 'luo_open', process: 'vmm' })!;
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: dev, name: '' });
    const long = 'x'.repeat(100);
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: dev, name: long });
    expect(t.m.kernel!.luo!.outgoing.map((s) => s.name)).toEqual(['', 'x'.repeat(63)]);
    // the same 63 bytes again: EEXIST, as strncmp() over the field sees it
    expect(t.run({ op: 'luo_create_session', process: 'vmm', fd: dev, name: 'x'.repeat(70) }).errno).toBe('EEXIST');
    const fd = t.ok({ op: 'memfd_create', process: 'vmm', name: 'm' })!;
    t.ok({ op: 'write', process: 'vmm', fd, data: { text: 'long name' } });
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: dev + 2, fd, token: 7 });
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    t.ok({ op: 'boot' });
    t.ok({ op: 'spawn', name: 'vmm' });
    const dev2 = t.ok({ op: 'luo_open', process: 'vmm' })!;
    const s = t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: dev2, name: long })!;
    const got = t.ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: s, token: 7 })!;
    t.ok({ op: 'expect_content', process: 'vmm', fd: got, text: 'long name' });
    expect(t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: dev2, name: '' })).toBeGreaterThan(0);
  });

  it('luo_file_finish() on an outgoing session drops every file and returns 0; their preservations stay behind (leaked) and the session carries no file', () => {
    const t = preservedHello();
    const k = t.m.kernel!;
    const file = k.processes.file(k.processes.byName.get('vmm')!, 3) as MemfdFile;
    const pfn = file.inode.pages.get(0);
    const r = t.run({ op: 'luo_finish', process: 'vmm', session_fd: 5 });
    expect(r.ok).toBe(true);
    expect(r.errno).toBeUndefined();
    expect(k.luo!.outgoing[0]!.files).toHaveLength(0);
    expect(k.khoOut!.tracker.isMarked(pfn, 0)).toBe(true); // never unpreserved
    expect(k.pages.flags.get(pfn) & PG.pinned).not.toBe(0); // never unpinned
    expect(logLines(t.m, 'warn').some((l) => l.includes('kho_restore_page'))).toBe(true);
    // the kexec goes through with the session empty
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    t.ok({ op: 'boot' });
    t.ok({ op: 'spawn', name: 'vmm' });
    const dev = t.ok({ op: 'luo_open', process: 'vmm' })!;
    const s = t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: dev, name: 's' })!;
    expect(t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: s, token: 1 }).errno).toBe('ENOENT');
  });

  it("luo_retrieve_file() on an outgoing session: the handler runs on this kernel's records and fails; the file stays preserved", () => {
    const t = preservedHello();
    const r = t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 5, token: 1 });
    expect(r.ok).toBe(false);
    expect(r.errno).toBe('EINVAL');
    expect(t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 5, token: 9 }).errno).toBe('ENOENT');
    expect(t.m.kernel!.luo!.outgoing[0]!.files).toHaveLength(1);
  });

  it('luo_preserve_file() on an incoming session: accepted, like any session', () => {
    const t = preservedHello();
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    t.ok({ op: 'boot' });
    t.ok({ op: 'spawn', name: 'vmm' });
    const dev = t.ok({ op: 'luo_open', process: 'vmm' })!;
    const s = t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: dev, name: 's' })!;
    const fd = t.ok({ op: 'memfd_create', process: 'vmm', name: 'new' })!;
    t.ok({ op: 'write', process: 'vmm', fd, data: { text: 'new' } });
    expect(t.run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: s, fd, token: 1 }).errno).toBe('EEXIST'); // token 1 came with the session
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: s, fd, token: 2 });
    expect(t.m.kernel!.luo!.incoming[0]!.files.map((f) => f.token)).toEqual([1n, 2n]);
  });

  it('luo_session_release(): a finish that fails on close keeps the session retrieved (RETRIEVE_SESSION is then EINVAL)', () => {
    const t = preservedHello();
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    t.ok({ op: 'boot' });
    t.ok({ op: 'spawn', name: 'vmm' });
    const dev = t.ok({ op: 'luo_open', process: 'vmm' })!;
    const s = t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: dev, name: 's' })!;
    const luo = t.m.kernel!.luo!;
    const f = luo.incoming[0]!.files[0]!;
    f.handler = {
      ...f.handler,
      canFinish: () => false,
      finish: f.handler.finish.bind(f.handler),
      retrieve: f.handler.retrieve.bind(f.handler),
    } as typeof f.handler;
    const since = t.m.log.lastSeq;
    t.ok({ op: 'close', process: 'vmm', fd: s });
    expect(logLines(t.m, 'warn', since)).toContain('Unable to finish session [s] on release');
    expect(luo.incoming[0]!.retrieved).toBe(true);
    expect(t.run({ op: 'luo_retrieve_session', process: 'vmm', fd: dev, name: 's' }).errno).toBe('EINVAL');
  });
});

describe("luo_session_deserialize() of 6.19.0 ignores luo_file_deserialize()'s result (luo_session.c)", () => {
  it('builtin:luo-unknown-format: the session opens and is retrieved; the file is missing (ENOENT); the close warns (luo_file_set_destroy)', async () => {
    const host = new Host();
    okOf(await host.loadBuiltin('luo-unknown-format'));
    const rep = okOf(await host.report());
    expect(rep.ok).toBe(true);
    const msgs = rep.events.map((e) => e.msg);
    expect(msgs).toContain("No registered handler for compatible 'memfd-v1'");
    expect(msgs).toContain('WARNING: CPU: 0 PID: 1 at kernel/liveupdate/luo_file.c luo_file_set_destroy');
    const steps = rep.steps.slice(rep.steps.findLastIndex((s) => s.command.op === 'boot'));
    expect(steps.map((s) => [s.command.op, s.errno ?? null])).toEqual([
      ['boot', null],
      ['spawn', null],
      ['luo_open', null],
      ['luo_retrieve_session', null],
      ['luo_retrieve_fd', 'ENOENT'],
      ['close', null],
    ]);
  });

  it('files before the unknown one are retrievable; it and those after are missing', () => {
    const t = luoMachine();
    const dev = t.ok({ op: 'luo_open', process: 'vmm' })!;
    const s = t.ok({ op: 'luo_create_session', process: 'vmm', fd: dev, name: 's' })!;
    for (const token of [1, 2, 3]) {
      const fd = t.ok({ op: 'memfd_create', process: 'vmm', name: `f${token}` })!;
      t.ok({ op: 'write', process: 'vmm', fd, data: { text: `file ${token}` } });
      t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: s, fd, token });
    }
    const luo = t.m.kernel!.luo!;
    luo.outgoing[0]!.files[1]!.compatible = 'memfd-v9'; // the record of token 2 names a handler nobody has
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    t.ok({ op: 'boot' });
    t.ok({ op: 'spawn', name: 'vmm' });
    const dev2 = t.ok({ op: 'luo_open', process: 'vmm' })!;
    const s2 = t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: dev2, name: 's' })!;
    const got = t.ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: s2, token: 1 })!;
    t.ok({ op: 'expect_content', process: 'vmm', fd: got, text: 'file 1' });
    expect(t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: s2, token: 2 }).errno).toBe('ENOENT');
    expect(t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: s2, token: 3 }).errno).toBe('ENOENT');
    expect(t.m.kernel!.luo!.incoming[0]!.lost).toBe(2);
  });
});

describe('memfd_luo_retrieve() (mm/memfd_luo.c)', () => {
  /** A 4-page memfd preserved as memfd-v1 in session "s" with token 1, handed over; the next kernel's decode of it. */
  function handedOver() {
    const t = luoMachine();
    t.ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 3
    t.ok({ op: 'write', process: 'vmm', fd: 3, data: { random: true }, length: '16K' });
    t.ok({ op: 'luo_open', process: 'vmm' }); // 4
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' }); // 5
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    const data = t.m.kernel!.luo!.outgoing[0]!.files[0]!.args.serializedData;
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    t.ok({ op: 'boot' });
    const d = memfdV1.decode(t.m.ram, data);
    if (isErr(d)) throw new Error(d.reason);
    const array = d.meta.find((b) => b.what === 'memfd_luo folio array')!;
    t.ok({ op: 'spawn', name: 'vmm' });
    const dev = t.ok({ op: 'luo_open', process: 'vmm' })!;
    const s = t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: dev, name: 's' })!;
    return { ...t, data, d, arrayPhys: array.pfn * PAGE_SIZE, s };
  }

  it('a folio record with pfn 0 is skipped: that index comes back as a hole, the rest as preserved', () => {
    const t = handedOver();
    t.m.ram.write(t.arrayPhys + 16, new Uint8Array(8)); // record 1: pfn 0
    const fd = t.ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: t.s, token: 1 })!;
    const f = t.m.kernel!.processes.file(t.m.kernel!.processes.byName.get('vmm')!, fd) as MemfdFile;
    expect(f.inode.pages.get(0)).toBe(t.d.folios.pfn[0]);
    expect(f.inode.pages.get(1)).toBe(-1);
    expect(f.inode.pages.get(2)).toBe(t.d.folios.pfn[2]);
    // success: the serialized data was kho_restore_free()d
    expect(t.m.kernel!.pages.privateHi(t.data / PAGE_SIZE)).not.toBe(KHO_PAGE_MAGIC);
  });

  it('a failed retrieve leaves the serialized data alone (still preserved); the finish on close frees it', () => {
    const t = handedOver();
    // record 2 names a page that was never preserved: kho_restore_folio() fails
    writeFolioSer(t.m.ram.structPage(t.arrayPhys / PAGE_SIZE), 32, t.d.folios.pfn[2]! + 1, 0, 2);
    const r = t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: t.s, token: 1 });
    expect(r.errno).toBe('EIO');
    const k = t.m.kernel!;
    expect(k.pages.privateHi(t.data / PAGE_SIZE)).toBe(KHO_PAGE_MAGIC);
    t.ok({ op: 'close', process: 'vmm', fd: t.s });
    expect(k.pages.privateHi(t.data / PAGE_SIZE)).not.toBe(KHO_PAGE_MAGIC);
  });
});
