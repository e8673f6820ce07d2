/**
 * Kernel N beside kernel N+1, "decided at": each block of the generation diff names the step that
 * decided its fate (the last step after the jump that changed the state of its pages, from the
 * page-state trace), and the link moves the timeline there. On the real engine host, test-kho on
 * 6.19: the restored folios were decided by insmod test_kho (kho_restore_folio()), the sub-FDT folio
 * it never restores by the boot that reserved it. Screenshot: test-results/browser/diff-view-decided.png.
 */
import { describe, expect, it } from 'vitest';
import { page } from 'vitest/browser';
import { okOf, runBuiltin, until, useApp } from './fixtures/app-host';

const SHOTS = '../../test-results/browser';
const mountApp = useApp();

const q = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel);
const rows = () => [...document.querySelectorAll<HTMLElement>('[data-testid="diff-row"]')];

describe('the diff view links a block to the step that decided it', () => {
  it('test-kho: restored folios at insmod test_kho, the leaked sub-FDT at the boot; the link moves the cursor there', async () => {
    const host = await runBuiltin('test-kho');
    const steps = okOf(await host.state()).steps;
    const insmod = steps.findLast((s) => s.command.op === 'insmod')!.index;
    const boot = steps.findLast((s) => s.command.op === 'boot')!.index;
    await mountApp(host, 1440, 900);
    q<HTMLButtonElement>('#tab-handover')!.click();
    await until(() => q('[data-testid="open-generation-diff"]') !== null, 'the Handover tab link');
    q<HTMLButtonElement>('[data-testid="open-generation-diff"]')!.click();
    await until(() => rows().length > 0, 'the diff rows');

    const link = (r: HTMLElement) => r.querySelector<HTMLButtonElement>('[data-testid="decided-at"]')!;
    for (const r of rows()) {
      const want = r.dataset.fate === 'restored' ? insmod : boot;
      expect(link(r).textContent!.trim(), `${r.dataset.fate} row`).toBe(`step ${want}`);
      expect(link(r).title).toBe(`Go to step ${want}: ${steps[want - 1]!.label}`);
    }
    await page.screenshot({ path: `${SHOTS}/diff-view-decided.png` });

    link(rows().find((r) => r.dataset.fate === 'leaked')!).click();
    await until(() => q('[data-testid="generation-diff"]') === null, 'the dialog closed');
    const current = () => q('ol.steps [aria-current="step"] .idx')?.textContent?.trim();
    await until(() => current() === String(boot), `the timeline's cursor at step ${boot}`);
    expect(okOf(await host.state()).cursor).toBe(boot);
  });
});
