/**
 * Opening a memory dump takes seconds on a 1 GiB file: the app shows the host's progress line
 * ("reading NAME: X MiB of Y MiB") with a Cancel button, and Cancel stops the read, leaving the
 * view as it was and no error banner. The host here reads slowly on purpose (each chunk waits),
 * so the line is there long enough to see. Screenshot: test-results/browser/dump-progress.png.
 */
import { describe, expect, it } from 'vitest';
import { page } from 'vitest/browser';
import type { DumpHandle, SimClient } from '../../shared/api';
import type { Progress } from '../../shared/views';
import App from '../../renderer/src/App.svelte';
import type { AppApi } from '../../renderer/src/lib/api';
import { Host, builtinScenario } from '../../electron/host/host';
import { bytesSource } from '../../electron/host/dump/source';
import { until } from '../until';
import { useMounted } from './fixtures/harness';
import '../../renderer/src/app.css'; // the app's look, for the screenshots

const SHOTS = '../../test-results/browser';

/** KHO Lab's vmcore of builtin:test-kho on 256 MiB at kexec -e: 64 chunks of reading. */
async function vmcore(): Promise<Uint8Array> {
  const s = builtinScenario('test-kho');
  if (!s.ok) throw new Error(s.error.message);
  const host = new Host();
  const r = await host.loadScenario(JSON.stringify({ ...s.value, machine: { ...s.value.machine, ram: '256M' } }), 't');
  if (!r.ok) throw new Error(r.error.message);
  await host.goto(r.value.steps.findIndex((x) => x.command.op === 'reboot') + 1);
  const core = await host.vmcore(true);
  if (!core.ok) throw new Error(core.error.message);
  return core.value;
}

/** The real Host as the UI's client, its progress forwarded, each chunk of a dump read 60 ms apart. */
function appApi(bytes: Uint8Array): { api: AppApi; host: Host } {
  const listeners = new Set<(p: Progress) => void>();
  const host = new Host({
    openDumpSource: (_h: DumpHandle) => bytesSource(bytes),
    onProgress: (p) => listeners.forEach((l) => l(p)),
    yieldToEvents: () => new Promise((r) => setTimeout(r, 60)),
  });
  const client = new Proxy(host as unknown as SimClient, {
    get(target, name: string) {
      if (name === 'onProgress')
        return (l: (p: Progress) => void) => {
          listeners.add(l);
          return () => listeners.delete(l);
        };
      const v = (target as unknown as Record<string, unknown>)[name];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { api: { client, transport: 'test', onMenu: () => () => {} }, host };
}

const mount = useMounted();

const bar = () => document.querySelector<HTMLElement>('[role="progressbar"]');

describe('Open Memory Dump…: the progress line while the dump is read', () => {
  it('shows "reading NAME: X MiB of Y MiB" with Cancel; Cancel stops it, no dump opens and no error shows', async () => {
    const bytes = await vmcore();
    const { api, host } = appApi(bytes);
    await page.viewport(1280, 720);
    const target = document.createElement('div');
    target.style.cssText = 'width: 1280px; height: 720px';
    document.body.appendChild(target);
    mount(App, { target, props: { api } });
    await until(() => !!document.querySelector('[data-testid="dump-file-input"]'), 'the app');
    document.querySelector<HTMLDialogElement>('dialog')?.close();

    const input = document.querySelector<HTMLInputElement>('[data-testid="dump-file-input"]')!;
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], 'big.vmcore'));
    input.files = dt.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));

    await until(() => /reading big\.vmcore: \d+ MiB of \d+ MiB/.test(bar()?.textContent ?? ''), 'the progress line');
    const cancel = [...bar()!.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Cancel');
    expect(cancel).toBeTruthy();
    // The button names what it cancels (the dump read, not a replay).
    expect(cancel!.title).toMatch(/^Cancel: reading big\.vmcore/);
    await page.screenshot({ path: `${SHOTS}/dump-progress.png` });
    cancel!.click();
    await until(() => bar() === null, 'the line to go when cancelled');
    const d = await host.dump();
    expect(d.ok && d.value).toBeNull();
    expect(document.querySelector('[data-testid="dump-bar"]')).toBeNull();
    expect(document.body.textContent).not.toMatch(/open dump:/);
  });
});
