/**
 * The debugfs tab of the simulated Inspector on the real engine host: /sys/kernel/debug/kho as the
 * running release shows it. 7.2 before the kexec: out/fdt read() gives the 233 bytes kho_init()
 * sized it at, dtc's "EOF before reading N bytes" and the kernel's quirk say why; after the KHO
 * boot: in/ and no out/fdt, in/sub_fdts/LUO labelled as memory the kernel freed. 6.19: out/finalize.
 * Screenshots: test-results/browser/debugfs-out-fdt.png, debugfs-in-luo.png.
 */
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import type { SimApi } from '../../shared/api';
import { Host, builtinScenario } from '../../electron/host/host';
import Inspector from '../../renderer/src/components/Inspector.svelte';
import { until } from '../until';
import { useMounted } from './fixtures/harness';
import '../../renderer/src/app.css'; // the app's look, for the screenshots

const SHOTS = '../../test-results/browser';
const q = (sel: string) => document.querySelector<HTMLElement>(sel);
const text = (sel: string) => q(sel)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
const files = () =>
  [...document.querySelectorAll<HTMLElement>('[data-testid="debugfs-files"] tbody tr')].map((r) => r.dataset.path);

const mount = useMounted();

async function mountDebugfs(name: string, kernel: string, at?: number): Promise<HTMLElement> {
  const s = builtinScenario(name);
  if (!s.ok) throw new Error(s.error.message);
  const host = new Host();
  const r = await host.loadScenario(JSON.stringify({ ...s.value, machine: { ...s.value.machine, kernel } }), 'test');
  if (!r.ok) throw new Error(r.error.message);
  if (at !== undefined) await host.goto(at);
  await page.viewport(1280, 900);
  const target = document.body.appendChild(document.createElement('div'));
  target.style.cssText = 'width: 560px; height: 860px';
  mount(Inspector, {
    target,
    props: {
      api: host as unknown as Pick<SimApi, 'fdt' | 'chunks' | 'records' | 'pageBytes' | 'debugfs'>,
      kho: null,
      luo: null,
      revision: 1,
      page: null,
      selectedPfn: null,
      maxPfn: 1 << 18,
      ongoto: () => {},
      tab: 'debugfs',
    },
  });
  flushSync();
  await until(() => (flushSync(), files().length > 0), 'the debugfs files');
  return target;
}

describe('debugfs tab (kernel/liveupdate/kexec_handover_debugfs.c)', () => {
  it('7.2, kernel 1: out/fdt is the 233 bytes of kho_init(); dtc stops at EOF, and the quirk says why', async () => {
    const target = await mountDebugfs('luo-kexec-simple', '7.2', 3);
    expect(files()).toEqual([
      'kho/out/fdt',
      'kho/out/scratch_len',
      'kho/out/scratch_phys',
      'kho/out/sub_fdts/LUO',
      'kho/out/sub_fdts/kexec-metadata',
    ]);
    // The first file with a quirk is shown first.
    expect(text('[data-testid="debugfs-file"]')).toMatch(/^cat kho\/out\/fdt .*233 bytes/);
    expect(text('[data-testid="debugfs-quirk"]')).toMatch(/^Kernel quirk: kho_init\(\) gave this file/);
    expect(text('[data-testid="debugfs-dtc-error"]')).toBe('FATAL ERROR: EOF before reading 285 bytes of DT blob');
    expect(text('[data-testid="debugfs-hex"]')).toMatch(/^00000000: d00d feed 0000 011d/); // totalsize 0x11d = 285
    await page.screenshot({ path: `${SHOTS}/debugfs-out-fdt.png`, element: target });
    // A seq file reads as text.
    q('[data-path="kho/out/scratch_phys"]')!.click();
    await until(() => (flushSync(), text('[data-testid="debugfs-file"]').startsWith('cat kho/out/scratch_phys')), 'it');
    expect(q('[data-testid="debugfs"] pre')!.textContent).toMatch(/^(0x[0-9a-f]+\n){3}$/);
  });

  it('7.2, kernel 2: no out/fdt; in/fdt decompiles; in/sub_fdts/LUO is freed memory, labelled the kernel’s quirk', async () => {
    const target = await mountDebugfs('luo-kexec-simple', '7.2');
    expect(files()).not.toContain('kho/out/fdt');
    expect(text('[data-testid="debugfs-note"]')).toContain('returned before adding out/fdt');
    q('[data-path="kho/in/fdt"]')!.click();
    await until(() => (flushSync(), !!q('[data-testid="debugfs-dts"]')), 'in/fdt as DTS');
    expect(text('[data-testid="debugfs-dts"]')).toContain('compatible = "kho-v4";');
    q('[data-path="kho/in/sub_fdts/LUO"]')!.click();
    await until(() => (flushSync(), text('[data-testid="debugfs-file"]').includes('in/sub_fdts/LUO')), 'LUO');
    expect(text('[data-testid="debugfs-quirk"]')).toMatch(/freed LUO's blob after reading it/);
    expect(text('[data-testid="debugfs-hex"]')).toMatch(/^00000000: /);
    await page.screenshot({ path: `${SHOTS}/debugfs-in-luo.png`, element: target });
  });

  it('6.19: out/finalize is there (mode 0600) and reads 1 after kho_finalize', async () => {
    await mountDebugfs('test-kho', '6.19', 3);
    expect(files()).toContain('kho/out/finalize');
    const row = q('[data-path="kho/out/finalize"]')!;
    expect(row.textContent).toContain('-rw-------');
    row.click();
    await until(() => (flushSync(), text('[data-testid="debugfs-file"]').startsWith('cat kho/out/finalize')), 'it');
    expect(q('[data-testid="debugfs"] pre')!.textContent).toBe('1\n');
  });
});
