/**
 * /sys/kernel/debug/kho per release, as kexec_handover_debugfs.c and kho_init() build it: the file
 * list (6.19 has out/finalize, 7.1+ not), out/fdt sized once at kho_init() — 233 bytes on 7.2, the
 * size the real 7.2.13 shows — while the FDT header's totalsize grows, no out/fdt after a KHO
 * boot, and the incoming LUO blob the next kernel kho_restore_free()d shown as the memory it is now.
 */
import { describe, expect, it } from 'vitest';
import type { DebugfsFile, DebugfsView } from '../../../shared/debugfs-view';
import { Host, builtinScenario } from '../../../electron/host/host';
import { decodeFdt } from '../../../electron/kernel/lib/fdt';

const MACHINE = { ram: '512M', nodes: 1, seed: 1, cmdline: 'kho=on liveupdate=on' };

async function debugfsAfter(scenario: object, at?: number): Promise<{ v: DebugfsView; host: Host }> {
  const host = new Host();
  const r = await host.loadScenario(JSON.stringify(scenario), 'test');
  if (!r.ok) throw new Error(r.error.message);
  if (at !== undefined) await host.goto(at);
  const v = await host.debugfs();
  if (!v.ok) throw new Error(v.error.message);
  return { v: v.value, host };
}

function builtin(name: string, kernel: string) {
  const s = builtinScenario(name);
  if (!s.ok) throw new Error(s.error.message);
  return { ...s.value, machine: { ...s.value.machine, kernel } };
}

const file = (v: DebugfsView, path: string): DebugfsFile => {
  const f = v.files.find((x) => x.path === path);
  if (!f) throw new Error(`${path} missing: ${v.files.map((x) => x.path).join(' ')}`);
  return f;
};
const paths = (v: DebugfsView) => v.files.map((f) => f.path);
const text = (f: DebugfsFile) => new TextDecoder().decode(f.bytes);
const totalsize = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(4);

describe('debugfs kho/ on 7.2 (kernel/liveupdate/kexec_handover_debugfs.c)', () => {
  it('kho_init(): out/fdt keeps the 233 bytes of root + kexec-metadata while LUO grows the FDT; dtc hits EOF', async () => {
    const { v, host } = await debugfsAfter({ machine: { ...MACHINE, kernel: '7.2' }, steps: [{ op: 'boot' }] });
    expect(v.present).toBe(true);
    expect(paths(v)).toEqual([
      'kho/out/fdt',
      'kho/out/scratch_len',
      'kho/out/scratch_phys',
      'kho/out/sub_fdts/LUO',
      'kho/out/sub_fdts/kexec-metadata',
    ]);
    const fdt = file(v, 'kho/out/fdt');
    expect(fdt.bytes.length).toBe(233);
    expect(totalsize(fdt.bytes)).toBe(285); // root + LUO + kexec-metadata, as the real k2 out-FDT
    expect(fdt.dtcError).toBe('FATAL ERROR: EOF before reading 285 bytes of DT blob');
    expect(fdt.dts).toBeUndefined();
    expect(fdt.quirk).toMatch(/^Kernel quirk: kho_init\(\) gave this file fdt_totalsize\(\).*233 bytes/);
    // The file is a prefix of the live FDT: the same page, cut short.
    const whole = await host.fdt(fdt.phys!);
    if (!whole.ok) throw new Error(whole.error.message);
    expect(fdt.bytes).toEqual(whole.value.bytes.subarray(0, 233));
    expect(file(v, 'kho/out/sub_fdts/LUO').bytes.length).toBe(32); // struct luo_ser, blob-size
    expect(file(v, 'kho/out/sub_fdts/kexec-metadata').bytes.length).toBe(73);
    // scratch_show(): one "0x%llx\n" per area.
    expect(text(file(v, 'kho/out/scratch_phys'))).toMatch(/^(0x[0-9a-f]+\n){3}$/);
    expect(text(file(v, 'kho/out/scratch_len'))).toMatch(/^(0x[0-9a-f]+\n){3}$/);
  });

  it('kho_init() on a KHO boot: in/ and no out/fdt; in/sub_fdts/LUO is the luo_ser luo_early_startup() freed', async () => {
    const { v } = await debugfsAfter(builtin('luo-kexec-simple', '7.2'));
    expect(paths(v)).toEqual([
      'kho/in/fdt',
      'kho/in/sub_fdts/LUO',
      'kho/in/sub_fdts/kexec-metadata',
      'kho/out/scratch_len',
      'kho/out/scratch_phys',
      'kho/out/sub_fdts/LUO',
      'kho/out/sub_fdts/kexec-metadata',
    ]);
    expect(v.note).toMatch(/returned before adding out\/fdt/);
    const inFdt = file(v, 'kho/in/fdt');
    expect(inFdt.bytes.length).toBe(totalsize(inFdt.bytes)); // fdt_totalsize() of a finished blob: whole
    expect(inFdt.dts).toContain('compatible = "kho-v4";');
    expect(inFdt.dts).toMatch(/LUO \{\n\t\tblob-size = <0x20000000 0x00>;/);
    const luo = file(v, 'kho/in/sub_fdts/LUO');
    expect(luo.bytes.length).toBe(32);
    expect(luo.quirk).toMatch(/freed LUO's blob after reading it \(kho_restore_free\(\)\)/);
    const meta = file(v, 'kho/in/sub_fdts/kexec-metadata');
    expect(meta.quirk).toBeUndefined(); // kho_in_kexec_metadata() only reads it
    expect(new TextDecoder().decode(meta.bytes.subarray(4, 8))).toBe('7.2.');
  });

  it('KHO off: kho_init() returns before kho_debugfs_init(), there is no kho/', async () => {
    const { v } = await debugfsAfter({ machine: { ...MACHINE, kernel: '7.2', cmdline: '' }, steps: [{ op: 'boot' }] });
    expect(v.present).toBe(false);
    expect(v.note).toMatch(/KHO is off/);
  });
});

describe('debugfs kho/ on 6.19 and 7.1', () => {
  it('6.19 kho_out_debugfs_init(): out/finalize (0600) reads kho_finalized(); out/fdt is the bare kho-v1 root of kho_init()', async () => {
    const scenario = {
      machine: { ...MACHINE, kernel: '6.19', cmdline: 'kho=on' },
      steps: [{ op: 'boot' }, { op: 'insmod', module: 'test_kho' }, { op: 'kho_finalize' }],
    };
    const before = (await debugfsAfter(scenario, 2)).v;
    expect(paths(before)).toEqual([
      'kho/out/fdt',
      'kho/out/finalize',
      'kho/out/scratch_len',
      'kho/out/scratch_phys',
      'kho/out/sub_fdts/kho_test',
    ]);
    expect(file(before, 'kho/out/finalize').mode).toBe('-rw-------');
    expect(text(file(before, 'kho/out/finalize'))).toBe('0\n');
    const { v: after } = await debugfsAfter(scenario);
    expect(text(file(after, 'kho/out/finalize'))).toBe('1\n');
    const fdt = file(after, 'kho/out/fdt');
    // compatible "kho-v1" + preserved-memory-map, sequential-write: 152 bytes; kho_test made it longer.
    expect(fdt.bytes.length).toBe(152);
    expect(totalsize(fdt.bytes)).toBeGreaterThan(152);
    expect(fdt.dtcError).toMatch(/^FATAL ERROR: EOF before reading \d+ bytes of DT blob$/);
    expect(fdt.quirk).toMatch(/the bare root/);
    // kho-v1 has no blob-size: the sub-FDT's file is fdt_totalsize() of it, and dtc reads it.
    const kt = file(after, 'kho/out/sub_fdts/kho_test');
    expect(kt.kind).toBe('fdt');
    expect(kt.bytes.length).toBe(totalsize(kt.bytes));
    expect(kt.dts).toContain('compatible = "kho-test-v1";');
  });

  it('6.19 after a KHO boot: in/fdt and in/sub_fdts, no out/fdt (kho_init() returns early in 6.19 too)', async () => {
    const { v } = await debugfsAfter(builtin('test-kho', '6.19'));
    expect(paths(v)).toContain('kho/in/fdt');
    expect(paths(v)).toContain('kho/in/sub_fdts/kho_test');
    expect(paths(v)).not.toContain('kho/out/fdt');
    expect(paths(v)).toContain('kho/out/finalize');
    const inFdt = file(v, 'kho/in/fdt');
    const d = decodeFdt(inFdt.bytes);
    expect(d.ok).toBe(true);
    expect(inFdt.dts).toContain('compatible = "kho-v1";');
  });

  it('7.1: no out/finalize (stateless KHO); out/fdt sized at kho_init() with kexec-metadata, as 7.2', async () => {
    const { v } = await debugfsAfter({ machine: { ...MACHINE, kernel: '7.1' }, steps: [{ op: 'boot' }] });
    expect(paths(v)).not.toContain('kho/out/finalize');
    const fdt = file(v, 'kho/out/fdt');
    expect(fdt.bytes.length).toBe(233); // "kho-v3" is as long as "kho-v4"
    expect(totalsize(fdt.bytes)).toBeGreaterThan(233);
  });
});

describe('debugfs kho/ with a corrupt handover', () => {
  it('kho_in_debugfs_init() trusts blob-size: a 1 TiB kexec-metadata file is listed at that size and read only in part', async () => {
    const { v } = await debugfsAfter({
      machine: { ...MACHINE, kernel: '7.2', cmdline: 'kho=on' },
      steps: [
        { op: 'boot' },
        { op: 'kexec_load' },
        { op: 'reboot' },
        { op: 'poke', fdt: 'root', property: 'kexec-metadata/blob-size', u64: '0x10000000000' },
        { op: 'boot' },
      ],
    });
    const meta = file(v, 'kho/in/sub_fdts/kexec-metadata');
    expect(meta.clipped).toBe(2 ** 40);
    expect(meta.bytes.length).toBeLessThanOrEqual(1 << 20);
    expect(file(v, 'kho/in/fdt').dts).toContain('blob-size = <0x00 0x10000>;');
  });
});
