/**
 * The whole window at 1280×720 and 1440×900 on the real engine host: no panel box overlaps
 * another, the header keeps one fixed height, the inspector keeps its minimum height, at every
 * phase of test-kho (boot, insmod, finalize, kexec -l, kexec -e, next kernel). Screenshots go to
 * test-results/browser/ux-<size>-<phase>.png.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { page } from 'vitest/browser';
import type { SimClient } from '../../shared/api';
import App from '../../renderer/src/App.svelte';
import type { AppApi } from '../../renderer/src/lib/api';
import { Host } from '../../electron/host/host';
import '../../renderer/src/app.css';

const SHOTS = '../../test-results/browser';

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function hostClient(host: Host): SimClient {
  return new Proxy(host as unknown as SimClient, {
    get(target, name: string) {
      if (name === 'onProgress') return () => () => {};
      const v = (target as unknown as Record<string, unknown>)[name];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** The panels that tile the window; none may overlap another. */
const PANELS = ['header', 'aside.left', '.centre', '.workload', '.inspector', '.bottom'];

function rect(sel: string): DOMRect {
  const el = document.querySelector(sel);
  if (!el) throw new Error(`no ${sel}`);
  return el.getBoundingClientRect();
}

/** A panel whose content is taller or wider than its box must clip or scroll it, not spill it. */
function spills(sel: string): boolean {
  const el = document.querySelector<HTMLElement>(sel)!;
  const cs = getComputedStyle(el);
  const tall = el.scrollHeight > el.clientHeight + 1 && cs.overflowY === 'visible';
  const wide = el.scrollWidth > el.clientWidth + 1 && cs.overflowX === 'visible';
  return tall || wide;
}

function overlaps(a: DOMRect, b: DOMRect): boolean {
  // One pixel of shared border is not an overlap.
  return a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
}

let cmp: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (cmp) unmount(cmp);
  cmp = null;
  document.body.innerHTML = '';
});

describe.each([
  [1280, 720],
  [1440, 900],
])('layout at %i×%i', (w, h) => {
  it('tiles header and panels without overlap at every phase of test-kho', async () => {
    await page.viewport(w, h);
    const host = new Host();
    const api: AppApi = { client: hostClient(host), transport: 'test', onMenu: () => () => {} };
    const loaded = await host.loadBuiltin('test-kho');
    expect(loaded.ok).toBe(true);
    const total = loaded.ok ? loaded.value.steps.length : 0;
    await host.goto(0);
    const target = document.createElement('div');
    document.body.appendChild(target);
    cmp = mount(App, { target, props: { api } });
    await until(() => document.querySelector('header dl') !== null, 'the header');
    const pos = () => document.querySelector('section.timeline .pos')?.textContent;
    for (let c = 0; c <= total; c++) {
      if (c > 0) document.querySelector<HTMLButtonElement>('button[aria-label="Step forward"]')!.click();
      await until(() => pos() === `${c}/${total}`, `step ${c}`);
      await until(() => !document.querySelector('[role="progressbar"]'), 'idle');
      await new Promise((r) => setTimeout(r, 250));
      flushSync();
      const rects = PANELS.map((s) => [s, rect(s)] as const);
      for (const [s, r] of rects) {
        expect(r.right, `${s} inside the window`).toBeLessThanOrEqual(w + 1);
        expect(r.bottom, `${s} inside the window`).toBeLessThanOrEqual(h + 1);
      }
      for (const s of PANELS) expect(spills(s), `${s} spills its content at step ${c}`).toBe(false);
      expect(rect('header').height, 'the header keeps its height').toBe(34);
      expect(rect('.inspector').height, 'the inspector keeps its minimum height').toBeGreaterThanOrEqual(259);
      for (let i = 0; i < rects.length; i++)
        for (let j = i + 1; j < rects.length; j++)
          expect(overlaps(rects[i]![1], rects[j]![1]), `${rects[i]![0]} overlaps ${rects[j]![0]} at step ${c}`).toBe(
            false,
          );
      if (c === 2) {
        // insmod test_kho: the inspector names the kernel function it models.
        const refs = [...document.querySelectorAll('[data-testid="kernel-ref"]')].map((e) => e.textContent!.trim());
        expect(refs).toContain('kho_preserve_folio() — kernel/liveupdate/kexec_handover.c');
      }
      await page.screenshot({ path: `${SHOTS}/ux-${w}x${h}-step${c}.png` });
    }
  });
});
