/**
 * A failed check names its culprit as data, not only in its message: test_kho's restore loop
 * (lib/test_kho.c: kho_test_restore_data()) stops at the folio kho_restore_folio() refuses, and
 * the step carries that pfn; the incoming handover lists its unrestored blocks
 * (kernel/liveupdate/kexec_handover.c: blocks whose KHO stamp nobody cleared).
 */
import { describe, expect, it } from 'vitest';
import { Host } from '../../../electron/host/host';
import { PAGE_SIZE, hex } from '../../../shared/units';
import { PageCategory } from '../../../shared/palette';
import type { CommandInput } from '../../../shared/commands';
import { BUILTIN_SCENARIOS } from '../../../electron/host/builtins';
import { okOf } from '../kho/helpers';

describe('failures carry their pfns', () => {
  it('test-kho-forgot-one: kho_test_restore_data() failure names the folio pfn in failedAt', async () => {
    const host = new Host();
    okOf(await host.loadBuiltin('test-kho-forgot-one'));
    const report = okOf(await host.report());
    const bad = report.steps.filter((s) => !s.ok);
    expect(bad).toHaveLength(1);
    const at = bad[0]!.failedAt;
    expect(at).toBeDefined();
    expect(bad[0]!.message).toContain(`at pfn ${hex(at!.pfn)}`);
    expect(at!.what).toMatch(/^test_kho folio 3 \(order \d+\): kho_restore_folio failed$/);
  });

  it('test-kho-forgot-one: the incoming view lists each unrestored block, as many as it counts', async () => {
    const host = new Host();
    okOf(await host.loadBuiltin('test-kho-forgot-one'));
    const inc = okOf(await host.kho()).incoming!;
    expect(inc.unrestoredBlocks).toBeGreaterThan(0);
    expect(inc.unrestored).toHaveLength(inc.unrestoredBlocks);
    const pfns = inc.unrestored.map((b) => b.pfn);
    expect(pfns).toEqual([...pfns].sort((a, b) => a - b));
  });

  it('test-kho: a passing restore carries no failedAt and leaves no unrestored blocks but the sub-FDT', async () => {
    const host = new Host();
    okOf(await host.loadBuiltin('test-kho'));
    const report = okOf(await host.report());
    expect(report.steps.every((s) => s.ok && s.failedAt === undefined)).toBe(true);
    const inc = okOf(await host.kho()).incoming!;
    expect(inc.unrestored).toHaveLength(inc.unrestoredBlocks);
  });
});

/** The steps of built-in `name`, with `extra` spliced in before step `at` (0-based). */
function stepsWith(name: string, at: number, extra: CommandInput[]): CommandInput[] {
  const steps = [...(BUILTIN_SCENARIOS[name]!.steps as CommandInput[])];
  steps.splice(at, 0, ...extra);
  return steps;
}

async function runAll(host: Host, steps: CommandInput[]): Promise<void> {
  for (const s of steps) okOf(await host.run(s));
}

/**
 * luo-kexec-simple's "hello kexec world" memfd folio (session "test-session"; the state session
 * "kexec_simple_state" comes first) as memfd-v1 records it: where its memfd_luo_folio_ser sits and
 * the pfn it names.
 */
async function memfdFolioRecord(host: Host): Promise<{ fieldPhys: number; pfn: number }> {
  const file = okOf(await host.luo())!.outgoing.find((s) => s.name === 'test-session')!.files[0]!;
  let rec = okOf(await host.records({ kind: 'memfd-luo-ser', phys: file.data }));
  for (let hops = 0; rec.kind !== 'memfd-folio-array' && hops < 4; hops++) {
    const next = [...(rec.header?.fields ?? []), ...(rec.array?.elements.flat() ?? [])].find((f) => f.opens)!.opens!;
    rec = okOf(await host.records(next));
  }
  const field = rec.array!.elements[0]![0]!;
  return { fieldPhys: rec.phys + field.offset, pfn: field.phys! / PAGE_SIZE };
}

const SIMPLE = 'luo-kexec-simple';
/** Index of luo-kexec-simple's `kexec -e`: pokes go just before it. */
const simpleReboot = (): number =>
  (BUILTIN_SCENARIOS[SIMPLE]!.steps as CommandInput[]).findIndex((s) => s.op === 'reboot');

describe('failures name their culprit and paint it', () => {
  it('test-kho-forgot-one: the folio kho_test_restore_data() stopped at is painted corrupted', async () => {
    const host = new Host();
    okOf(await host.loadBuiltin('test-kho-forgot-one'));
    const at = okOf(await host.report()).steps.find((s) => !s.ok)!.failedAt!;
    expect(at.pages).toBeGreaterThanOrEqual(1);
    const page = okOf(await host.page(at.pfn));
    expect(page.category).toBe(PageCategory.Corrupted);
    const cell = okOf(await host.mapView({ firstPfn: at.pfn, pagesPerCell: 1, cells: at.pages }));
    expect([...cell.cells].every((c) => c === PageCategory.Corrupted)).toBe(true);
  });

  it('a poked data/csum: kho_test_restore_data() checksum failure names the csum property of the sub-FDT', async () => {
    const host = new Host();
    const t = BUILTIN_SCENARIOS['test-kho']!;
    const boot2 = t.steps.findIndex((s, i) => i > 0 && s.op === 'boot');
    okOf(await host.newMachine(t.machine!));
    await runAll(
      host,
      stepsWith('test-kho', boot2, [{ op: 'poke', fdt: 'kho_test', property: 'data/csum', hex: 'deadbeef' }]),
    );
    const bad = okOf(await host.report()).steps.filter((s) => !s.ok);
    expect(bad).toHaveLength(1);
    const at = bad[0]!.failedAt!;
    expect(at.what).toMatch(/^kho_test data\/csum 0xefbeadde: the folios sum to 0x[0-9a-f]{8}$/);
    // The field's address holds the poked bytes.
    expect([...okOf(await host.readPhys(at.phys!, 4))]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(at.pfn).toBe(Math.floor(at.phys! / PAGE_SIZE));
    expect(okOf(await host.page(at.pfn)).category).toBe(PageCategory.Corrupted);
  });

  it('a poked memfd_luo_folio_ser.pfn: memfd_luo_retrieve() EIO names the folio it could not restore', async () => {
    const host = new Host();
    const steps = BUILTIN_SCENARIOS[SIMPLE]!.steps as CommandInput[];
    okOf(await host.newMachine(BUILTIN_SCENARIOS[SIMPLE]!.machine!));
    await runAll(host, steps.slice(0, simpleReboot()));
    const rec = await memfdFolioRecord(host);
    const raw = okOf(await host.readPhys(rec.fieldPhys, 8));
    const wrong = rec.pfn + 1; // never preserved
    const v = new DataView(raw.buffer, raw.byteOffset).getBigUint64(0, true) + 1n;
    okOf(await host.run({ op: 'poke', phys: hex(rec.fieldPhys), u64: `0x${v.toString(16)}` }));
    await runAll(host, steps.slice(simpleReboot()));
    const bad = okOf(await host.report()).steps.filter((s) => !s.ok);
    expect(bad[0]!.errno).toBe('EIO');
    expect(bad[0]!.failedAt).toEqual({
      pfn: wrong,
      pages: 1,
      what: 'memfd folio index 0: kho_restore_folio failed',
    });
    expect(okOf(await host.page(wrong)).category).toBe(PageCategory.Corrupted);
  });

  it('a poked memfd page: the expect_content failure names the page whose bytes differ', async () => {
    const host = new Host();
    const steps = BUILTIN_SCENARIOS[SIMPLE]!.steps as CommandInput[];
    okOf(await host.newMachine(BUILTIN_SCENARIOS[SIMPLE]!.machine!));
    await runAll(host, steps.slice(0, simpleReboot()));
    const { pfn } = await memfdFolioRecord(host);
    okOf(await host.run({ op: 'poke', phys: hex(pfn * PAGE_SIZE + 6), string: 'KEXEC' }));
    // Up to the check of "hello kexec world": the close() after it would free the page it names.
    const check = steps.findLastIndex((s) => s.op === 'expect_content');
    await runAll(host, steps.slice(simpleReboot(), check + 1));
    const bad = okOf(await host.report()).steps.filter((s) => !s.ok);
    expect(bad).toHaveLength(1);
    expect(bad[0]!.command.op).toBe('expect_content');
    expect(bad[0]!.failedAt).toEqual({ pfn, pages: 1, what: 'fd 6 byte 6 differs' });
    expect(okOf(await host.page(pfn)).category).toBe(PageCategory.Corrupted);
  });
});
