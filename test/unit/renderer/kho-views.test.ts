import { describe, expect, it } from 'vitest';
import type { KhoView, SessionState, StepInfo } from '../../../shared/views';
import { PageCategory } from '../../../shared/palette';
import { annotatedChunk, chunkHeader } from '../../../renderer/src/lib/chunk-page';
import { annotatedFdt, fdtHeader, fdtProps, fdtU64, propText } from '../../../renderer/src/lib/fdt-blob';
import { hexGroups, hexRows } from '../../../renderer/src/lib/hexdump';
import { insmodCommand, khoActions, khoCommand } from '../../../renderer/src/lib/kho-actions';
import { khoSpan, overviewRequest } from '../../../renderer/src/lib/kho-span';
import { fdtTargets, pickFdtTarget, treeLink } from '../../../renderer/src/lib/kho-targets';
import { cursorForPhase, currentPhase, phaseGroups, reachedPhases, stepPhases } from '../../../renderer/src/lib/phases';
import { fit, fitRange, layout } from '../../../renderer/src/lib/map-viewport';
import { chunkPage, khoRoot } from '../../browser/fixtures/fdt-builder';

const step = (command: Record<string, unknown>, ok = true): StepInfo =>
  ({ index: 0, label: String(command.op), command, ok, message: '' }) as unknown as StepInfo;

const testKho = [
  step({ op: 'boot' }),
  step({ op: 'insmod', module: 'test_kho', params: {} }),
  step({ op: 'kho_finalize' }),
  step({ op: 'kexec_load' }),
  step({ op: 'reboot' }),
  step({ op: 'boot' }),
  step({ op: 'insmod', module: 'test_kho', params: {} }),
];

describe('KHO phases of the timeline', () => {
  it('labels test-kho step by step with the generation that ran it', () => {
    expect(stepPhases(testKho)).toEqual([
      { phase: 'boot', generation: 1 },
      { phase: 'preserve', generation: 1 },
      { phase: 'finalize', generation: 1 },
      { phase: 'kexec-load', generation: 1 },
      { phase: 'reboot', generation: 1 },
      { phase: 'early-boot', generation: 2 },
      { phase: 'restore', generation: 2 },
    ]);
  });

  it('counts generations over a chain and treats other commands as workload', () => {
    const chain = [...testKho, step({ op: 'kho_finalize' }), step({ op: 'kexec_load' }), step({ op: 'reboot' }), step({ op: 'boot' }), step({ op: 'spawn', name: 'vmm' }), step({ op: 'insmod', module: 'test_kho', params: {} })];
    const p = stepPhases(chain);
    expect(p.slice(7).map((x) => `${x.phase}@${x.generation}`)).toEqual(['finalize@2', 'kexec-load@2', 'reboot@2', 'early-boot@3', 'workload@3', 'restore@3']);
  });

  it('a failed reboot or boot changes nothing; steps with no kernel have no generation', () => {
    const p = stepPhases([
      step({ op: 'spawn', name: 'x' }),
      step({ op: 'boot' }),
      step({ op: 'reboot' }, false),
      step({ op: 'insmod', module: 'test_kho', params: {} }),
      step({ op: 'kexec_load' }),
      step({ op: 'reboot' }),
      step({ op: 'insmod', module: 'test_kho', params: {} }, false),
      step({ op: 'boot' }),
    ]);
    expect(p.map((x) => `${x.phase}@${x.generation}`)).toEqual(['workload@null', 'boot@1', 'reboot@1', 'preserve@1', 'kexec-load@1', 'reboot@1', 'restore@null', 'early-boot@2']);
  });

  it('groups consecutive steps, knows the current phase and where a phase chip jumps', () => {
    const p = stepPhases(testKho);
    expect(phaseGroups(p).map((g) => [g.phase, g.first, g.last])).toHaveLength(7);
    expect(currentPhase(p, 0)).toBeNull();
    expect(currentPhase(p, 6)).toEqual({ phase: 'early-boot', generation: 2 });
    expect([...reachedPhases(p, 3)]).toEqual(['boot', 'preserve', 'finalize']);
    expect(cursorForPhase(p, 7, 'finalize')).toBe(3);
    expect(cursorForPhase(p, 1, 'restore')).toBe(7);
    expect(cursorForPhase(p, 7, 'workload')).toBeNull();
  });
});

const state = (booted: boolean) => ({ booted }) as SessionState;
const kho = (over: Partial<KhoView>): KhoView => ({ generation: 1, running: true, entry: null, entryFdtPhys: null, scratch: [], outgoing: null, incoming: null, segments: [], ...over });
const outgoing = (finalized: boolean) => ({ fdtPhys: 0x1000, finalized, chunkPhys: [], bitmapPages: 0, preservedPages: 0, subtrees: [] });

describe('KHO actions', () => {
  it('disables what does not apply, with the reason', () => {
    const off = khoActions(state(true), kho({}), false);
    expect(off.finalize).toEqual({ enabled: false, reason: 'KHO is off: boot with kho=on' });
    expect(off.insmod.enabled).toBe(true);
    expect(off.reboot.enabled).toBe(false);
    expect(off.bootNext.enabled).toBe(false);
    const on = khoActions(state(true), kho({ outgoing: outgoing(false), segments: [{ name: 'kernel', dest: 0, size: 1 }] }), false);
    expect(on.finalize.enabled).toBe(true);
    expect(on.reboot.enabled).toBe(true);
    expect(khoActions(state(true), kho({ outgoing: outgoing(true) }), false).finalize.reason).toBe('already finalized');
    const jumped = khoActions(state(false), kho({ running: false, entry: 0x3c7fe000 }), false);
    expect(Object.entries(jumped).filter(([, a]) => a.enabled).map(([k]) => k)).toEqual(['bootNext']);
    expect(jumped.insmod.reason).toBe('no kernel is running');
    expect(Object.values(khoActions(state(true), kho({ outgoing: outgoing(false) }), true)).some((a) => a.enabled)).toBe(false);
  });

  it('builds the commands', () => {
    expect(insmodCommand({ forget: 3, chain: false })).toEqual({ op: 'insmod', module: 'test_kho', params: { forget: 3 } });
    expect(insmodCommand({ forget: null, chain: true })).toEqual({ op: 'insmod', module: 'test_kho', params: { chain: true } });
    expect(khoCommand('kexecLoad', '  ')).toEqual({ op: 'kexec_load' });
    expect(khoCommand('kexecLoad', 'kho=on quiet')).toEqual({ op: 'kexec_load', cmdline: 'kho=on quiet' });
    expect(khoCommand('reboot')).toEqual({ op: 'reboot' });
    expect(khoCommand('bootNext')).toEqual({ op: 'boot' });
  });
});

describe('FDT blobs', () => {
  const blob = khoRoot(0x38c0e000, 0x38c0d000);

  it('reads the header and the properties, KHO u64s little-endian', () => {
    const h = fdtHeader(blob);
    expect(typeof h).toBe('object');
    if (typeof h === 'string') return;
    expect(h.magic).toBe(0xd00dfeed);
    expect(h.totalsize).toBe(blob.length);
    expect(fdtProps(blob).map((p) => `${p.path} ${p.name}`)).toEqual(['/ compatible', '/ preserved-memory-map', '/kho_test fdt']);
    expect(fdtU64(blob, '/', 'preserved-memory-map')).toBe(0x38c0e000);
    expect(fdtU64(blob, '/kho_test', 'fdt')).toBe(0x38c0d000);
    expect(fdtHeader(new Uint8Array(40))).toMatch(/bad magic 0x00000000/);
  });

  it('annotates header fields, tokens and strings', () => {
    const { rows, error } = annotatedFdt(blob);
    expect(error).toBeUndefined();
    const text = rows.map((r) => `${r.offset.toString(16)} ${r.hex} ${r.label ?? ''} ${r.note ?? ''}`.trim());
    expect(text).toContain('0 d00dfeed magic FDT_MAGIC');
    expect(text).toContain(`4 ${blob.length.toString(16).padStart(8, '0')} totalsize ${blob.length} bytes`);
    expect(rows.filter((r) => r.kind === 'heading').map((r) => r.label)).toEqual(['header', 'memory reservation map', 'structure block', 'strings block']);
    expect(text.some((t) => /FDT_PROP\s+compatible = "kho-v1";/.test(t))).toBe(true);
    expect(text.some((t) => /FDT_PROP\s+preserved-memory-map = <0xe0c038 0x0> \(u64 LE 0x38c0e000\)/.test(t))).toBe(true);
    expect(text.some((t) => /FDT_BEGIN_NODE\s+kho_test \{/.test(t))).toBe(true);
    expect(text.at(-1)).toMatch(/"fdt"$/);
  });

  it('prints property values as dtc does', () => {
    expect(propText(new TextEncoder().encode('a\0b\0'))).toBe('"a", "b"');
    expect(propText(new Uint8Array([0, 0, 0, 1]))).toBe('<0x1>');
    expect(propText(new Uint8Array([1, 2]))).toBe('[01 02]');
  });
});

describe('hex dumps and chunk pages', () => {
  it('groups bytes in memory order and collapses repeated rows', () => {
    expect(hexGroups(new Uint8Array([0xd0, 0x0d, 0xfe, 0xed, 1]))).toBe('d00dfeed 01');
    const rows = hexRows(new Uint8Array(64));
    expect(rows.map((r) => r.kind)).toEqual(['bytes', 'skip']);
    expect(rows[1]!.length).toBe(48);
  });

  it('decodes and annotates a khoser_mem_chunk page', () => {
    const page = chunkPage(0x38c0f000, 0, [[0x38000000, 0x39401000]]);
    expect(chunkHeader(page)).toEqual({ next: 0x38c0f000, order: 0, numElms: 1 });
    const rows = annotatedChunk(page);
    const text = rows.map((r) => `${r.offset.toString(16)} ${r.hex} ${r.label ?? ''} ${r.note ?? ''}`.trim());
    expect(text).toContain('0 00f0c038 00000000 next 0x38c0f000');
    expect(text).toContain('c 01000000 num_elms 1');
    expect(text).toContain('10 00000038 00000000 00104039 00000000 [0] phys_start 0x38000000 bitmap 0x39401000');
    expect(rows.at(-1)!.kind).toBe('skip');
  });
});

describe('KHO targets and the map span', () => {
  const view = kho({
    outgoing: { ...outgoing(false), fdtPhys: 0x3000, subtrees: [{ name: 'kho_test', phys: 0x4000 }] },
    incoming: { fdtPhys: 0x1000, scratchPhys: 0, blocks: 1, unrestoredBlocks: 1, subtrees: [{ name: 'kho_test', phys: 0x2000 }] },
  });

  it('lists outgoing and incoming FDTs and prefers the incoming root', () => {
    const t = fdtTargets(view);
    expect(t.map((x) => x.label)).toEqual(['outgoing /', 'outgoing kho_test', 'incoming /', 'incoming kho_test']);
    expect(pickFdtTarget(t, null)?.key).toBe('in:/');
    expect(pickFdtTarget(t, 'out:kho_test')?.phys).toBe(0x4000);
    expect(pickFdtTarget(t, 'gone')?.key).toBe('in:/');
    expect(fdtTargets(kho({ incoming: { fdtPhys: 0, scratchPhys: 0, blocks: 0, unrestoredBlocks: 0, subtrees: [] } }))).toEqual([]);
  });

  it('finds address links in the tree listing', () => {
    expect(treeLink('  preserved-memory-map = 0x38c0e000 (u64 little-endian: physical address, pfn 0x38c0e)')).toMatchObject({ prop: 'preserved-memory-map', phys: 0x38c0e000 });
    expect(treeLink('  compatible = "kho-v1"')).toBeNull();
  });

  it('spans the KHO cells of an overview and zooms the map to them', () => {
    const req = overviewRequest(262144);
    expect(req).toEqual({ firstPfn: 0, pagesPerCell: 32, cells: 8192 });
    const cells = new Uint8Array(req.cells).fill(PageCategory.FreeMovable);
    cells[7000] = PageCategory.Scratch;
    cells[7300] = PageCategory.Leaked;
    expect(khoSpan({ ...req, cells }, 262144)).toEqual({ first: 7000 * 32, end: 7301 * 32 });
    expect(khoSpan({ ...req, cells: new Uint8Array(8) }, 262144)).toBeNull();
    const v = fit(800, 700, 262144);
    const z = fitRange(v, 7000 * 32, 7301 * 32);
    const l = layout(z);
    expect(z.pagesPerRow).toBeLessThan(v.pagesPerRow);
    expect(Math.floor((7000 * 32) / z.pagesPerRow)).toBeGreaterThanOrEqual(Math.floor(z.topRow));
    expect(Math.floor((7301 * 32) / z.pagesPerRow)).toBeLessThanOrEqual(z.topRow + l.visibleRows);
  });
});
