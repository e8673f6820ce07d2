import { describe, expect, it } from 'vitest';
import type { KhoView, SessionState, StepInfo } from '../../../shared/views';
import { PageCategory } from '../../../shared/palette';
import { insmodCommand, khoActions, khoCommand } from '../../../renderer/src/lib/kho-actions';
import { khoSpan, overviewRequest } from '../../../renderer/src/lib/kho-span';
import { fdtTargets, pickFdtTarget, treeLink } from '../../../renderer/src/lib/kho-targets';
import { cursorForPhase, currentPhase, phaseGroups, reachedPhases, stepPhases } from '../../../renderer/src/lib/phases';
import { fit, fitRange, layout } from '../../../renderer/src/lib/map-viewport';
import { fdtU64 } from '../../../renderer/src/lib/kho-targets';
import { normalizeHex, pokeCommand, pokeHint, pokeTarget } from '../../../renderer/src/lib/poke';
import { fieldSpans, structLines } from '../../../renderer/src/lib/struct-hex';
import type { AnnotatedStruct } from '../../../shared/views';

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
    const chain = [
      ...testKho,
      step({ op: 'kho_finalize' }),
      step({ op: 'kexec_load' }),
      step({ op: 'reboot' }),
      step({ op: 'boot' }),
      step({ op: 'spawn', name: 'vmm' }),
      step({ op: 'insmod', module: 'test_kho', params: {} }),
    ];
    const p = stepPhases(chain);
    expect(p.slice(7).map((x) => `${x.phase}@${x.generation}`)).toEqual([
      'finalize@2',
      'kexec-load@2',
      'reboot@2',
      'early-boot@3',
      'workload@3',
      'restore@3',
    ]);
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
    expect(p.map((x) => `${x.phase}@${x.generation}`)).toEqual([
      'workload@null',
      'boot@1',
      'reboot@1',
      'preserve@1',
      'kexec-load@1',
      'reboot@1',
      'restore@null',
      'early-boot@2',
    ]);
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
const kho = (over: Partial<KhoView>): KhoView => ({
  generation: 1,
  running: true,
  entry: null,
  entryFdtPhys: null,
  scratch: [],
  outgoing: null,
  incoming: null,
  segments: [],
  ...over,
});
const outgoing = (finalized: boolean) => ({
  fdtPhys: 0x1000,
  finalized,
  chunkPhys: [],
  bitmapPages: 0,
  preservedPages: 0,
  subtrees: [],
});

describe('KHO actions', () => {
  it('disables what does not apply, with the reason', () => {
    const off = khoActions(state(true), kho({}), false);
    expect(off.finalize).toEqual({ enabled: false, reason: 'KHO is off: boot with kho=on' });
    // lib/test_kho.c kho_test_init() and kho_fill_kimage() do nothing with KHO off: disabled, saying why.
    expect(off.insmod).toEqual({
      enabled: false,
      reason: 'KHO is off (no kho=on on the command line): test_kho would load and do nothing',
    });
    expect(off.kexecLoad.enabled).toBe(false);
    expect(off.kexecLoad.reason).toMatch(/^KHO is off/);
    expect(khoActions(state(true), kho({ outgoing: outgoing(false) }), false).insmod.enabled).toBe(true);
    expect(off.reboot.enabled).toBe(false);
    expect(off.bootNext.enabled).toBe(false);
    const on = khoActions(
      state(true),
      kho({ outgoing: outgoing(false), segments: [{ name: 'kernel', dest: 0, size: 1 }] }),
      false,
    );
    expect(on.finalize.enabled).toBe(true);
    expect(on.reboot.enabled).toBe(true);
    expect(khoActions(state(true), kho({ outgoing: outgoing(true) }), false).finalize.reason).toBe('already finalized');
    const jumped = khoActions(state(false), kho({ running: false, entry: 0x3c7fe000 }), false);
    expect(
      Object.entries(jumped)
        .filter(([, a]) => a.enabled)
        .map(([k]) => k),
    ).toEqual(['bootNext']);
    expect(jumped.insmod.reason).toBe('no kernel is running');
    expect(
      Object.values(khoActions(state(true), kho({ outgoing: outgoing(false) }), true)).some((a) => a.enabled),
    ).toBe(false);
  });

  it('builds the commands', () => {
    expect(insmodCommand({ forget: 3, chain: false })).toEqual({
      op: 'insmod',
      module: 'test_kho',
      params: { forget: 3 },
    });
    expect(insmodCommand({ forget: null, chain: true })).toEqual({
      op: 'insmod',
      module: 'test_kho',
      params: { chain: true },
    });
    expect(khoCommand('kexecLoad', '  ')).toEqual({ op: 'kexec_load' });
    expect(khoCommand('kexecLoad', 'kho=on quiet')).toEqual({ op: 'kexec_load', cmdline: 'kho=on quiet' });
    expect(khoCommand('kexecLoad', '', '7.0')).toEqual({ op: 'kexec_load', kernel: '7.0' });
    expect(khoCommand('reboot')).toEqual({ op: 'reboot' });
    expect(khoCommand('bootNext')).toEqual({ op: 'boot' });
  });
});

describe('KHO targets and the map span', () => {
  const view = kho({
    outgoing: { ...outgoing(false), fdtPhys: 0x3000, subtrees: [{ name: 'kho_test', phys: 0x4000 }] },
    incoming: {
      fdtPhys: 0x1000,
      scratchPhys: 0,
      blocks: 1,
      unrestoredBlocks: 1,
      unrestored: [{ pfn: 7, order: 0 }],
      subtrees: [{ name: 'kho_test', phys: 0x2000 }],
    },
  });

  it('lists outgoing and incoming FDTs and prefers the incoming root', () => {
    const t = fdtTargets(view);
    expect(t.map((x) => x.label)).toEqual(['outgoing /', 'outgoing kho_test', 'incoming /', 'incoming kho_test']);
    expect(pickFdtTarget(t, null)?.key).toBe('in:/');
    expect(pickFdtTarget(t, 'out:kho_test')?.phys).toBe(0x4000);
    expect(pickFdtTarget(t, 'gone')?.key).toBe('in:/');
    expect(
      fdtTargets(
        kho({ incoming: { fdtPhys: 0, scratchPhys: 0, blocks: 0, unrestoredBlocks: 0, unrestored: [], subtrees: [] } }),
      ),
    ).toEqual([]);
    // After kexec -e: the handed-over root and the sub-FDTs it names.
    const handed = fdtTargets(
      kho({ running: false, entry: 0x9000, entryFdtPhys: 0x5000, entrySubtrees: [{ name: 'LUO', phys: 0x6000 }] }),
    );
    expect(handed.map((x) => [x.key, x.label, x.phys])).toEqual([
      ['in:/', 'handed over /', 0x5000],
      ['in:LUO', 'handed over LUO', 0x6000],
    ]);
  });

  it('reads a KHO u64 the host decoded, by node path and name', () => {
    const v = {
      phys: 0,
      bytes: new Uint8Array(),
      dts: '',
      lines: [],
      u64s: [
        { path: '/', name: 'preserved-memory-map', value: 0x5000 },
        { path: '/LUO', name: 'fdt', value: 0x6000 },
      ],
    };
    expect(fdtU64(v, '/', 'preserved-memory-map')).toBe(0x5000);
    expect(fdtU64(v, '/LUO', 'fdt')).toBe(0x6000);
    expect(fdtU64(v, '/', 'fdt')).toBeNull();
  });

  it('finds address links in the tree listing', () => {
    expect(
      treeLink('  preserved-memory-map = 0x38c0e000 (u64 little-endian: physical address, pfn 0x38c0e)'),
    ).toMatchObject({ prop: 'preserved-memory-map', phys: 0x38c0e000 });
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

describe('the struct viewer model for FDT sections, and the poke a field prepares', () => {
  const REC: AnnotatedStruct = {
    kind: 'fdt',
    title: 'FDT',
    phys: 0x10000,
    bytes: Uint8Array.from({ length: 96 }, (_, i) =>
      i < 4 ? 0xd0 : i >= 40 && i < 47 ? 'kho-v1\0'.charCodeAt(i - 40) : 0,
    ),
    header: {
      type: 'struct fdt_header',
      fields: [{ offset: 0, size: 4, name: 'magic', type: 'be32', value: '0xd0d0d0d0' }],
    },
    sections: [
      {
        type: 'structure block',
        fields: [{ offset: 40, size: 7, name: 'compatible', type: 'u8[7]', value: '"kho-v1"', property: 'compatible' }],
      },
    ],
    notes: [],
  };

  it('section fields get keys s<i>.<j>; runs of identical bytes no field covers collapse into one * line', () => {
    const spans = fieldSpans(REC);
    expect(spans.map((s) => s.key)).toEqual(['h.magic', 's0.0']);
    const lines = structLines(REC, spans);
    // 16: zeros after a line with fields stays; 48: zeros after line 32 (fields) stays; 64 and 80 repeat 48 and collapse.
    expect(lines.map((l) => [l.offset, l.skipped ?? 0])).toEqual([
      [0, 0],
      [16, 0],
      [32, 0],
      [48, 0],
      [64, 32],
    ]);
    expect(lines[2]!.cells[8]!.span).toBe(1);
  });

  it('a field pokes at its physical address with its own bytes to start from; a property by name only with the FDT named', () => {
    const f = REC.sections![0]!.fields[0]!;
    const t = pokeTarget(REC, f, 'LUO');
    expect(t).toEqual({ phys: 0x10028, size: 7, current: '6b686f2d763100', fdt: 'LUO', property: 'compatible' });
    expect(pokeTarget(REC, f).property).toBeUndefined();
    expect(pokeCommand(t, { mode: 'phys', kind: 'hex', text: 'DE AD' })).toEqual({
      ok: true,
      value: { op: 'poke', phys: '0x10028', hex: 'dead' },
    });
    expect(pokeCommand(t, { mode: 'property', kind: 'string', text: 'luo-v0' })).toEqual({
      ok: true,
      value: { op: 'poke', fdt: 'LUO', property: 'compatible', string: 'luo-v0' },
    });
    expect(pokeCommand(t, { mode: 'property', kind: 'hex', text: '0x00ff' })).toEqual({
      ok: true,
      value: { op: 'poke', fdt: 'LUO', property: 'compatible', hex: '00ff' },
    });
    expect(pokeCommand(pokeTarget(REC, f), { mode: 'property', kind: 'string', text: 'x' })).toEqual({
      ok: false,
      error: { message: 'this field is not a property of a handed-over KHO FDT' },
    });
    expect(pokeHint(t, { mode: 'phys', kind: 'hex', text: 'aabb' })).toBe(
      "2 of the field's 7 bytes (the rest unchanged)",
    );
    // A property is written in place (electron/host/poke.ts): the value keeps the property's length.
    expect(pokeHint(t, { mode: 'property', kind: 'string', text: 'luo-v0' })).toBe(
      'the string and its NUL: 7 bytes, as long as the property',
    );
    expect(pokeHint(t, { mode: 'property', kind: 'string', text: 'luo-v10' })).toBe(
      'the string and its NUL: 8 bytes, but the property is 7 — a poke writes in place and cannot resize it',
    );
    expect(pokeCommand(t, { mode: 'property', kind: 'string', text: 'a\0b' })).toEqual({
      ok: false,
      error: { message: 'a devicetree string cannot contain NUL' },
    });
    expect(pokeHint(t, { mode: 'phys', kind: 'hex', text: '00'.repeat(9) })).toBe('9 bytes: 2 past the field');
  });

  it('normalizeHex: spaces and 0x are fine; odd digits, non-hex and nothing are refused with the reason', () => {
    expect(normalizeHex(' 0xDE ad:be-ef ')).toEqual({ ok: true, value: 'deadbeef' });
    expect(normalizeHex('abc')).toEqual({ ok: false, error: { message: '3 hex digits: a byte takes two' } });
    expect(normalizeHex('xyz')).toEqual({ ok: false, error: { message: '"xyz" is not hex' } });
    expect(normalizeHex('  ')).toEqual({ ok: false, error: { message: 'no bytes to write' } });
    expect(
      pokeCommand({ phys: 0, size: 1, current: '00' }, { mode: 'phys', kind: 'hex', text: 'ab'.repeat(4097) }).ok,
    ).toBe(false);
  });
});
