/**
 * The side-by-side view through the host API (issue 11): the real 7.2.13 handover the realkernel
 * folder ships, opened as a dump, beside KHO Lab's run of the built-in scenario its selftest
 * stands for — the same rows `sim fidelity` prints, each structure keyed so its counterpart is
 * found on the other side, both maps painted by the same reader; the scenario list of a dump
 * without LUO sessions; cancel.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHIPPED_REAL_HANDOVER, fidelityCommand } from '../../../electron/cli-real';
import { openDumpFile } from '../../../electron/dump-file';
import { Host } from '../../../electron/host/host';
import type { DumpSource } from '../../../electron/host/dump/source';
import { rowKey } from '../../../electron/host/dump/side-by-side';
import { appArgs, openLaunch, parseLaunchArgs } from '../../../electron/launch-args';
import type { FidelityReport } from '../../../electron/host/fidelity';
import type { SideBySideView } from '../../../shared/side-by-side';
import { PageCategory } from '../../../shared/palette';

const skip = existsSync(SHIPPED_REAL_HANDOVER) ? null : `${SHIPPED_REAL_HANDOVER} is absent`;
if (skip) console.log(`side-by-side: skipped — ${skip}`);
const dir = mkdtempSync(join(tmpdir(), 'kho-lab-side-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A host that opens paths from disk, and `mem:NAME` from `mem`. */
function host(mem: Record<string, DumpSource> = {}, extra: ConstructorParameters<typeof Host>[0] = {}): Host {
  return new Host({
    ...extra,
    openDumpSource: (h) => {
      if (typeof h !== 'string') throw new Error('paths only');
      if (!h.startsWith('mem:')) return openDumpFile(h);
      const src = mem[h.slice(4)];
      if (!src) throw new Error(`${h}: ENOENT`);
      return src;
    },
  });
}

const value = <T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T => {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

describe('rowKey: each fidelity row names the structure it is about', () => {
  it.each([
    ['root', 'totalsize', 'root-fdt'],
    ['sub-node kho_test', 'present', 'sub:kho_test'],
    ['kexec-metadata', 'previous_release', 'sub:kexec-metadata'],
    ['LUO', 'compatible', 'sub:LUO'],
    ['LUO', 'session blocks', 'luo-sessions'],
    ['LUO', 'FLB counts', 'luo-flb'],
    ['LUO session test-session', 'file blocks', 'session:test-session'],
    ['LUO session test-session file 0x1a', 'memfd size', 'memfd:test-session:0x1a'],
    ['tracker', 'preserved blocks', 'tracker'],
  ])('%s / %s → %s', (where, field, key) => expect(rowKey(where, field)).toBe(key));
});

describe.skipIf(skip !== null)('the shipped real 7.2.13 handover beside the simulation, through the host API', () => {
  let view: SideBySideView;
  const h = host();

  it('simulationChoice: the handover carries all three selftests; kexec-metadata names 7.2', async () => {
    value(await h.openDump(SHIPPED_REAL_HANDOVER));
    const c = value(await h.simulationChoice());
    expect(c.scenarios.map((s) => [s.name, s.carried])).toEqual([
      ['test-kho', true],
      ['luo-kexec-simple', true],
      ['luo-multi-session', true],
    ]);
    expect(c.scenarios[1]!.why).toMatch(/kexec_simple_state, test-session/);
    expect(c.preselect).toBe('test-kho');
    expect(c).toMatchObject({ release: '7.2', releaseWhy: 'kexec-metadata names "7.2.13"' });
  });

  it('compareWithSimulation(luo-kexec-simple, 7.2): the rows are those of `sim fidelity`, nothing differs', async () => {
    view = value(await h.compareWithSimulation({ scenario: 'luo-kexec-simple', kernel: '7.2' }));
    const json = join(dir, 'simple.json');
    const cli = await fidelityCommand(['--real', SHIPPED_REAL_HANDOVER, '--json', json, 'luo-kexec-simple'], {
      out: () => {},
      err: () => {},
    });
    expect(cli).toEqual({ ok: true, value: 0 });
    const rep = JSON.parse(readFileSync(json, 'utf8')) as FidelityReport;
    expect(view.rows.map(({ key: _key, ...r }) => r)).toEqual(rep.rows);
    expect(view.counts).toEqual({ match: rep.matches, nature: rep.nature, differs: 0 });
    expect(view).toMatchObject({ scenario: 'luo-kexec-simple', selftest: 'luo_simple', kernel: '7.2' });
    expect(view.real.release).toBe('7.2.13');
    expect(view.sim.name).toBe('builtin:luo-kexec-simple on 7.2 (simulated)');
    expect(value(await h.sideBySide())).toEqual(view);
  });

  it('counterparts: the same structures on both sides, at different pages', () => {
    const keys = (m: SideBySideView['real']) => new Set(m.structures.map((s) => s.key));
    const both = [...keys(view.real)].filter((k) => keys(view.sim).has(k));
    expect(both).toEqual(
      expect.arrayContaining([
        'root-fdt',
        'sub:LUO',
        'sub:kexec-metadata',
        'tracker',
        'luo-sessions',
        'luo-flb',
        'session:test-session',
        'session:kexec_simple_state',
        'memfd:test-session:0x1a',
        'folio:test-session:0x1a:0',
      ]),
    );
    // The real test-session's folio is pfn 0x1777 (decode_kho.py); the simulated one lies elsewhere.
    const folio = (m: SideBySideView['real']) => m.structures.find((s) => s.key === 'folio:test-session:0x1a:0')!;
    expect(folio(view.real).ranges).toEqual([[0x1777, 1]]);
    expect(folio(view.sim).ranges[0]![0]).not.toBe(0x1777);
    // The maps end after the RAM and structures each side holds.
    for (const m of [view.real, view.sim]) {
      expect(m.extentPfn).toBeLessThanOrEqual(m.maxPfn);
      for (const st of m.structures) for (const [a, n] of st.ranges) expect(a + n).toBeLessThanOrEqual(m.extentPfn);
    }
    // Sessions of the other selftests exist on the real side only.
    expect(keys(view.real).has('session:multi-test-files-2')).toBe(true);
    expect(keys(view.sim).has('session:multi-test-files-2')).toBe(false);
    // Every row naming a structure names one at least one side has.
    for (const r of view.rows.filter((r) => r.key))
      expect(keys(view.real).has(r.key!) || keys(view.sim).has(r.key!), `${r.where} / ${r.field}`).toBe(true);
  });

  it('sideMapView paints both sides with the same reader: the folio page is preserved on each', async () => {
    const at = (side: 'real' | 'sim', pfn: number) =>
      h.sideMapView(side, { firstPfn: pfn, pagesPerCell: 1, cells: 1 }).then((r) => value(r).cells[0]);
    const folio = (m: SideBySideView['real']) =>
      m.structures.find((s) => s.key === 'folio:test-session:0x1a:0')!.ranges[0]![0];
    expect(await at('real', folio(view.real))).toBe(PageCategory.Preserved);
    expect(await at('sim', folio(view.sim))).toBe(PageCategory.Preserved);
    const root = (m: SideBySideView['real']) => m.structures.find((s) => s.key === 'root-fdt')!.ranges[0]![0];
    expect(await at('sim', root(view.sim))).toBe(PageCategory.KhoMetadata);
    // The simulated side is a whole-RAM dump, as QEMU's is: a page no structure names is other RAM
    // in the dump on both sides, not a hole (free RAM was left out at the default dump level).
    const named = (pfn: number) =>
      [view.real, view.sim].some((m) => m.structures.some((x) => x.ranges.some(([a, n]) => a <= pfn && pfn < a + n)));
    const free = [0x8000, 0x20000, 0x30000].find((p) => !named(p))!;
    expect(await at('sim', free)).toBe(PageCategory.FreeUnmovable);
    expect(value(await h.sideMapView('real', { firstPfn: 0, pagesPerCell: 64, cells: 4096 })).cells).toHaveLength(4096);
  });

  it('refuses what main would: a scenario not in the list, a release not modelled, no dump open', async () => {
    const bad = await h.compareWithSimulation({ scenario: 'luo-vm', kernel: '7.2' } as never);
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
    expect(!bad.ok && bad.error.message).toMatch(/"luo-vm" has no counterpart in the real kernel's selftests/);
    const rel = await h.compareWithSimulation({ scenario: 'test-kho', kernel: '9.9' } as never);
    expect(!rel.ok && rel.error.message).toMatch(/unknown kernel release "9.9"/);
    const fresh = host();
    const none = await fresh.compareWithSimulation({ scenario: 'test-kho', kernel: '7.2' });
    expect(!none.ok && none.error.message).toMatch(/open a memory dump first/);
    expect(value(await fresh.sideBySide())).toBeNull();
  });

  it('a new machine closes the dump and the comparison with it', async () => {
    value(await h.newMachine({ ram: '64M' }));
    expect(value(await h.sideBySide())).toBeNull();
    expect(await h.sideMapView('sim', { firstPfn: 0, pagesPerCell: 1, cells: 1 })).toMatchObject({ ok: false });
  });
});

describe.skipIf(skip !== null)('compareWithSimulation: what a dump allows, and cancel', () => {
  it('a dump without LUO sessions: only test-kho is possible, and the list says what the others need', async () => {
    const sim = value(await new Host().simulateAtKexec('test-kho', '7.2'));
    const h = host({ kho: sim });
    value(await h.openDump('mem:kho'));
    const c = value(await h.simulationChoice());
    expect(c.preselect).toBe('test-kho');
    expect(c.scenarios.map((s) => s.carried)).toEqual([true, false, false]);
    expect(c.scenarios[0]!.why).toBe('the handover has its "kho_test" sub-FDT');
    expect(c.scenarios[2]!.why).toMatch(
      /does not hold what luo_multi leaves in it: its LUO sessions \(kexec_multi_state/,
    );
    expect(c.release).toBe('7.2');
  });

  it('a 6.19 handover (kho-v1, no kexec-metadata): the release is the oldest modelled one writing its compatible', async () => {
    const sim = value(await new Host().simulateAtKexec('test-kho', '6.19'));
    const h = host({ v1: sim });
    value(await h.openDump('mem:v1'));
    const c = value(await h.simulationChoice());
    expect(c).toMatchObject({ release: '6.19', preselect: 'test-kho' });
    expect(c.releaseWhy).toMatch(/^no kexec-metadata; "kho-v1" is written by Linux 6\.16–7\.0$/);
  });

  it('cancel() stops the simulation at its next step: a cancelled answer and no comparison', async () => {
    let clock = 0;
    const h = host({}, { now: () => (clock += 1000), yieldToEvents: () => new Promise((r) => setImmediate(r)) });
    value(await h.openDump(SHIPPED_REAL_HANDOVER));
    const running = h.compareWithSimulation({ scenario: 'luo-multi-session', kernel: '7.2' });
    await new Promise((r) => setImmediate(r));
    expect(value(await h.cancel())).toBe(true);
    const r = await running;
    expect(r).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(value(await h.sideBySide())).toBeNull();
    // The real dump is still open, and a second attempt runs to the end.
    expect(value(await h.dump())).not.toBeNull();
    expect(value(await h.compareWithSimulation({ scenario: 'luo-multi-session', kernel: '7.2' })).counts.differs).toBe(
      0,
    );
  });

  it("the command `fidelity --open` prints opens both side by side: npm start -- --real … --sim … through main's parser", async () => {
    const out: string[] = [];
    const r = await fidelityCommand(['--real', SHIPPED_REAL_HANDOVER, '--open', dir, 'luo-multi-session'], {
      out: (l) => out.push(l),
      err: () => {},
    });
    expect(r).toEqual({ ok: true, value: 0 });
    const line = out.find((l) => l.trim().startsWith('npm start -- '))!;
    const args = appArgs(['electron', '/app', ...line.trim().slice('npm start -- '.length).split(' ')], true);
    const req = parseLaunchArgs(args);
    expect(req).toEqual({
      ok: true,
      value: { real: SHIPPED_REAL_HANDOVER, sim: join(dir, 'kho-lab-luo-multi-session-7.2.vmcore') },
    });
    const h = host();
    const opened = value(await openLaunch(h, req.ok ? req.value! : (null as never)));
    expect(opened).toMatchObject({ compare: 'sim-dump', dump: { compatible: 'kho-v4' } });
    expect(value(await h.sideBySide())).toMatchObject({
      scenario: 'luo-multi-session',
      kernel: '7.2',
      sim: { release: '7.2.0-kholab' },
      counts: { differs: 0 },
    });
  });

  it('compareWithDump: a KHO Lab vmcore file as the simulated side, its scenario read from its sessions', async () => {
    const sim = value(await new Host().simulateAtKexec('luo-multi-session', '7.2'));
    const h = host({ multi: sim });
    value(await h.openDump(SHIPPED_REAL_HANDOVER));
    const v = value(await h.compareWithDump('mem:multi'));
    expect(v).toMatchObject({ scenario: 'luo-multi-session', selftest: 'luo_multi', counts: { differs: 0 } });
    const bad = await h.compareWithDump('mem:nothing');
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
  });
});
