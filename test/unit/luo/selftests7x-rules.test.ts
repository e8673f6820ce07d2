/**
 * The LUO semantics the 7.x releases added, each pinned to the kernel function that has it and
 * to the release profile that first ships it (electron/kernel/profile.ts): the remembered
 * retrieve status and memfd's DIRTY|UPTODATE folios (7.0), the double-preservation EBUSY (7.1,
 * on the local 7.2 profile here), session-name validation, LIVEUPDATE_SESSION_GET_NAME and the
 * session-direction checks (7.2); and setrlimit(RLIMIT_NOFILE) for the selftests' thousands of fds.
 */
import { describe, expect, it } from 'vitest';
import { CommandSchema, type CommandInput } from '../../../shared/commands';
import { type KernelRelease, MachineConfigSchema } from '../../../shared/machine-config';
import { applyCommand, stepFields } from '../../../electron/host/apply';
import { Machine } from '../../../electron/kernel/machine';
import { kerr } from '../../../electron/kernel/lib/errno';
import { PG } from '../../../electron/kernel/mm/page-flags';
import { memfdV1 } from '../../../electron/kernel/luo/memfd/v1';
import { FOLIO_DIRTY, FOLIO_UPTODATE } from '../../../electron/kernel/luo/memfd/format';
import { isErr } from '../../../electron/kernel/lib/errno';
import type { MemfdFile } from '../../../electron/kernel/proc';
import { LUO_CMDLINE } from './helpers';

/** A booted `kernel` with process "vmm" and /dev/liveupdate open as fd 3. */
function machine(kernel: KernelRelease) {
  const m = new Machine(MachineConfigSchema.parse({ kernel, ram: '256M', seed: 1, cmdline: LUO_CMDLINE }));
  const run = (c: CommandInput) => stepFields(applyCommand(m, CommandSchema.parse(c)));
  const ok = (c: CommandInput) => {
    const r = run(c);
    if (!r.ok) throw new Error(`${c.op}: ${r.message}`);
    return r.returned;
  };
  ok({ op: 'boot' });
  ok({ op: 'spawn', name: 'vmm' });
  ok({ op: 'luo_open', process: 'vmm' }); // 3
  return { m, run, ok };
}

const memfdOf = (m: Machine, fd: number) =>
  (m.kernel!.processes.get('vmm') as { fds: Map<number, MemfdFile> }).fds.get(fd)!;

describe('luo_preserve_file(): one file in luo_preserved_files at a time (7.1+)', () => {
  it('7.2: the same memfd in a second session, or in the same one under another token, is EBUSY; the same token stays EEXIST', () => {
    const { run, ok } = machine('7.2');
    ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'one' }); // 4
    ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'two' }); // 5
    ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 6
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 4, fd: 6, token: 1 });
    const other = run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 6, token: 2 });
    expect(other.errno).toBe('EBUSY');
    expect(other.message).toMatch(/^ioctl\(LIVEUPDATE_SESSION_PRESERVE_FD\): EBUSY .*luo_preserved_files/);
    expect(run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 4, fd: 6, token: 3 }).errno).toBe('EBUSY');
    // luo_token_is_used() comes first.
    expect(run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 4, fd: 6, token: 1 }).errno).toBe('EEXIST');
  });

  it('7.2: the refused preservation leaves nothing behind, and closing the first session (xa_erase) frees the file for another', () => {
    const { m, run, ok } = machine('7.2');
    ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'one' }); // 4
    ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'two' }); // 5
    ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 6
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 4, fd: 6, token: 1 });
    const refs = memfdOf(m, 6).inode.refs;
    expect(run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 6, token: 1 }).errno).toBe('EBUSY');
    const two = m.kernel!.luo!.outgoing[1]!;
    expect(two.files).toHaveLength(0);
    expect(two.filesPhys).toBe(0); // the file array allocated for it was unpreserved again
    expect(memfdOf(m, 6).inode.refs).toBe(refs);
    ok({ op: 'close', process: 'vmm', fd: 4 });
    expect(run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 6, token: 1 }).ok).toBe(true);
  });

  it('7.0 has no such check: the same memfd goes into two sessions', () => {
    const { run, ok } = machine('7.0');
    ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'one' }); // 4
    ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'two' }); // 5
    ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 6
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 4, fd: 6, token: 1 });
    expect(run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 6, token: 2 }).ok).toBe(true);
  });
});

describe('luo_session_create(): session-name validation (7.2)', () => {
  it('7.2: "" and a 64-byte name with no NUL are EINVAL; 63 bytes is the longest name', () => {
    const { m, run } = machine('7.2');
    const empty = run({ op: 'luo_create_session', process: 'vmm', fd: 3, name: '' });
    expect(empty.errno).toBe('EINVAL');
    expect(empty.message).toMatch(/the session name is empty/);
    const full = run({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'X'.repeat(64) });
    expect(full.errno).toBe('EINVAL');
    expect(full.message).toMatch(/no NUL within its 64 bytes/);
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'X'.repeat(200) }).errno).toBe('EINVAL');
    // A NUL first makes strnlen() 0.
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 3, name: '\u0000abc' }).errno).toBe('EINVAL');
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'A'.repeat(63) }).ok).toBe(true);
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'ab\u0000cd' }).ok).toBe(true);
    expect(m.kernel!.luo!.outgoing.map((s) => s.name)).toEqual(['A'.repeat(63), 'ab']);
  });

  it('6.19 and 7.0: strscpy() takes "" as a name and cuts 64 bytes to 63', () => {
    for (const kernel of ['6.19', '7.0'] as const) {
      const { m, run } = machine(kernel);
      expect(run({ op: 'luo_create_session', process: 'vmm', fd: 3, name: '' }).ok).toBe(true);
      expect(run({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'X'.repeat(64) }).ok).toBe(true);
      expect(m.kernel!.luo!.outgoing.map((s) => s.name)).toEqual(['', 'X'.repeat(63)]);
    }
  });
});

describe('luo_session_get_name(): LIVEUPDATE_SESSION_GET_NAME (7.2)', () => {
  it('answers the full name; `name` makes the step a check that fails on a different answer', () => {
    const { run, ok } = machine('7.2');
    ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'get-name-test-session' }); // 4
    const r = run({ op: 'luo_get_name', process: 'vmm', session_fd: 4, name: 'get-name-test-session' });
    expect(r.ok).toBe(true);
    expect(r.message).toBe('session fd 4 is "get-name-test-session"');
    const wrong = run({ op: 'luo_get_name', process: 'vmm', session_fd: 4, name: 'other' });
    expect(wrong.ok).toBe(false);
    expect(wrong.errno).toBeUndefined();
    expect(wrong.message).toMatch(/answered "get-name-test-session", expected "other"/);
  });

  it('luo_session_ioctl(): reserved ≠ 0 EINVAL, below 16 bytes EINVAL, a non-zero byte past 16 E2BIG; luo_ucmd_respond() cuts a short struct', () => {
    const { run, ok } = machine('7.2');
    ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'A'.repeat(63) }); // 4
    expect(run({ op: 'luo_get_name', process: 'vmm', session_fd: 4, reserved: 1 }).errno).toBe('EINVAL');
    expect(run({ op: 'luo_get_name', process: 'vmm', session_fd: 4, size: 15 }).errno).toBe('EINVAL');
    expect(run({ op: 'luo_get_name', process: 'vmm', session_fd: 4, size: 72, trailing: 0x41 }).errno).toBe('E2BIG');
    expect(run({ op: 'luo_get_name', process: 'vmm', session_fd: 4, size: 16, name: 'AAAAAAAA' }).ok).toBe(true);
    expect(run({ op: 'luo_get_name', process: 'vmm', session_fd: 4, size: 80, name: 'A'.repeat(63) }).ok).toBe(true);
  });

  it('works on a retrieved session too (LUO_IOCTL_ALL), on /dev/liveupdate it is EINVAL, on a memfd ENOTTY', () => {
    const { m, ok, run } = machine('7.2');
    ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 'carried' }); // 4
    ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 5
    expect(run({ op: 'luo_get_name', process: 'vmm', session_fd: 3 }).errno).toBe('EINVAL');
    expect(run({ op: 'luo_get_name', process: 'vmm', session_fd: 5 }).errno).toBe('ENOTTY');
    ok({ op: 'kexec_load' });
    ok({ op: 'reboot' });
    ok({ op: 'boot' });
    expect(m.kernel!.ctx.profile.name).toBe('7.2');
    ok({ op: 'spawn', name: 'vmm' });
    ok({ op: 'luo_open', process: 'vmm' }); // 3
    ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'carried' }); // 4
    expect(run({ op: 'luo_get_name', process: 'vmm', session_fd: 4, name: 'carried' }).ok).toBe(true);
  });

  it('6.19 and 7.0 have no such ioctl: the number is past luo_session_ioctl_ops[], EINVAL', () => {
    for (const kernel of ['6.19', '7.0'] as const) {
      const { run, ok } = machine(kernel);
      ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 's' }); // 4
      const r = run({ op: 'luo_get_name', process: 'vmm', session_fd: 4 });
      expect(r.errno).toBe('EINVAL');
      expect(r.message).toMatch(/no LIVEUPDATE_SESSION_GET_NAME in this release/);
    }
  });
});

describe('luo_ioctl_type_valid(): session ioctls check the direction first (7.2)', () => {
  it('7.2: RETRIEVE_FD and FINISH on an outgoing session, PRESERVE_FD on a retrieved one, are EINVAL before any size check', () => {
    const { m, ok, run } = machine('7.2');
    ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 's' }); // 4
    ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 5
    ok({ op: 'write', process: 'vmm', fd: 5, data: { text: 'kept' } });
    const early = run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1, size: 24, trailing: 1 });
    expect(early.errno).toBe('EINVAL');
    expect(early.message).toMatch(/is outgoing: this ioctl applies to retrieved sessions only/);
    expect(run({ op: 'luo_finish', process: 'vmm', session_fd: 4 }).errno).toBe('EINVAL');
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 4, fd: 5, token: 1 });
    ok({ op: 'kexec_load' });
    ok({ op: 'reboot' });
    ok({ op: 'boot' });
    ok({ op: 'spawn', name: 'vmm' });
    ok({ op: 'luo_open', process: 'vmm' }); // 3
    ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 's' }); // 4
    ok({ op: 'memfd_create', process: 'vmm', name: 'n' }); // 5
    expect(run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 4, fd: 5, token: 2 }).errno).toBe('EINVAL');
    expect(m.kernel!.luo!.incoming[0]!.files).toHaveLength(1);
    ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 }); // 6
    expect(run({ op: 'expect_content', process: 'vmm', fd: 6, text: 'kept' }).ok).toBe(true);
    ok({ op: 'luo_finish', process: 'vmm', session_fd: 4 });
  });

  it('6.19 checks the size only: the same RETRIEVE_FD on an outgoing session is E2BIG', () => {
    const { ok, run } = machine('6.19');
    ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 's' }); // 4
    expect(run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1, size: 24, trailing: 1 }).errno).toBe(
      'E2BIG',
    );
  });
});

/** One memfd "hello" (token 1) in session "s" carried to the next kernel of the same release; retrieved session is fd 4. */
function carried(kernel: KernelRelease) {
  const t = machine(kernel);
  t.ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 's' }); // 4
  t.ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 5
  t.ok({ op: 'write', process: 'vmm', fd: 5, data: { text: 'hello' } });
  t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 4, fd: 5, token: 1 });
  t.ok({ op: 'kexec_load' });
  t.ok({ op: 'reboot' });
  t.ok({ op: 'boot' });
  t.ok({ op: 'spawn', name: 'vmm' });
  t.ok({ op: 'luo_open', process: 'vmm' }); // 3
  t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 's' }); // 4
  return t;
}

/** Makes the next kernel's memfd-v1 retrieve() fail with ENOMEM, counting the calls. */
function failingRetrieve(m: Machine) {
  const h = m.kernel!.luo!.handlers.get('memfd-v1')!;
  const calls = { n: 0 };
  h.retrieve = () => {
    calls.n++;
    return kerr('ENOMEM', 'retrieve failed (test)');
  };
  return calls;
}

describe('luo_retrieve_file(): a failed retrieve is remembered (7.0+, luo_file->retrieve_status)', () => {
  it('7.0: the second RETRIEVE_FD returns the stored ENOMEM without calling the handler; FINISH then skips the discard', () => {
    const t = carried('7.0');
    const calls = failingRetrieve(t.m);
    expect(t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 }).errno).toBe('ENOMEM');
    expect(t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 }).errno).toBe('ENOMEM');
    expect(calls.n).toBe(1);
    expect(t.run({ op: 'luo_finish', process: 'vmm', session_fd: 4 }).ok).toBe(true);
  });

  it('6.19: every RETRIEVE_FD calls retrieve() again', () => {
    const t = carried('6.19');
    const calls = failingRetrieve(t.m);
    t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 });
    t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 });
    expect(calls.n).toBe(2);
  });
});

describe('memfd_luo_preserve_folios(): every folio DIRTY|UPTODATE, non-uptodate ones zero-filled (7.0+)', () => {
  /** A memfd of one page whose folio is clean and not uptodate (as fallocate leaves it), with stale bytes. */
  function staleFolio(kernel: KernelRelease) {
    const t = machine(kernel);
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 's' }); // 4
    t.ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 5
    t.ok({ op: 'write', process: 'vmm', fd: 5, data: { fill: 0xab }, length: 4096 });
    const pfn = memfdOf(t.m, 5).inode.pages.get(0);
    t.m.kernel!.pages.flags.clear(pfn, PG.uptodate | PG.dirty);
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 4, fd: 5, token: 1 });
    // memfd_pin_folios() may have migrated it out of CMA (KHO scratch): the pinned folio is the one preserved.
    const preserved = memfdOf(t.m, 5).inode.pages.get(0);
    const f = t.m.kernel!.luo!.outgoing[0]!.files[0]!;
    const rec = memfdV1.decode(t.m.ram, f.args.serializedData);
    if (isErr(rec)) throw new Error(rec.reason);
    expect(rec.folios.pfn[0]).toBe(preserved);
    return { t, pfn: preserved, recordFlags: rec.folios.flags[0]! };
  }

  it('7.0: the stale folio is zeroed and marked uptodate and dirty; its record says DIRTY|UPTODATE', () => {
    const { t, pfn, recordFlags } = staleFolio('7.0');
    const flags = t.m.kernel!.pages.flags.get(pfn);
    expect(flags & PG.uptodate).not.toBe(0);
    expect(flags & PG.dirty).not.toBe(0);
    expect(t.m.ram.read(pfn * 4096, 4096).every((b) => b === 0)).toBe(true);
    expect(recordFlags).toBe(FOLIO_DIRTY | FOLIO_UPTODATE);
  });

  it("6.19: the folio's own flags go into the record (neither DIRTY nor UPTODATE) and its bytes stay", () => {
    const { t, pfn, recordFlags } = staleFolio('6.19');
    expect(recordFlags).toBe(0);
    expect(t.m.kernel!.pages.flags.get(pfn) & PG.uptodate).toBe(0);
    expect(t.m.ram.read(pfn * 4096, 1)[0]).toBe(0xab);
  });
});

describe('shmem_fallocate(): fallocated folios are dirty but not uptodate until written', () => {
  it('a read sees zeroes, and the first write (shmem_write_end()) zeroes the folio and marks it uptodate', () => {
    const { m, run, ok } = machine('6.19');
    ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 4
    ok({ op: 'fallocate', process: 'vmm', fd: 4, length: '8K' });
    const inode = memfdOf(m, 4).inode;
    const [a, b] = [inode.pages.get(0), inode.pages.get(1)];
    expect(m.kernel!.pages.flags.get(a) & PG.uptodate).toBe(0);
    expect(m.kernel!.pages.flags.get(a) & PG.dirty).not.toBe(0);
    m.ram.write(b * 4096, new Uint8Array([7, 7, 7])); // stale bytes in a real fallocated folio
    expect(m.kernel!.shmem.read(inode, 4096, 3)).toEqual(new Uint8Array(3));
    ok({ op: 'write', process: 'vmm', fd: 4, offset: '4K', data: { text: 'x' } });
    expect(m.kernel!.pages.flags.get(b) & PG.uptodate).not.toBe(0);
    expect([...m.kernel!.shmem.read(inode, 4096, 3)]).toEqual([0x78, 0, 0]);
    expect(run({ op: 'expect_content', process: 'vmm', fd: 4, text: 'x', cstring: true }).ok).toBe(false); // page 0 reads as NUL first
  });
});

describe('setrlimit(RLIMIT_NOFILE) (kernel/sys.c: do_prlimit())', () => {
  it('fds stop at the soft limit 1024 with EMFILE; raising it opens more; soft above hard is EINVAL, hard above nr_open EPERM', () => {
    const { run, ok } = machine('7.2');
    ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 's' }); // 4
    for (let fd = 5; fd < 1024; fd++) ok({ op: 'memfd_create', process: 'vmm', name: 'f' });
    const full = run({ op: 'memfd_create', process: 'vmm', name: 'f' });
    expect(full.errno).toBe('EMFILE');
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 3, name: 't', expect: 'EMFILE' }).ok).toBe(true);
    expect(run({ op: 'setrlimit', process: 'vmm', resource: 'RLIMIT_NOFILE', soft: 5000, hard: 4096 }).errno).toBe(
      'EINVAL',
    );
    expect(
      run({ op: 'setrlimit', process: 'vmm', resource: 'RLIMIT_NOFILE', soft: 2032, hard: 2 * 1048576 }).errno,
    ).toBe('EPERM');
    expect(run({ op: 'setrlimit', process: 'vmm', resource: 'RLIMIT_NOFILE', soft: 2032 }).message).toBe(
      'vmm: RLIMIT_NOFILE 2032 (hard 4096)',
    );
    expect(ok({ op: 'memfd_create', process: 'vmm', name: 'f' })).toBe(1024);
  });
});
