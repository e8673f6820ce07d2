/**
 * Legibility on the real engine host at 1280×720: the Scenarios menu groups and scrolls, step
 * labels are never cut, the command transcript follows the timeline cursor.
 */
import { describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import App from '../../renderer/src/App.svelte';
import ScenarioMenu from '../../renderer/src/components/ScenarioMenu.svelte';
import type { AppApi } from '../../renderer/src/lib/api';
import { SCENARIO_GROUPS, scenarioGroup } from '../../renderer/src/lib/scenario-groups';
import { Host } from '../../electron/host/host';
import { hostClient, untilWithin, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css';

const SHOTS = '../../test-results/browser';
const until = untilWithin(60_000);

const mount = useMounted(() => vi.restoreAllMocks());

const button = (text: string) =>
  [...document.querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent?.trim() === text)!;

/** Mounts the App on a fresh Host and loads `name` through the Scenarios menu. */
async function appWith(name: string): Promise<void> {
  const host = new Host();
  const api: AppApi = { client: hostClient(host), transport: 'test', onMenu: () => () => {} };
  const target = document.createElement('div');
  document.body.appendChild(target);
  mount(App, { target, props: { api } });
  await until(() => !!button('Scenarios ▾'), 'the menu button');
  if (document.querySelector('dialog[open]')) button('Cancel').click();
  button('Scenarios ▾').click();
  await until(() => !!document.querySelector(`[data-scenario="${name}"]`), 'the list');
  document.querySelector<HTMLButtonElement>(`[data-scenario="${name}"]`)!.click();
  await until(
    () => /^([1-9]\d*)\/\1$/.test(document.querySelector('section.timeline .pos')?.textContent ?? ''),
    'the run',
  );
  flushSync();
}

describe.each([
  [1280, 720],
  [1440, 900],
])('first run at %i×%i', (w, h) => {
  it('opens on a welcome offering test-kho first, then LUO, the compare view and a blank machine', async () => {
    await page.viewport(w, h);
    const host = new Host();
    const api: AppApi = { client: hostClient(host), transport: 'test', onMenu: () => () => {} };
    const target = document.createElement('div');
    document.body.appendChild(target);
    mount(App, { target, props: { api } });
    await until(() => !!document.querySelector('[data-testid="welcome"]'), 'the welcome');
    const welcome = document.querySelector<HTMLElement>('[data-testid="welcome"]')!;
    const offers = [...welcome.querySelectorAll<HTMLElement>('button[data-builtin], button[data-action]')].map(
      (b) => b.dataset.builtin ?? b.dataset.action,
    );
    expect(offers).toEqual(['test-kho', 'luo-kexec-simple', 'test-kho-forgot-one', 'compare', 'blank']);
    expect(document.querySelector('dialog[open]')).toBeNull(); // not modal: the top bar stays usable
    // It sits inside the map's pane, whole.
    const a = welcome.getBoundingClientRect();
    const c = document.querySelector('.centre')!.getBoundingClientRect();
    expect(a.left >= c.left && a.right <= c.right && a.top >= c.top && a.bottom <= c.bottom).toBe(true);
    await page.screenshot({ path: `${SHOTS}/ux-${w}x${h}-welcome.png` });
    welcome.querySelector<HTMLButtonElement>('button[data-builtin="test-kho"]')!.click();
    await until(() => document.querySelector('section.timeline .pos')?.textContent === '7/7', 'test-kho loaded');
    expect(document.querySelector('[data-testid="welcome"]')).toBeNull();
  });
});

describe('Scenarios menu', () => {
  it('groups the built-ins as memory, KHO, LUO, formats, and scrolls inside the window', async () => {
    await page.viewport(1280, 720);
    const list = await new Host().builtins();
    if (!list.ok) throw new Error('no builtins');
    const target = document.createElement('div');
    target.style.cssText = 'position: absolute; right: 10px; top: 4px';
    document.body.appendChild(target);
    mount(ScenarioMenu, {
      target,
      props: { scenarios: list.value, disabled: false, current: 'test-kho', onopen: () => {}, onload: () => {} },
    });
    flushSync();
    button('Scenarios ▾').click();
    flushSync();
    const groups = [...document.querySelectorAll<HTMLElement>('[role="menu"] .group')].map((g) => g.dataset.group);
    expect(groups).toEqual(SCENARIO_GROUPS.filter((g) => list.value.some((s) => scenarioGroup(s.name) === g)));
    expect(groups).toEqual(expect.arrayContaining(['memory', 'KHO', 'LUO', 'formats']));
    // Every scenario once, under its group's heading.
    const items = [...document.querySelectorAll<HTMLElement>('[role="menu"] > li')];
    let group = '';
    const seen: string[] = [];
    for (const li of items) {
      if (li.classList.contains('group')) group = li.dataset.group!;
      else {
        const name = li.querySelector<HTMLElement>('[data-scenario]')!.dataset.scenario!;
        expect(scenarioGroup(name), name).toBe(group);
        seen.push(name);
      }
    }
    expect(seen.sort()).toEqual(list.value.map((s) => s.name).sort());
    expect(scenarioGroup('test-kho')).toBe('KHO');
    expect(scenarioGroup('kho-chain')).toBe('KHO');
    expect(scenarioGroup('luo-vm')).toBe('LUO');
    expect(scenarioGroup('luo-memfd-formats')).toBe('formats');
    expect(scenarioGroup('fragmentation')).toBe('memory');
    // The list ends inside the window and scrolls the rest.
    const menu = document.querySelector<HTMLElement>('[role="menu"]')!;
    expect(menu.getBoundingClientRect().bottom).toBeLessThanOrEqual(720);
    expect(getComputedStyle(menu).overflowY).toBe('auto');
    await page.screenshot({ path: `${SHOTS}/ux-1280x720-scenarios-menu.png` });
  });
});

describe('Step labels and transcript', () => {
  it('never cuts a step label, and the transcript follows the timeline cursor (luo-kexec-simple)', async () => {
    await page.viewport(1280, 720);
    await appWith('luo-kexec-simple');
    const labels = [...document.querySelectorAll<HTMLElement>('section.timeline .label')];
    expect(labels.length).toBeGreaterThan(10);
    for (const l of labels) expect(l.scrollWidth, l.textContent!).toBeLessThanOrEqual(l.clientWidth + 1);
    // Two different ioctls never read the same. The one repeat is the selftest's own: luo_test()
    // looks up the state session before the kexec (ENOENT) and again after it, with the same call.
    const ioctls = labels.map((l) => l.textContent!).filter((t) => /LIVEUPDATE_/.test(t));
    const lookups = ioctls.filter((t) => t.includes('RETRIEVE_SESSION') && t.includes('"kexec_simple_state"'));
    expect(lookups).toHaveLength(2);
    expect(new Set(ioctls).size).toBe(ioctls.length - 1);

    const transcript = document.querySelector<HTMLElement>('ol[aria-label="Command results"]')!;
    const visible = (step: number) => {
      const li = transcript.querySelector(`li[data-step="${step}"]`)!;
      const a = li.getBoundingClientRect();
      const b = transcript.getBoundingClientRect();
      return a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
    };
    expect(transcript.scrollHeight).toBeGreaterThan(transcript.clientHeight); // it has to scroll
    const last = Number(document.querySelector('section.timeline .pos')!.textContent!.split('/')[0]);
    expect(visible(last)).toBe(true);
    // Jump back to step 2: its entry comes into view.
    document.querySelectorAll<HTMLButtonElement>('section.timeline .steps button.step')[2]!.click();
    await until(
      () => document.querySelector('section.timeline .pos')?.textContent?.startsWith('2/') ?? false,
      'step 2',
    );
    await until(() => visible(2), 'the transcript at step 2');
    await page.screenshot({ path: `${SHOTS}/ux-1280x720-luo-step2.png` });
  });
});

describe('browser preview file actions', () => {
  it('saves the scenario, the report, the vmcore and the KHO FDT as downloads, and opens a scenario file', async () => {
    await page.viewport(1280, 720);
    const downloads: Array<{ name: string; blob: Blob }> = [];
    let last: Blob | null = null;
    vi.spyOn(URL, 'createObjectURL').mockImplementation((b) => ((last = b as Blob), 'blob:test'));
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => {});
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      downloads.push({ name: this.download, blob: last! });
    });
    await appWith('test-kho');
    // The header's drop-down menus are not clipped by the fixed-height bar.
    button('Scenarios ▾').click();
    flushSync();
    const list = document.querySelector<HTMLElement>('[aria-label="Built-in scenarios"]')!;
    const r = list.getBoundingClientRect();
    expect(list.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2))).toBe(true);
    button('Scenarios ▾').click();

    const file = async (what: string) => {
      button('Menu ▾').click();
      flushSync();
      document.querySelector<HTMLButtonElement>(`[data-file="${what}"]`)!.click();
      await until(() => downloads.length > 0, `the ${what} download`);
      return downloads.pop()!;
    };
    const scenario = await file('save');
    expect(scenario.name).toBe('test-kho.json');
    const saved = JSON.parse(await scenario.blob.text()) as { name: string; steps: unknown[] };
    expect(saved.name).toBe('test-kho');
    expect(saved.steps).toHaveLength(7);
    const report = await file('report');
    expect(report.name).toBe('test-kho-report.json');
    expect(JSON.parse(await report.blob.text())).toMatchObject({ tool: 'kho-lab', scenario: 'test-kho' });
    const vmcore = await file('vmcore');
    expect(vmcore.name).toBe('test-kho-step7.vmcore');
    expect([...new Uint8Array(await vmcore.blob.slice(0, 4).arrayBuffer())]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    const dtb = await file('dtb');
    expect(dtb.name).toBe('test-kho-kho-fdt-step7.dtb');
    expect([...new Uint8Array(await dtb.blob.slice(0, 4).arrayBuffer())]).toEqual([0xd0, 0x0d, 0xfe, 0xed]);

    // Open: the saved scenario, renamed, through the file input.
    const input = document.querySelector<HTMLInputElement>('input[type="file"][aria-label="Scenario file to open"]')!;
    const dt = new DataTransfer();
    dt.items.add(new File([JSON.stringify({ ...saved, steps: saved.steps.slice(0, 2) })], 'mine.json'));
    input.files = dt.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    await until(() => document.querySelector('section.timeline .pos')?.textContent === '2/2', 'the opened scenario');
    expect(document.querySelector('header')!.textContent).toContain('mine');
  });
});
