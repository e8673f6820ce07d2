import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../../shared/views';
import { PageCategory } from '../../../shared/palette';
import { checkMachineForm, DEFAULT_FORM, memparseText } from '../../../renderer/src/lib/machine-form';
import {
  apiErrorLine,
  commandLabel,
  dmesgLine,
  dumpRam,
  errnoLine,
  pageDump,
  ramText,
  stepDetail,
  stepResultLine,
} from '../../../renderer/src/lib/format';
import type { StepInfo } from '../../../shared/views';
import { filterEvents } from '../../../renderer/src/lib/event-filter';
import { parseAddress } from '../../../renderer/src/lib/address';

const ev = (seq: number, level: TraceEvent['level'], subsys: string, msg: string, time = 0.123456): TraceEvent => ({
  seq,
  step: 1,
  time,
  level,
  subsys,
  msg,
});

describe('text formats', () => {
  it('prints dmesg lines with printk timestamps', () => {
    expect(dmesgLine(ev(1, 'info', 'memblock', 'reserved 4 MiB'))).toBe('[    0.123456] memblock: reserved 4 MiB');
    expect(dmesgLine(ev(1, 'info', 'Memory', 'x', 12.5))).toBe('[   12.500000] Memory: x');
  });

  it('prints errno results like a shell', () => {
    expect(errnoLine('memfd_create', 'ENOMEM')).toBe('memfd_create: ENOMEM');
  });

  it('names the call once in an API error line, also when the host message already names it', () => {
    expect(apiErrorLine('goto', { code: 'invalid-argument', message: 'step 9 is outside' })).toBe(
      'goto: step 9 is outside',
    );
    expect(apiErrorLine('spawn', { code: 'invalid-argument', message: 'spawn: refused: the kernel panicked: x' })).toBe(
      'spawn: refused: the kernel panicked: x',
    );
    expect(apiErrorLine('poke', { code: 'invalid-argument', message: 'poke 0x10: malformed hex' })).toBe(
      'poke 0x10: malformed hex',
    );
    expect(apiErrorLine('pokes', { code: 'invalid-argument', message: 'poke 0x10: x' })).toBe('pokes: poke 0x10: x');
  });

  it('labels commands as the timeline does, even unparsed ones', () => {
    expect(commandLabel({ op: 'memfd_create', process: 'vmm', name: 'vm-ram', size: 64 << 20 })).toContain(
      'memfd_create("vm-ram")',
    );
    expect(commandLabel({ op: 'vmalloc', name: 'x', size: 'huge' })).toBe('vmalloc');
  });

  it('shows a refused step as the errno line, with the host explanation as detail', () => {
    const s = {
      index: 1,
      label: 'x',
      command: { op: 'memfd_create' },
      ok: false,
      errno: 'ENOMEM',
      message: 'memfd_create: ENOMEM (no memory)',
    } as unknown as StepInfo;
    expect(stepResultLine(s)).toBe('memfd_create: ENOMEM');
    expect(stepDetail(s)).toBe('memfd_create: ENOMEM (no memory)');
    const good = { ...s, ok: true, errno: undefined, message: 'fd 3 → memfd:x' } as unknown as StepInfo;
    expect(stepResultLine(good)).toBe('fd 3 → memfd:x');
  });

  it('dumps a page with drgn field names', () => {
    const lines = pageDump({
      pfn: 0x1234,
      phys: 0x1234000,
      nid: 0,
      category: PageCategory.Memfd,
      flags: ['PG_uptodate', 'PG_lru'],
      flagsValue: 0x24,
      order: 0,
      compoundHead: null,
      refcount: 2,
      private: '0x0',
      migratetype: 'MOVABLE',
      owner: 'memfd:vm-ram',
      memblock: null,
      content: { kind: 'pattern', checksum: 'deadbeef' },
    });
    const map = Object.fromEntries(lines.map((l) => [l.key, l]));
    expect(map.phys!.value).toBe('0x0000000001234000');
    // pfns in hex, the decimal beside; private decoded when it carries the KHOP stamp.
    expect(map.pfn!.value).toBe('0x1234');
    expect(map.pfn!.note).toBe('4660');
    expect(map.private!.note).toBeUndefined();
    expect(map.flags!.note).toBe('PG_uptodate|PG_lru');
    expect(map._refcount!.value).toBe('2');
    expect(map.category!.value).toBe('memfd folios');
  });

  it('decodes a KHOP stamp in private (kho_preserved_memory_reserve(): magic and order)', () => {
    const stamped = Object.fromEntries(
      pageDump({
        pfn: 0x38c00,
        phys: 0x38c00000,
        nid: 0,
        category: PageCategory.Preserved,
        flags: ['PG_reserved'],
        flagsValue: 0x1,
        order: 0,
        compoundHead: null,
        refcount: 0,
        private: '0x4b484f5000000003',
        privateKho: { order: 3 },
        migratetype: 'MOVABLE',
        owner: '—',
        memblock: null,
        content: { kind: 'pattern', checksum: 'deadbeef' },
      }).map((l) => [l.key, l]),
    );
    expect(stamped.private!.note).toBe('KHOP magic 0x4b484f50 ("KHOP"), order 3: preserved, not yet restored');
  });
});

describe('event filter', () => {
  const events = [
    ev(1, 'info', 'memblock', 'add'),
    ev(2, 'warn', 'kho', 'scratch small'),
    ev(3, 'err', 'kho', 'failed'),
    ev(4, 'debug', 'mm', 'x'),
  ];
  it('matches all words and level thresholds', () => {
    expect(filterEvents(events, '').length).toBe(4);
    expect(filterEvents(events, 'KHO').map((e) => e.seq)).toEqual([2, 3]);
    expect(filterEvents(events, 'level:warn').map((e) => e.seq)).toEqual([2, 3]);
    expect(filterEvents(events, 'level:err kho').map((e) => e.seq)).toEqual([3]);
    expect(filterEvents(events, 'kho small').map((e) => e.seq)).toEqual([2]);
  });
});

describe('machine form', () => {
  it('accepts the defaults and reports the schema message on the field', () => {
    expect(checkMachineForm(DEFAULT_FORM).ok).toBe(true);
    const r = checkMachineForm({ ...DEFAULT_FORM, ram: '5T' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.ram).toMatch(/RAM size 5 TiB is above the maximum of 4 TiB/);
    const n = checkMachineForm({ ...DEFAULT_FORM, ram: '64M', nodes: 4 });
    expect(n.ok).toBe(false);
    if (!n.ok) expect(n.errors.nodes).toMatch(/each node needs at least 32 MiB/);
    const bad = checkMachineForm({ ...DEFAULT_FORM, ram: 'lots' });
    if (!bad.ok) expect(bad.errors.ram).toMatch(/expected a size/);
    else expect.unreachable();
  });

  it('writes sizes back in memparse spelling', () => {
    expect(memparseText(4 * 2 ** 30)).toBe('4G');
    expect(memparseText(8 << 20)).toBe('8M');
    expect(memparseText(1536 << 20)).toBe('1536M');
  });
});

describe('address input', () => {
  it('reads 0x… as a physical address, pfn:N (decimal or hex) and a bare number as a pfn', () => {
    expect(parseAddress('4096')).toEqual({ ok: true, value: { pfn: 4096 } });
    expect(parseAddress('0x1000')).toEqual({ ok: true, value: { pfn: 1, phys: 0x1000 } });
    expect(parseAddress('0x0000000100000fff')).toEqual({ ok: true, value: { pfn: 0x100000, phys: 0x100000fff } });
    expect(parseAddress('phys 0x200000')).toEqual({ ok: true, value: { pfn: 0x200, phys: 0x200000 } });
    expect(parseAddress('pfn:42')).toEqual({ ok: true, value: { pfn: 42 } });
    expect(parseAddress(' PFN:0x2A ')).toEqual({ ok: true, value: { pfn: 42 } });
    expect(parseAddress('pfn 0x38c0e')).toEqual({ ok: true, value: { pfn: 0x38c0e } });
  });

  it('says what is wrong with bad input', () => {
    expect(parseAddress('what')).toEqual({
      ok: false,
      error: { message: '"what" is neither a pfn (1234, pfn:0x4d2) or a physical address (0x4d2000)' },
    });
    expect(parseAddress('')).toMatchObject({ ok: false, error: { message: /^enter a pfn/ } });
    expect(parseAddress('pfn:')).toMatchObject({ ok: false, error: { message: /needs a number/ } });
    expect(parseAddress('pfn:12z')).toMatchObject({
      ok: false,
      error: { message: 'pfn "12z" is not a number (decimal, or hex with 0x)' },
    });
    expect(parseAddress('0xfoo')).toMatchObject({
      ok: false,
      error: { message: 'physical address "0xfoo" is not a hex number' },
    });
    expect(parseAddress('0xffffffffffffffffff')).toMatchObject({ ok: false, error: { message: /too large/ } });
  });
});

describe("a dump's RAM in the header (dumpRam, ramText)", () => {
  const info = (ramBytes: number, extentBytes: number) => ({
    name: 'x',
    fileBytes: 0,
    foundVia: '',
    compatible: 'kho-v4',
    releases: '',
    ramBytes,
    extentBytes,
  });
  it("QEMU's 1 GiB guest (less the VGA window), its BIOS ROM stretching the extent to 4 GiB: 1 GiB of RAM over 4 GiB", () => {
    expect(dumpRam(info(2 ** 30 - 0x20000, 4 * 2 ** 30))).toEqual({ ram: '1 GiB', extent: '4 GiB' });
  });
  it('a whole-RAM dump spans no more than its RAM: no extent said', () => {
    expect(dumpRam(info(2 ** 30 - 0x80000, 2 ** 30))).toEqual({ ram: '1 GiB', extent: null });
  });
  it('a dump cut to its handover pages is said exactly', () => {
    expect(ramText(2112 * 4096)).toBe('8.3 MiB');
  });
});
