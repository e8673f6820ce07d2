/**
 * Kernel N beside kernel N+1 (electron/host/page-diff.ts): every block the previous kernel handed
 * over, classified by what the next kernel made of it, on the built-ins; and the page bytes API
 * (the same page one step and one kernel earlier, the records decoded on it, bad input refused).
 */
import { describe, expect, it } from 'vitest';
import type { CommandInput } from '../../../shared/commands';
import type { GenerationDiff } from '../../../shared/page-diff';
import { PAGE_SIZE } from '../../../shared/units';
import { pokePhys } from '../../../shared/poke';
import { BUILTIN_SCENARIOS } from '../../../electron/host/builtins';
import { Host } from '../../../electron/host/host';

function okOf<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** A host with builtin `name` loaded (on `kernel` when given). */
async function loaded(name: string, kernel?: '6.19' | '7.2'): Promise<Host> {
  const s = BUILTIN_SCENARIOS[name]!;
  const host = new Host();
  okOf(await host.newMachine({ ...s.machine!, ...(kernel ? { kernel } : {}) }));
  for (const c of s.steps as CommandInput[]) await host.run(c);
  return host;
}

const total = (d: GenerationDiff) => d.counts.restored + d.counts.freed + d.counts.leaked + d.counts.overwritten;

describe('generation diff (kho_mem_deserialize() / kho_radix_walk_tree() blocks vs kho_restore_folio())', () => {
  it.each(['6.19', '7.2'] as const)(
    'test-kho on %s: every folio restored with matching checksums; the sub-FDT folio stays reserved (leaked)',
    async (kernel) => {
      const host = await loaded('test-kho', kernel);
      const d = okOf(await host.generationDiff());
      expect(d.counts.overwritten).toBe(0);
      expect(d.counts.restored).toBeGreaterThan(10);
      // lib/test_kho.c never restores its own sub-FDT folio.
      expect(d.counts.leaked).toBeGreaterThanOrEqual(1);
      for (const b of d.blocks.filter((x) => x.fate === 'restored')) expect(b.before).toBe(b.after);
      expect(d.blocks.find((b) => b.fate === 'leaked')!.state).toMatch(/KHOP stamp/);
      expect(d.toRelease).toMatch(kernel === '6.19' ? /^6\.19/ : /^7\.2/);
    },
  );

  it('test-kho-forgot-one: the forgotten folio is named, overwritten; the folios after it are leaked', async () => {
    const host = await loaded('test-kho-forgot-one');
    const d = okOf(await host.generationDiff());
    const forgotten = d.blocks.filter((b) => b.notPreserved);
    expect(forgotten).toHaveLength(1);
    expect(forgotten[0]!.fate).toBe('overwritten');
    expect(forgotten[0]!.before).not.toBe(forgotten[0]!.after);
    expect(d.counts.leaked).toBeGreaterThan(1);
    expect(d.counts.restored).toBeGreaterThan(0);
    // luo_ser / session blocks that LUO read and freed (kernel/liveupdate/luo_session.c:
    // luo_session_deserialize() then kho_restore_free()) are "restored, since reused", not ✗.
    for (const b of d.blocks.filter((x) => x.fate === 'freed')) expect(b.state).toMatch(/restored, then freed/);
  });

  it.each(['6.19', '7.2'] as const)(
    'luo-kexec-simple on %s: the memfd folio and LUO records cross; nothing is overwritten',
    async (kernel) => {
      const host = await loaded('luo-kexec-simple', kernel);
      const d = okOf(await host.generationDiff());
      expect(total(d)).toBeGreaterThan(0);
      expect(d.counts.overwritten).toBe(0);
      expect(d.counts.restored).toBeGreaterThan(0);
    },
  );

  it('a poke that corrupts a preserved page at the jump makes its block overwritten, the restore fails', async () => {
    const host = await loaded('test-kho');
    const d0 = okOf(await host.generationDiff());
    const victim = d0.blocks.find((b) => b.fate === 'restored')!;
    const steps = okOf(await host.state()).steps;
    const reboot = steps.find((s) => s.command.op === 'reboot')!.index;
    okOf(await host.goto(reboot));
    const poke = okOf(await host.run(pokePhys(victim.pfn * PAGE_SIZE + 100, new Uint8Array([0xde, 0xad])))).step;
    expect(poke.ok, poke.message).toBe(true);
    for (const c of steps.slice(reboot).map((s) => s.command)) await host.run(c);
    const d1 = okOf(await host.generationDiff());
    const after = d1.blocks.find((b) => b.pfn === victim.pfn)!;
    expect(after.fate).toBe('overwritten');
    expect(after.changedPages).toBe(1);
    expect(after.before).not.toBe(after.after);
    expect(d1.counts.overwritten).toBe(1);
  });

  it('links each block to the step that decided its fate: test_kho_init() restores at insmod, kho_mem_deserialize() reserves the leaked sub-FDT at boot', async () => {
    const host = await loaded('test-kho');
    const steps = okOf(await host.state()).steps;
    const d = okOf(await host.generationDiff());
    const insmod = steps.findLast((s) => s.command.op === 'insmod')!.index;
    const boot = steps.findLast((s) => s.command.op === 'boot')!.index;
    for (const b of d.blocks) {
      const at = b.fate === 'restored' ? insmod : boot;
      expect(b.decidedAt, `${b.fate} block at pfn ${b.pfn}`).toEqual({ step: at, label: steps[at - 1]!.label });
    }
    // Before the insmod nothing has restored the folios: the boot that reserved them decided so far.
    await host.goto(boot);
    const early = okOf(await host.generationDiff());
    expect(new Set(early.blocks.map((b) => b.decidedAt?.step))).toEqual(new Set([boot]));
  });

  it('luo-vm: the guest memfd folios are decided by their LIVEUPDATE_SESSION_RETRIEVE_FD, the state memfd by its own', async () => {
    const host = await loaded('luo-vm');
    const steps = okOf(await host.state()).steps;
    const retrieves = steps.filter((s) => s.label.includes('RETRIEVE_FD')).map((s) => s.index);
    expect(retrieves).toHaveLength(2);
    const d = okOf(await host.generationDiff());
    const by = new Map<number, number>();
    for (const b of d.blocks) by.set(b.decidedAt!.step, (by.get(b.decidedAt!.step) ?? 0) + 1);
    expect([...by.keys()].sort((a, b) => a - b)).toEqual(retrieves);
  });

  it('refuses before any kexec and at the jump itself, saying why', async () => {
    const host = await loaded('test-kho');
    const steps = okOf(await host.state()).steps;
    const reboot = steps.find((s) => s.command.op === 'reboot')!.index;
    okOf(await host.goto(reboot - 1));
    const r = await host.generationDiff();
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.message).toMatch(/no kexec -e at or before step/);
    okOf(await host.goto(reboot));
    const j = await host.generationDiff();
    expect(!j.ok && j.error.message).toMatch(/no kernel has read the handover yet/);
  });
});

describe('pageBytes', () => {
  it('serves the page, the same page one step and one kernel earlier, and the records on it', async () => {
    const host = await loaded('test-kho');
    const st = okOf(await host.state());
    const d = okOf(await host.generationDiff());
    const pfn = d.blocks.find((b) => b.fate === 'restored')!.pfn;
    const now = okOf(await host.pageBytes({ pfn }));
    expect(now.bytes).toHaveLength(PAGE_SIZE);
    expect(now.bases.step).toBe(st.cursor - 1);
    expect(now.bases.generation).toBe(d.beforeStep);
    const gen = okOf(await host.pageBytes({ pfn, base: 'generation' }));
    expect(gen.base!.changed).toBe(0);
    expect(gen.base!.label).toMatch(/^step \d+ \(kexec -e\): the RAM the previous kernel handed over$/);
    // The cursor's machine is untouched by building the earlier one.
    expect(okOf(await host.state()).cursor).toBe(st.cursor);
    const power = okOf(await host.pageBytes({ pfn, base: 0 }));
    expect(power.base!.changed).toBeGreaterThan(3000);
  });

  it('overlays the root FDT on its page (the fdt record decoder)', async () => {
    const host = await loaded('test-kho');
    const kho = okOf(await host.kho());
    const phys = kho.incoming!.fdtPhys;
    const v = okOf(await host.pageBytes({ pfn: phys / PAGE_SIZE }));
    expect(v.records.map((r) => r.kind)).toContain('fdt');
  });

  it('at kexec -e the setup_data page shows setup_data (SETUP_KEXEC_KHO) + kho_data (parse_setup_data())', async () => {
    const host = await loaded('test-kho');
    const steps = okOf(await host.state()).steps;
    okOf(await host.goto(steps.find((s) => s.command.op === 'reboot')!.index));
    const setup = okOf(await host.kho()).jumpChain!.find((h) => h.label === 'setup_data')!;
    const v = okOf(await host.pageBytes({ pfn: Math.floor(setup.phys / PAGE_SIZE) }));
    const rec = v.records.find((r) => r.kind === 'setup-data')!;
    expect(rec.title).toBe('setup_data (SETUP_KEXEC_KHO) + kho_data');
    expect(rec.header!.fields.map((f) => `${f.name}=${f.value}`)).toContain('type=10 (SETUP_KEXEC_KHO)');
    const fdt = rec.sections![0]!.fields.find((f) => f.name === 'fdt_addr')!;
    expect(fdt.opens).toEqual({ kind: 'fdt', phys: okOf(await host.kho()).entryFdtPhys });
    // The root FDT it names is in the index too: the walk followed fdt_addr.
    const root = okOf(await host.pageBytes({ pfn: fdt.phys! / PAGE_SIZE }));
    expect(root.records.map((r) => r.kind)).toContain('fdt');
  });

  it('refuses a pfn past RAM, a step outside the timeline, and an earlier kernel before any kexec', async () => {
    const host = await loaded('test-kho');
    const st = okOf(await host.state());
    const past = await host.pageBytes({ pfn: st.maxPfn });
    expect(!past.ok && past.error.message).toMatch(/beyond the end of RAM/);
    const step = await host.pageBytes({ pfn: 1, base: st.steps.length + 5 });
    expect(!step.ok && step.error.message).toMatch(/outside the timeline/);
    const bad = await host.pageBytes({ pfn: -1 } as never);
    expect(bad.ok).toBe(false);
    okOf(await host.goto(1));
    const gen = await host.pageBytes({ pfn: 1, base: 'generation' });
    expect(!gen.ok && gen.error.message).toMatch(/no kexec -e/);
  });
});
