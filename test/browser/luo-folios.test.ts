/**
 * memfd's folio records in the LUO inspector, on the real engine host, for 6.19's memfd-v1 and
 * 7.2's memfd-v2: followed from the session's files to the array page of memfd_luo_folio_ser,
 * as the next kernel finds them at boot, each record shows `pfn` in hex, `flags` by their MEMFD_LUO_FOLIO_* names, and the physical
 * address as a secondary link that selects the page. Screenshots: test-results/browser/luo-folios-*.png.
 */
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import type { CommandInput } from '../../shared/commands';
import type { KernelRelease } from '../../shared/machine-config';
import { PAGE_SIZE } from '../../shared/units';
import App from '../../renderer/src/App.svelte';
import type { AppApi } from '../../renderer/src/lib/api';
import { Host } from '../../electron/host/host';
import { hostClient, untilWithin, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css';

const SHOTS = '../../test-results/browser';
const until = untilWithin(15_000);

const mount = useMounted();

const STEPS: CommandInput[] = [
  { op: 'boot' },
  { op: 'spawn', name: 'vmm' },
  { op: 'memfd_create', process: 'vmm', name: 'guest' },
  { op: 'write', process: 'vmm', fd: 3, data: { random: true }, length: '64K', order: 4 },
  { op: 'write', process: 'vmm', fd: 3, data: { text: 'hello kexec world' }, offset: '64K' },
  { op: 'luo_open', process: 'vmm' },
  { op: 'luo_create_session', process: 'vmm', fd: 4, name: 'vm' },
  { op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 },
  { op: 'kexec_load' },
  { op: 'reboot' },
  // The next kernel: its incoming records are what the old kernel wrote, there until FINISH.
  { op: 'boot' },
  { op: 'spawn', name: 'vmm2' },
  { op: 'luo_open', process: 'vmm2' },
  { op: 'luo_retrieve_session', process: 'vmm2', fd: 3, name: 'vm' },
];

const viewer = () => document.querySelector<HTMLElement>('[data-testid="luo-inspector"] [data-testid="struct-viewer"]');
/** The "open ↗" of the field that leads towards the folio records (file data, the vmalloc chunks). */
const NEXT = ['td[data-field$=".data"]', 'tr[data-field="h.folios.first"]', 'td[data-field$=".phys"]']
  .map((s) => `${s} button.open`)
  .join(', ');

describe('LUO folio records', () => {
  it.each<[KernelRelease, string]>([
    ['6.19', 'memfd-v1'],
    ['7.2', 'memfd-v2'],
  ])(
    '%s (%s): memfd_luo_folio_ser shows pfn, MEMFD_LUO_FOLIO_* flags and the address that selects the page',
    async (kernel, format) => {
      await page.viewport(1440, 900);
      const host = new Host();
      const made = await host.newMachine({
        ram: '512M',
        seed: 1,
        kernel,
        cmdline: 'kho=on liveupdate=on kho_scratch=64M,32M,16M',
      });
      if (!made.ok) throw new Error(made.error.message);
      for (const c of STEPS) {
        const r = await host.run(c);
        if (!r.ok || !r.value.step.ok) throw new Error(`${c.op} failed`);
      }
      const api: AppApi = { client: hostClient(host), transport: 'test', onMenu: () => () => {} };
      const target = document.createElement('div');
      document.body.appendChild(target);
      mount(App, { target, props: { api } });
      await until(() => !!document.querySelector('#tab-luo'), 'the inspector');
      document.querySelector<HTMLButtonElement>('#tab-luo')!.click();
      await until(
        () =>
          [...document.querySelectorAll('.targets button')].some((b) => /^incoming file/.test(b.textContent!.trim())),
        'the incoming file targets',
      );
      [...document.querySelectorAll<HTMLButtonElement>('.targets button')]
        .find((b) => /^incoming file/.test(b.textContent!.trim()))!
        .click();
      await until(() => /file/.test(viewer()?.dataset.kind ?? ''), 'the file records');
      // luo_file_ser → memfd_luo_ser → kho_vmalloc_chunk → the array page.
      const kinds: string[] = [];
      for (let hop = 0; hop < 6 && viewer()?.dataset.kind !== 'memfd-folio-array'; hop++) {
        await until(() => !!viewer()?.querySelector(NEXT), `a way on from ${viewer()?.dataset.kind}`);
        kinds.push(viewer()!.dataset.kind!);
        const from = viewer()!.dataset.kind;
        viewer()!.querySelector<HTMLButtonElement>(NEXT)!.click();
        await until(() => viewer()?.dataset.kind !== from, `the record after ${from}`);
      }
      expect(kinds.slice(1)).toEqual([format === 'memfd-v1' ? 'memfd-luo-ser' : 'memfd-v2-ser', 'kho-vmalloc-chunk']);
      flushSync();
      const table = viewer()!.querySelector<HTMLElement>('[data-testid="struct-array"]')!;
      const heads = [...table.querySelectorAll('thead th')].map((t) => t.textContent!.trim());
      expect(heads).toEqual(['#', 'off', 'pfn', 'flags', 'index']);
      const rows = [...table.querySelectorAll<HTMLElement>('tbody tr')];
      expect(rows).toHaveLength(2); // one order-4 folio at index 0, one order-0 folio at 64 KiB
      for (const r of rows) {
        const pfnCell = r.querySelector<HTMLElement>('td[data-field$=".pfn"]')!;
        const pfn = /^0x[0-9a-f]+/.exec(pfnCell.textContent!.trim())![0];
        const link = pfnCell.querySelector<HTMLButtonElement>('button.addr')!;
        expect(Number(link.dataset.phys)).toBe(parseInt(pfn, 16) * PAGE_SIZE);
        expect(pfnCell.textContent!.replace(/\s+/g, ' ').trim()).toBe(
          `${pfn} @ 0x${(parseInt(pfn, 16) * PAGE_SIZE).toString(16)}`,
        );
        const flags = r.querySelector<HTMLElement>('td[data-field$=".flags"]')!;
        expect(flags.textContent!.trim()).toBe('MEMFD_LUO_FOLIO_DIRTY | MEMFD_LUO_FOLIO_UPTODATE');
        expect(flags.scrollWidth, 'the flag names are not cut').toBeLessThanOrEqual(flags.clientWidth);
        expect(pfnCell.scrollWidth, 'the pfn and its address are not cut').toBeLessThanOrEqual(pfnCell.clientWidth);
      }
      expect(rows.map((r) => r.querySelector('td[data-field$=".index"]')!.textContent!.trim())).toEqual(['0', '16']);
      table.scrollIntoView();
      await page.screenshot({ path: `${SHOTS}/luo-folios-${format}.png` });
      // The address selects its page: the page inspector shows that folio's head.
      const link = rows[1]!.querySelector<HTMLButtonElement>('td[data-field$=".pfn"] button.addr')!;
      const pfn = Number(link.dataset.phys) / PAGE_SIZE;
      link.click();
      document.querySelector<HTMLButtonElement>('#tab-page')!.click();
      await until(
        () => document.body.textContent!.includes(`pfn_to_page(0x${pfn.toString(16)})`),
        'the folio selected',
      );
    },
  );
});
