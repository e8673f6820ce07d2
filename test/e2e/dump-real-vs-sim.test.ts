/**
 * A real machine beside a simulated one, in the browser preview, as a kernel engineer uses it
 * (issue 11): Open memory dump… picks the real 7.2.13 handover the realkernel folder ships (the
 * full LUO run at machine_kexec(), cut to its preserved pages), the dump inspector's "Compare with
 * simulation…" offers the selftests that handover carries and its release, runs
 * builtin:luo-kexec-simple on the simulated 7.2 in the preview worker, and shows both memories and
 * the fidelity report. Screenshots: test-results/e2e/real-vs-sim.png (1600×900),
 * real-vs-sim-1280x720.png, and the dump alone, real-dump-1280x720.png. Any console or page error fails.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHIPPED_REAL_HANDOVER } from '../../electron/cli-real';
import { SHOTS, openApp, useApp } from './harness';

/** KHO_LAB_REAL_DUMP names another real dump (e.g. the 1 GiB one `sim real --open` keeps); shots get a -full suffix. */
const DUMP = process.env.KHO_LAB_REAL_DUMP ?? SHIPPED_REAL_HANDOVER;
const suffix = process.env.KHO_LAB_REAL_DUMP ? '-full' : '';
const skip = existsSync(DUMP) ? null : `${DUMP} is absent`;
if (skip) console.log(`real-vs-sim e2e: skipped — ${skip}`);

useApp();

describe.skipIf(skip !== null)('the shipped real dump beside the simulation', () => {
  it('Open memory dump…, Compare with simulation…, luo-kexec-simple on 7.2: nothing differs', async () => {
    const { page, problems } = await openApp();
    // A fresh session opens the New Machine dialog; the dump replaces whatever is shown.
    await page.keyboard.press('Escape');
    await page.getByTestId('dump-file-input').setInputFiles(DUMP);
    await page.getByTestId('dump-bar').waitFor({ timeout: 100_000 });
    expect(await page.getByTestId('dump-bar').textContent()).toContain(basename(DUMP));
    // The real dump alone, with the inspector's way to the comparison, at the smallest supported window.
    await page.setViewportSize({ width: 1280, height: 720 });
    await expect.poll(() => page.getByTestId('dump-compare-sim').isVisible()).toBe(true);
    await page.screenshot({ path: join(SHOTS, `real-dump-1280x720${suffix}.png`) });
    await page.setViewportSize({ width: 1600, height: 900 });

    await page.getByTestId('dump-compare-sim').click();
    const side = page.getByTestId('side-by-side');
    await side.waitFor();
    // Preselected from the handover (the shipped one carries test_kho's sub-FDT first); kexec-metadata names 7.2.13.
    await page.waitForFunction(() =>
      Boolean((document.querySelector('[data-testid="side-scenario"]') as HTMLSelectElement | null)?.value),
    );
    if (!suffix) expect(await side.getByTestId('side-scenario').inputValue()).toBe('test-kho');
    expect(await side.getByTestId('side-kernel').inputValue()).toBe('7.2');
    await side.getByTestId('side-scenario').selectOption('luo-kexec-simple');
    await side.getByTestId('side-run').click();
    await side.getByTestId('side-counts').waitFor({ timeout: 90_000 });
    expect(await side.getByTestId('side-counts').textContent()).toMatch(/^\d+ match · \d+ by nature · 0 differ$/);

    // The test-session's memfd record, on both maps.
    await side
      .locator('tbody', { hasText: 'LUO session test-session file 0x1a' })
      .getByRole('button', { name: 'memfd nr_folios' })
      .click();
    for (const s of ['real', 'sim'])
      expect(await side.getByTestId(`side-map-${s}`).getAttribute('data-selected')).toBe('memfd:test-session:0x1a');
    expect(await side.getByTestId('side-caption-sim').textContent()).toContain('session "test-session" token 0x1a');

    for (const [w, h, name] of [
      [1600, 900, `real-vs-sim${suffix}.png`],
      [1280, 720, `real-vs-sim-1280x720${suffix}.png`],
    ] as const) {
      await page.setViewportSize({ width: w, height: h });
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const box = (await side.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(w);
      expect(box.y + box.height).toBeLessThanOrEqual(h);
      await page.screenshot({ path: join(SHOTS, name) });
    }
    expect(problems).toEqual([]);
  });
});
