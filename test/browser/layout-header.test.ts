/**
 * The header on the real engine host: one fixed-height row that never truncates, wraps or overlaps
 * at 1280, 1440 and 1600 px, with the FAILED badge of test-kho-forgot-one and a long scenario name;
 * and its Menu, a keyboard-accessible menu button holding the file and tool actions.
 * Screenshots: test-results/browser/header-<width>.png, header-menu.png.
 */
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { page, userEvent } from 'vitest/browser';
import App from '../../renderer/src/App.svelte';
import type { AppApi } from '../../renderer/src/lib/api';
import { elideMiddle } from '../../renderer/src/lib/format';
import { menuMove } from '../../renderer/src/lib/menu-nav';
import { Host } from '../../electron/host/host';
import { hostClient, untilWithin, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css';

const SHOTS = '../../test-results/browser';
const until = untilWithin(60_000);

const mount = useMounted();

const button = (text: string) =>
  [...document.querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent?.trim() === text);
const menuItems = () => [...document.querySelectorAll<HTMLButtonElement>('#app-menu [role="menuitem"]')];

/** The App on a fresh host with `text` opened as the scenario file `file`, run to its end. */
async function appWithFile(text: string, file: string): Promise<void> {
  const host = new Host();
  const api: AppApi = { client: hostClient(host), transport: 'test', onMenu: () => () => {} };
  const target = document.createElement('div');
  document.body.appendChild(target);
  mount(App, { target, props: { api } });
  await until(() => !!button('Menu ▾'), 'the menu button');
  if (document.querySelector('dialog[open]')) button('Cancel')!.click();
  const input = document.querySelector<HTMLInputElement>('input[aria-label="Scenario file to open"]')!;
  const dt = new DataTransfer();
  dt.items.add(new File([text], file));
  input.files = dt.files;
  input.dispatchEvent(new Event('change', { bubbles: true }));
  await until(
    () => /^([1-9]\d*)\/\1$/.test(document.querySelector('section.timeline .pos')?.textContent ?? ''),
    'the run',
  );
  await until(() => !!document.querySelector('[data-testid="failure-badge"]'), 'the failure badge');
  flushSync();
}

/** test-kho-forgot-one's scenario text. */
async function forgotOne(): Promise<string> {
  const h = new Host();
  if (!(await h.loadBuiltin('test-kho-forgot-one')).ok) throw new Error('no builtin');
  const s = await h.scenario();
  if (!s.ok) throw new Error(s.error.message);
  return JSON.stringify(s.value);
}

describe('header', () => {
  const LONG = 'test-kho-forgot-one-with-a-rather-long-file-name-for-the-header';

  it.each([1280, 1440, 1600])(
    'at %i px holds title, kernel, state, scenario, FAILED badge and actions in one row, nothing cut',
    async (w) => {
      await page.viewport(w, 800);
      await appWithFile(await forgotOne(), `${LONG}.json`);
      const header = document.querySelector<HTMLElement>('header.top')!;
      const hr = header.getBoundingClientRect();
      expect(hr.height).toBe(34);
      expect(header.scrollWidth, 'the header does not overflow').toBeLessThanOrEqual(header.clientWidth);
      // Every item whole, inside the bar, side by side in one row.
      const items = [...header.children].filter((e) => getComputedStyle(e).display !== 'none');
      const rects = items.map((e) => e.getBoundingClientRect()).filter((r) => r.width > 0);
      for (const r of rects) {
        expect(r.left).toBeGreaterThanOrEqual(hr.left);
        expect(r.right).toBeLessThanOrEqual(hr.right - 4);
        expect(r.top).toBeGreaterThanOrEqual(hr.top);
        expect(r.bottom).toBeLessThanOrEqual(hr.bottom);
      }
      for (let i = 1; i < rects.length; i++) expect(rects[i]!.left).toBeGreaterThanOrEqual(rects[i - 1]!.right);
      // No text clipped anywhere in it.
      for (const el of header.querySelectorAll<HTMLElement>('dd, button, .brand')) {
        expect(el.scrollWidth, el.textContent!).toBeLessThanOrEqual(el.clientWidth + 1);
        expect(el.getBoundingClientRect().height, el.textContent!).toBeLessThanOrEqual(26);
      }
      const badge = document.querySelector<HTMLElement>('[data-testid="failure-badge"]')!;
      expect(badge.textContent!.trim()).toMatch(/^FAILED · step \d+: insmod$/);
      expect(document.querySelector('[data-testid="kernel-release"]')!.textContent!.trim()).toBe(
        '6.19.0-kholab\u00a0#2',
      );
      expect(header.querySelector('dd.state')!.textContent!.trim()).toBe('running');
      // The long name keeps both ends; the tooltip has it whole.
      const scenario = header.querySelector<HTMLElement>('.scenario')!;
      expect(scenario.querySelector('dd')!.textContent!.trim()).toBe(elideMiddle(LONG, 32));
      expect(scenario.title).toBe(`scenario ${LONG}`);
      for (const b of ['Scenarios ▾', 'New machine…', 'Boot', 'Menu ▾']) expect(button(b), b).toBeTruthy();
      await page.screenshot({ path: `${SHOTS}/header-${w}.png` });
    },
  );

  it('after kexec -e fits "kexec -e done, no kernel", the long name and "Boot next kernel" at 1280 px', async () => {
    await page.viewport(1280, 720);
    await appWithFile(await forgotOne(), `${LONG}.json`);
    const steps = [...document.querySelectorAll<HTMLButtonElement>('section.timeline .steps button.step')];
    const reboot = [...document.querySelectorAll('section.timeline .steps .label')].findIndex(
      (l) => l.textContent!.trim() === 'kexec -e',
    );
    expect(reboot).toBeGreaterThan(0);
    steps[reboot]!.click();
    await until(() => !!button('Boot next kernel'), 'the jump');
    const header = document.querySelector<HTMLElement>('header.top')!;
    expect(header.textContent).toContain('kexec -e done, no kernel');
    expect(header.scrollWidth).toBeLessThanOrEqual(header.clientWidth);
    for (const el of header.querySelectorAll<HTMLElement>('dd, button'))
      expect(el.scrollWidth, el.textContent!).toBeLessThanOrEqual(el.clientWidth + 1);
    expect(button('Menu ▾')!.getBoundingClientRect().right).toBeLessThanOrEqual(1280 - 4);
    await page.screenshot({ path: `${SHOTS}/header-1280-jumped.png` });
  });
});

describe('Menu', () => {
  it('menuMove() walks the enabled items and wraps; Home and End jump', () => {
    const on = [false, true, true, false, true];
    expect(menuMove(on, -1, 'ArrowDown')).toBe(1);
    expect(menuMove(on, 1, 'ArrowDown')).toBe(2);
    expect(menuMove(on, 2, 'ArrowDown')).toBe(4);
    expect(menuMove(on, 4, 'ArrowDown')).toBe(1);
    expect(menuMove(on, 1, 'ArrowUp')).toBe(4);
    expect(menuMove(on, -1, 'ArrowUp')).toBe(4);
    expect(menuMove(on, 4, 'Home')).toBe(1);
    expect(menuMove(on, 1, 'End')).toBe(4);
    expect(menuMove(on, 1, 'x')).toBeNull();
    expect(menuMove([false, false], -1, 'ArrowDown')).toBeNull();
  });

  it('opens from the keyboard, moves with the arrows, closes on Escape with focus back, runs an item', async () => {
    await page.viewport(1280, 720);
    await appWithFile(await forgotOne(), 'forgot.json');
    const trigger = button('Menu ▾')!;
    expect(trigger.getAttribute('aria-haspopup')).toBe('menu');
    trigger.focus();
    await userEvent.keyboard('{Enter}');
    await until(() => menuItems().length > 0, 'the menu open');
    expect(trigger.getAttribute('aria-expanded')).toBe('true');
    // Every action the header had is here: the file actions, Open dump…, memfd, Compare, the matrix, shortcuts.
    expect(menuItems().map((b) => b.dataset.menu)).toEqual([
      'open',
      'save',
      'report',
      'vmcore',
      'dtb',
      'open-dump',
      'memfd',
      'compare',
      'matrix',
      'help',
    ]);
    await until(() => document.activeElement === menuItems()[0], 'focus on the first item');
    await userEvent.keyboard('{ArrowDown}');
    expect(document.activeElement).toBe(menuItems()[1]);
    await userEvent.keyboard('{ArrowUp}{ArrowUp}');
    expect((document.activeElement as HTMLElement).dataset.menu).toBe('help'); // wraps
    // Arrows in the menu move focus only: the timeline stays where it was.
    expect(document.querySelector('section.timeline .pos')!.textContent).toMatch(/^(\d+)\/\1$/);
    await page.screenshot({ path: `${SHOTS}/header-menu.png` });
    await userEvent.keyboard('{Escape}');
    await until(() => menuItems().length === 0, 'the menu closed');
    expect(document.activeElement).toBe(trigger);
    expect(trigger.getAttribute('aria-expanded')).toBe('false');

    // ↓ opens it too; End and Enter run the last item: the shortcuts overlay.
    await userEvent.keyboard('{ArrowDown}');
    await until(() => menuItems().length > 0, 'the menu open again');
    await userEvent.keyboard('{End}{Enter}');
    await until(() => document.body.textContent!.includes('Show these shortcuts'), 'the shortcuts');
    expect(menuItems()).toHaveLength(0);

    // A click outside closes it without running anything.
    trigger.click();
    await until(() => menuItems().length > 0, 'open by click');
    document.querySelector<HTMLElement>('aside.left')!.click();
    await until(() => menuItems().length === 0, 'closed by a click outside');
  });
});
