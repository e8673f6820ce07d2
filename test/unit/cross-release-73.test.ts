/**
 * The real live updates of realkernel/7.3 (7.2.13 ↔ 7.3.4, QEMU, 1 GiB guest), replayed as scenario
 * steps: test_kho's folios and a memfd in a LUO session cross every pair and the three-kernel
 * chains, and each next kernel logs the lines the real one logged. Then the patched kernels of
 * realkernel/7.3/variants (KHO_FDT_COMPATIBLE "kho-v5", LUO_ABI_COMPATIBLE "luo-v6"): the kernel
 * that meets a compatible it does not know says so in its own words and boots cold or panics.
 * The simulator's releases are named `<release>.0-kholab` (the real logs say 7.2.13 and 7.3.4).
 */
import { describe, expect, it } from 'vitest';
import { CommandSchema, type CommandInput } from '../../shared/commands';
import {
  type KernelRelease,
  type KernelVariant,
  KernelVariantSchema,
  MachineConfigSchema,
} from '../../shared/machine-config';
import { applyCommand, stepFields } from '../../electron/host/apply';
import { Machine } from '../../electron/kernel/machine';
import { Host } from '../../electron/host/host';
import { KERNEL_PROFILES } from '../../electron/kernel/profile';

type Kernel = { kernel: KernelRelease; variant?: KernelVariant };

/** The real runs' machine: 1 GiB, `kho=on liveupdate=on`. */
function machine(first: Kernel) {
  const m = new Machine(MachineConfigSchema.parse({ ...first, ram: '1G', seed: 1, cmdline: 'kho=on liveupdate=on' }));
  const run = (c: CommandInput) => stepFields(applyCommand(m, CommandSchema.parse(c)));
  const ok = (c: CommandInput) => {
    const r = run(c);
    if (!r.ok) throw new Error(`${c.op}: ${r.message}`);
    return r;
  };
  /** Log lines as dmesg prints them ("KHO: found …"), from kernel generation `gen` on. */
  const log = (gen = 1) => {
    let g = 0;
    const out: string[] = [];
    for (const e of m.log.events) {
      if (e.msg.startsWith('Linux version ')) g++;
      if (g >= gen) out.push(e.subsys ? `${e.subsys}: ${e.msg}` : e.msg);
    }
    return out;
  };
  return { m, run, ok, log };
}

/** Stage 1 of the real init: test_kho's save path and luo_kexec_simple's session. */
const stage1: CommandInput[] = [
  { op: 'insmod', module: 'test_kho' },
  { op: 'spawn', name: 'luo-test' },
  { op: 'memfd_create', process: 'luo-test', name: 'test_mfd', size: '4K' }, // fd 3
  { op: 'write', process: 'luo-test', fd: 3, data: { text: 'hello kexec world' } },
  { op: 'luo_open', process: 'luo-test' }, // fd 4
  { op: 'luo_create_session', process: 'luo-test', fd: 4, name: 'test-session' }, // fd 5
  { op: 'luo_preserve_fd', process: 'luo-test', session_fd: 5, fd: 3, token: '0x1A' },
];

/** kexec_file_load of `to`, kexec -e, the next kernel's boot. */
const jump = (to: Kernel): CommandInput[] => [
  { op: 'kexec_load', kernel: to.kernel, ...(to.variant ? { variant: to.variant } : {}) },
  { op: 'reboot' },
  { op: 'boot' },
];

/** Stage 2: test_kho restores (and, with `again`, preserves the folios for a third kernel); the memfd comes back. */
function stage2(t: ReturnType<typeof machine>, again: boolean): void {
  expect(t.run({ op: 'insmod', module: 'test_kho', params: again ? { chain: true } : {} }).ok).toBe(true);
  t.ok({ op: 'spawn', name: 'luo-test' });
  t.ok({ op: 'luo_open', process: 'luo-test' }); // fd 3
  t.ok({ op: 'luo_retrieve_session', process: 'luo-test', fd: 3, name: 'test-session' }); // fd 4
  t.ok({ op: 'luo_retrieve_fd', process: 'luo-test', session_fd: 4, token: '0x1A' }); // fd 5
  expect(t.run({ op: 'expect_content', process: 'luo-test', fd: 5, text: 'hello kexec world', cstring: true }).ok).toBe(
    true,
  );
  if (!again) return;
  // The next generation's session: the retrieved memfd preserved again.
  t.ok({ op: 'luo_create_session', process: 'luo-test', fd: 3, name: 'test-session-2' }); // fd 6
  t.ok({ op: 'luo_preserve_fd', process: 'luo-test', session_fd: 6, fd: 5, token: '0x1A' });
  t.ok({ op: 'luo_finish', process: 'luo-test', session_fd: 4 });
}

const release = (r: KernelRelease) => KERNEL_PROFILES[r].release;

describe('realkernel/7.3: live updates between 7.2 and 7.3 carry everything', () => {
  for (const [from, to] of [
    ['7.2', '7.3'],
    ['7.3', '7.2'],
    ['7.3', '7.3'],
  ] as const) {
    it(`${from} → ${to}: kho_populate(), luo_early_startup() and kho_in_kexec_metadata() log as the real kernel 2`, () => {
      const t = machine({ kernel: from });
      t.ok({ op: 'boot' });
      for (const c of [...stage1, ...jump({ kernel: to })]) t.ok(c);
      expect(t.m.kernel!.ctx.profile.name).toBe(to);
      const k2 = t.log(2);
      expect(k2[0]).toMatch(new RegExp(`^Linux version ${release(to).replace(/\./g, '\\.')} `));
      expect(k2).toContain('KHO: found kexec handover data.');
      expect(k2).toContain('luo: Retrieved live update data, liveupdate number: 1');
      expect(k2).toContain(`KHO: exec from: ${release(from)} (count 1)`);
      // The order the real log has them in: KHO at setup_arch(), LUO at early_initcall, "exec from" at kho_init().
      const at = (l: string) => k2.indexOf(l);
      expect(at('KHO: found kexec handover data.')).toBeLessThan(
        at('luo: Retrieved live update data, liveupdate number: 1'),
      );
      expect(k2.some((l) => l.includes('disabling KHO revival') || l.includes('Kernel panic'))).toBe(false);
      stage2(t, false);
      expect(t.log(2)).toContain('test_kho: KHO restore succeeded');
    });
  }

  for (const [a, b, c] of [
    ['7.2', '7.3', '7.2'],
    ['7.3', '7.2', '7.3'],
    ['7.3', '7.3', '7.3'],
  ] as const) {
    it(`chain ${a} → ${b} → ${c}: kernel 3 logs liveupdate number 2 and "exec from: ${b} (count 2)"`, () => {
      const t = machine({ kernel: a });
      t.ok({ op: 'boot' });
      for (const cmd of [...stage1, ...jump({ kernel: b })]) t.ok(cmd);
      stage2(t, true);
      for (const cmd of jump({ kernel: c })) t.ok(cmd);
      const k3 = t.log(3);
      expect(k3).toContain('KHO: found kexec handover data.');
      expect(k3).toContain('luo: Retrieved live update data, liveupdate number: 2');
      expect(k3).toContain(`KHO: exec from: ${release(b)} (count 2)`);
      expect(t.run({ op: 'insmod', module: 'test_kho' }).ok).toBe(true);
      expect(t.log(3)).toContain('test_kho: KHO restore succeeded');
      t.ok({ op: 'spawn', name: 'luo-test' });
      t.ok({ op: 'luo_open', process: 'luo-test' }); // fd 3
      t.ok({ op: 'luo_retrieve_session', process: 'luo-test', fd: 3, name: 'test-session-2' }); // fd 4
      t.ok({ op: 'luo_retrieve_fd', process: 'luo-test', session_fd: 4, token: '0x1A' }); // fd 5
      expect(
        t.run({ op: 'expect_content', process: 'luo-test', fd: 5, text: 'hello kexec world', cstring: true }).ok,
      ).toBe(true);
    });
  }
});

describe('realkernel/7.3/variants: a compatible the next kernel does not know', () => {
  /** Runs stage 1 on `from`, jumps to `to` and returns kernel 2's log. */
  function cross(from: Kernel, to: Kernel) {
    const t = machine(from);
    t.ok({ op: 'boot' });
    for (const c of stage1) t.ok(c);
    for (const c of jump(to)) t.run(c);
    return { t, k2: t.log(2) };
  }

  it('kho_populate(): 7.2 → 7.3[kho-v5] refuses kho-v4 in its words, boots cold: no luo: line, test_kho finds nothing', () => {
    const { t, k2 } = cross({ kernel: '7.2' }, { kernel: '7.3', variant: 'kho-v5' });
    expect(k2[0]).toMatch(/^Linux version 7\.3\.0-kholab\+kho-v5 /);
    const refused = k2.findIndex((l) =>
      /^KHO: setup: handover FDT \(0x[0-9a-f]+\) is incompatible with 'kho-v5': 1$/.test(l),
    );
    expect(refused).toBeGreaterThan(0);
    expect(k2[refused + 1]).toBe('KHO: disabling KHO revival');
    expect(k2).not.toContain('KHO: found kexec handover data.');
    expect(k2.some((l) => l.startsWith('luo:'))).toBe(false);
    expect(t.m.kernel!.khoIn).toBeNull();
    // test_kho finds no "kho_test" subtree and takes its save path: nothing is restored.
    t.ok({ op: 'insmod', module: 'test_kho' });
    expect(t.log(2).some((l) => l.includes('KHO restore succeeded'))).toBe(false);
    t.ok({ op: 'spawn', name: 'luo-test' });
    t.ok({ op: 'luo_open', process: 'luo-test' });
    expect(t.run({ op: 'luo_retrieve_session', process: 'luo-test', fd: 3, name: 'test-session' }).errno).toBe(
      'ENOENT',
    );
  });

  it('kho_populate(): 7.3[kho-v5] → 7.2 is refused with "incompatible with \'kho-v4\': 1"', () => {
    const { t, k2 } = cross({ kernel: '7.3', variant: 'kho-v5' }, { kernel: '7.2' });
    const refused = k2.findIndex((l) =>
      /^KHO: setup: handover FDT \(0x[0-9a-f]+\) is incompatible with 'kho-v4': 1$/.test(l),
    );
    expect(refused).toBeGreaterThan(0);
    expect(k2[refused + 1]).toBe('KHO: disabling KHO revival');
    expect(k2.some((l) => l.startsWith('luo:'))).toBe(false);
    expect(t.m.kernel!.panicked).toBeNull();
  });

  for (const [from, to, own] of [
    [{ kernel: '7.2' }, { kernel: '7.3', variant: 'luo-v6' }, 'luo-v6'],
    [{ kernel: '7.3', variant: 'luo-v6' }, { kernel: '7.2' }, 'luo-v5'],
  ] as const) {
    const name = (k: Kernel) => `${k.kernel}${k.variant ? `[${k.variant}]` : ''}`;
    it(`luo_early_startup(): ${name(from)} → ${name(to)} finds the handover, then panics in liveupdate_early_init()`, () => {
      const { t, k2 } = cross(from, to);
      const found = k2.indexOf('KHO: found kexec handover data.');
      const luo = k2.indexOf(`luo: LUO state is incompatible with '${own}'`);
      expect(found).toBeGreaterThan(0);
      expect(luo).toBeGreaterThan(found);
      expect(k2[luo + 1]).toBe(
        'Kernel panic - not syncing: The incoming tree failed to initialize properly [-22], disabling live update',
      );
      expect(t.m.kernel!.panicked).not.toBeNull();
    });
  }

  it('a variant is validated: unknown names list the known ones; one that patches another release is refused', () => {
    const bad = KernelVariantSchema.safeParse('kho-v9');
    expect(bad.error!.issues[0]!.message).toBe('unknown kernel variant "kho-v9"; the variants are kho-v5, luo-v6');
    const cfg = MachineConfigSchema.safeParse({ kernel: '6.19', variant: 'kho-v5' });
    expect(cfg.error!.issues[0]!.message).toBe('kernel variant kho-v5 patches 7.2 and 7.3, not 6.19');
    const t = machine({ kernel: '7.3' });
    t.ok({ op: 'boot' });
    const r = t.run({ op: 'kexec_load', kernel: '7.1', variant: 'luo-v6' });
    expect(r.ok).toBe(false);
    expect(r.errno).toBe('EINVAL');
    expect(r.message).toContain('kernel variant luo-v6 patches 7.2 and 7.3, not 7.1');
  });

  it('the header names the variant as uname -r does, before boot and after a kexec into one', async () => {
    const host = new Host();
    const made = await host.newMachine({ kernel: '7.3', variant: 'luo-v6', ram: '256M', cmdline: 'kho=on' });
    expect(made.ok && made.value.kernelRelease).toBe('7.3.0-kholab+luo-v6');
    for (const op of [
      { op: 'boot' },
      { op: 'kexec_load', kernel: '7.3', variant: 'kho-v5' },
      { op: 'reboot' },
    ] as const)
      expect((await host.run(op)).ok).toBe(true);
    const state = await host.state();
    expect(state.ok && state.value.kernelRelease).toBe('7.3.0-kholab+kho-v5');
  });
});
