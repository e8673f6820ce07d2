/**
 * Kernel releases in the UI, on the real engine host: the machine dialog's kernel selector and the
 * top bar's `uname -r`, which follows the running kernel across a kexec into another release.
 * Screenshots go to test-results/browser/kernel-*.png.
 */
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import { KERNEL_RELEASES } from '../../shared/machine-config';
import App from '../../renderer/src/App.svelte';
import MachineDialog from '../../renderer/src/components/MachineDialog.svelte';
import type { AppApi } from '../../renderer/src/lib/api';
import { DEFAULT_FORM } from '../../renderer/src/lib/machine-form';
import { Host } from '../../electron/host/host';
import { until } from '../until';
import { hostClient, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css'; // the app's look, for the screenshots

const SHOTS = '../../test-results/browser';

const mount = useMounted();

describe('MachineDialog kernel selector', () => {
  it('lists every release, starts on 6.19, and creates the machine with the chosen one', async () => {
    await page.viewport(700, 600);
    const created: unknown[] = [];
    mount(MachineDialog, {
      target: document.body,
      props: { initial: { ...DEFAULT_FORM }, oncreate: (c: unknown) => created.push(c), onclose: () => {} },
    });
    flushSync();
    const select = document.querySelector<HTMLSelectElement>('#m-kernel')!;
    expect([...select.options].map((o) => o.value)).toEqual([...KERNEL_RELEASES]);
    expect(select.value).toBe('6.19');
    select.value = '7.0';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    flushSync();
    await page.screenshot({ path: `${SHOTS}/kernel-dialog.png`, element: document.querySelector('dialog')! });
    [...document.querySelectorAll('button')].find((b) => b.textContent === 'Create')!.click();
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ kernel: '7.0' });
  });
});

describe('TopBar kernel release', () => {
  it('shows uname -r of the running kernel, and of the image that boots next after kexec -e', async () => {
    await page.viewport(1500, 900);
    const host = new Host();
    const api: AppApi = { client: hostClient(host), transport: 'test', onMenu: () => () => {} };
    const target = document.createElement('div');
    target.style.cssText = 'width: 1500px; height: 900px';
    document.body.appendChild(target);
    const loaded = await host.loadScenario(
      JSON.stringify({
        name: 'cross-release',
        machine: { kernel: '7.0', ram: '256M', cmdline: 'kho=on liveupdate=on kho_scratch=64M,32M,16M' },
        steps: [{ op: 'boot' }, { op: 'kexec_load', kernel: '6.19' }, { op: 'reboot' }, { op: 'boot' }],
      }),
      'test',
    );
    expect(loaded.ok).toBe(true);
    mount(App, { target, props: { api } });
    const release = () => document.querySelector('[data-testid="kernel-release"]')?.textContent?.trim() ?? '';
    await until(() => release() === '6.19.0-kholab\u00a0#2', 'the 6.19 kernel in the header');
    await page.screenshot({ path: `${SHOTS}/kernel-topbar.png`, element: document.querySelector('header')! });
    await page.screenshot({ path: `${SHOTS}/kernel-app.png` });
    // The workload panel's kexec -l names the image's release: the running one's, or another.
    const next = document.querySelector<HTMLSelectElement>('select[aria-label="Next kernel release"]')!;
    expect([...next.options].map((o) => o.value)).toEqual(['', ...KERNEL_RELEASES]);

    const back = () => document.querySelector<HTMLButtonElement>('button[aria-label="Step back"]')!.click();
    back(); // kexec -e done, no kernel: the loaded 6.19 image is what boots next
    await until(() => release() === '6.19.0-kholab', 'the pending image in the header');
    back(); // the 7.0 kernel runs again
    await until(() => release() === '7.0.0-kholab\u00a0#1', 'the 7.0 kernel in the header');
  });
});
