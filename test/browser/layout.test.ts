/**
 * The whole window at 1280×720 and 1440×900 on the real engine host, at every step of test-kho and
 * luo-kexec-simple: no panel box overlaps another (header, timeline column, map, workload controls,
 * command transcript, inspector, dmesg), the transcript sits below the workload controls, the header
 * keeps one fixed height, the inspector keeps its minimum height, a panel that overflows scrolls.
 * Screenshots of the last step of every phase go to test-results/browser/ux-<size>-<scenario>-*.png.
 */
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import App from '../../renderer/src/App.svelte';
import type { AppApi } from '../../renderer/src/lib/api';
import { phaseGroups, stepPhases } from '../../renderer/src/lib/phases';
import { Host } from '../../electron/host/host';
import { hostClient, untilWithin, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css';

const SHOTS = '../../test-results/browser';
const until = untilWithin(60_000);

/** The panels that tile the window; none may overlap another. */
const PANELS = ['header', 'aside.left', '.centre', '.workload', '.transcript-pane', '.inspector', '.bottom'];

const button = (text: string) =>
  [...document.querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent?.trim() === text);

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

const mount = useMounted();

describe.each([
  [1280, 720],
  [1440, 900],
])('layout at %i×%i', (w, h) => {
  it.each(['test-kho', 'luo-kexec-simple'])(
    'tiles header and panels without overlap at every step of %s',
    async (name) => {
      await page.viewport(w, h);
      const host = new Host();
      const api: AppApi = { client: hostClient(host), transport: 'test', onMenu: () => () => {} };
      const target = document.createElement('div');
      document.body.appendChild(target);
      mount(App, { target, props: { api } });
      // Loaded through the Scenarios menu, as a user does: the transcript holds every command.
      await until(() => !!button('Scenarios ▾'), 'the menu button');
      if (document.querySelector('dialog[open]')) button('Cancel')!.click();
      button('Scenarios ▾')!.click();
      await until(() => !!document.querySelector(`[data-scenario="${name}"]`), 'the list');
      document.querySelector<HTMLButtonElement>(`[data-scenario="${name}"]`)!.click();
      const pos = () => document.querySelector('section.timeline .pos')?.textContent;
      await until(() => /^([1-9]\d*)\/\1$/.test(pos() ?? ''), 'the run');
      const state = await host.state();
      if (!state.ok) throw new Error(state.error.message);
      const steps = state.value.steps;
      const total = steps.length;
      // The last step of every phase gets a screenshot.
      const shots = new Map<number, string>(phaseGroups(stepPhases(steps)).map((g) => [g.last + 1, g.phase]));
      shots.set(0, 'power-on');
      document.querySelector<HTMLButtonElement>('section.timeline .steps button.step')!.click();
      for (let c = 0; c <= total; c++) {
        if (c > 0) document.querySelector<HTMLButtonElement>('button[aria-label="Step forward"]')!.click();
        await until(() => pos() === `${c}/${total}`, `step ${c}`);
        await until(() => !document.querySelector('[role="progressbar"]'), 'idle');
        await new Promise((r) => setTimeout(r, 150));
        flushSync();
        const rects = PANELS.map((s) => [s, rect(s)] as const);
        for (const [s, r] of rects) {
          expect(r.right, `${s} inside the window`).toBeLessThanOrEqual(w + 1);
          expect(r.bottom, `${s} inside the window`).toBeLessThanOrEqual(h + 1);
          expect(r.height, `${s} has room`).toBeGreaterThan(20);
        }
        for (const s of PANELS) expect(spills(s), `${s} spills its content at step ${c}`).toBe(false);
        expect(rect('header').height, 'the header keeps its height').toBe(34);
        expect(rect('.inspector').height, 'the inspector keeps its minimum height').toBeGreaterThanOrEqual(259);
        // The transcript is below the workload controls, as wide as they are, and shows a few lines.
        const [wl, tr] = [rect('.workload'), rect('.transcript-pane')];
        expect(tr.top, 'the transcript below the workload').toBeGreaterThanOrEqual(wl.bottom - 1);
        expect(Math.abs(tr.width - wl.width), 'the transcript as wide as the workload').toBeLessThanOrEqual(1);
        expect(tr.height, 'the transcript shows a few lines').toBeGreaterThanOrEqual(64);
        for (let i = 0; i < rects.length; i++)
          for (let j = i + 1; j < rects.length; j++)
            expect(overlaps(rects[i]![1], rects[j]![1]), `${rects[i]![0]} overlaps ${rects[j]![0]} at step ${c}`).toBe(
              false,
            );
        if (name === 'test-kho' && c === 2) {
          // insmod test_kho: the inspector names the kernel function it models.
          const refs = [...document.querySelectorAll('[data-testid="kernel-ref"]')].map((e) => e.textContent!.trim());
          expect(refs).toContain('kho_preserve_folio() — kernel/liveupdate/kexec_handover.c');
        }
        const phase = shots.get(c);
        if (phase) await page.screenshot({ path: `${SHOTS}/ux-${w}x${h}-${name}-${c}-${phase}.png` });
      }
    },
    120_000,
  );
});
