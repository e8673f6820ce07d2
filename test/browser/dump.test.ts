/**
 * File → Open Memory Dump… in the app, on the real engine host: the real Linux 7.2.13 handover
 * (the pages cut at machine_kexec(), test/abi/fixtures/realkernel-7.2, as an ELF core) and KHO
 * Lab's own vmcore export of builtin:test-kho (kho-v1). The dump opens read-only: the dump bar,
 * the map painted from the handover, the timeline and workload disabled with the reason, the
 * inspectors (root FDT, radix tree with a block's path, kho_block chains of LUO sessions and files,
 * memfd-v2); a file that is not a dump is an error banner. Screenshots go to
 * test-results/browser/dump-*.png.
 */
import { describe, expect, it } from 'vitest';
import { page } from 'vitest/browser';
import type { DumpHandle, SimClient } from '../../shared/api';
import App from '../../renderer/src/App.svelte';
import type { AppApi } from '../../renderer/src/lib/api';
import { Host } from '../../electron/host/host';
import { bytesSource } from '../../electron/host/dump/source';
import { qemuCore, realCore } from './dump-real-core';
import { builtinScenario } from '../../electron/host/host';
import { until } from '../until';
import { useMounted } from './fixtures/harness';
import '../../renderer/src/app.css'; // the app's look, for the screenshots

const SHOTS = '../../test-results/browser';

/** KHO Lab's vmcore of builtin:test-kho on 256 MiB, right after kexec -e (boot, insmod, finalize, kexec_load, reboot). */
async function simCore(): Promise<{ bytes: Uint8Array; blocks: number }> {
  const s = builtinScenario('test-kho');
  if (!s.ok) throw new Error(s.error.message);
  const host = new Host();
  const loaded = await host.loadScenario(
    JSON.stringify({ ...s.value, machine: { ...s.value.machine, ram: '256M' } }),
    'test',
  );
  if (!loaded.ok) throw new Error(loaded.error.message);
  // The preserved blocks as kexec_load left them finalized (step 4), the vmcore right after kexec -e.
  await host.goto(4);
  const kho = await host.report();
  await host.goto(5);
  const core = await host.vmcore(false);
  if (!core.ok || !kho.ok) throw new Error('host refused');
  return { bytes: core.value, blocks: kho.value.kho!.outgoing!.blocks.length };
}

/** The real Host as the UI's client, in this page; files the test "picks" are read from `files`. */
function appApi(files: Map<string, Uint8Array>): AppApi {
  const host = new Host({
    openDumpSource: (h: DumpHandle) => {
      const bytes = typeof h === 'string' ? undefined : files.get(h.name ?? '');
      if (!bytes) throw new Error('no such file');
      return bytesSource(bytes);
    },
  });
  const client = new Proxy(host as unknown as SimClient, {
    get(target, name: string) {
      if (name === 'onProgress') return () => () => {};
      const v = (target as unknown as Record<string, unknown>)[name];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { client, transport: 'test', onMenu: () => () => {} };
}

/** Picks `name` in the app's file input, as the browser preview's Open dump… does. */
function pick(name: string, bytes: Uint8Array): void {
  const input = document.querySelector<HTMLInputElement>('[data-testid="dump-file-input"]')!;
  const dt = new DataTransfer();
  dt.items.add(new File([new Uint8Array(bytes)], name));
  input.files = dt.files;
  input.dispatchEvent(new Event('change', { bubbles: true }));
}

const q = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel);
const text = (sel: string) => q(sel)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
const tab = (label: string) =>
  [...document.querySelectorAll<HTMLButtonElement>('[data-testid="dump-inspector"] [role="tab"]')]
    .find((b) => b.textContent?.trim() === label)!
    .click();
const viewer = () => q('[data-testid="record-chain"] [data-testid="struct-viewer"]');
const crumbs = () =>
  [...document.querySelectorAll('[data-testid="record-chain"] .crumb')].map((b) => b.textContent!.trim());

const mount = useMounted();

async function openApp(files: Map<string, Uint8Array>) {
  await page.viewport(1500, 1000);
  const target = document.createElement('div');
  target.style.cssText = 'width: 1500px; height: 1000px';
  document.body.appendChild(target);
  mount(App, { target, props: { api: appApi(files) } });
  // A fresh session opens the New Machine dialog; the dump replaces whatever is shown.
  await until(() => !!q('[data-testid="dump-file-input"]'), 'the app');
  q<HTMLDialogElement>('dialog')?.close();
}

describe('Open Memory Dump… on the real 7.2.13 handover', () => {
  it("QEMU's dump of a 1 GiB guest: the header says 1 GiB of RAM, not the 4 GiB its BIOS ROM stretches the dump to", async () => {
    const core = await qemuCore();
    await openApp(new Map([['qemu-1g.elf', core]]));
    pick('qemu-1g.elf', core);
    await until(() => !!q('[data-testid="dump-bar"]'), 'the dump bar');
    expect(text('[data-testid="machine-ram"]')).toBe('1 GiB');
    expect(q('[data-testid="machine-ram"]')!.parentElement!.title).toMatch(/spans 4 GiB of physical addresses$/);
    expect(text('[data-testid="dump-ram"]')).toBe('· 1 GiB of RAM (spans 4 GiB) · read-only ·');
    // The dump bar is one line.
    const bar = q('[data-testid="dump-bar"]')!;
    expect(bar.getBoundingClientRect().height).toBeLessThan(30);
    // The map's legend names the colours as the dump reader paints them, not as a kernel's page state.
    await until(() => !!q('[data-category="FreeUnmovable"]'), 'the map legend');
    expect(text('[data-category="FreeUnmovable"] .label')).toBe('other RAM in the dump');
    expect(text('[data-category="Hole"] .label')).toBe('not in the dump');
    // The welcome to a fresh session does not cover the dump.
    expect(q('[data-testid="welcome"]')).toBeNull();
    await page.screenshot({ path: `${SHOTS}/dump-qemu-1g.png` });
  });

  it('opens read-only: dump bar, handover map, timeline and workload disabled with the reason, the root FDT annotated', async () => {
    const core = await realCore();
    await openApp(new Map([['k1-machine_kexec.elf', core]]));
    pick('k1-machine_kexec.elf', core);
    await until(() => !!q('[data-testid="dump-bar"]'), 'the dump bar');
    expect(text('[data-testid="dump-bar"]')).toContain('k1-machine_kexec.elf');
    expect(text('[data-testid="dump-bar"]')).toContain('"kho-v4" (Linux 7.2–7.3)');
    expect(text('[data-testid="timeline-disabled"]')).toContain('No timeline');
    expect(text('[data-testid="workload-disabled"]')).toContain('the dump is read-only');
    expect(text('[data-testid="dump-legend"]')).toContain('handover metadata');
    await until(() => viewer()?.dataset.kind === 'fdt', 'the root FDT record');
    expect(text('[data-testid="dump-subblobs"]')).toMatch(/LUO.*kho_test.*kexec-metadata/);
    await until(
      () => !!q('[data-testid="kernel-release"]')?.textContent?.includes('7.2.13'),
      'uname -r from kexec-metadata',
    );
    await page.screenshot({ path: `${SHOTS}/dump-app.png` });

    // kexec-metadata opens from the sub-blob list.
    const row = [...document.querySelectorAll('[data-testid="dump-subblobs"] tr')].find((r) =>
      r.textContent?.includes('kexec-metadata'),
    )!;
    row.querySelector<HTMLButtonElement>('button.open')!.click();
    await until(() => viewer()?.dataset.kind === 'kexec-metadata', 'kexec-metadata');
    expect(text('[data-testid="record-chain"]')).toContain('kho_kexec_metadata: from 7.2.13 (count 1)');
  });

  it('Tracker: the radix root, then a preserved block’s way from the root to its bit (levels 5 … 0)', async () => {
    const core = await realCore();
    await openApp(new Map([['k1.elf', core]]));
    pick('k1.elf', core);
    await until(() => !!q('[data-testid="dump-inspector"]'), 'the dump inspector');
    tab('Tracker');
    await until(() => viewer()?.dataset.kind === 'kho-radix-node', 'the radix root');
    expect(text('[data-testid="dump-tracker-summary"]')).toContain('Radix tree: 49 preserved blocks');
    const block = [...document.querySelectorAll<HTMLElement>('[data-testid="dump-blocks"] tr[data-block]')].find((r) =>
      r.textContent?.includes('0x2c3e000'),
    )!;
    block.click();
    await until(() => crumbs().length === 6, 'the six nodes of the path');
    expect(crumbs()).toEqual(['L5 table', 'L4 table', 'L3 table', 'L2 table', 'L1 table', 'leaf']);
    await until(() => text('[data-testid="record-chain"]').includes('kho_radix_leaf'), 'the leaf');
    const hl = q('[data-testid="record-chain"] tr.hl')!;
    expect(hl.textContent).toMatch(/0x2c3e000 order 0 \(4 KiB\): set \(preserved\)/);
    q('[data-testid="record-chain"]')!.scrollIntoView({ block: 'start' });
    await page.screenshot({ path: `${SHOTS}/dump-radix-path.png`, element: q('[data-testid="dump-inspector"]')! });
    // The page of the block is selected in the map.
    tab('Page');
    await until(() => text('[data-testid="dump-inspector"]').includes('preserved block 0x2c3e000 order 0'), 'its page');
  });

  it('LUO: luo_ser → the sessions’ kho_block → a session’s file block → its memfd-v2 record', async () => {
    const core = await realCore();
    await openApp(new Map([['k1.elf', core]]));
    pick('k1.elf', core);
    await until(() => !!q('[data-testid="dump-inspector"]'), 'the dump inspector');
    tab('LUO');
    await until(() => viewer()?.dataset.kind === 'luo-ser', 'luo_ser');
    expect(text('[data-testid="dump-luo-sessions"]')).toContain('multi-test-files-2');
    const openField = (name: string) => {
      const tr = [...document.querySelectorAll('[data-testid="record-chain"] tr')].find(
        (r) => r.querySelector('td:nth-child(2)')?.textContent?.trim() === name,
      );
      tr!.querySelector<HTMLButtonElement>('button.open')!.click();
    };
    openField('sessions_pa');
    await until(() => viewer()?.dataset.kind === 'luo-session-blocks', 'the session block');
    expect(text('[data-testid="record-chain"]')).toContain('kho_block of luo_session_ser: 7 of 51 entries');
    await page.screenshot({ path: `${SHOTS}/dump-block-sessions.png`, element: q('[data-testid="dump-inspector"]')! });
    const last = [
      ...document.querySelectorAll('[data-testid="struct-array"] tr[data-element="6"] button.open'),
    ][0] as HTMLButtonElement;
    last.click();
    await until(() => viewer()?.dataset.kind === 'luo-file-blocks', 'the file block');
    expect(text('[data-testid="record-chain"]')).toContain('kho_block of luo_file_ser: 2 of 63 entries');
    await page.screenshot({ path: `${SHOTS}/dump-block-files.png`, element: q('[data-testid="dump-inspector"]')! });
    (
      document.querySelector('[data-testid="struct-array"] tr[data-element="0"] button.open') as HTMLButtonElement
    ).click();
    await until(() => viewer()?.dataset.kind === 'memfd-v2-ser', 'the memfd-v2 record');
    expect(text('[data-testid="record-chain"]')).toContain('F_SEAL_SEAL');
    expect(crumbs()).toEqual([
      'luo_ser 0x2144000',
      'session block 0x23d7000',
      expect.stringMatching(/^file block/),
      expect.stringMatching(/^memfd-v2/),
    ]);
  });
});

describe('Open Memory Dump…: KHO Lab’s own export and bad files', () => {
  it('a vmcore of builtin:test-kho at kexec -e (kho-v1, found via VMCOREINFO): scratch and the chunk list', async () => {
    const sim = await simCore();
    await openApp(new Map([['test-kho.vmcore', sim.bytes]]));
    pick('test-kho.vmcore', sim.bytes);
    await until(() => text('[data-testid="dump-bar"]').includes('"kho-v1"'), 'the kho-v1 dump');
    expect(text('[data-testid="dump-bar"]')).toContain('VMCOREINFO');
    tab('Tracker');
    await until(() => viewer()?.dataset.kind === 'kho-mem-chunk', 'the chunk list');
    expect(text('[data-testid="dump-tracker-summary"]')).toContain(`Chunk list: ${sim.blocks} preserved blocks`);
    await page.screenshot({ path: `${SHOTS}/dump-sim-kho-v1.png` });
  });

  it('a file that is not an ELF core: an error banner naming it, the app keeps what it showed', async () => {
    await openApp(new Map([['notes.txt', new TextEncoder().encode('not a dump at all, just text\n'.repeat(10))]]));
    pick('notes.txt', new TextEncoder().encode('x'));
    await until(() => (q('[role="alert"]')?.textContent ?? '').includes('notes.txt'), 'the error banner');
    expect(q('[role="alert"]')!.textContent).toMatch(/notes\.txt: .*(ELF|magic)/i);
    expect(q('[data-testid="dump-bar"]')).toBeNull();
    await page.screenshot({ path: `${SHOTS}/dump-error.png` });
  });
});
