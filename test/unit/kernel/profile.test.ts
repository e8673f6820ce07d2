/**
 * Kernel profiles: a machine cold-boots the configured release, kexec_load names the release the
 * next kernel boots, and each release reads the handover with its own rules.
 */
import { describe, expect, it } from 'vitest';
import { CommandSchema, type CommandInput } from '../../../shared/commands';
import { KERNEL_RELEASES, type KernelRelease, MachineConfigSchema } from '../../../shared/machine-config';
import { applyCommand, stepFields } from '../../../electron/host/apply';
import { Host, builtinScenario, withMachine } from '../../../electron/host/host';
import { Machine } from '../../../electron/kernel/machine';
import { KERNEL_PROFILES } from '../../../electron/kernel/profile';

const CMDLINE = 'kho=on liveupdate=on kho_scratch=64M,32M,16M';

function machine(kernel: KernelRelease) {
  const m = new Machine(MachineConfigSchema.parse({ kernel, ram: '256M', seed: 1, cmdline: CMDLINE }));
  const run = (c: CommandInput) => stepFields(applyCommand(m, CommandSchema.parse(c)));
  const ok = (c: CommandInput) => {
    const r = run(c);
    if (!r.ok) throw new Error(`${c.op}: ${r.message}`);
    return r.returned;
  };
  const log = () => m.log.events.map((e) => e.msg);
  ok({ op: 'boot' });
  ok({ op: 'spawn', name: 'vmm' });
  return { m, run, ok, log };
}

/** A memfd with text in session "vm" (fd 3 memfd, 4 /dev/liveupdate, 5 the session), then kexec into `next`. */
function liveUpdate(from: KernelRelease, load: Omit<Extract<CommandInput, { op: 'kexec_load' }>, 'op'>) {
  const t = machine(from);
  t.ok({ op: 'memfd_create', process: 'vmm', name: 'guest-ram' });
  t.ok({ op: 'write', process: 'vmm', fd: 3, data: { text: 'carried across releases' } });
  t.ok({ op: 'luo_open', process: 'vmm' });
  t.ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 'vm' });
  t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 0x1a });
  t.ok({ op: 'kexec_load', ...load });
  t.ok({ op: 'reboot' });
  t.ok({ op: 'boot' });
  t.ok({ op: 'spawn', name: 'vmm' });
  return t;
}

describe('kernel profiles', () => {
  it('every release has a profile under its own name and a distinct uname -r', () => {
    for (const r of KERNEL_RELEASES) expect(KERNEL_PROFILES[r].name).toBe(r);
    expect(new Set(KERNEL_RELEASES.map((r) => KERNEL_PROFILES[r].release)).size).toBe(KERNEL_RELEASES.length);
  });

  it('start_kernel() prints "Linux version" with the configured release', () => {
    expect(machine('7.0').log()[0]).toMatch(/^Linux version 7\.0\.0-kholab /);
    expect(machine('6.19').log()[0]).toMatch(/^Linux version 6\.19\.0-kholab /);
  });

  it('an unknown release is refused in the machine config and in kexec_load, naming the releases', () => {
    const bad = MachineConfigSchema.safeParse({ kernel: '7.4' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.message).toBe(
      'unknown kernel release "7.4"; the releases are 6.19, 7.0, 7.1, 7.2, 7.3',
    );
    const cmd = CommandSchema.safeParse({ op: 'kexec_load', kernel: '5.10' });
    expect(cmd.success).toBe(false);
    expect(JSON.stringify(cmd.error!.issues)).toContain('the releases are 6.19, 7.0, 7.1, 7.2, 7.3');
  });
});

describe('kexec_file_load() of another release', () => {
  for (const [from, to] of [
    ['6.19', '7.0'],
    ['7.0', '6.19'],
    ['7.1', '7.1'],
    ['7.2', '7.2'],
  ] as const) {
    it(`${from} → ${to}: the next kernel boots as ${to} and retrieves the memfd`, () => {
      const t = liveUpdate(from, { kernel: to });
      expect(t.m.kernel!.ctx.profile.name).toBe(to);
      expect(t.log()).toContain(`Linux version ${KERNEL_PROFILES[to].release} (kho-lab@sim) #2 SMP PREEMPT_DYNAMIC`);
      t.ok({ op: 'luo_open', process: 'vmm' }); // 3
      t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'vm' }); // 4
      expect(t.ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 0x1a })).toBe(5);
      expect(t.run({ op: 'expect_content', process: 'vmm', fd: 5, text: 'carried across releases' }).ok).toBe(true);
    });
  }

  it('7.0 → 7.1: the root compatible kho-v1 is refused ("disabling KHO revival"), the session is gone', () => {
    const t = liveUpdate('7.0', { kernel: '7.1' });
    expect(t.log().some((l) => l.includes("is incompatible with 'kho-v3': 1"))).toBe(true);
    t.ok({ op: 'luo_open', process: 'vmm' }); // 3
    expect(t.run({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'vm' }).errno).toBe('ENOENT');
  });

  it('without a release, kexec_load loads the running kernel again', () => {
    const t = liveUpdate('7.0', {});
    expect(t.m.kernel!.ctx.profile.name).toBe('7.0');
  });
});

describe('luo_session_deserialize() and a file no handler claims (luo_file_deserialize() -ENOENT)', () => {
  const cmdline = `${CMDLINE} luo.disable_handler=memfd-v1`;

  it('6.19.0 ignores the error: /dev/liveupdate opens, the session is there without the memfd', () => {
    const t = liveUpdate('7.0', { kernel: '6.19', cmdline });
    t.ok({ op: 'luo_open', process: 'vmm' }); // 3
    expect(t.log()).toContain("No registered handler for compatible 'memfd-v1'");
    t.ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'vm' }); // 4
    expect(t.run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 0x1a }).errno).toBe('ENOENT');
    expect(t.log().some((l) => l.startsWith('Failed to deserialize files'))).toBe(false);
  });

  it('7.0 propagates it: every open of /dev/liveupdate is EIO', () => {
    const t = liveUpdate('6.19', { kernel: '7.0', cmdline });
    expect(t.run({ op: 'luo_open', process: 'vmm' }).errno).toBe('EIO');
    expect(t.log()).toContain('Failed to deserialize files for session [vm] -ENOENT');
    expect(t.run({ op: 'luo_open', process: 'vmm' }).errno).toBe('EIO');
    // The session block was not freed: luo_session_deserialize() returned before kho_restore_free().
    expect(t.m.kernel!.luo!.incoming.map((s) => s.name)).toEqual(['vm']);
  });
});

describe('builtin:luo-unknown-format on each release (luo_session_deserialize())', () => {
  async function run(kernel: KernelRelease) {
    const s = builtinScenario('luo-unknown-format');
    if (!s.ok) throw new Error(s.error.message);
    const w = withMachine(s.value, { kernel });
    if (!w.ok) throw new Error(w.error.message);
    const host = new Host();
    expect((await host.loadScenario(JSON.stringify(w.value), 'test')).ok).toBe(true);
    const r = await host.report();
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  }

  it("passes on 6.19; on 7.0 the second kernel's open of /dev/liveupdate is EIO", async () => {
    const on619 = await run('6.19');
    expect(on619.ok).toBe(true);
    const on70 = await run('7.0');
    expect(on70.ok).toBe(false);
    const opens = on70.steps.filter((st) => st.command.op === 'luo_open');
    expect(opens.map((st) => st.errno)).toEqual([undefined, 'EIO']);
    expect(on70.events.map((e) => e.msg)).toContain('Failed to deserialize files for session [test-session] -ENOENT');
  });
});
