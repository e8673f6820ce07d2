import { it } from 'vitest';
import { flushSync, mount } from 'svelte';
import { page } from 'vitest/browser';
import type { SimClient } from '../../shared/api';
import App from '../../renderer/src/App.svelte';
import { Host } from '../../electron/host/host';
import { until } from '../until';
import '../../renderer/src/app.css';
function hostClient(host: Host): SimClient {
  return new Proxy(host as unknown as SimClient, {
    get(target, name: string) {
      if (name === 'onProgress') return () => () => {};
      const v = (target as unknown as Record<string, unknown>)[name];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
it.each([
  [1280, 720, 'test-kho-forgot-one'],
  [1600, 900, 'test-kho-forgot-one'],
  [1280, 720, 'luo-kexec-simple'],
  [1600, 900, 'luo-kexec-simple'],
])(
  '%i %i %s',
  async (w, h, name) => {
    await page.viewport(w, h);
    const host = new Host();
    await host.loadBuiltin(name);
    const target = document.createElement('div');
    document.body.appendChild(target);
    const cmp = mount(App, {
      target,
      props: { api: { client: hostClient(host), transport: 'test', onMenu: () => () => {} } },
    });
    await until(() => document.querySelector('header dl') !== null, 'h', { timeoutMs: 60000 });
    await new Promise((r) => setTimeout(r, 800));
    flushSync();
    await page.screenshot({ path: `../../test-results/before/${w}-${name}.png` });
    void cmp;
    document.body.innerHTML = '';
  },
  60000,
);
