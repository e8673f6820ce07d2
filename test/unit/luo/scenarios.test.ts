/**
 * The LUO built-in scenarios (luo-multi-session, luo-vm, luo-freeze-fails, luo-unknown-format,
 * luo-memfd-formats)
 * through the Host, the checks they end with, and the simulator's fault injection and
 * checksum ops on their own.
 */
import { describe, expect, it } from 'vitest';
import { CommandSchema, type CommandInput, describeCommand } from '../../../shared/commands';
import type { Report } from '../../../shared/views';
import { Host } from '../../../electron/host/host';
import type { MemfdFile } from '../../../electron/kernel/proc';
import { okOf } from '../kho/helpers';
import { luoMachine as machine } from './helpers';

async function runBuiltin(name: string): Promise<Report> {
  const host = new Host();
  okOf(await host.loadBuiltin(name));
  return okOf(await host.report());
}

const run0 = (c: CommandInput) => describeCommand(CommandSchema.parse(c));
const msgs = (r: Report) => r.events.map((e) => e.msg);

describe('builtin:luo-multi-session', () => {
  it('luo_multi_session.c: the state session and the four sessions cross; the stage and the three one-page memfds compare; all five finish', async () => {
    const r = await runBuiltin('luo-multi-session');
    expect(r.ok).toBe(true);
    expect(r.steps.every((s) => s.ok)).toBe(true);
    expect(msgs(r)).toContain('serialized 5 session(s) for live update 1');
    expect(msgs(r)).toContain('deserialized 5 incoming session(s)');
    // restore_and_read_stage(), then restore_and_verify_memfd(): strcmp() stops at the page's first NUL.
    expect(r.steps.filter((s) => s.command.op === 'expect_content').map((s) => s.message)).toEqual([
      'fd 5: 1 bytes match',
      'fd 9: 24 bytes match',
      'fd 9: 30 bytes match',
      'fd 9: 31 bytes match',
    ]);
    const finishes = r.steps.filter((s) => s.command.op === 'luo_finish');
    expect(finishes.map((s) => s.message)).toEqual([
      'session "multi-test-empty-1" finished',
      'session "multi-test-empty-2" finished',
      'session "multi-test-files-1" finished',
      'session "multi-test-files-2" finished',
      'session "kexec_multi_state" finished',
    ]);
    expect(r.steps.at(-2)!.command.op).toBe('luo_finish');
  });

  it('is deterministic: the same ramHash twice', async () => {
    const [a, b] = [await runBuiltin('luo-multi-session'), await runBuiltin('luo-multi-session')];
    expect(a.ramHash).toBe(b.ramHash);
  });
});

describe('builtin:luo-vm', () => {
  it('a 4 GiB guest memfd in order-9 folios survives the kexec; the check reads the checksums from the retrieved state memfd', async () => {
    const r = await runBuiltin('luo-vm');
    expect(r.ok).toBe(true);
    expect(r.steps.every((s) => s.ok)).toBe(true);
    const last = r.steps.at(-1)!;
    expect(last.command.op).toBe('expect_checksums');
    expect(last.message).toMatch(/all 1048576 pages match the 1048576 checksums/);
    expect(msgs(r)).toContain('deserialized 2 incoming session(s)');
    expect(
      msgs(r).some((m) => /^memfd_luo: preserved ino \d+ as memfd-v1: 4294967296 bytes in 2048 folios/.test(m)),
    ).toBe(true);
  }, 60_000);
});

describe('builtin:luo-freeze-fails', () => {
  it('kexec -e reports the injected EIO, the machine runs on and the session is still preserved', async () => {
    const r = await runBuiltin('luo-freeze-fails');
    expect(r.ok).toBe(true);
    const reboot = r.steps.find((s) => s.command.op === 'reboot')!;
    expect(reboot.ok).toBe(true);
    expect(reboot.errno).toBe('EIO');
    expect(msgs(r)).toContain('Freeze failed for token[0x2] handler[memfd-v1] err[-EIO]');
    expect(msgs(r)).not.toContain('kexec_core: Starting new kernel');
    expect(r.steps.find((s) => s.command.op === 'luo_preserve_fd' && s.errno === 'EEXIST')).toBeDefined();
    // 6.19: the rollback cleared token 1's serialized_data, so the retry fails in memfd_luo_freeze()
    expect(r.steps.filter((s) => s.command.op === 'reboot').map((s) => s.errno)).toEqual(['EIO', 'EINVAL']);
    expect(msgs(r)).toContain('Freeze failed for token[0x1] handler[memfd-v1] err[-EINVAL]');
  });
});

describe('builtin:luo-unknown-format', () => {
  it('the next kernel registers no memfd-v1 handler: 6.19.0 retrieves the session, the memfd is missing (ENOENT), the close warns', async () => {
    const r = await runBuiltin('luo-unknown-format');
    expect(r.ok).toBe(true);
    expect(msgs(r)).toContain('Command line: kho=on liveupdate=on luo.disable_handler=memfd-v1');
    expect(msgs(r)).toContain('file handler memfd-v1 not registered (luo.disable_handler)');
    expect(msgs(r)).toContain("No registered handler for compatible 'memfd-v1'");
    const opens = r.steps.filter((s) => s.command.op === 'luo_open').slice(1);
    expect(opens.map((s) => s.errno)).toEqual([undefined]);
    expect(r.steps.find((s) => s.command.op === 'luo_retrieve_fd')!.errno).toBe('ENOENT');
  });
});

describe('fault injection and checksum ops', () => {
  it('luo_fail_next_freeze is one shot: the second kexec -e goes through and the files are retrieved', () => {
    const t = machine();
    t.ok({ op: 'memfd_create', process: 'vmm', name: 'a' }); // 3
    t.ok({ op: 'write', process: 'vmm', fd: 3, data: { text: 'again' } });
    t.ok({ op: 'luo_open', process: 'vmm' }); // 4
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' }); // 5
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'luo_fail_next_freeze', errno: 'ENOMEM' });
    expect(t.run({ op: 'reboot' }).errno).toBe('ENOMEM');
    expect(t.m.kernel).not.toBeNull();
    t.ok({ op: 'reboot' });
    t.ok({ op: 'boot' });
    t.ok({ op: 'spawn', name: 'vmm' });
    t.ok({ op: 'luo_open', process: 'vmm' });
    t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 's' });
    expect(t.ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 })).toBe(5);
    expect(t.run({ op: 'expect_content', process: 'vmm', fd: 5, text: 'again' }).ok).toBe(true);
  });

  it('expect_checksums fails when a page of the guest changed, naming the index', () => {
    const t = machine();
    t.ok({ op: 'memfd_create', process: 'vmm', name: 'guest', size: '1M' }); // 3
    t.ok({ op: 'write', process: 'vmm', fd: 3, data: { random: true } });
    t.ok({ op: 'memfd_create', process: 'vmm', name: 'state' }); // 4
    const saved = t.run({ op: 'save_checksums', process: 'vmm', fd: 3, into_fd: 4 });
    expect(saved.message).toMatch(/checksums of 256 pages .* \(1 KiB\)/);
    expect(t.run({ op: 'expect_checksums', process: 'vmm', fd: 3, from_fd: 4 }).ok).toBe(true);
    t.ok({ op: 'write', process: 'vmm', fd: 3, offset: '12K', data: { text: 'changed' } });
    const r = t.run({ op: 'expect_checksums', process: 'vmm', fd: 3, from_fd: 4 });
    expect(r.ok).toBe(false);
    expect(r.errno).toBeUndefined();
    expect(r.message).toMatch(/1 of 256 pages differ from the stored checksums: index 3$/);
  });

  it('luo-vm style: the second kernel catches a guest page corrupted in RAM during the kexec', () => {
    const t = machine();
    t.ok({ op: 'memfd_create', process: 'vmm', name: 'guest', size: '2M' }); // 3
    t.ok({ op: 'write', process: 'vmm', fd: 3, data: { random: true }, order: 9 });
    t.ok({ op: 'memfd_create', process: 'vmm', name: 'state' }); // 4
    t.ok({ op: 'save_checksums', process: 'vmm', fd: 3, into_fd: 4 });
    t.ok({ op: 'luo_open', process: 'vmm' }); // 5
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: 5, name: 'state' }); // 6
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 6, fd: 4, token: 1 });
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: 5, name: 'guest' }); // 7
    t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 7, fd: 3, token: 2 });
    const guest = (t.m.kernel!.processes.get('vmm') as { fds: Map<number, MemfdFile> }).fds.get(3)!.inode;
    const victim = guest.pages.get(100);
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    t.m.ram.write(victim * 4096, new Uint8Array([1, 2, 3, 4]));
    t.ok({ op: 'boot' });
    t.ok({ op: 'spawn', name: 'vmm' });
    t.ok({ op: 'luo_open', process: 'vmm' }); // 3
    t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'state' }); // 4
    t.ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 }); // 5
    t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'guest' }); // 6
    t.ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 6, token: 2 }); // 7
    const r = t.run({ op: 'expect_checksums', process: 'vmm', fd: 7, from_fd: 5 });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/1 of 512 pages differ from the stored checksums: index 100$/);
  });
});

describe('ioctl argument size and ENOTTY (luo_core.c: luo_ioctl(); luo_session.c: luo_session_ioctl())', () => {
  function withSession() {
    const t = machine();
    t.ok({ op: 'memfd_create', process: 'vmm', name: 'm' }); // 3
    t.ok({ op: 'luo_open', process: 'vmm' }); // 4
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' }); // 5
    return t;
  }

  it('CREATE_SESSION: 71 bytes EINVAL, 72 fine, 80 with zero tail fine, 80 with a non-zero tail E2BIG', () => {
    const { run } = withSession();
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 'a', size: 71 }).errno).toBe('EINVAL');
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 'a', size: 72 }).ok).toBe(true);
    expect(run({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 'b', size: 80, trailing: 0 }).ok).toBe(true);
    const r = run({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 'c', size: 80, trailing: 0xff });
    expect(r.errno).toBe('E2BIG');
    expect(r.message).toMatch(/^ioctl\(LIVEUPDATE_IOCTL_CREATE_SESSION\): E2BIG/);
    expect(run({ op: 'luo_retrieve_session', process: 'vmm', fd: 4, name: 'x', size: 0 }).errno).toBe('EINVAL');
    expect(run({ op: 'luo_retrieve_session', process: 'vmm', fd: 4, name: 'x', size: 73, trailing: 1 }).errno).toBe(
      'E2BIG',
    );
    // The size check comes before the lookup: with a valid size the answer is the lookup's.
    expect(run({ op: 'luo_retrieve_session', process: 'vmm', fd: 4, name: 'x', size: 73 }).errno).toBe('ENOENT');
  });

  it('PRESERVE_FD / RETRIEVE_FD need 16 bytes, FINISH 8; a tail must be zero', () => {
    const t = withSession();
    expect(t.run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1, size: 15 }).errno).toBe(
      'EINVAL',
    );
    expect(
      t.run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1, size: 24, trailing: 7 }).errno,
    ).toBe('E2BIG');
    expect(t.m.kernel!.luo!.outgoing[0]!.files).toHaveLength(0);
    expect(t.run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1, size: 24 }).ok).toBe(true);
    expect(t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 5, token: 1, size: 8 }).errno).toBe('EINVAL');
    expect(t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 5, token: 1, size: 17, trailing: 1 }).errno).toBe(
      'E2BIG',
    );
    expect(t.run({ op: 'luo_finish', process: 'vmm', session_fd: 5, size: 4 }).errno).toBe('EINVAL');
    expect(t.run({ op: 'luo_finish', process: 'vmm', session_fd: 5, size: 12, trailing: 0x80 }).errno).toBe('E2BIG');
    // Valid sizes reach the operation: FINISH on an outgoing session drops its files (6.19 has no direction check).
    expect(t.run({ op: 'luo_finish', process: 'vmm', session_fd: 5, size: 8 }).ok).toBe(true);
  });

  it('luo_ioctl()/luo_session_ioctl(): a LUO ioctl on the other LUO fd is EINVAL (number range check); on any other file ENOTTY', () => {
    const { run } = withSession();
    const onSession = run({ op: 'luo_create_session', process: 'vmm', fd: 5, name: 'x' });
    expect(onSession.errno).toBe('EINVAL');
    expect(onSession.message).toMatch(/^ioctl\(LIVEUPDATE_IOCTL_CREATE_SESSION\): EINVAL/);
    expect(run({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'x' }).errno).toBe('ENOTTY');
    expect(run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 4, fd: 3, token: 1 }).errno).toBe('EINVAL');
    expect(run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 3, token: 1 }).errno).toBe('ENOTTY');
    expect(run({ op: 'luo_finish', process: 'vmm', session_fd: 4 }).errno).toBe('EINVAL');
    // ENOTTY wins over a bad size: the file has no such ioctl at all.
    expect(run({ op: 'luo_finish', process: 'vmm', session_fd: 3, size: 1 }).errno).toBe('ENOTTY');
    expect(run({ op: 'luo_finish', process: 'vmm', session_fd: 3, expect: 'ENOTTY' }).ok).toBe(true);
  });

  it('labels show a size and a non-zero tail', () => {
    expect(run0({ op: 'luo_finish', process: 'vmm', session_fd: 4, size: 12, trailing: 255 })).toBe(
      'vmm: ioctl(4, LIVEUPDATE_SESSION_FINISH, size 12, trailing 0xff)',
    );
    expect(run0({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's', size: 71 })).toBe(
      'vmm: ioctl(4, LIVEUPDATE_IOCTL_CREATE_SESSION, "s", size 71)',
    );
  });
});

describe('builtin:luo-memfd-formats', () => {
  it('v3 refuses 1 GiB with ENOMEM, carries the small file; kernel 2 re-preserves it as KHO array; kernel 3 without v3 reads it', async () => {
    const r = await runBuiltin('luo-memfd-formats');
    expect(r.ok).toBe(true);
    const preserves = r.steps.filter((s) => s.command.op === 'luo_preserve_fd');
    expect(preserves[0]!.errno).toBe('ENOMEM');
    expect(preserves[0]!.message).toMatch(/MAX_PAGE_ORDER/);
    expect(
      msgs(r)
        .filter((m) => /^memfd_luo: (preserved|retrieved) ino/.test(m))
        .map((m) =>
          m
            .replace(/^memfd_luo: /, '')
            .replace(/ino \d+ (as|from) /, '')
            .replace(/:.*/, ''),
        ),
    ).toEqual([
      'preserved memfd-fdt-v1',
      'retrieved memfd-fdt-v1',
      'preserved memfd-karr-v1',
      'retrieved memfd-karr-v1',
    ]);
    expect(r.steps.filter((s) => s.command.op === 'expect_content').every((s) => s.ok)).toBe(true);
  }, 30_000);
});
