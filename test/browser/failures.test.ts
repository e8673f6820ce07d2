/**
 * Failed checks in the UI, on the real engine host. test-kho-forgot-one's test_kho restore
 * (lib/test_kho.c: kho_test_restore_data()) stops at the folio that was never preserved; a poked
 * data/csum makes the same restore fail its checksum; a poked memfd_luo_folio_ser makes
 * memfd_luo_retrieve() fail RETRIEVE_FD with EIO. Each time the top bar names the failing step,
 * the Timeline names the culprit as a link that zooms the map to it, and the map paints it in the
 * failure colour; the Handover tab lists the unrestored blocks one by one, each a link.
 * Screenshots go to test-results/browser/failure-*.png.
 */
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import type { CommandInput } from '../../shared/commands';
import { CATEGORY_STYLES, PageCategory, paletteRgba } from '../../shared/palette';
import { PAGE_SIZE, hex } from '../../shared/units';
import type { FailedAt, StepInfo } from '../../shared/views';
import App from '../../renderer/src/App.svelte';
import type { AppApi, MenuAction } from '../../renderer/src/lib/api';
import { BUILTIN_SCENARIOS } from '../../electron/host/builtins';
import { Host } from '../../electron/host/host';
import { until as poll } from '../until';
import { frame, hostClient, okOf, untilWithin, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css'; // the app's look, for the screenshots

const SHOTS = '../../test-results/browser';
const RED = paletteRgba()[PageCategory.Corrupted]!;
const CORRUPTED = CATEGORY_STYLES[PageCategory.Corrupted]!;

const until = untilWithin(30_000);

const mount = useMounted();

/** Mounts the app on `host` at 1500×900 and waits for the failure badge and a drawn map. */
async function mountApp(host: Host): Promise<void> {
  await page.viewport(1500, 900);
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
  await until(() => document.querySelector('[data-testid="failure-badge"]') !== null, 'the failure badge');
  await until(() => document.querySelector('canvas[data-drawn]:not([data-drawn="0"])') !== null, 'the map');
  flushSync();
}

/** Pixels of the map canvas in the failure colour. */
function redPixels(): number {
  const c = document.querySelector<HTMLCanvasElement>('canvas[data-drawn]')!;
  const d = new Uint32Array(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data.buffer);
  let n = 0;
  for (const px of d) if (px === RED) n++;
  return n;
}

/**
 * The common checks: the badge names step `failing`, the Timeline's culprit link zooms the map to
 * the failed block (painted red, selected in the page inspector), and so does the badge.
 */
async function checkFailure(steps: StepInfo[], failing: number, at: FailedAt): Promise<void> {
  const badge = document.querySelector<HTMLButtonElement>('[data-testid="failure-badge"]')!;
  const { command, errno, label } = steps[failing]!;
  expect(badge.textContent?.trim()).toBe(`FAILED · step ${failing + 1}: ${command.op}${errno ? ` ${errno}` : ''}`);
  expect(badge.title).toContain(label);
  expect(badge.title).toContain(steps[failing]!.message);
  expect(document.querySelector('[data-testid="panic-badge"]')).toBeNull();

  const line = document.querySelector<HTMLElement>('[data-testid="step-failed-at"]')!;
  expect(line.textContent).toContain(at.what);
  expect(line.textContent).toContain(`pfn ${hex(at.pfn)}`);
  const link = line.querySelector<HTMLButtonElement>('button.addr')!;
  expect(Number(link.dataset.phys)).toBe(at.phys ?? at.pfn * PAGE_SIZE);
  const before = redPixels();
  link.click();
  await until(() => document.body.textContent!.includes(`pfn_to_page(${hex(at.pfn)})`), 'the culprit page selected');
  // Zoomed onto it: the failed block now covers more of the map, in the failure colour.
  await poll(() => redPixels() > Math.max(before, 50), 'the failed block painted red, zoomed', { between: frame });
  const zoomedRed = redPixels();
  expect(document.querySelector('.inspector .desc')?.textContent).toBe(CORRUPTED.description);

  // The badge does the same from anywhere: from the whole machine, it zooms back in.
  document.querySelector<HTMLButtonElement>('button[aria-label="Fit whole machine"]')!.click();
  await poll(() => redPixels() < zoomedRed, 'the whole machine again', { between: frame });
  badge.click();
  await poll(() => redPixels() >= zoomedRed, 'the badge zooms back to the culprit', { between: frame });
}

describe('a failed check in the UI', () => {
  it('test-kho-forgot-one: kho_test_restore_data() failure badge, folio pfn link, red folio, unrestored block links', async () => {
    const host = new Host();
    const steps = okOf(await host.loadBuiltin('test-kho-forgot-one')).steps;
    const failing = steps.findIndex((s) => !s.ok);
    const at = steps[failing]!.failedAt!;
    expect(at.what).toMatch(/^test_kho folio 3 /);
    await mountApp(host);
    await checkFailure(steps, failing, at);
    await page.screenshot({ path: `${SHOTS}/failure-forgot-one.png` });
    await page.screenshot({ path: `${SHOTS}/failure-topbar.png`, element: document.querySelector('header.top')! });

    // The Handover tab lists each unrestored block as a link.
    document.querySelector<HTMLButtonElement>('#tab-handover')!.click();
    await until(() => document.querySelector('[data-testid="unrestored-blocks"]') !== null, 'the unrestored list');
    const blocks = okOf(await host.kho()).incoming!.unrestored;
    expect(blocks.length).toBeGreaterThan(0);
    const links = [...document.querySelectorAll<HTMLButtonElement>('[data-testid="unrestored-blocks"] button.addr')];
    expect(links.map((b) => Number(b.dataset.phys))).toEqual(blocks.slice(0, 32).map((b) => b.pfn * PAGE_SIZE));
    expect(links[0]!.textContent?.trim()).toBe(hex(blocks[0]!.pfn * PAGE_SIZE));
    const pick = blocks[Math.min(1, blocks.length - 1)]!;
    links[Math.min(1, links.length - 1)]!.click();
    // The Handover tab stays open; the selection shows beside the tabs.
    await until(
      () => document.querySelector('.tabs .sel')?.textContent?.trim() === `pfn ${pick.pfn.toString(16)} ↗`,
      'an unrestored block selected',
    );
    document.querySelector('[data-testid="unrestored-blocks"]')!.scrollIntoView({ block: 'center' });
    await page.screenshot({ path: `${SHOTS}/failure-unrestored.png` });
  }, 120_000);

  it('a poked kho_test data/csum: the failing step names the csum property, painted red', async () => {
    const host = new Host();
    const t = BUILTIN_SCENARIOS['test-kho']!;
    const run = [...(t.steps as CommandInput[])];
    run.splice(
      run.findIndex((s, i) => i > 0 && s.op === 'boot'),
      0,
      {
        op: 'poke',
        fdt: 'kho_test',
        property: 'data/csum',
        hex: 'deadbeef',
      } satisfies CommandInput,
    );
    okOf(await host.newMachine(t.machine!));
    for (const s of run) okOf(await host.run(s));
    const steps = okOf(await host.state()).steps;
    const failing = steps.findIndex((s) => !s.ok);
    const at = steps[failing]!.failedAt!;
    expect(at.what).toContain('kho_test data/csum');
    await mountApp(host);
    await checkFailure(steps, failing, at);
    await page.screenshot({ path: `${SHOTS}/failure-csum.png` });
  }, 120_000);

  it('a poked memfd_luo_folio_ser: memfd_luo_retrieve() EIO names the folio, painted red', async () => {
    const host = new Host();
    const s = BUILTIN_SCENARIOS['luo-kexec-simple']!;
    const reboot = s.steps.findIndex((c) => c.op === 'reboot');
    okOf(await host.newMachine(s.machine!));
    for (const c of (s.steps as CommandInput[]).slice(0, reboot)) okOf(await host.run(c));
    // The "hello kexec world" memfd's folio array (session "test-session", after the selftest's state
    // session): luo_file_ser.data → memfd_luo_ser → kho_vmalloc chunk → array page.
    const file = okOf(await host.luo())!.outgoing.find((x) => x.name === 'test-session')!.files[0]!;
    let rec = okOf(await host.records({ kind: 'memfd-luo-ser', phys: file.data }));
    while (rec.kind !== 'memfd-folio-array') {
      const next = [...(rec.header?.fields ?? []), ...(rec.array?.elements.flat() ?? [])].find((f) => f.opens)!;
      rec = okOf(await host.records(next.opens!));
    }
    const fieldPhys = rec.phys + rec.array!.elements[0]![0]!.offset;
    const raw = okOf(await host.readPhys(fieldPhys, 8));
    const v = new DataView(raw.buffer, raw.byteOffset).getBigUint64(0, true) + 1n; // the next pfn: never preserved
    okOf(await host.run({ op: 'poke', phys: hex(fieldPhys), u64: `0x${v.toString(16)}` }));
    for (const c of (s.steps as CommandInput[]).slice(reboot)) okOf(await host.run(c));
    const steps = okOf(await host.state()).steps;
    const failing = steps.findIndex((st) => !st.ok);
    expect(steps[failing]!.errno).toBe('EIO');
    await mountApp(host);
    await checkFailure(steps, failing, steps[failing]!.failedAt!);
    await page.screenshot({ path: `${SHOTS}/failure-luo-eio.png` });
  }, 120_000);
});
