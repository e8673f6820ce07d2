/**
 * The page inspector on the real engine host: the go-to box (`0x…` a physical address, `pfn:N` a
 * pfn, a bare number a pfn, bad input named), pfns in hex, private's KHOP stamp decoded
 * (kernel/liveupdate/kexec_handover.c: deserialize_bitmap() stamps, kho_restore_page() clears), and
 * the bytes section: hex rows, the struct overlay from the record decoders, the byte diff against
 * one kernel earlier. Screenshots go to test-results/browser/page-*.png.
 */
import { describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { page } from 'vitest/browser';
import { PAGE_SIZE } from '../../shared/units';
import { goTo, okOf, runBuiltin, selectedHead, until, useApp } from './fixtures/app-host';

const SHOTS = '../../test-results/browser';
const mountApp = useApp();

const q = <T extends Element = HTMLElement>(sel: string) => document.querySelector<T>(sel);
const text = (sel: string) => q(sel)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
const dumpValue = (key: string) =>
  [...document.querySelectorAll('[data-testid="page-dump"] dt')]
    .find((d) => d.textContent === key)
    ?.nextElementSibling?.textContent?.replace(/\s+/g, ' ')
    .trim() ?? '';
const baseButton = (label: string) =>
  [...document.querySelectorAll<HTMLButtonElement>('[aria-label="Diff against"] button')].find(
    (b) => b.textContent!.trim() === label,
  )!;

describe('page inspector: go to, hex pfns, private', () => {
  it('goto parser: 0x… is a physical address, pfn:N a pfn (decimal or hex), bad input named', async () => {
    const host = await runBuiltin('test-kho');
    const st = okOf(await host.state());
    await mountApp(host, 1280, 720);

    goTo('0x38c0e123');
    await until(() => selectedHead().includes('pfn_to_page(0x38c0e)'), 'phys 0x38c0e123 → pfn 0x38c0e');
    expect(dumpValue('pfn')).toBe('0x38c0e /* 232462 */');
    goTo('pfn:4096');
    await until(() => selectedHead().includes('pfn_to_page(0x1000)'), 'pfn:4096');
    goTo('pfn:0x2a');
    await until(() => selectedHead().includes('pfn_to_page(0x2a)'), 'pfn:0x2a');
    goTo('77');
    await until(() => selectedHead().includes('pfn_to_page(0x4d)'), 'a bare number is a pfn');

    goTo('pfn:12z');
    await until(() => text('[data-testid="goto-error"]') !== '', 'the parse error');
    expect(text('[data-testid="goto-error"]')).toBe('pfn "12z" is not a number (decimal, or hex with 0x)');
    goTo('0x1000000000');
    await until(() => text('[data-testid="goto-error"]').includes('beyond the end of RAM'), 'the range error');
    expect(text('[data-testid="goto-error"]')).toBe(
      `physical address 0x1000000000 (pfn 0x1000000) is beyond the end of RAM (max pfn 0x${(st.maxPfn - 1).toString(16)})`,
    );
    goTo('hello');
    await until(() => text('[data-testid="goto-error"]').startsWith('"hello" is neither'), 'the word refused');
  }, 120_000);

  it("private decoded: a leaked block's head carries the KHOP magic and its order (deserialize_bitmap())", async () => {
    const host = await runBuiltin('test-kho-forgot-one');
    const leaked = okOf(await host.generationDiff()).blocks.find((b) => b.fate === 'leaked' && b.order > 0)!;
    await mountApp(host, 1280, 720);
    goTo(`pfn:0x${leaked.pfn.toString(16)}`);
    await until(() => dumpValue('private').includes('KHOP'), 'private decoded');
    expect(dumpValue('private')).toBe(
      `0x4b484f50${leaked.order.toString(16).padStart(8, '0')} /* KHOP magic 0x4b484f50 ("KHOP"), order ${leaked.order}: preserved, not yet restored */`,
    );
  }, 120_000);
});

describe('page inspector: bytes', () => {
  it('hex rows, the root FDT overlay (fdt record decoder) and window buttons', async () => {
    const host = await runBuiltin('test-kho');
    const fdt = okOf(await host.kho()).incoming!.fdtPhys;
    await mountApp(host, 1440, 900);
    goTo(`0x${fdt.toString(16)}`);
    await until(() => document.querySelectorAll('[data-testid="hex-rows"] .row').length === 32, 'the hex rows');
    const first = q('[data-testid="hex-rows"] .row')!;
    expect(first.querySelector('.off')!.textContent).toBe('000');
    // struct fdt_header: magic d00dfeed, big-endian.
    expect([...first.querySelectorAll('.b')].slice(0, 4).map((b) => b.textContent)).toEqual(['d0', '0d', 'fe', 'ed']);
    expect(first.querySelector('.b')!.getAttribute('title')).toMatch(/FDT v17.* \.magic/);
    expect(text('[data-testid="overlay-records"]')).toMatch(/decoded here: FDT v17, \d+ bytes at 0x/);
    const fields = text('[data-testid="overlay-fields"]');
    expect(fields).toContain('magic');
    expect(fields).toContain('totalsize');
    expect(document.querySelectorAll('[aria-label="Byte window"] button')).toHaveLength(8);
    q('[data-testid="page-bytes"]')!.scrollIntoView({ block: 'start' });
    await page.screenshot({ path: `${SHOTS}/page-bytes-root-fdt.png` });
  }, 120_000);

  it('diff one kernel earlier: a restored folio is identical, the forgotten one has changed bytes highlighted', async () => {
    const host = await runBuiltin('test-kho-forgot-one');
    const d = okOf(await host.generationDiff());
    const restored = d.blocks.find((b) => b.fate === 'restored')!;
    const forgotten = d.blocks.find((b) => b.notPreserved)!;
    await mountApp(host, 1280, 720);

    goTo(`pfn:${restored.pfn}`);
    await until(() => baseButton('one kernel earlier')?.disabled === false, 'the bases');
    baseButton('one kernel earlier').click();
    flushSync();
    await until(() => text('[data-testid="diff-summary"]') !== '', 'the diff summary');
    expect(text('[data-testid="diff-summary"]')).toBe(
      `identical to the page at step ${d.beforeStep} (kexec -e): the RAM the previous kernel handed over`,
    );
    expect(document.querySelectorAll('.b.changed')).toHaveLength(0);

    goTo(`0x${(forgotten.pfn * PAGE_SIZE).toString(16)}`);
    await until(() => /bytes? changed since/.test(text('[data-testid="diff-summary"]')), 'the changed bytes');
    const changed = Number(/(\d+) bytes? changed/.exec(text('[data-testid="diff-summary"]'))![1]);
    expect(changed).toBeGreaterThan(3000);
    // Only the window's changes are drawn: at most 512 cells, each one highlighted.
    const cells = document.querySelectorAll('.b.changed');
    expect(cells.length).toBeGreaterThan(400);
    expect(cells.length).toBeLessThanOrEqual(512);
    expect(cells[0]!.getAttribute('title')).toMatch(/\(was [0-9a-f]{2}\)/);
    expect(document.querySelectorAll('[aria-label="Byte window"] .has-change')).toHaveLength(8);
    q('[data-testid="page-bytes"]')!.scrollIntoView({ block: 'start' });
    await page.screenshot({ path: `${SHOTS}/page-bytes-diff-forgotten.png` });

    baseButton('one step earlier').click();
    flushSync();
    // The scribble hit it when the next kernel booted; insmod, the last step, left it alone.
    await until(() => / step \d+ \(boot\)$/.test(text('[data-testid="diff-summary"]')), 'one step earlier');
    expect(text('[data-testid="diff-summary"]')).toMatch(/^identical to the page at step \d+ \(boot\)$/);
  }, 120_000);
});
