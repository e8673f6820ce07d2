/**
 * The KHO components against a fake SimApi whose fdt() and records() are the host's own decoders
 * over made-up RAM: the FDT viewer renders DTS, the tree with address links and the `fdt` record
 * in the struct viewer; the chunk viewer lists chunks and shows the `kho-mem-chunk` record; a
 * field of either can be corrupted with the poke editor; the timeline tags each step with its KHO
 * phase and generation; the Scenarios menu loads a built-in.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { page } from 'vitest/browser';
import type { Result } from '../../shared/api';
import type { CommandInput } from '../../shared/commands';
import type { BuiltinScenario, ChunkView, KhoView, StepInfo, StepOutcome } from '../../shared/views';
import ChunkViewer from '../../renderer/src/components/ChunkViewer.svelte';
import FdtViewer from '../../renderer/src/components/FdtViewer.svelte';
import KhoHandover from '../../renderer/src/components/KhoHandover.svelte';
import ScenarioMenu from '../../renderer/src/components/ScenarioMenu.svelte';
import Timeline from '../../renderer/src/components/Timeline.svelte';
import { chunkPage, khoRoot } from './fixtures/fdt-builder';
import { reactive } from './fixtures/reactive.svelte';
import { ramApi, ramOnly } from './fixtures/ram-host';

const settle = async () => {
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 0));
    flushSync();
  }
};
const ok = <T>(value: T): Result<T> => ({ ok: true, value });

const ROOT = 0x39400000;
const SUB = 0x38c0d000;
const CHUNK0 = 0x38c0e000;
const CHUNK1 = 0x38c0f000;

const KHO: KhoView = {
  generation: 2,
  running: true,
  entry: null,
  entryFdtPhys: null,
  scratch: [{ label: 'lowmem', addr: 0x3be00000, size: 38 << 20 }],
  outgoing: null,
  incoming: {
    fdtPhys: ROOT,
    scratchPhys: 0x3c7f0000,
    blocks: 25,
    unrestoredBlocks: 25,
    unrestored: [],
    subtrees: [{ name: 'kho_test', phys: SUB }],
  },
  segments: [],
};

function fakeApi() {
  const calls: string[] = [];
  const ram = ramOnly({
    [ROOT]: khoRoot(CHUNK0, SUB),
    [SUB]: khoRoot(0, 0),
    [CHUNK0]: chunkPage(CHUNK1, 0, [[0x38000000, 0x39401000]]),
    [CHUNK1]: chunkPage(0, 9, [
      [0, 0x39402000],
      [0x40000000, 0x39403000],
    ]),
  });
  const api = {
    ...ramApi(ram, calls),
    chunks: async (phys: number): Promise<Result<ChunkView[]>> => {
      calls.push(`chunks ${phys.toString(16)}`);
      return ok([
        { phys: CHUNK0, next: CHUNK1, order: 0, entries: [{ physStart: 0x38000000, bitmap: 0x39401000, bitsSet: 6 }] },
        {
          phys: CHUNK1,
          next: 0,
          order: 9,
          entries: [
            { physStart: 0, bitmap: 0x39402000, bitsSet: 2 },
            { physStart: 0x40000000, bitmap: 0x39403000, bitsSet: 1 },
          ],
        },
      ]);
    },
  };
  return { api, calls };
}

/** A poke step path that records the command and answers as B's host will: a step that ran. */
function fakePoke() {
  const ran: CommandInput[] = [];
  const onpoke = async (command: CommandInput): Promise<Result<StepOutcome>> => {
    ran.push(command);
    return ok({
      step: { index: 7, label: 'poke', command, ok: true, message: 'poke: 4 bytes written' },
    } as unknown as StepOutcome);
  };
  return { ran, onpoke };
}

let cmp: ReturnType<typeof mount> | null = null;
afterEach(() => {
  if (cmp) unmount(cmp);
  cmp = null;
  document.body.innerHTML = '';
});

function host(): HTMLElement {
  const el = document.createElement('div');
  el.style.cssText = 'width: 470px';
  document.body.appendChild(el);
  return el;
}

/** A row's cells (or spans) as text, one space between them. */
const rowText = (el: Element) =>
  [...el.children]
    .map((c) => c.textContent!.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .join(' ');
const tableText = (el: Element) => [...el.querySelectorAll('tr')].map(rowText).join('\n');
const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
const button = (text: string) => [...document.querySelectorAll('button')].find((b) => b.textContent?.trim() === text)!;

describe('FdtViewer', () => {
  it('shows the incoming root as DTS, a tree with links, and annotated hex with the header labelled', async () => {
    const { api } = fakeApi();
    const opened: number[] = [];
    const picked: number[] = [];
    const props = reactive({ chosen: null as string | null });
    cmp = mount(FdtViewer, {
      target: host(),
      props: {
        api,
        kho: KHO,
        revision: 1,
        get chosen() {
          return props.chosen;
        },
        onchoose: (k: string) => (props.chosen = k),
        onphys: (p: number) => picked.push(p),
        onopenchunks: (p: number) => opened.push(p),
      },
    });
    await settle();
    expect(document.querySelector('[role="tab"][aria-selected="true"]')?.textContent).toBe('incoming /');
    expect(byTestId('fdt-dts')!.textContent).toContain('compatible = "kho-v1";');
    expect(byTestId('fdt-dts')!.textContent).toContain('kho_test {');

    button('Tree').click();
    flushSync();
    const links = [...byTestId('fdt-tree')!.querySelectorAll<HTMLButtonElement>('button[data-phys]')];
    expect(links.map((l) => l.textContent)).toEqual(['0x38c0e000', '0x38c0d000']);
    links[0]!.click();
    expect(opened).toEqual([CHUNK0]);
    links[1]!.click();
    await settle();
    expect(props.chosen).toBe('in:kho_test');
    expect(document.querySelector('[role="tab"][aria-selected="true"]')?.textContent).toBe('incoming kho_test');

    props.chosen = 'in:/';
    await settle();
    button('Hex').click();
    await settle();
    // The host's `fdt` record: header fields, every token, the strings — one struct viewer.
    const hex = byTestId('fdt-hex')!;
    expect(rowText(hex.querySelector('[data-testid="struct-header"] tbody tr')!)).toBe(
      '+0x0 magic be32 0xd00dfeed (FDT_MAGIC)',
    );
    for (const f of [
      'totalsize',
      'off_dt_struct',
      'off_dt_strings',
      'off_mem_rsvmap',
      'version',
      'last_comp_version',
      'size_dt_strings',
      'size_dt_struct',
    ]) {
      expect(byTestId('struct-header')!.textContent).toContain(f);
    }
    const sections = [...hex.querySelectorAll('[data-testid="struct-section"]')].map(tableText);
    expect(sections[0]).toContain('terminator be64 address, be64 size 0x0 size 0x0');
    expect(sections[1]).toContain('FDT_BEGIN_NODE be32 + name / {');
    expect(sections[1]).toMatch(/compatible u8\[7\] "kho-v1"/);
    expect(sections[1]).toMatch(/kho_test\/fdt u8\[8\] 0x38c0d000 open ↗/);
    expect(sections[2]).toContain('+0x0 char[] "compatible"');
    expect(rowText(hex.querySelector('[data-testid="struct-hex"] [role="row"]')!)).toMatch(/^000 d00dfeed 00000/);
    // preserved-memory-map opens the chunk list; a sub-FDT's fdt opens that FDT.
    [...hex.querySelectorAll<HTMLButtonElement>('button.open')][0]!.click();
    expect(opened).toEqual([CHUNK0, CHUNK0]);
  });

  it('says why there is nothing to show', async () => {
    const { api } = fakeApi();
    cmp = mount(FdtViewer, {
      target: host(),
      props: {
        api,
        kho: { ...KHO, incoming: null },
        revision: 1,
        chosen: null,
        onchoose: () => {},
        onphys: () => {},
        onopenchunks: () => {},
      },
    });
    await settle();
    expect(byTestId('fdt-viewer')!.textContent).toContain('KHO is off');
  });
});

describe('ChunkViewer', () => {
  it('follows preserved-memory-map of the incoming FDT, lists the chunks and shows the chunk page as the host annotates it', async () => {
    const { api, calls } = fakeApi();
    const picked: number[] = [];
    cmp = mount(ChunkViewer, {
      target: host(),
      props: { api, kho: KHO, revision: 1, head: null, onphys: (p: number) => picked.push(p) },
    });
    await settle();
    expect(calls).toContain(`chunks ${CHUNK0.toString(16)}`);
    const list = byTestId('chunk-list')!;
    const rows = [...list.querySelectorAll('tbody tr[data-chunk]')].map(rowText);
    expect(rows).toEqual(['0 0x38c0e000 0x38c0f000 0 1 6', '1 0x38c0f000 NULL 9 2 3']);
    expect(calls).toContain(`records kho-mem-chunk ${CHUNK0.toString(16)}`);
    expect(tableText(byTestId('struct-header')!)).toContain('+0x8 order u32 0 (one bit per 4 KiB)');
    expect(tableText(byTestId('struct-array')!)).toContain('0 +0x10 0x38000000 0x39401000');

    list.querySelector<HTMLButtonElement>('button[aria-label="Show chunk 1"]')!.click();
    await settle();
    expect(byTestId('struct-array')!.querySelectorAll('tbody tr')).toHaveLength(2);
    expect(tableText(byTestId('struct-header')!)).toContain('+0x8 order u32 9 (one bit per 2 MiB)');
    // 16 header bytes and two entries: 48 bytes, three hex lines.
    expect(byTestId('struct-hex')!.querySelectorAll('[role="row"]')).toHaveLength(3);
    byTestId('struct-array')!.querySelector<HTMLButtonElement>('button[data-phys]')!.click();
    // phys_start 0 is an address like any other: the first block of RAM.
    expect(picked).toEqual([0]);
  });

  it('explains an unfinalized handover', async () => {
    const { api } = fakeApi();
    const kho: KhoView = {
      ...KHO,
      incoming: null,
      outgoing: { fdtPhys: 1, finalized: false, chunkPhys: [], bitmapPages: 1, preservedPages: 1, subtrees: [] },
    };
    cmp = mount(ChunkViewer, { target: host(), props: { api, kho, revision: 1, head: null, onphys: () => {} } });
    await settle();
    expect(byTestId('chunk-viewer')!.textContent).toContain('not finalized yet');
  });
});

describe('PokeEditor: "corrupt this field" next to the FDT and struct viewers', () => {
  /** After kexec -e, before the next boot: the only time a poke can name an FDT property (electron/host/poke.ts). */
  const HANDED: KhoView = {
    ...KHO,
    running: false,
    entry: 0x3c7fe000,
    entryFdtPhys: ROOT,
    entrySubtrees: [{ name: 'kho_test', phys: SUB }],
    incoming: null,
  };
  const type = (el: HTMLInputElement, text: string) => {
    el.value = text;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
  };
  /** The test viewport is about 414 px wide: a narrower host keeps the screenshots whole. */
  const narrow = () => document.body.querySelector<HTMLElement>(':scope > div')!.style.setProperty('width', '400px');
  const fieldRow = (name: string) =>
    [...document.querySelectorAll<HTMLTableRowElement>('tr[data-field]')].find(
      (r) => r.children[1]?.textContent?.trim() === name,
    )!;

  it('pokes a property of the handed-over root FDT by name, and a header field by address, through the step path', async () => {
    const { api } = fakeApi();
    const { ran, onpoke } = fakePoke();
    cmp = mount(FdtViewer, {
      target: host(),
      props: {
        api,
        kho: HANDED,
        revision: 1,
        chosen: null,
        onchoose: () => {},
        onphys: () => {},
        onopenchunks: () => {},
        onpoke,
      },
    });
    await settle();
    expect([...document.querySelectorAll('[aria-label="Which FDT"] [role="tab"]')].map((t) => t.textContent)).toEqual([
      'handed over /',
      'handed over kho_test',
    ]);
    button('Hex').click();
    await settle();
    expect(byTestId('fdt-hex')!.textContent).toContain('Click a field to corrupt it');
    fieldRow('compatible').click();
    flushSync();
    const editor = byTestId('poke-editor')!;
    expect(editor.textContent).toContain('corrupt compatible');
    // By address first, starting from the field's own bytes.
    const input = editor.querySelector<HTMLInputElement>('[data-testid="poke-value"]')!;
    expect(input.value).toBe('6b686f2d763100');
    editor.querySelector<HTMLInputElement>('input[type="radio"]:not(:checked)')!.click();
    flushSync();
    type(input, 'kho-v10');
    expect(byTestId('poke-editor')!.textContent).toContain('8 bytes, but the property is 7');
    type(input, 'kho-v0');
    expect(byTestId('poke-editor')!.textContent).toContain('7 bytes, as long as the property');
    expect(byTestId('poke-command')!.textContent).toBe(
      '{"op":"poke","fdt":"root","property":"compatible","string":"kho-v0"}',
    );
    narrow();
    await page.screenshot({ path: '../../test-results/d-poke-fdt-property.png', element: byTestId('fdt-viewer')! });
    byTestId('poke-run')!.click();
    await settle();
    expect(ran).toEqual([{ op: 'poke', fdt: 'root', property: 'compatible', string: 'kho-v0' }]);
    expect(byTestId('poke-outcome')!.textContent).toBe('poke: 4 bytes written');

    fieldRow('totalsize').click();
    flushSync();
    const input2 = byTestId('poke-editor')!.querySelector<HTMLInputElement>('[data-testid="poke-value"]')!;
    expect(byTestId('poke-editor')!.querySelector('input[type="radio"]')).toBeNull();
    type(input2, 'zz');
    expect(byTestId('poke-run')!.hasAttribute('disabled')).toBe(true);
    expect(byTestId('poke-editor')!.textContent).toContain('"zz" is not hex');
    type(input2, 'de ad be ef');
    expect(byTestId('poke-command')!.textContent).toBe(
      `{"op":"poke","phys":"0x${(ROOT + 4).toString(16)}","hex":"deadbeef"}`,
    );
    byTestId('poke-run')!.click();
    await settle();
    expect(ran.at(-1)).toEqual({ op: 'poke', phys: '0x39400004', hex: 'deadbeef' });
  });

  it('pokes num_elms of a chunk page at its address; an incoming FDT offers no poke by name', async () => {
    const { api } = fakeApi();
    const { ran, onpoke } = fakePoke();
    cmp = mount(ChunkViewer, {
      target: host(),
      props: { api, kho: KHO, revision: 1, head: null, onphys: () => {}, onpoke },
    });
    await settle();
    fieldRow('num_elms').click();
    flushSync();
    const input = byTestId('poke-editor')!.querySelector<HTMLInputElement>('[data-testid="poke-value"]')!;
    expect(input.value).toBe('01000000');
    type(input, 'ffff0000');
    expect(byTestId('poke-editor')!.textContent).toContain("4 bytes over the field's 4");
    narrow();
    await page.screenshot({ path: '../../test-results/d-poke-chunk.png', element: byTestId('chunk-viewer')! });
    byTestId('poke-run')!.click();
    await settle();
    expect(ran).toEqual([{ op: 'poke', phys: `0x${(CHUNK0 + 12).toString(16)}`, hex: 'ffff0000' }]);
    byTestId('poke-editor')!.querySelector<HTMLButtonElement>('button[aria-label="Close the poke editor"]')!.click();
    flushSync();
    expect(byTestId('poke-editor')).toBeNull();
    unmount(cmp);

    cmp = mount(FdtViewer, {
      target: host(),
      props: {
        api,
        kho: KHO,
        revision: 1,
        chosen: null,
        onchoose: () => {},
        onphys: () => {},
        onopenchunks: () => {},
        onpoke,
      },
    });
    await settle();
    button('Hex').click();
    await settle();
    fieldRow('compatible').click();
    flushSync();
    expect(byTestId('poke-editor')!.querySelector('input[type="radio"]')).toBeNull();
  });
});

describe('KhoHandover', () => {
  it('shows generation, scratch, incoming and segments', () => {
    const kho: KhoView = { ...KHO, segments: [{ name: 'purgatory', dest: 0x3c7fa000, size: 16384 }] };
    cmp = mount(KhoHandover, { target: host(), props: { kho, onphys: () => {}, onopenfdt: () => {} } });
    flushSync();
    expect(byTestId('kho-generation')!.textContent).toMatch(/^2 \(kexec’d kernel\)/);
    expect(tableText(byTestId('kho-scratch')!)).toContain('lowmem 0x3be00000 38 MiB');
    expect(rowText(byTestId('kho-incoming')!)).toContain('unrestored 25 blocks');
    expect(tableText(byTestId('kho-segments')!)).toContain('purgatory 0x3c7fa000 16 KiB');
  });
});

describe('Timeline phases', () => {
  const step = (op: string, ok = true, message = ''): StepInfo => ({
    index: 0,
    label: op,
    command: { op } as StepInfo['command'],
    ok,
    message,
  });
  it('groups steps by phase and kernel, marks the current phase, and jumps by phase', () => {
    const gotos: number[] = [];
    const steps = [
      step('boot'),
      step('kho_finalize'),
      step('kexec_load'),
      step('reboot'),
      step('boot'),
      step('verify_memfd', false, 'verify: folio 3 differs'),
    ];
    const props = reactive({ cursor: 5 });
    cmp = mount(Timeline, {
      target: host(),
      props: {
        steps,
        get cursor() {
          return props.cursor;
        },
        busy: false,
        ongoto: (c: number) => gotos.push(c),
      },
    });
    flushSync();
    const groups = [...document.querySelectorAll('.group')].map((g) => g.textContent!.replace(/\s+/g, ' ').trim());
    expect(groups).toEqual([
      'boot kernel 1',
      'finalize kernel 1',
      'kexec load kernel 1',
      'reboot kernel 1',
      'early boot · deserialize kernel 2',
      'workload kernel 2',
    ]);
    expect(byTestId('current-phase')!.textContent).toBe('early boot · deserialize · kernel 2');
    expect(byTestId('step-failure')!.textContent).toBe('verify: folio 3 differs');
    document.querySelector<HTMLButtonElement>('.strip button[data-phase="finalize"]')!.click();
    expect(gotos).toEqual([2]);
    expect(document.querySelector<HTMLButtonElement>('.strip button[data-phase="restore"]')!.disabled).toBe(true);
    props.cursor = 0;
    flushSync();
    expect(byTestId('current-phase')!.textContent).toBe('power on · no kernel');
  });
});

describe('ScenarioMenu', () => {
  it('asks for the list when opened and loads the chosen scenario', () => {
    const loaded: string[] = [];
    let opened = 0;
    const list: BuiltinScenario[] = [
      { name: 'boot', description: 'Boot a 1 GiB machine' },
      { name: 'test-kho', description: 'lib/test_kho.c across a kexec' },
    ];
    cmp = mount(ScenarioMenu, {
      target: host(),
      props: {
        scenarios: list,
        disabled: false,
        current: null,
        onopen: () => opened++,
        onload: (n: string) => loaded.push(n),
      },
    });
    flushSync();
    expect(document.querySelector('[role="menu"]')).toBeNull();
    button('Scenarios ▾').click();
    flushSync();
    expect(opened).toBe(1);
    expect(
      [...document.querySelectorAll('[role="menuitem"]')].map((m) => m.querySelector('.name')!.textContent),
    ).toEqual(['boot', 'test-kho']);
    document.querySelector<HTMLButtonElement>('[data-scenario="test-kho"]')!.click();
    flushSync();
    expect(loaded).toEqual(['test-kho']);
    expect(document.querySelector('[role="menu"]')).toBeNull();
  });
});
