/**
 * A kernel panic in the UI, on the real engine host (no fakes but the trigger): the top bar's
 * KERNEL PANIC badge, the tinted memory map with the panic line, the Timeline tag on the
 * panicking step, disabled actions; and the machine dialog's KHO debug option and LUO hint.
 * Screenshots go to test-results/browser/panic-*.png.
 *
 * The trigger: every kexec'd kernel panics where liveupdate_early_init() runs
 * (kernel/liveupdate/luo_core.c), with luo_restore_fail()'s text for the poked compatible, so
 * the test does not depend on the engine's own check.
 */
import { describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import type { CommandInput } from '../../shared/commands';
import { pokeFdt } from '../../shared/poke';
import App from '../../renderer/src/App.svelte';
import MachineDialog from '../../renderer/src/components/MachineDialog.svelte';
import type { AppApi, MenuAction } from '../../renderer/src/lib/api';
import { DEFAULT_FORM } from '../../renderer/src/lib/machine-form';
import { Host } from '../../electron/host/host';
import { Luo } from '../../electron/kernel/luo/luo';
import { hostClient, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css'; // the app's look, for the screenshots

const REASON = 'The incoming tree failed to initialize properly [-22], disabling live update';
const SHOTS = '../../test-results/browser';

const tick = () => new Promise((r) => setTimeout(r, 0));
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const mount = useMounted(() => vi.restoreAllMocks());

describe('kernel panic in the UI', () => {
  it('shows the KERNEL PANIC badge, the tinted map, the Timeline tag, and disables the actions', async () => {
    const init = Luo.init.bind(Luo);
    vi.spyOn(Luo, 'init').mockImplementation((k, ...rest) => {
      if (k.khoIn) k.panic(REASON);
      return init(k, ...rest);
    });
    await page.viewport(1500, 900);
    const host = new Host();
    const menu = new Set<(a: MenuAction) => void>();
    const api: AppApi = {
      client: hostClient(host),
      transport: 'test',
      onMenu: (cb) => (menu.add(cb), () => menu.delete(cb)),
    };
    const target = document.createElement('div');
    target.style.cssText = 'width: 1500px; height: 900px';
    document.body.appendChild(target);

    const steps: CommandInput[] = [
      { op: 'boot' },
      { op: 'spawn', name: 'vmm' },
      { op: 'kexec_load' },
      { op: 'reboot' },
      pokeFdt('LUO', 'compatible', { string: 'luo-v0' }),
      { op: 'boot' },
    ];
    const state = await host.loadScenario(
      JSON.stringify({
        name: 'luo-bad-compatible',
        machine: { ram: '256M', cmdline: 'kho=on liveupdate=on kho_scratch=64M,32M,16M' },
        steps,
      }),
      'test',
    );
    expect(state.ok && state.value.panicked).toEqual({ step: 6, reason: REASON });

    mount(App, { target, props: { api } });
    await until(() => document.querySelector('[data-testid="panic-badge"]') !== null, 'the panic badge');
    await until(() => document.querySelector('canvas[data-drawn]:not([data-drawn="0"])') !== null, 'the map');
    flushSync();

    const badge = document.querySelector<HTMLElement>('[data-testid="panic-badge"]')!;
    expect(badge.textContent).toBe('KERNEL PANIC');
    expect(badge.title).toContain(`Kernel panic - not syncing: ${REASON}`);
    expect(document.querySelector('dl[aria-label="Machine"] dd.panicked')?.textContent).toBe('panicked');

    const overlay = document.querySelector<HTMLElement>('[data-testid="map-panic"]')!;
    expect(overlay.textContent).toContain(`Kernel panic - not syncing: ${REASON}`);
    expect(overlay.textContent).toContain('step 6');
    expect(getComputedStyle(overlay).pointerEvents).toBe('none'); // the pages stay inspectable

    const tags = [...document.querySelectorAll('[data-testid="panic-tag"]')];
    expect(tags).toHaveLength(1);
    expect(tags[0]!.closest('li')!.querySelector('.idx')!.textContent).toBe('6');

    const button = (text: string) =>
      [...document.querySelectorAll('button')].find((b) => b.textContent?.trim() === text);
    expect(button('Boot')?.disabled).toBe(true);
    button('Menu ▾')!.click();
    flushSync();
    expect(document.querySelector<HTMLButtonElement>('[data-menu="memfd"]')?.disabled).toBe(true); // the header's memfd
    button('Menu ▾')!.click();
    flushSync();
    expect(button('Create')?.disabled).toBe(true); // the workload panel's memfd
    expect(button('kexec -e')?.title).toBe('the kernel panicked: step back or create a new machine');
    // Stepping back stays possible.
    expect(document.querySelector<HTMLButtonElement>('button[aria-label="Step back"]')!.disabled).toBe(false);

    await page.screenshot({ path: `${SHOTS}/panic-app.png` });
    await page.screenshot({ path: `${SHOTS}/panic-map.png`, element: document.querySelector('section.map')! });

    // A step back leaves the panic behind.
    document.querySelector<HTMLButtonElement>('button[aria-label="Step back"]')!.click();
    await until(() => document.querySelector('[data-testid="panic-badge"]') === null, 'the badge to go');
    expect(document.querySelector('[data-testid="map-panic"]')).toBeNull();
    expect(document.querySelectorAll('[data-testid="panic-tag"]')).toHaveLength(1); // step 6 is redo history now
    await tick();
  });
});

describe('MachineDialog: CONFIG_KEXEC_HANDOVER_DEBUG and liveupdate=on', () => {
  it('offers a KHO debug checkbox (off by default) and says that LUO needs liveupdate=on', async () => {
    await page.viewport(700, 560);
    const created: unknown[] = [];
    mount(MachineDialog, {
      target: document.body,
      props: { initial: { ...DEFAULT_FORM }, oncreate: (c: unknown) => created.push(c), onclose: () => {} },
    });
    flushSync();
    const cmdline = document.querySelector<HTMLInputElement>('#m-cmdline')!;
    expect(cmdline.value).toBe('kho=on liveupdate=on kho_scratch=200%');
    expect(document.querySelector('#m-cmdline-err')!.textContent).toMatch(
      /LUO .* needs liveupdate=on as well as kho=on/,
    );
    const debug = document.querySelector<HTMLInputElement>('#m-khodebug')!;
    expect(debug.checked).toBe(false);
    expect(document.querySelector('#m-khodebug-hint')!.textContent).toMatch(/overlap a scratch area/);
    debug.click();
    flushSync();
    await page.screenshot({ path: `${SHOTS}/panic-dialog.png` });
    [...document.querySelectorAll('button')].find((b) => b.textContent === 'Create')!.click();
    expect(created).toEqual([
      expect.objectContaining({ khoDebug: true, cmdline: 'kho=on liveupdate=on kho_scratch=200%' }),
    ]);
  });
});
