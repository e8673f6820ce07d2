/**
 * `npm start -- --real DUMP [--sim SIMDUMP | --scenario NAME]` in the app (App.svelte): what main
 * opened from its command line (openFromCommandLine) comes up as the dump with the side-by-side
 * view over it — with --scenario the simulation runs at once, with --sim the host already holds
 * the comparison and nothing runs; a --sim main could not read is a banner line, the dump open.
 */
import { describe, expect, it } from 'vitest';
import { page } from 'vitest/browser';
import { type DumpHandle, type Result, type SimClient, ok } from '../../shared/api';
import type { LaunchOpened } from '../../shared/bridge';
import App from '../../renderer/src/App.svelte';
import type { AppApi } from '../../renderer/src/lib/api';
import { Host } from '../../electron/host/host';
import { type DumpSource, bytesSource } from '../../electron/host/dump/source';
import { until } from '../until';
import { realCore } from './dump-real-core';
import { hostClient, okOf, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css';

const mount = useMounted();
const q = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel);
const text = (sel: string) => q(sel)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';

/** The app over a host that opens `real` (and `sim`, when given) as main's command line would. */
async function launch(
  how: (host: Host) => Promise<Result<LaunchOpened | null>>,
  files: Record<string, Uint8Array | DumpSource>,
): Promise<{ host: Host; calls: string[] }> {
  const host = new Host({
    openDumpSource: (h: DumpHandle) => {
      const f = files[h as string]!;
      return f instanceof Uint8Array ? bytesSource(f) : f;
    },
  });
  const calls: string[] = [];
  const client = hostClient(host);
  const counting = new Proxy(client, {
    get(target, name: string) {
      const v = (target as unknown as Record<string, unknown>)[name];
      return typeof v === 'function'
        ? (...args: unknown[]) => (calls.push(name), (v as (...a: unknown[]) => unknown)(...args))
        : v;
    },
  }) as SimClient;
  const api: AppApi = {
    client: counting,
    transport: 'test',
    onMenu: () => () => {},
    openFromCommandLine: () => how(host),
  };
  await page.viewport(1280, 720);
  const target = document.createElement('div');
  target.style.cssText = 'width: 1280px; height: 720px';
  document.body.appendChild(target);
  mount(App, { target, props: { api } });
  return { host, calls };
}

describe('the app opened from its command line', () => {
  it('--real DUMP --scenario luo-multi-session: the dump, and the simulation beside it runs at once', async () => {
    const core = await realCore();
    const { calls } = await launch(
      async (host) => {
        const d = await host.openDump('real.elf');
        return d.ok ? ok({ dump: d.value, compare: { scenario: 'luo-multi-session' } }) : d;
      },
      { 'real.elf': core },
    );
    await until(() => !!q('[data-testid="side-counts"]'), 'the comparison');
    expect(text('[data-testid="dump-bar"]')).toContain('real.elf');
    expect(q<HTMLSelectElement>('[data-testid="side-scenario"]')!.value).toBe('luo-multi-session');
    expect(text('[data-testid="side-counts"]')).toMatch(/ 0 differ$/);
    expect(calls).toContain('compareWithSimulation');
    // No New Machine dialog over it.
    expect(document.querySelectorAll('dialog[open]')).toHaveLength(1);
  });

  it('--real DUMP --sim SIMDUMP: the comparison main made is shown; nothing is simulated', async () => {
    const core = await realCore();
    const sim = okOf(await new Host().simulateAtKexec('luo-kexec-simple', '7.2'));
    const { calls } = await launch(
      async (host) => {
        const d = await host.openDump('real.elf');
        if (!d.ok) return d;
        okOf(await host.compareWithDump('kho-lab-luo-kexec-simple-7.2.vmcore'));
        return ok({ dump: d.value, compare: 'sim-dump' });
      },
      { 'real.elf': core, 'kho-lab-luo-kexec-simple-7.2.vmcore': sim },
    );
    await until(() => !!q('[data-testid="side-counts"]'), 'the comparison');
    expect(text('[data-testid="side-by-side"] h3')).toMatch(
      /^real real\.elf 7\.2\.13 [\d.]+ [KMG]iB of RAM in the dump$/,
    );
    expect(text('[data-testid="side-by-side"]')).toContain('kho-lab-luo-kexec-simple-7.2.vmcore');
    expect(calls).not.toContain('compareWithSimulation');
  });

  it('a --sim main could not read: the dump opens, a banner says why, no side-by-side', async () => {
    const core = await realCore();
    await launch(
      async (host) => {
        const d = await host.openDump('real.elf');
        return d.ok ? ok({ dump: d.value, compare: null, warning: '--sim /x/sim.vmcore: not an ELF core' }) : d;
      },
      { 'real.elf': core },
    );
    await until(() => !!q('[data-testid="dump-bar"]'), 'the dump');
    await until(() => document.body.textContent!.includes('--sim /x/sim.vmcore: not an ELF core'), 'the banner');
    expect(q('[data-testid="side-by-side"]')).toBeNull();
    // With the dump open, the app menu offers the comparison.
    [...document.querySelectorAll<HTMLButtonElement>('button')]
      .find((b) => b.textContent?.trim() === 'Menu ▾')!
      .click();
    await until(() => !!q('[data-menu="compare-sim"]'), 'the menu item');
    q<HTMLButtonElement>('[data-menu="compare-sim"]')!.click();
    await until(() => !!q('[data-testid="side-by-side"]'), 'the side-by-side view');
    await until(() => q<HTMLSelectElement>('[data-testid="side-scenario"]')?.value === 'test-kho', 'the preselection');
  });
});
