/**
 * A failed check names its culprit as data, not only in its message: test_kho's restore loop
 * (lib/test_kho.c: kho_test_restore_data()) stops at the folio kho_restore_folio() refuses, and
 * the step carries that pfn; the incoming handover lists its unrestored blocks
 * (kernel/liveupdate/kexec_handover.c: blocks whose KHO stamp nobody cleared).
 */
import { describe, expect, it } from 'vitest';
import { Host } from '../../../electron/host/host';
import { hex } from '../../../shared/units';
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
