/**
 * LUO's session model and memfd-v1 (kernel/liveupdate/luo_core.c, luo_session.c, luo_file.c;
 * mm/memfd_luo.c): the errno table case by case, close-before-reboot unpreserves, the frozen
 * size, a failing freeze rolls back, and the selftest luo_kexec_simple end to end through the
 * Host.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import type { Report } from '../../../shared/views';
import { Host } from '../../../electron/host/host';
import { kerr } from '../../../electron/kernel/lib/errno';
import { PG } from '../../../electron/kernel/mm/page-flags';
import type { MemfdFile } from '../../../electron/kernel/proc';
import { okOf } from '../kho/helpers';
import { luoMachine as machine } from './helpers';

/** vmm with memfd fd 3 ("hello"), /dev/liveupdate fd 4, session "s" fd 5. */
function withSession() {
  const t = machine();
  t.ok({ op: 'memfd_create', process: 'vmm', name: 'guest' });
  t.ok({ op: 'write', process: 'vmm', fd: 3, data: { text: 'hello' } });
  t.ok({ op: 'luo_open', process: 'vmm' });
  t.ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' });
  return t;
}

describe('/dev/liveupdate and the errno table (luo_core.c: luo_open(); luo_session.c; luo_file.c)', () => {
  it('a second open is EBUSY; after close it opens again', () => {
    const { run, ok } = machine();
    expect(ok({ op: 'luo_open', process: 'vmm' })).toBe(3);
    const r = run({ op: 'luo_open', process: 'vmm' });
    expect(r.errno).toBe('EBUSY');
    expect(r.message).toMatch(/^open\(\/dev\/liveupdate\): EBUSY/);
    ok({ op: 'close', process: 'vmm', fd: 3 });
    expect(ok({ op: 'luo_open', process: 'vmm' })).toBe(3);
  });

  it('luo_session_create(): duplicate name EEXIST; an empty name is fine, a 64-byte one is cut to 63 by strscpy()', () => {
    const { run, m } = withSession();
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' }).errno).toBe('EEXIST');
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 4, name: '' }).ok).toBe(true);
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 'x'.repeat(64) }).ok).toBe(true);
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 'x'.repeat(63) }).errno).toBe('EEXIST');
    expect(m.kernel!.luo!.outgoing.map((x) => x.name)).toEqual(['s', '', 'x'.repeat(63)]);
  });

  it('PRESERVE_FD: duplicate token EEXIST (shell-style message), bad fd EBADF, /dev/liveupdate ENOENT, the 129th file ENOSPC', () => {
    const { run, ok } = withSession();
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    const dup = run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    expect(dup.errno).toBe('EEXIST');
    expect(dup.message).toMatch(/^ioctl\(LIVEUPDATE_SESSION_PRESERVE_FD\): EEXIST/);
    expect(run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 99, token: 2 }).errno).toBe('EBADF');
    expect(run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 4, token: 2 }).errno).toBe('ENOENT');
    for (let t = 2; t <= 128; t++) {
      const fd = ok({ op: 'memfd_create', process: 'vmm', name: `m${t}` })!;
      ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd, token: t });
    }
    const fd = ok({ op: 'memfd_create', process: 'vmm', name: 'one-too-many' })!;
    expect(run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd, token: 129 }).errno).toBe('ENOSPC');
  });

  it('a preserved memfd can be written but neither grown nor shrunk (EPERM); its folios are pinned and preserved', () => {
    const { m, run, ok } = withSession();
    ok({ op: 'ftruncate', process: 'vmm', fd: 3, size: '64K' }); // holes from 4K to 64K
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 7 });
    const k = m.kernel!;
    const inode = (k.processes.get('vmm') as { fds: Map<number, MemfdFile> }).fds.get(3)!.inode;
    expect(inode.nrPages).toBe(16); // holes filled
    for (const [, pfn] of inode.pages.entries()) {
      expect(k.pages.flags.get(pfn) & PG.pinned).not.toBe(0);
      expect(k.khoOut!.tracker.isMarked(pfn, 0)).toBe(true);
    }
    expect(run({ op: 'ftruncate', process: 'vmm', fd: 3, size: '128K' }).errno).toBe('EPERM');
    expect(run({ op: 'ftruncate', process: 'vmm', fd: 3, size: '4K' }).errno).toBe('EPERM');
    expect(run({ op: 'write', process: 'vmm', fd: 3, offset: '8K', data: { text: 'inside' } }).ok).toBe(true);
    expect(run({ op: 'write', process: 'vmm', fd: 3, offset: '64K', data: { text: 'past the end' } }).errno).toBe(
      'EPERM',
    );
  });

  it('closing the session fd before reboot unpreserves every file and deletes the session; the memfd still reads back', () => {
    const { m, run, ok } = withSession();
    const k = m.kernel!;
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 0x1234 });
    const inode = (k.processes.get('vmm') as { fds: Map<number, MemfdFile> }).fds.get(3)!.inode;
    const pfn = inode.pages.get(0);
    expect(k.khoOut!.tracker.isMarked(pfn, 0)).toBe(true);
    ok({ op: 'close', process: 'vmm', fd: 5 });
    expect(k.luo!.outgoing).toHaveLength(0);
    expect(k.khoOut!.tracker.isMarked(pfn, 0)).toBe(false);
    expect(k.pages.flags.get(pfn) & (PG.pinned | PG.kho_preserved)).toBe(0);
    expect(inode.frozen).toBe(false);
    expect(inode.refs).toBe(1);
    expect(run({ op: 'expect_content', process: 'vmm', fd: 3, text: 'hello' }).ok).toBe(true);
    ok({ op: 'ftruncate', process: 'vmm', fd: 3, size: '8K' }); // no longer frozen
    // The session name is free again.
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' }).ok).toBe(true);
  });

  it('the memfd fd may be closed after preserve: LUO co-owns the file', () => {
    const { m, ok } = withSession();
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    const inode = (m.kernel!.processes.get('vmm') as { fds: Map<number, MemfdFile> }).fds.get(3)!.inode;
    ok({ op: 'close', process: 'vmm', fd: 3 });
    expect(inode.refs).toBe(1);
    expect(inode.nrPages).toBe(1);
  });
});

describe('across a kexec', () => {
  function kexec(t: ReturnType<typeof machine>): void {
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    t.ok({ op: 'boot' });
    t.ok({ op: 'spawn', name: 'vmm' });
  }

  it('RETRIEVE_SESSION unknown ENOENT, twice EINVAL; RETRIEVE_FD unknown token ENOENT, twice the same file; FINISH; unfinished sessions are not carried on', () => {
    const t = withSession();
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 'empty' });
    kexec(t);
    const k = t.m.kernel!;
    expect(k.luo!.liveupdateNumber).toBe(2n);
    t.ok({ op: 'luo_open', process: 'vmm' }); // fd 3
    expect(k.luo!.incoming.map((s) => s.name)).toEqual(['s', 'empty']);
    expect(t.run({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'nope' }).errno).toBe('ENOENT');
    expect(t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 's' })).toBe(4);
    expect(t.run({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 's' }).errno).toBe('EINVAL');
    expect(t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 2 }).errno).toBe('ENOENT');
    expect(t.ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 })).toBe(5);
    expect(t.ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 })).toBe(6);
    const fds = (k.processes.get('vmm') as { fds: Map<number, MemfdFile> }).fds;
    expect(fds.get(5)).toBe(fds.get(6));
    expect(t.run({ op: 'expect_content', process: 'vmm', fd: 6, text: 'hello' }).ok).toBe(true);
    expect(t.run({ op: 'expect_content', process: 'vmm', fd: 6, text: 'hellO' }).ok).toBe(false);
    t.ok({ op: 'luo_finish', process: 'vmm', session_fd: 4 });
    expect(k.khoIn!.unrestoredCount()).toBeGreaterThan(0); // "empty" was never finished (and the LUO FDT page stays)
    kexec(t);
    t.ok({ op: 'luo_open', process: 'vmm' });
    expect(t.m.kernel!.luo!.incoming).toHaveLength(0);
    expect(t.m.kernel!.luo!.liveupdateNumber).toBe(3n);
  });

  it('finishing a session that was never retrieved discards its memfd: every preserved folio is restored and freed', () => {
    const t = withSession();
    t.ok({ op: 'ftruncate', process: 'vmm', fd: 3, size: '1M' });
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 9 });
    kexec(t);
    const k = t.m.kernel!;
    t.ok({ op: 'luo_open', process: 'vmm' });
    const before = k.khoIn!.unrestoredCount();
    t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 's' });
    t.ok({ op: 'luo_finish', process: 'vmm', session_fd: 4 });
    // 256 data folios, the ser page, the file array: all restored; the vmalloc array too.
    expect(before - k.khoIn!.unrestoredCount()).toBeGreaterThanOrEqual(258);
  });

  it('luo_session_deserialize() (6.19.0): an incoming file whose compatible no handler knows is missing; the session opens and is retrieved', () => {
    const t = withSession();
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    const filesPhys = t.m.kernel!.luo!.outgoing[0]!.filesPhys;
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    // The next kernel lacks memfd-v1: here, the record names a format it does not know.
    t.m.ram.write(filesPhys, new TextEncoder().encode('memfd-v9'));
    t.ok({ op: 'boot' });
    t.ok({ op: 'spawn', name: 'vmm' });
    t.ok({ op: 'luo_open', process: 'vmm' }); // 3
    t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 's' }); // 4
    expect(t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 }).errno).toBe('ENOENT');
    expect(t.m.log.events.some((e) => e.msg === "No registered handler for compatible 'memfd-v9'")).toBe(true);
  });

  it('luo_early_startup(): a wrong top-level compatible panics the next kernel (luo_restore_fail)', () => {
    const t = withSession();
    const fdt = t.m.kernel!.luo!.fdtPhys;
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    const page = t.m.ram.read(fdt, PAGE_SIZE);
    const at = new TextDecoder('latin1').decode(page).indexOf('luo-v1');
    expect(at).toBeGreaterThan(0);
    t.m.ram.write(fdt + at, new TextEncoder().encode('luo-v7'));
    expect(t.run({ op: 'boot' })).toMatchObject({
      ok: false,
      panicked: expect.stringMatching(/^The incoming tree failed/),
    });
    expect(t.m.kernel!.luo).toBeNull();
    // luo_restore_fail() is panic() in 6.19
    expect(t.m.kernel!.panicked).toMatch(/^The incoming tree failed to initialize properly/);
  });

  it('luo_file_freeze(): a failing freeze unfreezes the files frozen before it and the reboot returns its errno with the machine running', () => {
    const t = withSession();
    t.ok({ op: 'memfd_create', process: 'vmm', name: 'second' }); // fd 6
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 6, token: 2 });
    t.ok({ op: 'kexec_load' });
    const luo = t.m.kernel!.luo!;
    const calls: string[] = [];
    const [a, b] = luo.outgoing[0]!.files;
    // Fault injection: file 2's freeze fails; file 1's unfreeze is recorded.
    const base = a!.handler;
    a!.handler = {
      ...base,
      canPreserve: () => true,
      freeze: () => (calls.push('freeze 1'), null),
      unfreeze: () => void calls.push('unfreeze 1'),
    } as typeof base;
    b!.handler = {
      ...base,
      canPreserve: () => true,
      freeze: () => (calls.push('freeze 2'), kerr('EIO', 'injected')),
      unfreeze: () => void calls.push('unfreeze 2'),
    } as typeof base;
    const r = t.run({ op: 'reboot' });
    expect(r.errno).toBe('EIO');
    expect(calls).toEqual(['freeze 1', 'freeze 2', 'unfreeze 1']);
    expect(t.m.kernel).not.toBeNull();
    expect(t.run({ op: 'expect_content', process: 'vmm', fd: 3, text: 'hello' }).ok).toBe(true);
  });
});

describe('builtin:luo-kexec-simple', () => {
  async function run(): Promise<Report> {
    const host = new Host();
    okOf(await host.loadBuiltin('luo-kexec-simple'));
    return okOf(await host.report());
  }

  it('passes every step, reads back the stage "2" and "hello kexec world", and finishes both sessions', async () => {
    const r = await run();
    expect(r.ok).toBe(true);
    expect(r.steps.every((s) => s.ok)).toBe(true);
    // restore_and_read_stage() then restore_and_verify_memfd(): strcmp() stops at the page's first NUL.
    const content = r.steps.filter((s) => s.command.op === 'expect_content').map((s) => s.message);
    expect(content).toEqual(['fd 5: 1 bytes match', 'fd 6: 17 bytes match']);
    const retrieved = r.steps.filter((s) => s.command.op === 'luo_retrieve_fd').map((s) => s.returned);
    expect(retrieved).toEqual([5, 6]);
    expect(r.steps.filter((s) => s.command.op === 'luo_finish')).toHaveLength(2);
    expect(r.events.map((e) => e.msg)).toContain('deserialized 2 incoming session(s)');
  });

  it('is deterministic: the same ramHash twice', async () => {
    const [a, b] = [await run(), await run()];
    expect(a.ramHash).toBe(b.ramHash);
  });
});
