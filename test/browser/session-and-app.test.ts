/**
 * The session model and the App shell against a fake SimClient: errors become banner lines or
 * shell-style transcript lines (never unhandled rejections), the log follows the host's epochs,
 * menu actions and shortcuts reach the UI.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import type { Result, SimClient } from '../../shared/api';
import { MachineConfigSchema } from '../../shared/machine-config';
import type { Progress, SessionState, StepInfo, TraceEvent } from '../../shared/views';
import App from '../../renderer/src/App.svelte';
import type { AppApi, MenuAction } from '../../renderer/src/lib/api';
import { Session } from '../../renderer/src/lib/session.svelte';

const tick = () => new Promise((r) => setTimeout(r, 0));

function baseState(over: Partial<SessionState> = {}): SessionState {
  return {
    config: MachineConfigSchema.parse({ ram: '256M' }),
    booted: false,
    kernelRelease: '6.19.0-kholab',
    steps: [],
    cursor: 0,
    maxPfn: 65536,
    nodes: [{ nid: 0, startPfn: 0, endPfn: 65536, presentPages: 65536 }],
    e820: [],
    summary: null,
    lastEventSeq: 0,
    epoch: 1,
    ...over,
  } as SessionState;
}

const ev = (seq: number, msg: string): TraceEvent => ({
  seq,
  step: 1,
  time: seq / 1000,
  level: 'info',
  subsys: 'test',
  msg,
});

/** A SimClient whose methods answer from overridable handlers; unknown calls reject. */
function fakeClient(handlers: Partial<Record<keyof SimClient, (...a: never[]) => unknown>>) {
  const progress = new Set<(p: Progress) => void>();
  const calls: string[] = [];
  const client = new Proxy({} as SimClient, {
    get(_t, name: string) {
      if (name === 'onProgress') return (l: (p: Progress) => void) => (progress.add(l), () => progress.delete(l));
      return (...args: unknown[]) => {
        calls.push(name);
        const h = handlers[name as keyof SimClient] as ((...a: unknown[]) => unknown) | undefined;
        return h ? Promise.resolve(h(...args)) : Promise.reject(new Error(`${name} not faked`));
      };
    },
  });
  return { client, calls, emitProgress: (p: Progress) => progress.forEach((l) => l(p)) };
}

describe('Session', () => {
  it('turns ok:false results and rejections into banner lines', async () => {
    const { client } = fakeClient({
      state: () => ({ ok: false, error: { code: 'internal', message: 'boom' } }),
      goto: () => Promise.reject(new Error('ipc closed')),
    });
    const s = new Session(client);
    await s.refresh();
    expect(s.banner.map((b) => b.text)).toEqual(['state: boom']);
    s.state = baseState({ steps: [{} as StepInfo], cursor: 0 });
    await s.goto(1);
    expect(s.banner.at(-1)!.text).toBe('goto: ipc closed');
    expect(s.busy).toBeNull();
    s.dismiss(s.banner[0]!.id);
    expect(s.banner).toHaveLength(1);
  });

  it('shows a refused command as the shell does, without a banner', async () => {
    const step = {
      index: 1,
      label: 'vmm: memfd_create("x")',
      command: { op: 'memfd_create', process: 'vmm', name: 'x' },
      ok: false,
      errno: 'ENOMEM',
      message: 'memfd_create: ENOMEM (out of memory)',
    } as StepInfo;
    const { client } = fakeClient({
      run: (): Result<unknown> => ({
        ok: true,
        value: { step, state: baseState({ steps: [step], cursor: 1 }), events: [] },
      }),
    });
    const s = new Session(client);
    await s.run({ op: 'memfd_create', process: 'vmm', name: 'x' });
    expect(s.transcript.at(-1)).toMatchObject({
      ok: false,
      result: 'memfd_create: ENOMEM',
      detail: 'memfd_create: ENOMEM (out of memory)',
    });
    expect(s.banner).toHaveLength(0);
  });

  it('fetches new events incrementally and refetches from scratch on a new epoch', async () => {
    let state = baseState({ lastEventSeq: 3, epoch: 1 });
    let log = [ev(1, 'a'), ev(2, 'b'), ev(3, 'c')];
    const { client } = fakeClient({
      state: () => ({ ok: true, value: state }),
      events: (after: number, limit: number) => ({ ok: true, value: log.filter((e) => e.seq > after).slice(0, limit) }),
    });
    const s = new Session(client);
    await s.refresh();
    expect(s.events.map((e) => e.msg)).toEqual(['a', 'b', 'c']);
    log = [...log, ev(4, 'd')];
    state = { ...state, lastEventSeq: 4 };
    await s.refresh();
    expect(s.events.map((e) => e.msg)).toEqual(['a', 'b', 'c', 'd']);
    // A replay from the start: same seq numbers, different lines.
    log = [ev(1, 'A'), ev(2, 'B'), ev(3, 'C'), ev(4, 'D'), ev(5, 'E')];
    state = { ...state, lastEventSeq: 5, epoch: 2 };
    await s.refresh();
    expect(s.events.map((e) => e.msg)).toEqual(['A', 'B', 'C', 'D', 'E']);
  });

  it('tracks progress only while a labelled call runs', async () => {
    let release: (v: Result<unknown>) => void = () => {};
    const fake = fakeClient({ goto: () => new Promise((r) => (release = r)) });
    const s = new Session(fake.client);
    s.state = baseState({ steps: [{} as StepInfo, {} as StepInfo], cursor: 0 });
    const p = s.goto(2);
    expect(s.busy).toBe('replaying');
    fake.emitProgress({ label: 'replaying step 1', done: 0, total: 2 });
    expect(s.progress?.label).toBe('replaying step 1');
    release({ ok: false, error: { code: 'internal', message: 'x' } });
    await p;
    expect(s.busy).toBeNull();
    expect(s.progress).toBeNull();
  });
});

describe('App', () => {
  let cmp: ReturnType<typeof mount> | null = null;
  afterEach(() => {
    if (cmp) unmount(cmp);
    cmp = null;
    document.body.innerHTML = '';
  });

  function start() {
    const menu = new Set<(a: MenuAction) => void>();
    const fake = fakeClient({
      state: () => ({ ok: true, value: baseState() }),
      events: () => ({ ok: true, value: [] }),
      mapView: (r: { firstPfn: number; pagesPerCell: number; cells: number }) => ({
        ok: true,
        value: { ...r, cells: new Uint8Array(r.cells) },
      }),
      run: (c: { op: string }) => ({
        ok: false,
        error: { code: 'invalid-argument', message: `${c.op}: refused by the fake` },
      }),
    });
    const api: AppApi = {
      client: fake.client,
      transport: 'test',
      onMenu: (cb) => (menu.add(cb), () => menu.delete(cb)),
    };
    const host = document.createElement('div');
    host.style.cssText = 'width: 1200px; height: 800px';
    document.body.appendChild(host);
    cmp = mount(App, { target: host, props: { api } });
    return { fake, menu: (a: MenuAction) => menu.forEach((cb) => cb(a)) };
  }

  it('opens the machine dialog from the menu and refreshes on state-changed', async () => {
    const { fake, menu } = start();
    await tick();
    flushSync();
    expect(document.querySelector('dialog[open]')).toBeNull();
    menu('new-machine');
    flushSync();
    expect(document.querySelector('dialog[open] #machine-title')?.textContent).toBe('New machine');
    const before = fake.calls.filter((c) => c === 'state').length;
    menu('state-changed');
    await tick();
    expect(fake.calls.filter((c) => c === 'state').length).toBe(before + 1);
  });

  it('fires shortcuts from the page but not while typing, and shows refusals in the banner', async () => {
    const { fake } = start();
    await tick();
    flushSync();
    const filter = document.querySelector<HTMLInputElement>('input[aria-label="Filter the event log"]')!;
    filter.dispatchEvent(new KeyboardEvent('keydown', { key: 'b', bubbles: true }));
    await tick();
    expect(fake.calls).not.toContain('run');
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'b' }));
    await tick();
    await tick();
    flushSync();
    expect(fake.calls).toContain('run');
    expect(document.querySelector('[role="alert"]')?.textContent).toContain('boot: refused by the fake');
    window.dispatchEvent(new KeyboardEvent('keydown', { key: '?' }));
    flushSync();
    expect(document.querySelector('dialog[open] #keys-title')).not.toBeNull();
  });
});
