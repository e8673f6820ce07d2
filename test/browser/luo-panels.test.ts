/**
 * The LUO components against fake data: the struct viewer (tables, coloured hex, hover linking a
 * field and its bytes, addresses and "open"), the LUO inspector (state, record targets, following
 * a session's files, the block handed over after kexec -e found through the FDTs), the user-space
 * panel (processes, fds, sessions, tokens) and the workload panel's LUO form running ioctls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import type { Result, SimClient } from '../../shared/api';
import { MachineConfigSchema } from '../../shared/machine-config';
import type {
  AnnotatedStruct,
  KhoView,
  LuoView,
  Progress,
  RecordRequest,
  SessionState,
  StepInfo,
  UserspaceView,
} from '../../shared/views';
import LuoInspector from '../../renderer/src/components/LuoInspector.svelte';
import StructViewer from '../../renderer/src/components/StructViewer.svelte';
import UserspacePanel from '../../renderer/src/components/UserspacePanel.svelte';
import Transcript from '../../renderer/src/components/Transcript.svelte';
import WorkloadPanel from '../../renderer/src/components/WorkloadPanel.svelte';
import { Session } from '../../renderer/src/lib/session.svelte';
import { buildFdt, khoRoot, str, u64le } from './fixtures/fdt-builder';
import { ramApi, ramOnly } from './fixtures/ram-host';

const settle = async () => {
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 0));
    flushSync();
  }
};
const ok = <T>(value: T): Result<T> => ({ ok: true, value });

let cmp: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (cmp) unmount(cmp);
  cmp = null;
  document.body.innerHTML = '';
});

function host(width = 470): HTMLElement {
  const el = document.createElement('div');
  el.style.cssText = `width: ${width}px`;
  document.body.appendChild(el);
  return el;
}

const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`)!;
const flat = (el: Element | null) => (el?.textContent ?? '').replace(/\s+/g, ' ').trim();
const rows = (el: Element) =>
  [...el.querySelectorAll('tr')].map((tr) =>
    [...tr.children]
      .map((c) => flat(c))
      .filter(Boolean)
      .join(' '),
  );
const button = (text: string, within: ParentNode = document) =>
  [...within.querySelectorAll('button')].find((b) => b.textContent?.trim() === text)!;

const BLOCK = 0x39410000;
const FILES = 0x39404000;
const DATA = 0x39407000;

/** luo_session_header_ser {1} + luo_session_ser {"test-session", FILES, 1}, as the host answers it. */
function sessionBlock(phys = BLOCK): AnnotatedStruct {
  const bytes = new Uint8Array(88);
  bytes[0] = 1;
  bytes.set(new TextEncoder().encode('test-session'), 8);
  bytes.set(u64le(FILES), 72);
  bytes[80] = 1;
  return {
    kind: 'luo-session-block',
    title: 'luo_session_header_ser + luo_session_ser[1]',
    phys,
    bytes,
    header: {
      type: 'luo_session_header_ser',
      fields: [{ offset: 0, size: 8, name: 'count', type: 'u64', value: '1 session' }],
    },
    array: {
      type: 'luo_session_ser',
      offset: 8,
      stride: 80,
      count: 1,
      elements: [
        [
          { offset: 8, size: 64, name: 'name', type: 'char[64]', value: '"test-session"' },
          {
            offset: 72,
            size: 8,
            name: 'files',
            type: 'u64',
            value: '0x39404000',
            phys: FILES,
            opens: { kind: 'luo-file-array', phys: FILES, count: 1 },
          },
          { offset: 80, size: 8, name: 'count', type: 'u64', value: '1 file' },
        ],
      ],
    },
    notes: ['16 pages preserved at boot.'],
  };
}

function fileArray(): AnnotatedStruct {
  const bytes = new Uint8Array(64);
  bytes.set(new TextEncoder().encode('memfd-v1'), 0);
  bytes.set(u64le(DATA), 48);
  bytes[56] = 0x1a;
  return {
    kind: 'luo-file-array',
    title: 'luo_file_ser[1]',
    phys: FILES,
    bytes,
    array: {
      type: 'luo_file_ser',
      offset: 0,
      stride: 64,
      count: 1,
      elements: [
        [
          { offset: 0, size: 48, name: 'compatible', type: 'char[48]', value: '"memfd-v1"' },
          { offset: 48, size: 8, name: 'data', type: 'u64', value: '0x39407000', phys: DATA },
          { offset: 56, size: 8, name: 'token', type: 'u64', value: '0x1a' },
        ],
      ],
    },
    notes: [],
    error: 'made-up error for the test',
  };
}

const LUO: LuoView = {
  liveupdateNumber: '2',
  devOpen: true,
  devHeldBy: [{ process: 'luo-test', pid: 1000, fd: 3 }],
  deserialized: 'no',
  handlers: ['memfd-v1'],
  fdtPhys: 0x3f802000,
  sessionBlockPhys: 0x3f810000,
  outgoing: [],
  incoming: [
    {
      name: 'test-session',
      direction: 'incoming',
      state: 'retrieved',
      filesPhys: FILES,
      heldBy: [{ process: 'luo-test', pid: 1000, fd: 4 }],
      files: [
        {
          token: '0x1a',
          compatible: 'memfd-v1',
          data: DATA,
          retrieved: true,
          file: 'memfd: (ino 1), 17 B',
          heldBy: [{ process: 'luo-test', pid: 1000, fd: 5 }],
        },
      ],
    },
  ],
  incomingFdtPhys: 0x39402000,
  incomingHeaderPhys: BLOCK,
  failNextFreeze: null,
};

const KHO: KhoView = {
  generation: 2,
  running: true,
  entry: null,
  entryFdtPhys: null,
  scratch: [],
  outgoing: null,
  incoming: null,
  segments: [],
};

describe('StructViewer', () => {
  it('shows header and array fields as tables and the bytes as hex, linking each field to its bytes', async () => {
    const picked: number[] = [];
    const opened: RecordRequest[] = [];
    cmp = mount(StructViewer, {
      target: host(),
      props: {
        record: sessionBlock(),
        onphys: (p: number) => picked.push(p),
        onopen: (r: RecordRequest) => opened.push(r),
      },
    });
    await settle();
    const viewer = byTestId('struct-viewer');
    expect(flat(viewer.querySelector('.where'))).toBe(
      'luo_session_header_ser + luo_session_ser[1] at 0x0000000039410000 · 88 bytes',
    );
    expect(rows(byTestId('struct-header'))).toEqual(['off field type value', '+0x0 count u64 1 session']);
    expect(rows(byTestId('struct-array'))).toEqual([
      '# off name files count',
      '0 +0x8 "test-session" 0x39404000 open ↗ 1 file',
    ]);
    const hex = byTestId('struct-hex');
    expect(hex.querySelectorAll('[role="row"]')).toHaveLength(6);
    expect(flat(hex.querySelector('[role="row"]'))).toMatch(
      /^000 01000000 00000000 74657374 2d736573 \.\.\.\.\.\.\.\.test-ses$/,
    );
    // The name's 64 bytes share one colour; count's 8 another.
    const cells = [...hex.querySelectorAll<HTMLElement>('[data-span]')];
    expect(cells.filter((c) => c.dataset.span === '0.name')).toHaveLength(64);
    expect(new Set(cells.filter((c) => c.dataset.span === '0.name').map((c) => c.style.color)).size).toBe(1);
    expect(cells.find((c) => c.dataset.span === '0.name')!.style.color).not.toBe(
      cells.find((c) => c.dataset.span === 'h.count')!.style.color,
    );
    // Hovering the files cell lights its 8 bytes; hovering a byte lights its field.
    document.querySelector('td[data-field="0.files"]')!.dispatchEvent(new MouseEvent('mouseenter'));
    flushSync();
    expect([...hex.querySelectorAll<HTMLElement>('.b.active')].map((c) => c.dataset.span)).toEqual(
      Array(8).fill('0.files'),
    );
    cells.find((c) => c.dataset.span === 'h.count')!.dispatchEvent(new PointerEvent('pointerover', { bubbles: true }));
    flushSync();
    expect(document.querySelector('tr[data-field="h.count"]')!.classList.contains('active')).toBe(true);
    expect(hex.querySelectorAll('.b.active')).toHaveLength(8);
    button('open ↗').click();
    expect(opened).toEqual([{ kind: 'luo-file-array', phys: FILES, count: 1 }]);
    (document.querySelector(`button[data-phys="${FILES}"]`) as HTMLButtonElement).click();
    expect(picked).toEqual([FILES]);
  });

  it('an array without a header, its error and a problem field', async () => {
    const rec = fileArray();
    rec.array!.elements[0]![0]!.problem = 'no NUL within 48 bytes';
    cmp = mount(StructViewer, { target: host(), props: { record: rec, onphys: () => {} } });
    await settle();
    expect(byTestId('struct-viewer').querySelector('[data-testid="struct-header"]')).toBeNull();
    expect(flat(document.querySelector('.error-line'))).toBe('made-up error for the test');
    expect(rows(byTestId('struct-array'))[1]).toBe('0 +0x0 "memfd-v1" ⚠ no NUL within 48 bytes 0x39407000 0x1a');
    // No onopen: a field naming a record is a plain address.
    expect(button('open ↗')).toBeUndefined();
  });
});

describe('LuoInspector', () => {
  function fakeApi(fdts: Record<number, Uint8Array> = {}) {
    const calls: string[] = [];
    const api = {
      records: async (req: RecordRequest): Promise<Result<AnnotatedStruct>> => {
        calls.push(`records ${req.kind} ${req.phys.toString(16)}${req.count !== undefined ? ` ${req.count}` : ''}`);
        return ok(req.kind === 'luo-session-block' ? sessionBlock(req.phys) : fileArray());
      },
      fdt: ramApi(ramOnly(fdts), calls).fdt,
    };
    return { api, calls };
  }

  it('shows LUO state, picks the incoming block while it is there, follows a session to its file array and opens the LUO FDT', async () => {
    const { api, calls } = fakeApi();
    const fdts: string[] = [];
    cmp = mount(LuoInspector, {
      target: host(),
      props: { api, luo: LUO, kho: KHO, revision: 1, onphys: () => {}, onopenfdt: (k: string) => fdts.push(k) },
    });
    await settle();
    const state = [...byTestId('luo-state').querySelectorAll('dt')].map(
      (dt) => `${flat(dt)}: ${flat(dt.nextElementSibling)}`,
    );
    expect(state).toEqual([
      'liveupdate-number: 2 (1 live update before this kernel)',
      '/dev/liveupdate: open by luo-test[1000] fd 3',
      'deserialize: not yet: the first open of /dev/liveupdate runs it',
      'handlers: memfd-v1',
      "LUO FDT: 0x3f802000 open · previous kernel's 0x39402000 open",
      'sessions: 0 outgoing · 1 incoming',
    ]);
    const tabs = [...document.querySelectorAll('[aria-label="Which LUO record"] [role="tab"]')];
    expect(tabs.map((t) => [flat(t), t.getAttribute('aria-selected')])).toEqual([
      ['outgoing session block', 'false'],
      ['incoming session block', 'true'],
      ['incoming files "test-session"', 'false'],
    ]);
    expect(calls).toEqual([`records luo-session-block ${BLOCK.toString(16)}`]);
    button('open ↗').click();
    await settle();
    expect(calls.at(-1)).toBe(`records luo-file-array ${FILES.toString(16)} 1`);
    expect(document.querySelector('[role="tab"][aria-selected="true"]')!.textContent).toBe(
      'incoming files "test-session"',
    );
    expect(flat(byTestId('struct-viewer').querySelector('.where'))).toMatch(/^luo_file_ser\[1\]/);
    button('open', byTestId('luo-state')).click();
    expect(fdts).toEqual(['out:LUO']);
  });

  it('after kexec -e finds the handed-over block the way the next kernel will: root FDT → LUO → luo-session-header', async () => {
    const ROOT = 0x39400000;
    const LUOFDT = 0x39402000;
    const root = buildFdt({
      name: '',
      props: [
        ['compatible', str('kho-v1')],
        ['preserved-memory-map', u64le(0x3940a000)],
      ],
      children: [{ name: 'LUO', props: [['fdt', u64le(LUOFDT)]] }],
    });
    const luoFdt = buildFdt({
      name: '',
      props: [
        ['compatible', str('luo-v1')],
        ['liveupdate-number', u64le(1)],
      ],
      children: [
        {
          name: 'luo-session',
          props: [
            ['compatible', str('luo-session-v2')],
            ['luo-session-header', u64le(BLOCK)],
          ],
        },
      ],
    });
    const { api, calls } = fakeApi({ [ROOT]: root, [LUOFDT]: luoFdt });
    const kho: KhoView = { ...KHO, running: false, entry: 0x3c7fe000, entryFdtPhys: ROOT };
    cmp = mount(LuoInspector, {
      target: host(),
      props: { api, luo: null, kho, revision: 1, onphys: () => {}, onopenfdt: () => {} },
    });
    await settle();
    expect(calls).toEqual([
      `fdt ${ROOT.toString(16)}`,
      `fdt ${LUOFDT.toString(16)}`,
      `records luo-session-block ${BLOCK.toString(16)}`,
    ]);
    expect(flat(byTestId('luo-inspector'))).toMatch(
      /^No kernel is running\. The session block below is what LUO wrote at kexec -e/,
    );
    expect(flat(document.querySelector('[role="tab"][aria-selected="true"]'))).toBe('handed-over session block');
  });

  it('says why there is nothing: LUO off, or no kernel and no LUO in the handover', async () => {
    const { api } = fakeApi({ [0x39400000]: khoRoot(0, 0) });
    cmp = mount(LuoInspector, {
      target: host(),
      props: { api, luo: null, kho: KHO, revision: 1, onphys: () => {}, onopenfdt: () => {} },
    });
    await settle();
    expect(flat(byTestId('luo-inspector'))).toBe('No LUO: LUO is off in this kernel (boot with kho=on liveupdate=on).');
    unmount(cmp);
    cmp = mount(LuoInspector, {
      target: host(),
      props: {
        api,
        luo: null,
        kho: { ...KHO, running: false, entry: 1, entryFdtPhys: 0x39400000 },
        revision: 1,
        onphys: () => {},
        onopenfdt: () => {},
      },
    });
    await settle();
    expect(flat(byTestId('luo-inspector'))).toBe(
      'No LUO: no kernel is running, and the handover carries no LUO session block.',
    );
  });
});

const US: UserspaceView = {
  running: true,
  processes: [
    {
      pid: 1000,
      name: 'vmm',
      fds: [
        {
          fd: 3,
          kind: 'memfd',
          path: '/memfd:guest-ram (deleted)',
          name: 'guest-ram',
          ino: 1,
          size: 4 * 2 ** 30,
          pages: 1 << 20,
          pos: 0,
          frozen: true,
          refs: 2,
          luo: [{ session: 'guest', direction: 'outgoing', token: '0x100' }],
        },
        {
          fd: 4,
          kind: 'memfd',
          path: '/memfd:sparse (deleted)',
          name: 'sparse',
          ino: 2,
          size: 64 * 1024,
          pages: 1,
          pos: 4096,
          frozen: false,
          refs: 1,
          luo: [],
        },
        { fd: 5, kind: 'liveupdate', path: '/dev/liveupdate' },
        {
          fd: 6,
          kind: 'session',
          path: 'anon_inode:[luo_session] guest',
          session: 'guest',
          direction: 'outgoing',
          state: 'preserving',
          files: 1,
        },
      ],
    },
  ],
};
const OUT_LUO: LuoView = {
  ...LUO,
  liveupdateNumber: '1',
  devHeldBy: [{ process: 'vmm', pid: 1000, fd: 5 }],
  deserialized: 'ok',
  incoming: [],
  incomingHeaderPhys: 0,
  incomingFdtPhys: 0,
  outgoing: [
    {
      name: 'guest',
      direction: 'outgoing',
      state: 'preserving',
      filesPhys: FILES,
      heldBy: [{ process: 'vmm', pid: 1000, fd: 6 }],
      files: [
        {
          token: '0x100',
          compatible: 'memfd-v1',
          data: DATA,
          retrieved: false,
          file: 'memfd:guest-ram (ino 1), 4 GiB',
          heldBy: [{ process: 'vmm', pid: 1000, fd: 3 }],
        },
      ],
    },
  ],
};

describe('UserspacePanel', () => {
  it('lists processes and fds as /proc shows them, memfd size, pages and f_pos, and the LUO sessions with tokens and states', async () => {
    cmp = mount(UserspacePanel, { target: host(300), props: { userspace: US, luo: OUT_LUO } });
    await settle();
    const fds = [...document.querySelectorAll('[data-process="vmm"] li[data-fd]')].map(flat);
    expect(fds).toEqual([
      '3 → /memfd:guest-ram (deleted) 4 GiB · 1,048,576 pages · pos 0 · ino 1 frozen preserved in "guest" token 0x100',
      '4 → /memfd:sparse (deleted) 64 KiB · 1 of 16 pages present · pos 4096 · ino 2',
      '5 → /dev/liveupdate',
      '6 → anon_inode:[luo_session] guest outgoing session · preserving · 1 file',
    ]);
    expect(flat(byTestId('luo-outgoing'))).toBe(
      '"guest" preserving · vmm fd 6 0x100 memfd-v1 → vmm fd 3 memfd:guest-ram (ino 1), 4 GiB · data 0x39407000',
    );
    expect(
      [...byTestId('userspace-luo').querySelectorAll('dt')].map((dt) => `${flat(dt)}: ${flat(dt.nextElementSibling)}`),
    ).toEqual(['liveupdate-number: 1', 'open: vmm fd 5', 'handlers: memfd-v1']);
    expect(byTestId('luo-incoming')).toBeNull();
  });

  it('says when no kernel runs, and when LUO is off', async () => {
    cmp = mount(UserspacePanel, {
      target: host(300),
      props: { userspace: { running: false, processes: [] }, luo: null },
    });
    await settle();
    expect(flat(byTestId('userspace'))).toMatch(/^No kernel is running/);
    unmount(cmp);
    cmp = mount(UserspacePanel, {
      target: host(300),
      props: { userspace: { running: true, processes: [] }, luo: null },
    });
    await settle();
    expect(flat(byTestId('userspace'))).toContain('/dev/liveupdate Not there: LUO is off in this kernel');
  });
});

describe('WorkloadPanel LUO form', () => {
  function state(cursor: number): SessionState {
    const step = { index: 1, label: 'boot', command: { op: 'boot' }, ok: true, message: 'booted' } as StepInfo;
    return {
      config: MachineConfigSchema.parse({ ram: '256M' }),
      booted: true,
      kernelRelease: '6.19.0-kholab',
      steps: Array(cursor).fill(step),
      cursor,
      maxPfn: 65536,
      nodes: [],
      e820: [],
      summary: null,
      lastEventSeq: 0,
      epoch: 1,
    } as SessionState;
  }

  it('runs the ioctl a VMM would, with suggestions for empty inputs, and shows a refusal as a shell does', async () => {
    const ran: unknown[] = [];
    let cursor = 1;
    const answers: Record<string, unknown> = {
      luo: () => ok(OUT_LUO),
      userspace: () => ok(US),
      kho: () => ok(KHO),
      events: () => ok([]),
      run: (c: { op: string }) => {
        ran.push(c);
        cursor++;
        const refused = c.op === 'luo_preserve_fd';
        const step = {
          index: cursor,
          label: c.op,
          command: c,
          ok: !refused,
          message: refused
            ? 'ioctl(LIVEUPDATE_SESSION_PRESERVE_FD): EEXIST (token 0x100 is already used in session "guest")'
            : 'fd 7 → [luo_session] vm-2',
          ...(refused ? { errno: 'EEXIST' } : { returned: 7 }),
        } as StepInfo;
        return ok({ step, state: state(cursor), events: [] });
      },
    };
    const client = new Proxy({} as SimClient, {
      get: (_t, name: string) =>
        name === 'onProgress'
          ? (_l: (p: Progress) => void) => () => {}
          : (...a: unknown[]) =>
              Promise.resolve(
                (answers[name] as ((...x: unknown[]) => unknown) | undefined)?.(...a) ?? {
                  ok: false,
                  error: { code: 'internal', message: `${name} not faked` },
                },
              ),
    });
    const session = new Session(client);
    session.state = state(1);
    session.luo = OUT_LUO;
    session.userspace = US;
    cmp = mount(WorkloadPanel, { target: host(480), props: { session } });
    // The results go to the transcript below the panel.
    const transcript = mount(Transcript, { target: host(480), props: { session } });
    await settle();
    const form = document.querySelector<HTMLFormElement>('form[aria-label="LUO actions"]')!;
    const op = form.querySelector<HTMLSelectElement>('select[aria-label="LUO operation"]')!;
    const run = button('Run', form);

    op.value = 'create';
    op.dispatchEvent(new Event('change'));
    flushSync();
    expect(form.querySelector<HTMLInputElement>('input[aria-label="/dev/liveupdate fd"]')!.placeholder).toBe('5');
    const name = form.querySelector<HTMLInputElement>('input[aria-label="Session name"]')!;
    expect(name.placeholder).toBe('session-1');
    name.value = 'vm-2';
    name.dispatchEvent(new Event('input'));
    flushSync();
    run.click();
    await settle();
    expect(ran.at(-1)).toEqual({ op: 'luo_create_session', process: 'vmm', fd: 5, name: 'vm-2' });

    op.value = 'preserve';
    op.dispatchEvent(new Event('change'));
    flushSync();
    const token = form.querySelector<HTMLInputElement>('input[aria-label="Token"]')!;
    expect(form.querySelector<HTMLInputElement>('input[aria-label="Session fd"]')!.placeholder).toBe('6');
    expect(form.querySelector<HTMLInputElement>('input[aria-label="fd to preserve"]')!.placeholder).toBe('4');
    expect(token.placeholder).toBe('0x1');
    token.value = '0x100';
    token.dispatchEvent(new Event('input'));
    flushSync();
    run.click();
    await settle();
    expect(ran.at(-1)).toEqual({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 6, fd: 4, token: '0x100' });
    const last = document.querySelector('ol[aria-label="Command results"] li:last-child')!;
    expect(flat(last.querySelector('.err'))).toBe('luo_preserve_fd: EEXIST');
    expect(flat(last.querySelector('.detail'))).toBe(
      'ioctl(LIVEUPDATE_SESSION_PRESERVE_FD): EEXIST (token 0x100 is already used in session "guest")',
    );

    // A malformed token never reaches the kernel: Run is disabled and says why.
    token.value = 'zz';
    token.dispatchEvent(new Event('input'));
    flushSync();
    expect(run.disabled).toBe(true);
    expect(run.title).toBe('a token is a u64: decimal, or hex with 0x');

    // Stepping the timeline back before a step dims its transcript line (redo history).
    const lines = () =>
      [...document.querySelectorAll('ol[aria-label="Command results"] li')].filter(
        (l) => !l.classList.contains('hint'),
      );
    expect(lines().map((l) => l.classList.contains('undone'))).toEqual([false, false]);
    session.state = state(2);
    flushSync();
    expect(lines().map((l) => l.classList.contains('undone'))).toEqual([false, true]);
    unmount(transcript);
  });
});
