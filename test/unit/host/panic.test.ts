/**
 * A kernel panic as a machine state (kernel/panic.c: panic() never returns): the step whose
 * kernel panicked fails with "Kernel panic - not syncing: …" in dmesg, the machine keeps the
 * panicked kernel, every later step is refused until a new machine or a step back, and the
 * report and the CLI say so (exit 1). The panic is mostly triggered directly here — Kernel.panic()
 * from inside the kexec'd kernel's boot, where luo_restore_fail() calls it in 6.19 — so these
 * tests do not depend on which handover check fires; one CLI test uses the real trigger (a poked
 * LUO compatible), as the README's example does.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandInput } from '../../../shared/commands';
import { Host } from '../../../electron/host/host';
import { Luo } from '../../../electron/kernel/luo/luo';
import { EXIT_BAD_INPUT, EXIT_CHECK_FAILED } from '../../../electron/cli';
import { okOf } from '../kho/helpers';
import { cli, scratchDir } from '../cli/run-cli';

const REASON = 'test: the incoming tree is bad';
const MACHINE = { ram: '256M', seed: 1, cmdline: 'kho=on liveupdate=on kho_scratch=64M,32M,16M' };
const TO_PANIC: CommandInput[] = [
  { op: 'boot' },
  { op: 'spawn', name: 'vmm' },
  { op: 'kexec_load' },
  { op: 'reboot' },
  { op: 'boot' },
];

/** Makes every kexec'd kernel panic while its LUO starts (liveupdate_early_init()'s place in boot). */
function panicOnKexecBoot(): void {
  const init = Luo.init.bind(Luo);
  vi.spyOn(Luo, 'init').mockImplementation((k, ...rest) => {
    if (k.khoIn) k.panic(REASON);
    return init(k, ...rest);
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

async function panickedHost(): Promise<Host> {
  panicOnKexecBoot();
  const host = new Host();
  okOf(await host.newMachine(MACHINE));
  for (const c of TO_PANIC) okOf(await host.run(c));
  return host;
}

describe('panic(): a machine state', () => {
  it('fails the boot step with "Kernel panic - not syncing" in dmesg and keeps the panicked kernel', async () => {
    panicOnKexecBoot();
    const host = new Host();
    okOf(await host.newMachine(MACHINE));
    for (const c of TO_PANIC.slice(0, -1)) okOf(await host.run(c));
    const boot = okOf(await host.run({ op: 'boot' }));
    expect(boot.step).toMatchObject({
      index: 5,
      ok: false,
      panicked: REASON,
      message: `boot: Kernel panic - not syncing: ${REASON}`,
    });
    expect(boot.step.errno).toBeUndefined();
    expect(boot.events.some((e) => e.level === 'err' && e.msg === `Kernel panic - not syncing: ${REASON}`)).toBe(true);
    expect(boot.state).toMatchObject({ booted: true, cursor: 5, panicked: { step: 5, reason: REASON } });
    // The panicked kernel is still there to inspect: its memory map and its KHO state.
    expect(boot.state.summary).not.toBeNull();
    expect(okOf(await host.kho()).incoming).not.toBeNull();
  });

  it('refuses every later step with a clear message, off the timeline, whatever it expects', async () => {
    const host = await panickedHost();
    const refusal =
      /: refused: the kernel panicked: test: the incoming tree is bad; create a new machine or step back$/;
    for (const c of [
      { op: 'spawn', name: 'x' },
      { op: 'boot' },
      { op: 'poke', phys: '0x100000', hex: '00' },
      { op: 'reboot', expect: 'EINVAL' },
    ] as CommandInput[]) {
      const r = await host.run(c);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ code: 'invalid-argument', message: expect.stringMatching(refusal) });
    }
    expect(okOf(await host.state())).toMatchObject({ cursor: 5, panicked: { step: 5 } });
    expect(okOf(await host.state()).steps.length).toBe(5);
  });

  it('in a scenario, the steps after the panic are recorded as refused and the report has `panicked`', async () => {
    panicOnKexecBoot();
    const host = new Host();
    const text = JSON.stringify({
      name: 'panics',
      machine: MACHINE,
      steps: [...TO_PANIC, { op: 'spawn', name: 'late' }, { op: 'expect_free', atLeast: '1M' }],
    });
    okOf(await host.loadScenario(text, 'panics.json'));
    const r = okOf(await host.report());
    expect(r.ok).toBe(false);
    expect(r.panicked).toEqual({ step: 5, reason: REASON });
    expect(r.steps.slice(5).map((s) => [s.ok, s.message])).toEqual([
      [false, `spawn: refused: the kernel panicked: ${REASON}; create a new machine or step back`],
      [false, `expect_free: refused: the kernel panicked: ${REASON}; create a new machine or step back`],
    ]);
  });

  it('a step back leaves the panic behind; stepping forward panics again, deterministically', async () => {
    const host = await panickedHost();
    const hash = okOf(await host.report()).ramHash;
    const back = okOf(await host.goto(4));
    expect(back.panicked).toBeUndefined();
    expect(back.booted).toBe(false);
    expect(okOf(await host.report()).panicked).toBeUndefined();
    const again = okOf(await host.goto(5));
    expect(again.panicked).toEqual({ step: 5, reason: REASON });
    expect(okOf(await host.report()).ramHash).toBe(hash);
    // Stepping back to a running kernel lets the user branch off: a new step is accepted.
    okOf(await host.goto(2));
    expect(okOf(await host.run({ op: 'spawn', name: 'other' })).step.ok).toBe(true);
  });

  it('a new machine leaves the panic behind', async () => {
    const host = await panickedHost();
    const state = okOf(await host.newMachine(MACHINE));
    expect(state.panicked).toBeUndefined();
    expect(okOf(await host.run({ op: 'boot' })).step.ok).toBe(true);
  });
});

describe('setup_per_cpu_areas(): a kernel too small for its early allocations panics', () => {
  // A KHO boot allocates only from scratch until memblock is done: what the kexec segments leave of
  // 30 MiB of lowmem scratch cannot hold 64 CPUs' percpu first chunk (8 atoms, 16 MiB), so the
  // kexec'd kernel panics where 6.19 does.
  const SMALL = { ram: '256M', seed: 1, cpus: 64, cmdline: 'kho=on kho_scratch=30M,1M,1M liveupdate=off' };
  const PANIC = 'cannot initialize percpu area (err=-12)';

  it("fails the boot step with the caller's panic text, refuses later steps, keeps the map viewable", async () => {
    const host = new Host();
    okOf(await host.newMachine(SMALL));
    for (const c of [{ op: 'boot' }, { op: 'kexec_load' }, { op: 'kho_finalize' }, { op: 'reboot' }] as CommandInput[])
      expect(okOf(await host.run(c)).step.ok).toBe(true);
    const boot = okOf(await host.run({ op: 'boot' }));
    expect(boot.step).toMatchObject({
      ok: false,
      panicked: PANIC,
      message: `boot: Kernel panic - not syncing: ${PANIC}`,
    });
    expect(boot.step.errno).toBeUndefined();
    expect(boot.events.filter((e) => e.msg.startsWith('Kernel panic'))).toEqual([
      expect.objectContaining({ level: 'err', msg: `Kernel panic - not syncing: ${PANIC}` }),
    ]);
    expect(boot.state.panicked).toEqual({ step: 5, reason: PANIC });
    const later = await host.run({ op: 'spawn', name: 'x' });
    expect(later.ok).toBe(false);
    if (!later.ok)
      expect(later.error.message).toBe(
        `spawn: refused: the kernel panicked: ${PANIC}; create a new machine or step back`,
      );
    // The half-booted kernel can still be looked at.
    expect(okOf(await host.mapView({ firstPfn: 0, pagesPerCell: 256, cells: 256 })).cells.length).toBe(256);
    expect(okOf(await host.report()).panicked).toEqual({ step: 5, reason: PANIC });
  });

  it("the same machine with enough scratch boots: the panic is the allocation's, not the CPU count's", async () => {
    const host = new Host();
    okOf(await host.newMachine({ ...SMALL, cmdline: 'kho=on kho_scratch=40M,32M,16M liveupdate=off' }));
    for (const c of [
      { op: 'boot' },
      { op: 'kexec_load' },
      { op: 'kho_finalize' },
      { op: 'reboot' },
      { op: 'boot' },
    ] as CommandInput[])
      expect(okOf(await host.run(c)).step.ok).toBe(true);
  });
});

describe('kho-lab-sim run: exit status', () => {
  const dir = scratchDir('kho-lab-panic-');
  const file = (name: string, steps: unknown[]): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ name, machine: MACHINE, steps }));
    return path;
  };

  it('exits 1 on a kernel panic and says which step panicked', async () => {
    panicOnKexecBoot();
    const r = await cli('run', file('panic.json', [...TO_PANIC, { op: 'spawn', name: 'late' }]), '--quiet');
    expect(r.code).toBe(EXIT_CHECK_FAILED);
    expect(r.out).toContain(`KERNEL PANIC at step 5: Kernel panic - not syncing: ${REASON} (1 later step refused)`);
    expect(r.out.some((l) => /^ {2}FAIL {3}6 spawn late — spawn: refused: the kernel panicked/.test(l))).toBe(true);
  });

  it('exits 1 on the README example: a poked LUO compatible panics the next kernel (luo_restore_fail)', async () => {
    const r = await cli(
      'run',
      file('luo-panic.json', [
        { op: 'boot' },
        { op: 'spawn', name: 'vmm' },
        { op: 'luo_open', process: 'vmm' },
        { op: 'luo_create_session', process: 'vmm', fd: 3, name: 'vm0' },
        { op: 'kexec_load' },
        { op: 'reboot' },
        { op: 'poke', fdt: 'LUO', property: 'compatible', string: 'luo-v0' },
        { op: 'boot' },
        { op: 'spawn', name: 'late' },
      ]),
      '--quiet',
    );
    expect(r.code).toBe(EXIT_CHECK_FAILED);
    expect(r.out).toContain(
      'KERNEL PANIC at step 8: Kernel panic - not syncing: The incoming tree failed to initialize properly [-22], disabling live update (1 later step refused)',
    );
  });

  it('exits 2 on a bad poke, naming the file, the step and what was wrong', async () => {
    const path = file('bad-poke.json', [{ op: 'boot' }, { op: 'poke', phys: '0x100000', hex: 'xyz' }]);
    const r = await cli('run', path, '--quiet');
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err).toEqual([
      `${path}: step 2 (poke 0x100000 = xyz): poke 0x100000: malformed hex "xyz": "x" is not a hex digit`,
    ]);
  });

  it('exits 0 after a good poke', async () => {
    const r = await cli(
      'run',
      file('good-poke.json', [{ op: 'boot' }, { op: 'poke', phys: '0x100000', hex: '00ff' }]),
      '--quiet',
    );
    expect(r.code).toBe(0);
  });
});
