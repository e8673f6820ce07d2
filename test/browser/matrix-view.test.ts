/**
 * The compatibility matrix view on the real engine host: opened with K, run, a cell per pair of
 * releases coloured by outcome, and a click that opens the cell's run in the main view just after
 * the next kernel's boot. Screenshots go to test-results/browser/matrix-*.png.
 */
import { describe, expect, it } from 'vitest';
import { page } from 'vitest/browser';
import App from '../../renderer/src/App.svelte';
import type { AppApi } from '../../renderer/src/lib/api';
import { Host } from '../../electron/host/host';
import { KERNEL_PROFILES } from '../../electron/kernel/profile';
import { until } from '../until';
import { hostClient, useMounted } from './fixtures/harness';
import '../../renderer/src/app.css'; // the app's look, for the screenshots

const SHOTS = '../../test-results/browser';
const RELEASES = Object.values(KERNEL_PROFILES).map((p) => p.name);
/** Runs of 1 GiB machines: far longer than `until`'s default wait on a busy machine. */
const LONG = { timeoutMs: 300_000 };

const mount = useMounted();

const cells = () => [...document.querySelectorAll<HTMLButtonElement>('[data-testid="matrix-cell"]')];
const dialog = () => document.querySelector<HTMLDialogElement>('[data-testid="matrix-dialog"]');

/** The app at the smallest window it is laid out for. */
async function mountApp(host: Host): Promise<void> {
  await page.viewport(1280, 720);
  const api: AppApi = { client: hostClient(host), transport: 'test', onMenu: () => () => {} };
  const target = document.createElement('div');
  target.style.cssText = 'width: 1280px; height: 720px';
  document.body.appendChild(target);
  mount(App, { target, props: { api } });
}

/** Opens the matrix with its key, picks a scenario and runs it until every cell is there. */
async function runMatrix(source: string): Promise<void> {
  document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'k', bubbles: true }));
  await until(() => dialog() !== null, 'the matrix dialog');
  const select = document.querySelector<HTMLSelectElement>('#m-scenario')!;
  await until(() => [...select.options].some((o) => o.value === source), `option ${source}`);
  select.value = source;
  select.dispatchEvent(new Event('change', { bubbles: true }));
  document.querySelector<HTMLButtonElement>('[data-testid="matrix-dialog"] button[type="submit"]')!.click();
  await until(() => cells().length === RELEASES.length ** 2, 'every cell of the matrix', LONG);
}

describe('MatrixDialog', () => {
  it('runs the default scenario from every release into every release; a click opens that run after the next boot', async () => {
    const host = new Host();
    await mountApp(host);
    await runMatrix('luo-vmm-memfd');
    const got = cells().map((c) => [c.dataset.from, c.dataset.to, c.dataset.outcome]);
    expect(got.map(([f, t]) => [f, t])).toEqual(RELEASES.flatMap((f) => RELEASES.map((t) => [f, t])));
    // A release into itself: the session crossed (the unit test pins every cell from the profiles).
    for (const c of cells()) if (c.dataset.from === c.dataset.to) expect(c.dataset.outcome).toBe('carried');
    // Every other cell is coloured by one of the outcomes, with its few words.
    for (const c of cells()) expect(c.textContent).toMatch(/^\s*(carried|lost|refused|panic|failed)\s*\S/);
    expect(cells()[0]!.textContent).toMatch(/carried\s*2 files, 8 MiB/);
    expect(document.querySelector('[data-testid="matrix-detail"]')!.textContent).toMatch(/→/);
    await page.screenshot({ path: `${SHOTS}/matrix-view.png`, element: dialog()!.querySelector('.frame')! });

    // Real evidence (shared/real-evidence.ts): the real 7.2.13 → 7.2.13 runs confirm 7.2 → 7.2.
    const confirmed = cells().filter((c) => c.dataset.real === '✓real');
    expect(confirmed.map((c) => `${c.dataset.from}→${c.dataset.to}`)).toContain('7.2→7.2');
    expect(cells().some((c) => c.dataset.real === '✗REAL')).toBe(false);
    const seven = confirmed.find((c) => c.dataset.from === '7.2' && c.dataset.to === '7.2')!;
    expect(seven.querySelector('[data-testid="real-badge"]')!.textContent).toBe('✓real');
    expect(dialog()!.querySelector('ul.legend')!.textContent).toMatch(/✓real\s+real Linux kernels did the same/);
    seven.dispatchEvent(new MouseEvent('mouseenter'));
    await until(() => document.querySelector('[data-testid="matrix-side-by-side"]') !== null, 'the real lines');
    const side = document.querySelector<HTMLTableElement>('[data-testid="matrix-side-by-side"]')!;
    const rows = [...side.tBodies[0]!.rows].map((r) => [...r.cells].map((td) => td.textContent!.trim()));
    expect(rows).toContainEqual(['KHO: found kexec handover data.', 'KHO: found kexec handover data.']);
    expect(rows).toContainEqual([
      'luo: Retrieved live update data, liveupdate number: 1',
      'luo: Retrieved live update data, liveupdate number: 1',
    ]);
    expect(rows.find((r) => r[0] === 'KHO: exec from: 7.2.13 (count 1)')![1]).toMatch(
      /^KHO: exec from: 7\.2\.\S+ \(count 1\)$/,
    );
    expect(document.querySelector('[data-testid="matrix-evidence"] summary')!.textContent).toMatch(
      /✓ agrees\s+real 7\.2\.13 → 7\.2\.13: carried\s+realkernel\/logs\/all\.console\.log/,
    );
    // The patched-kernel runs are rows of their own, with the scenario that reproduces them.
    const variants = [...document.querySelectorAll<HTMLTableRowElement>('[data-testid="matrix-variant"]')];
    expect(variants.map((r) => r.cells[0]!.textContent)).toEqual([
      '7.2 → 7.3[kho-v5]',
      '7.3[kho-v5] → 7.2',
      '7.2 → 7.3[luo-v6]',
      '7.3[luo-v6] → 7.2',
    ]);
    expect(variants[0]!.textContent).toContain('kexec_load {"kernel":"7.3","variant":"kho-v5"}');
    await page.screenshot({ path: `${SHOTS}/matrix-evidence.png`, element: dialog()!.querySelector('.frame')! });
    variants[2]!.dispatchEvent(new MouseEvent('mouseenter'));
    await until(
      () =>
        /luo: LUO state is incompatible with 'luo-v6'/.test(
          document.querySelector('[data-testid="matrix-detail"]')?.textContent ?? '',
        ),
      'the variant row details',
    );
    await page.screenshot({ path: `${SHOTS}/matrix-variant.png`, element: dialog()!.querySelector('.frame')! });

    // The last row's first cell: from the newest release into the oldest.
    const from = RELEASES.at(-1)!;
    const to = RELEASES[0]!;
    const cell = cells().find((c) => c.dataset.from === from && c.dataset.to === to)!;
    cell.click();
    await until(() => dialog() === null, 'the dialog to close after opening the run', LONG);
    const st = await host.state();
    if (!st.ok) throw new Error(st.error.message);
    const state = st.value;
    const scenario = await host.scenario();
    expect(scenario.ok && scenario.value.machine.kernel).toBe(from);
    expect(state.steps.find((s) => s.command.op === 'kexec_load')!.command).toMatchObject({ kernel: to });
    // The cursor sits just after the next kernel's boot: that kernel is the `to` release.
    expect(state.steps[state.cursor - 1]!.command.op).toBe('boot');
    expect(state.kernelRelease).toBe(KERNEL_PROFILES[to].release);
    await until(
      () =>
        document.querySelector('[data-testid="kernel-release"]')?.textContent?.includes(KERNEL_PROFILES[to].release) ??
        false,
      'the next kernel in the header',
    );
    await page.screenshot({ path: `${SHOTS}/matrix-opened.png` });
  });

  it('a variant row opens its run: the patched kernel named in kexec_load', async () => {
    const host = new Host();
    await mountApp(host);
    await runMatrix('luo-vmm-memfd');
    const row = [...document.querySelectorAll<HTMLTableRowElement>('[data-testid="matrix-variant"]')].find(
      (r) => r.cells[0]!.textContent === '7.2 → 7.3[luo-v6]',
    )!;
    expect(row.textContent).toMatch(/panic.*panic\s*✓real/);
    row.click();
    await until(() => dialog() === null, 'the dialog to close after opening the variant run', LONG);
    const sc = await host.scenario();
    if (!sc.ok) throw new Error(sc.error.message);
    expect(sc.value.machine.kernel).toBe('7.2');
    expect(sc.value.steps.find((x) => x.op === 'kexec_load')).toMatchObject({ kernel: '7.3', variant: 'luo-v6' });
  });

  it('runs the scenario loaded now: a handler missing on the next kernel is lost on 7.0, carried on 6.19', async () => {
    const host = new Host();
    expect((await host.loadBuiltin('luo-unknown-format')).ok).toBe(true);
    await mountApp(host);
    await runMatrix(':current');
    const outcome = (from: string, to: string) =>
      cells().find((c) => c.dataset.from === from && c.dataset.to === to)?.dataset.outcome;
    // luo_session_deserialize() propagates luo_file_deserialize()'s -ENOENT from 7.0 on: /dev/liveupdate is EIO.
    expect(outcome('6.19', '7.0')).toBe('lost');
    expect(outcome('7.0', '6.19')).toBe('carried');
    expect(cells().find((c) => c.dataset.outcome === 'lost')!.textContent).toMatch(/step \d+ luo_open: EIO/);
    cells()
      .find((c) => c.dataset.outcome === 'lost')!
      .dispatchEvent(new MouseEvent('mouseenter'));
    await until(
      () => /EIO/.test(document.querySelector('[data-testid="matrix-detail"]')?.textContent ?? ''),
      'the lost cell details',
    );
    await page.screenshot({ path: `${SHOTS}/matrix-current.png`, element: dialog()!.querySelector('.frame')! });
  });
});
