/**
 * The chunk viewer on the real engine host through every step of test-kho: in the next kernel
 * the incoming chunk list is the copy kho_mem_deserialize() read at early boot, with the marker
 * "read at early boot; these pages have since been freed and overwritten", and nowhere in the
 * DOM is there "Infinity" or a num_elms above 255 (the scribbled pages decoded as data).
 * Screenshot: test-results/browser/chunks-read-at-boot.png.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { page } from 'vitest/browser';
import type { SimApi } from '../../shared/api';
import ChunkViewer from '../../renderer/src/components/ChunkViewer.svelte';
import { Host } from '../../electron/host/host';
import '../../renderer/src/app.css'; // the app's look, for the screenshot

const MARKER = 'read at early boot; these pages have since been freed and overwritten';
const NEXT_KERNEL = 6;

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
    flushSync();
  }
}
const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

let cmp: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (cmp) unmount(cmp);
  cmp = null;
  document.body.innerHTML = '';
});

/** num_elms as the list and the struct viewer print them. */
function numElms(): number[] {
  const rows = [...document.querySelectorAll('[data-testid="chunk-list"] tbody tr[data-chunk]')];
  const col = rows.map((r) => Number(r.querySelectorAll('td')[4]!.textContent!.trim()));
  const header = byTestId('struct-header')?.textContent ?? '';
  const field = /num_elms\s*u32\s*(\d+)/.exec(header);
  return field ? [...col, Number(field[1])] : col;
}

describe('ChunkViewer on the real host: the next kernel never decodes freed chunk pages', () => {
  it('kho_mem_deserialize(): every step of test-kho — no garbage; the next kernel shows the early-boot copy with its marker', async () => {
    const host = new Host();
    const loaded = await host.loadBuiltin('test-kho');
    expect(loaded.ok).toBe(true);
    const api = host as unknown as Pick<SimApi, 'fdt' | 'chunks' | 'records'>;
    const target = document.body.appendChild(document.createElement('div'));
    target.style.width = '720px';
    await page.viewport(1280, 900);
    for (let step = 0; step <= host.stepCount; step++) {
      expect((await host.goto(step)).ok).toBe(true);
      const kho = await host.kho();
      if (!kho.ok) throw new Error(kho.error.message);
      if (cmp) unmount(cmp);
      cmp = mount(ChunkViewer, {
        target,
        props: { api, kho: kho.value, revision: step, head: null, onphys: () => {} },
      });
      const hasList = kho.value.outgoing?.finalized || kho.value.incoming || kho.value.entryFdtPhys;
      if (hasList) await until(() => byTestId('chunk-hex') !== null, `the chunk page at step ${step}`);
      const text = byTestId('chunk-viewer')!.textContent!;
      expect(text, `step ${step}`).not.toMatch(/Infinity|NaN/);
      for (const n of numElms()) expect(n, `num_elms at step ${step}`).toBeLessThanOrEqual(255);
      if (step >= NEXT_KERNEL) {
        expect(byTestId('chunk-read-at-boot')!.textContent).toContain(MARKER);
        expect(text).toContain('10 chunk pages');
        expect(byTestId('chunk-record-read-at-boot')!.textContent).toContain(MARKER);
        expect(byTestId('chunk-hex')!.textContent).toContain('as the kernel read them at early boot');
        if (step === NEXT_KERNEL)
          await page.screenshot({ path: '../../test-results/browser/chunks-read-at-boot.png', element: target });
      } else expect(byTestId('chunk-read-at-boot')).toBeNull();
    }
  });
});
