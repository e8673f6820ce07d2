/**
 * The KHO components against a fake SimApi: the FDT viewer renders DTS, the tree with address
 * links and annotated hex with a labelled header; the chunk viewer lists chunks and entries and
 * shows the chunk page; the timeline tags each step with its KHO phase and generation; the
 * Scenarios menu loads a built-in.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import type { Result } from '../../shared/api';
import type { BuiltinScenario, ChunkView, FdtView, KhoView, StepInfo } from '../../shared/views';
import ChunkViewer from '../../renderer/src/components/ChunkViewer.svelte';
import FdtViewer from '../../renderer/src/components/FdtViewer.svelte';
import KhoHandover from '../../renderer/src/components/KhoHandover.svelte';
import ScenarioMenu from '../../renderer/src/components/ScenarioMenu.svelte';
import Timeline from '../../renderer/src/components/Timeline.svelte';
import { chunkPage, khoRoot } from './fixtures/fdt-builder';
import { reactive } from './fixtures/reactive.svelte';

const settle = async () => {
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 0));
    flushSync();
  }
};
const ok = <T,>(value: T): Result<T> => ({ ok: true, value });

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
  incoming: { fdtPhys: ROOT, scratchPhys: 0x3c7f0000, blocks: 25, unrestoredBlocks: 25, subtrees: [{ name: 'kho_test', phys: SUB }] },
  segments: [],
};

const ROOT_DTS = '/dts-v1/;\n\n/ {\n\tcompatible = "kho-v1";\n\tpreserved-memory-map = <0xe0c038 0x00>;\n\n\tkho_test {\n\t\tfdt = <0xd0c038 0x00>;\n\t};\n};\n';

function fakeApi() {
  const calls: string[] = [];
  const pages: Record<number, Uint8Array> = {
    [CHUNK0]: chunkPage(CHUNK1, 0, [[0x38000000, 0x39401000]]),
    [CHUNK1]: chunkPage(0, 9, [[0, 0x39402000], [0x40000000, 0x39403000]]),
  };
  const api = {
    fdt: async (phys: number): Promise<Result<FdtView>> => {
      calls.push(`fdt ${phys.toString(16)}`);
      if (phys === ROOT)
        return ok({
          phys,
          bytes: khoRoot(CHUNK0, SUB),
          dts: ROOT_DTS,
          lines: ['/', '  compatible = "kho-v1"', '  preserved-memory-map = 0x38c0e000 (u64 little-endian: physical address, pfn 0x38c0e)', '  kho_test/', '    fdt = 0x38c0d000 (u64 little-endian: physical address, pfn 0x38c0d)'],
        });
      return ok({ phys, bytes: khoRoot(0, 0), dts: '/dts-v1/;\n\n/ {\n\tcompatible = "kho-test-v1";\n};\n', lines: ['/'] });
    },
    chunks: async (phys: number): Promise<Result<ChunkView[]>> => {
      calls.push(`chunks ${phys.toString(16)}`);
      return ok([
        { phys: CHUNK0, next: CHUNK1, order: 0, entries: [{ physStart: 0x38000000, bitmap: 0x39401000, bitsSet: 6 }] },
        { phys: CHUNK1, next: 0, order: 9, entries: [{ physStart: 0, bitmap: 0x39402000, bitsSet: 2 }, { physStart: 0x40000000, bitmap: 0x39403000, bitsSet: 1 }] },
      ]);
    },
    readPhys: async (phys: number, len: number): Promise<Result<Uint8Array>> => {
      calls.push(`readPhys ${phys.toString(16)} ${len}`);
      return ok(pages[phys] ?? new Uint8Array(len));
    },
  };
  return { api, calls };
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
const rowText = (el: Element) => [...el.children].map((c) => c.textContent!.replace(/\s+/g, ' ').trim()).filter(Boolean).join(' ');
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
    flushSync();
    const hex = byTestId('fdt-hex')!;
    const rows = [...hex.querySelectorAll('[role="row"]')].map(rowText);
    expect(rows).toContain('0000 d00dfeed magic FDT_MAGIC');
    expect(rows.some((r) => /^0008 00000038 off_dt_struct 0x38$/.test(r))).toBe(true);
    for (const f of ['totalsize', 'off_dt_strings', 'off_mem_rsvmap', 'version', 'last_comp_version', 'size_dt_strings', 'size_dt_struct']) {
      expect(hex.textContent).toContain(f);
    }
    expect(hex.textContent).toContain('FDT_BEGIN_NODE');
    expect(hex.textContent).toMatch(/preserved-memory-map = <0xe0c038 0x0> \(u64 LE 0x38c0e000\)/);
  });

  it('says why there is nothing to show', async () => {
    const { api } = fakeApi();
    cmp = mount(FdtViewer, { target: host(), props: { api, kho: { ...KHO, incoming: null }, revision: 1, chosen: null, onchoose: () => {}, onphys: () => {}, onopenchunks: () => {} } });
    await settle();
    expect(byTestId('fdt-viewer')!.textContent).toContain('KHO is off');
  });
});

describe('ChunkViewer', () => {
  it('follows preserved-memory-map of the incoming FDT and lists chunks, entries and the page', async () => {
    const { api, calls } = fakeApi();
    const picked: number[] = [];
    cmp = mount(ChunkViewer, { target: host(), props: { api, kho: KHO, revision: 1, head: null, onphys: (p: number) => picked.push(p) } });
    await settle();
    expect(calls).toContain(`chunks ${CHUNK0.toString(16)}`);
    const list = byTestId('chunk-list')!;
    const rows = [...list.querySelectorAll('tbody tr[data-chunk]')].map(rowText);
    expect(rows).toEqual(['0 0x38c0e000 0x38c0f000 0 1', '1 0x38c0f000 NULL 9 2']);
    expect(tableText(byTestId('chunk-entries')!)).toContain('0 0x38000000 0x39401000 6');
    expect(byTestId('chunk-hex')!.textContent).toContain('num_elms');
    expect(calls).toContain(`readPhys ${CHUNK0.toString(16)} 4096`);

    list.querySelector<HTMLButtonElement>('button[aria-label="Show chunk 1"]')!.click();
    await settle();
    expect(byTestId('chunk-entries')!.querySelectorAll('tbody tr')).toHaveLength(2);
    expect(byTestId('chunk-hex')!.textContent).toMatch(/order\s*9 \(2048 KiB blocks\)/);
    byTestId('chunk-entries')!.querySelector<HTMLButtonElement>('button[data-phys]')!.click();
    expect(picked).toEqual([0]);
  });

  it('explains an unfinalized handover', async () => {
    const { api } = fakeApi();
    const kho: KhoView = { ...KHO, incoming: null, outgoing: { fdtPhys: 1, finalized: false, chunkPhys: [], bitmapPages: 1, preservedPages: 1, subtrees: [] } };
    cmp = mount(ChunkViewer, { target: host(), props: { api, kho, revision: 1, head: null, onphys: () => {} } });
    await settle();
    expect(byTestId('chunk-viewer')!.textContent).toContain('not finalized yet');
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
  const step = (op: string, ok = true, message = ''): StepInfo => ({ index: 0, label: op, command: { op } as StepInfo['command'], ok, message });
  it('groups steps by phase and kernel, marks the current phase, and jumps by phase', () => {
    const gotos: number[] = [];
    const steps = [step('boot'), step('kho_finalize'), step('kexec_load'), step('reboot'), step('boot'), step('verify_memfd', false, 'verify: folio 3 differs')];
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
    expect(groups).toEqual(['boot kernel 1', 'finalize kernel 1', 'kexec load kernel 1', 'reboot kernel 1', 'early boot · deserialize kernel 2', 'workload kernel 2']);
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
    cmp = mount(ScenarioMenu, { target: host(), props: { scenarios: list, disabled: false, current: null, onopen: () => opened++, onload: (n: string) => loaded.push(n) } });
    flushSync();
    expect(document.querySelector('[role="menu"]')).toBeNull();
    button('Scenarios ▾').click();
    flushSync();
    expect(opened).toBe(1);
    expect([...document.querySelectorAll('[role="menuitem"]')].map((m) => m.querySelector('.name')!.textContent)).toEqual(['boot', 'test-kho']);
    document.querySelector<HTMLButtonElement>('[data-scenario="test-kho"]')!.click();
    flushSync();
    expect(loaded).toEqual(['test-kho']);
    expect(document.querySelector('[role="menu"]')).toBeNull();
  });
});
