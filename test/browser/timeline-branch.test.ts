/**
 * The branching timeline in the UI, on the real engine host: stepping back and pressing A
 * (alloc_pages) starts a branch instead of deleting the later steps; the Branches list shows the
 * old future and Switch brings it back. Also the Cancel button of a cancelable replay.
 * Screenshots: test-results/browser/timeline-branch*.png.
 */
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import type { Progress } from '../../shared/views';
import App from '../../renderer/src/App.svelte';
import ProgressBar from '../../renderer/src/components/ProgressBar.svelte';
import type { AppApi } from '../../renderer/src/lib/api';
import { Host } from '../../electron/host/host';
import { hostClient, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css'; // the app's look, for the screenshots

const SHOTS = '../../test-results/browser';

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const mount = useMounted();

const cursorText = () => document.querySelector('section.timeline .pos')?.textContent ?? '';
const stepLabels = () =>
  [...document.querySelectorAll('section.timeline ol.steps li .step .label')].map((e) => e.textContent?.trim());

describe('Timeline branches in the UI', () => {
  it('a key pressed while stepped back starts a branch; the old future is listed and Switch returns to it', async () => {
    await page.viewport(1440, 900);
    const host = new Host();
    const loaded = await host.loadBuiltin('test-kho');
    if (!loaded.ok) throw new Error(loaded.error.message);
    const n = loaded.value.steps.length;
    const api: AppApi = { client: hostClient(host), transport: 'test', onMenu: () => () => {} };
    const target = document.createElement('div');
    target.style.cssText = 'width: 1440px; height: 900px';
    document.body.appendChild(target);
    mount(App, { target, props: { api } });
    await until(() => cursorText() === `${n}/${n}`, 'the loaded timeline');
    expect(document.querySelector('[data-testid="timeline-branches"]')).toBeNull(); // one branch: no list

    // Step back to just after boot (step 1), then press A.
    const back = document.querySelector<HTMLButtonElement>('button[aria-label="Step back"]')!;
    for (let c = n; c > 1; c--) {
      await until(() => !back.disabled, 'the step back button');
      back.click();
      await until(() => cursorText() === `${c - 1}/${n}`, `cursor ${c - 1}`);
    }
    const before = stepLabels();
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'a', bubbles: true }));
    await until(() => cursorText() === '2/2', 'the new step on a new branch');
    // "power on", the shared first step, then the new one.
    expect(stepLabels().slice(0, 2)).toEqual(before.slice(0, 2));
    expect(stepLabels()[2]).toMatch(/^alloc_pages/);

    const list = document.querySelector<HTMLElement>('[data-testid="timeline-branches"]')!;
    expect(list).not.toBeNull();
    const rows = [...list.querySelectorAll('li[data-branch]')];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.textContent).toContain('after 1:');
    expect(rows[0]!.textContent).toContain(`${n} steps`);
    flushSync();
    await page.screenshot({ path: `${SHOTS}/timeline-branch.png` });
    await page.screenshot({
      path: `${SHOTS}/timeline-branch-list.png`,
      element: document.querySelector('aside.left')!,
    });

    // Switch back: the old steps are all there, the cursor where it was left.
    rows[0]!.querySelector('button')!.click();
    await until(() => cursorText() === `1/${n}`, 'the old branch');
    expect(stepLabels()).toEqual(before);
    const rowsAfter = [...document.querySelectorAll('[data-testid="timeline-branches"] li[data-branch]')];
    expect(rowsAfter).toHaveLength(1);
    expect(rowsAfter[0]!.textContent).toContain('alloc_pages');
    await page.screenshot({
      path: `${SHOTS}/timeline-branch-switched.png`,
      element: document.querySelector('aside.left')!,
    });
  });

  it('a cancelable replay shows a Cancel button that calls cancel', async () => {
    await page.viewport(900, 200);
    let cancels = 0;
    const progress: Progress = { label: 'replaying step 7', done: 3, total: 10, cancelable: true };
    const target = document.createElement('div');
    target.style.cssText = 'position: relative; width: 900px; height: 120px';
    document.body.appendChild(target);
    mount(ProgressBar, {
      target,
      props: { busy: 'rewinding', progress, delayMs: 0, top: 0, oncancel: () => cancels++ },
    });
    await until(() => document.querySelector('button.cancel') !== null, 'the Cancel button');
    await page.screenshot({ path: `${SHOTS}/timeline-branch-cancel.png`, element: target });
    document.querySelector<HTMLButtonElement>('button.cancel')!.click();
    expect(cancels).toBe(1);
  });
});
