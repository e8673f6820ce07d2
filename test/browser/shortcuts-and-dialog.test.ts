import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { page } from 'vitest/browser';
import MachineDialog from '../../renderer/src/components/MachineDialog.svelte';
import ShortcutHelp from '../../renderer/src/components/ShortcutHelp.svelte';
import '../../renderer/src/app.css';
import { DEFAULT_FORM } from '../../renderer/src/lib/machine-form';
import { matchShortcut, SHORTCUTS } from '../../renderer/src/lib/shortcuts';
import { until } from '../until';

const key = (
  k: string,
  target: EventTarget | null,
  mods: Partial<Record<'ctrlKey' | 'metaKey' | 'altKey', boolean>> = {},
) => matchShortcut({ key: k, target, ctrlKey: false, metaKey: false, altKey: false, ...mods });

describe('shortcuts', () => {
  it('map keys to actions, but not while typing or with modifiers', () => {
    const input = document.createElement('input');
    const checkbox = Object.assign(document.createElement('input'), { type: 'checkbox' });
    const textarea = document.createElement('textarea');
    expect(key('n', document.body)).toBe('new-machine');
    expect(key('ArrowLeft', document.body)).toBe('step-back');
    expect(key('+', document.body)).toBe('zoom-in');
    expect(key('0', document.body)).toBe('zoom-fit');
    expect(key('?', document.body)).toBe('help');
    expect(key('n', input)).toBeNull();
    expect(key('0', textarea)).toBeNull();
    expect(key('b', checkbox)).toBe('boot');
    expect(key('n', document.body, { ctrlKey: true })).toBeNull();
    expect(key('Escape', input)).toBe('close');
    // Every action has exactly one entry in the help table.
    expect(new Set(SHORTCUTS.map((s) => s.action)).size).toBe(SHORTCUTS.length);
  });
});

describe('ShortcutHelp (the "?" overlay, in the Modal frame)', () => {
  it('lists every shortcut; Escape, Close and a click on the backdrop close it, a click inside does not', async () => {
    await page.viewport(1280, 720);
    let closed = 0;
    const cmp = mount(ShortcutHelp, { target: document.body, props: { onclose: () => closed++ } });
    flushSync();
    const dialog = document.querySelector<HTMLDialogElement>('dialog[open][data-testid="shortcut-help"]')!;
    expect(dialog.querySelector('#keys-title')!.textContent).toBe('Keyboard shortcuts');
    expect(dialog.querySelectorAll('tbody tr')).toHaveLength(SHORTCUTS.length + 2);
    await page.screenshot({ path: '../../test-results/browser/shortcut-help-1280x720.png' });
    dialog.querySelector('table')!.click();
    expect(closed).toBe(0);
    dialog.click();
    expect(closed).toBe(1);
    dialog.dispatchEvent(new Event('cancel', { cancelable: true }));
    expect(closed).toBe(2);
    dialog.querySelector<HTMLButtonElement>('button.close')!.click();
    expect(closed).toBe(3);
    unmount(cmp);
  });
});

describe('MachineDialog', () => {
  let cmp: ReturnType<typeof mount> | null = null;
  afterEach(() => {
    if (cmp) unmount(cmp);
    cmp = null;
    document.body.innerHTML = '';
  });

  it('shows the zod message inline and creates only a valid machine', async () => {
    const created: unknown[] = [];
    cmp = mount(MachineDialog, {
      target: document.body,
      props: {
        initial: { ...DEFAULT_FORM },
        oncreate: (c: unknown, boot: boolean) => created.push([c, boot]),
        onclose: () => {},
      },
    });
    flushSync();
    const ram = document.querySelector<HTMLInputElement>('#m-ram')!;
    ram.value = '5T';
    ram.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(document.querySelector('#m-ram-err')!.textContent).toMatch(/RAM size 5 TiB is above the maximum of 4 TiB/);
    expect(ram.getAttribute('aria-invalid')).toBe('true');
    const create = [...document.querySelectorAll('button')].find((b) => b.textContent === 'Create')!;
    expect(create.disabled).toBe(true);

    ram.value = '1G';
    ram.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(create.disabled).toBe(false);
    create.click();
    expect(created).toEqual([
      [
        {
          kernel: '6.19',
          ram: '1G',
          nodes: 1,
          cpus: 4,
          seed: 1,
          cmdline: 'kho=on liveupdate=on kho_scratch=200%',
          initrd: '8M',
          khoDebug: false,
        },
        false,
      ],
    ]);
  });
});

describe('ProgressBar', () => {
  it('appears only for calls longer than the delay and shows the fraction', async () => {
    const { default: ProgressBar } = await import('../../renderer/src/components/ProgressBar.svelte');
    const { reactive } = await import('./fixtures/reactive.svelte');
    const props = reactive({
      busy: null as string | null,
      progress: null as { label: string; done: number; total: number } | null,
      delayMs: 40,
    });
    const cmp = mount(ProgressBar, { target: document.body, props });
    props.busy = 'boot';
    props.progress = { label: 'memmap_init', done: 1, total: 4 };
    flushSync();
    expect(document.querySelector('[role="progressbar"]')).toBeNull();
    // It shows once the delay has passed, however long the machine takes to get there.
    await until(() => {
      flushSync();
      return document.querySelector('[role="progressbar"]') !== null;
    }, 'the progress bar');
    const bar = document.querySelector('[role="progressbar"]')!;
    expect(bar.getAttribute('aria-valuenow')).toBe('25');
    expect(bar.textContent).toContain('memmap_init 25%');
    props.busy = null;
    flushSync();
    expect(document.querySelector('[role="progressbar"]')).toBeNull();
    unmount(cmp);
  });
});
