/**
 * The jump itself, in the UI on the real engine host: after `kexec -e` of test-kho the Handover
 * tab lists the pointers the next kernel follows (arch/x86/kernel/setup.c: parse_setup_data(),
 * kernel/liveupdate/kexec_handover.c: kho_populate(), kho_mem_deserialize()), each hop a link that
 * zooms the map to it and selects its page, "open" decodes the FDTs and the chunk list, and the map
 * is painted from RAM (metadata, scratch, preserved; the rest will be freed), not blank.
 * Screenshots go to test-results/browser/jump-*.png.
 */
import type { CommandInput } from '../../shared/commands';
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import { PageCategory, paletteRgba } from '../../shared/palette';
import { PAGE_SIZE } from '../../shared/units';
import App from '../../renderer/src/App.svelte';
import type { AppApi, MenuAction } from '../../renderer/src/lib/api';
import { BUILTIN_SCENARIOS } from '../../electron/host/builtins';
import { Host } from '../../electron/host/host';
import { frame, hostClient, okOf, untilWithin, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css'; // the app's look, for the screenshots

const SHOTS = '../../test-results/browser';
const PALETTE = paletteRgba();
const until = untilWithin(30_000, frame);

/** Pixels of the map canvas in category `c`'s colour. */
function pixels(c: PageCategory): number {
  const cv = document.querySelector<HTMLCanvasElement>('canvas[data-drawn]')!;
  const d = new Uint32Array(cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data.buffer);
  let n = 0;
  for (const px of d) if (px === PALETTE[c]) n++;
  return n;
}

const hopRows = () => [...document.querySelectorAll<HTMLElement>('[data-testid="jump-hop"]')];
const hop = (label: string) => hopRows().find((r) => r.querySelector('.name')?.textContent?.trim() === label)!;
const selection = () => document.querySelector('.tabs .sel')?.textContent?.trim() ?? '';

const mount = useMounted();

describe('the jump chain at kexec -e', () => {
  it('test-kho: kho_populate() hops listed, each zooms and selects on the map, FDT and chunk list open', async () => {
    await page.viewport(1500, 900);
    const host = new Host();
    const s = BUILTIN_SCENARIOS['test-kho']!;
    okOf(await host.newMachine(s.machine!));
    const reboot = s.steps.findIndex((c) => c.op === 'reboot');
    for (const c of (s.steps as CommandInput[]).slice(0, reboot + 1)) okOf(await host.run(c));
    const hops = okOf(await host.kho()).jumpChain!;

    const menu = new Set<(a: MenuAction) => void>();
    const api: AppApi = {
      client: hostClient(host),
      transport: 'test',
      onMenu: (cb) => (menu.add(cb), () => menu.delete(cb)),
    };
    const target = document.createElement('div');
    target.style.cssText = 'width: 1500px; height: 900px';
    document.body.appendChild(target);
    mount(App, { target, props: { api } });
    await until(() => document.querySelector('canvas[data-drawn]:not([data-drawn="0"])') !== null, 'the map');
    flushSync();

    // The map is painted from RAM: preserved blocks, KHO metadata and RAM that will be freed.
    await until(() => pixels(PageCategory.FreeMovable) > 1000, 'RAM the next kernel will free');
    expect(pixels(PageCategory.Preserved)).toBeGreaterThan(0);
    await page.screenshot({ path: `${SHOTS}/jump-map.png` });

    document.querySelector<HTMLButtonElement>('#tab-handover')!.click();
    await until(() => hopRows().length === hops.length, 'the hops');
    expect(hopRows().map((r) => r.querySelector('.name')!.textContent!.trim())).toEqual(hops.map((h) => h.label));
    expect(hop('setup_data').textContent).toContain('type 10 (SETUP_KEXEC_KHO), len 32');
    expect(hop('root FDT').textContent).toContain('← kho_data.fdt_addr');
    await page.screenshot({ path: `${SHOTS}/jump-chain.png` });
    hopRows().at(-1)!.scrollIntoView({ block: 'end' });
    await page.screenshot({ path: `${SHOTS}/jump-chain-tracker.png` });

    // Each hop selects its page and zooms the map onto it.
    const fdt = hops.find((h) => h.label === 'root FDT')!;
    hop('root FDT').querySelector<HTMLButtonElement>('.name')!.click();
    await until(() => selection() === `pfn ${(fdt.phys / PAGE_SIZE).toString(16)} ↗`, 'the root FDT page selected');
    await until(() => pixels(PageCategory.KhoMetadata) > 2000, 'the FDT page zoomed in');
    await page.screenshot({ path: `${SHOTS}/jump-root-fdt.png` });

    const chunk = hops.find((h) => h.label === 'khoser_mem_chunk list')!;
    hop('khoser_mem_chunk list').querySelector<HTMLButtonElement>('button.addr')!.click();
    await until(() => selection() === `pfn ${(chunk.phys / PAGE_SIZE).toString(16)} ↗`, 'the chunk page selected');

    // "open" decodes a hop: the root FDT in the FDT viewer, the chunk list in its viewer.
    hop('root FDT').querySelector<HTMLButtonElement>('.link')!.click();
    await until(() => document.querySelector('#tab-fdt')?.getAttribute('aria-selected') === 'true', 'the FDT tab');
    await until(() => document.body.textContent!.includes('preserved-memory-map'), 'the root FDT decoded');
    await page.screenshot({ path: `${SHOTS}/jump-open-fdt.png` });
    document.querySelector<HTMLButtonElement>('#tab-handover')!.click();
    await until(() => hopRows().length === hops.length, 'the hops again');
    hop('khoser_mem_chunk list').querySelector<HTMLButtonElement>('.link')!.click();
    await until(
      () => document.querySelector('#tab-tracker')?.getAttribute('aria-selected') === 'true',
      'the Chunks tab',
    );
    await until(() => document.body.textContent!.includes('num_elms'), 'the chunk list decoded');
    await page.screenshot({ path: `${SHOTS}/jump-open-chunks.png` });
  }, 120_000);
});
