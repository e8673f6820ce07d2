/**
 * LUO in the browser preview, as a VMM developer walks it: builtin luo-kexec-simple before the
 * kexec (the memfd frozen and preserved under token 0x1a, LUO's records still zero), right after
 * kexec -e (no kernel: the session block handed over, read the way the next kernel will), in the
 * next kernel before and after the first open of /dev/liveupdate, and at the end (retrieved and
 * finished); then builtin luo-vm's VMM with its 4 GiB guest memfd. The user-space panel and the
 * LUO inspector tab are checked at each point; one screenshot per point under
 * test-results/e2e/luo-NN-<point>.png. Any console or page error fails.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { BUILTIN_SCENARIOS } from '../../electron/host/builtins';
import { SHOTS, openApp, useApp, waitForPaint } from './harness';

useApp();

const stepCount = (name: string) => BUILTIN_SCENARIOS[name]!.steps.length;
const stepIndex = (name: string, op: string) => BUILTIN_SCENARIOS[name]!.steps.findIndex((s) => s.op === op) + 1;

/** Waits until the timeline is at `cursor` of `total` steps, the app is idle and the map repainted. */
async function atCursor(page: Page, cursor: number, total: number): Promise<void> {
  await expect
    .poll(() => page.locator('.timeline .pos').textContent(), { timeout: 120_000 })
    .toBe(`${cursor}/${total}`);
  await page.waitForFunction(() => !document.querySelector('[role="progressbar"]'), null, { timeout: 120_000 });
  await waitForPaint(page);
}

async function loadBuiltin(page: Page, name: string): Promise<void> {
  if (await page.locator('dialog[open]').count()) {
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
  }
  await page.getByRole('button', { name: 'Scenarios ▾' }).click();
  await page.locator(`[role="menuitem"][data-scenario="${name}"]`).click();
  await atCursor(page, stepCount(name), stepCount(name));
}

/** Jumps the timeline to just after step `cursor` by clicking that step. */
async function goto(page: Page, cursor: number, total: number): Promise<void> {
  await page.locator('.timeline li:not(.group) button.step').nth(cursor).click();
  await atCursor(page, cursor, total);
}

const tab = (page: Page, name: string) => page.getByRole('tab', { name, exact: true }).click();
const text = (page: Page, testid: string) =>
  page
    .getByTestId(testid)
    .textContent()
    .then((t) => (t ?? '').replace(/\s+/g, ' '));
/** A table's rows, cells separated by one space. */
const rows = (page: Page, testid: string) =>
  page
    .getByTestId(testid)
    .evaluate((t) =>
      [...t.querySelectorAll('tr')]
        .map((tr) => [...tr.children].map((c) => c.textContent!.replace(/\s+/g, ' ').trim()).join(' '))
        .join('\n'),
    );
const shot = (page: Page, n: number, what: string) =>
  page.screenshot({ path: join(SHOTS, `luo-${String(n).padStart(2, '0')}-${what}.png`) });
const fd = (page: Page, process: string, n: number) =>
  page
    .locator(`[data-testid="userspace"] [data-process="${process}"] li[data-fd="${n}"]`)
    .textContent()
    .then((t) => (t ?? '').replace(/\s+/g, ' '));

describe('LUO in the browser preview', () => {
  it('luo-kexec-simple: preserve, kexec -e, the next kernel deserializes, retrieves and finishes', async () => {
    const { page, problems } = await openApp();
    const name = 'luo-kexec-simple';
    const total = stepCount(name);
    await loadBuiltin(page, name);

    // Before the kexec, just after PRESERVE_FD of 0x1a (create_and_preserve_memfd(), before its
    // close()): the one-page memfd is frozen and preserved; LUO's records are still zero.
    const steps = BUILTIN_SCENARIOS[name]!.steps;
    const preserved = steps.findIndex((s) => s.op === 'luo_preserve_fd' && s.token === '0x1A') + 1;
    await goto(page, preserved, total);
    await tab(page, 'User space');
    await expect
      .poll(() => fd(page, 'luo-test', 6))
      .toMatch(/6 → \/memfd:test_mfd \(deleted\).*4 KiB.*frozen.*preserved in "test-session" token 0x1a/);
    expect(await fd(page, 'luo-test', 3)).toContain('/dev/liveupdate');
    expect(await fd(page, 'luo-test', 4)).toMatch(/anon_inode:\[luo_session\] kexec_simple_state/);
    expect(await fd(page, 'luo-test', 5)).toMatch(
      /anon_inode:\[luo_session\] test-session.*outgoing session · preserving · 1 file/,
    );
    expect(await text(page, 'luo-outgoing')).toMatch(
      /"test-session" preserving · luo-test fd 5 0x1a memfd-v1 → luo-test fd 6/,
    );
    await tab(page, 'LUO');
    const state = () => text(page, 'luo-state');
    await expect.poll(state).toMatch(/liveupdate-number 1 \(cold start for LUO\)/);
    expect(await state()).toMatch(/\/dev\/liveupdate open by luo-test\[1000\] fd 3/);
    expect(await state()).toContain('memfd-v1');
    const viewer = () => text(page, 'struct-viewer');
    await expect.poll(viewer).toContain('luo_session_header_ser + luo_session_ser[0]');
    expect(await viewer()).toContain('Not written yet');
    await page.getByRole('tab', { name: 'outgoing files "test-session"' }).click();
    await expect.poll(viewer).toContain('luo_file_ser[1]');
    expect(await viewer()).toContain('Not written yet');
    await shot(page, 1, 'preserved');

    // kexec -e: no kernel; the session block the next kernel will read, found from the boot parameters.
    await goto(page, stepIndex(name, 'reboot'), total);
    await expect.poll(viewer, { timeout: 20_000 }).toContain('luo_session_header_ser + luo_session_ser[2]');
    expect(await page.getByRole('tab', { name: 'handed-over session block' }).getAttribute('aria-selected')).toBe(
      'true',
    );
    const array = () => rows(page, 'struct-array');
    // The selftest's state session first, then "test-session".
    expect(await array()).toMatch(/0 \+0x8 "kexec_simple_state" 0x[0-9a-f]+ open ↗ 1 file/);
    expect(await array()).toMatch(/1 \+0x[0-9a-f]+ "test-session" 0x[0-9a-f]+ open ↗ 1 file/);
    expect(await text(page, 'struct-hex')).toContain('74657374 2d736573'); // "test-ses"
    await page.getByTestId('struct-array').getByRole('button', { name: 'open ↗' }).nth(1).click();
    await expect.poll(viewer).toContain('luo_file_ser[1]');
    expect(await array()).toMatch(/0 \+0x0 "memfd-v1" 0x[0-9a-f]+ open ↗ 0x1a/);
    // Hovering the token lights its 8 bytes in the hex.
    await page.locator('td[data-field="0.token"]').hover();
    await expect.poll(() => page.locator('[data-testid="struct-hex"] .b.active').count()).toBe(8);
    await shot(page, 2, 'handed-over');
    await page.getByTestId('luo-inspector').screenshot({ path: join(SHOTS, 'luo-02-handed-over-inspector.png') });
    // The file's data is memfd-v1's memfd_luo_ser: pos, size 4096 (the selftest's ftruncate() to a
    // page), one folio, the array's kho_vmalloc.
    await page.getByTestId('struct-array').getByRole('button', { name: 'open ↗' }).click();
    await expect.poll(viewer).toContain('memfd_luo_ser (memfd-v1, Linux 6.19)');
    expect(await text(page, 'luo-inspector')).toMatch(/size\s*u64\s*4,?096 bytes/);
    await page.getByTestId('luo-inspector').screenshot({ path: join(SHOTS, 'luo-02b-memfd-luo-ser.png') });
    await tab(page, 'User space');
    expect(await text(page, 'userspace')).toContain('No kernel is running');

    // The next kernel booted: LUO found the previous kernel's block, not yet deserialized.
    await goto(page, stepIndex(name, 'reboot') + 1, total);
    await expect.poll(() => text(page, 'userspace-luo')).toMatch(/liveupdate-number\s*2/);
    await tab(page, 'LUO');
    await expect.poll(state).toMatch(/deserialize not yet/);
    await expect.poll(viewer).toContain('luo_session_ser[2]');
    expect(await page.getByRole('tab', { name: 'incoming session block' }).getAttribute('aria-selected')).toBe('true');
    await shot(page, 3, 'next-kernel');

    // The first open deserialized the sessions and freed the block; the file array stays until FINISH.
    const open =
      BUILTIN_SCENARIOS[name]!.steps.findIndex((s, i) => i >= stepIndex(name, 'reboot') && s.op === 'luo_open') + 1;
    await goto(page, open, total);
    await expect.poll(state).toMatch(/deserialize done/);
    expect(await page.getByRole('tab', { name: 'incoming session block' }).count()).toBe(0);
    await page.getByRole('tab', { name: 'incoming files "test-session"' }).click();
    await expect.poll(array).toMatch(/"memfd-v1" 0x[0-9a-f]+ open ↗ 0x1a/);
    await tab(page, 'User space');
    await expect
      .poll(() => text(page, 'luo-incoming'))
      .toMatch(/"test-session" deserialized · no fd 0x1a memfd-v1 not retrieved/);
    await shot(page, 4, 'deserialized');

    // Retrieved and compared (restore_and_verify_memfd(), before its close()), then finished.
    const compared = steps.findLastIndex((s) => s.op === 'expect_content') + 1;
    await goto(page, compared, total);
    await expect.poll(() => fd(page, 'luo-test', 6)).toMatch(/6 → \/memfd: \(deleted\).*4 KiB/);
    const finished = steps.findIndex((s, i) => i >= compared && s.op === 'luo_finish') + 1;
    await goto(page, finished, total);
    await expect
      .poll(() => text(page, 'luo-incoming'))
      .toMatch(/"test-session" finished · luo-test fd 5 no files left/);
    await shot(page, 5, 'finished');

    expect(problems).toEqual([]);
    await page.close();
  });

  it('luo-vm: the VMM preserves its 4 GiB guest and its state memfd; the next kernel gets both back', async () => {
    const { page, problems } = await openApp();
    const name = 'luo-vm';
    const total = stepCount(name);
    await loadBuiltin(page, name);
    await goto(page, stepIndex(name, 'kexec_load') - 1, total);
    await tab(page, 'User space');
    await expect
      .poll(() => fd(page, 'vmm', 3))
      .toMatch(
        /\/memfd:guest-ram \(deleted\) 4 GiB · 1,048,576 pages · pos 0 · ino 1 frozen preserved in "guest" token 0x100/,
      );
    expect(await fd(page, 'vmm', 4)).toMatch(/\/memfd:vmm-state.*preserved in "vmm-state" token 0x1/);
    await shot(page, 6, 'vm-preserved');

    await goto(page, total, total);
    await expect.poll(() => fd(page, 'vmm', 7)).toMatch(/4 GiB · 1,048,576 pages/);
    expect(await text(page, 'luo-incoming')).toMatch(/"vmm-state" finished.*"guest" finished/);
    await tab(page, 'LUO');
    await expect.poll(() => text(page, 'luo-state')).toMatch(/liveupdate-number\s*2/);
    await shot(page, 7, 'vm-finished');

    // The workload panel's LUO form opens /dev/liveupdate again and creates a session, as a VMM would.
    const form = page.getByRole('form', { name: 'LUO actions' });
    await form.getByLabel('LUO operation').selectOption('open');
    await form.getByRole('button', { name: 'Run' }).click();
    await expect
      .poll(() => page.locator('ol[aria-label="Command results"] li').last().textContent())
      .toMatch(/open\(\/dev\/liveupdate\): EBUSY|luo_open: EBUSY/);
    await form.getByLabel('LUO operation').selectOption('create');
    await form.getByLabel('Session name').fill('next-update');
    await form.getByRole('button', { name: 'Run' }).click();
    await expect
      .poll(() => page.locator('ol[aria-label="Command results"] li').last().textContent())
      .toContain('[luo_session] next-update');
    await form.getByLabel('LUO operation').selectOption('preserve');
    await form.getByLabel('fd to preserve').fill('7');
    await form.getByLabel('Token').fill('0x100');
    await form.getByRole('button', { name: 'Run' }).click();
    await expect
      .poll(() => page.locator('ol[aria-label="Command results"] li').last().textContent())
      .toContain('preserved in "next-update" with token 0x100');
    await tab(page, 'User space');
    await expect
      .poll(() => text(page, 'luo-outgoing'))
      .toMatch(/"next-update" preserving · vmm fd 8 0x100 memfd-v1 → vmm fd 7/);
    await shot(page, 8, 'vm-next-update');

    expect(problems).toEqual([]);
    await page.close();
  });
});
