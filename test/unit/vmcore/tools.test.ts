/**
 * The exported vmcore in the kernel engineer's own tools: binutils' readelf lists the segments
 * and the VMCOREINFO note; Debian's drgn opens it as a Linux kernel core, reads the KHO root FDT
 * at the address the note gives (test/vmcore/read_kho.py, with libfdt) and finds the same
 * compatible, preserved-memory-map, sub-FDT addresses and preserved blocks that KHO Lab reports.
 * CI installs binutils, python3-drgn and python3-libfdt (.ci/run); /usr/bin/python3 is Debian's.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT_OK } from '../../../electron/cli';
import { Host } from '../../../electron/host/host';
import { decodeFdt, getProp, readU64le } from '../../../electron/kernel/lib/fdt';
import type { KhoView, Report } from '../../../shared/views';
import { cli, scratchDir } from '../cli/run-cli';

const dir = scratchDir('kho-lab-vmcore-tools-');
const core = join(dir, 'test-kho.vmcore');
const REBOOT_STEP = 5; // builtin:test-kho: boot, insmod, finalize, kexec_load, reboot (kexec -e), boot, insmod

interface DrgnKho {
  osrelease: string;
  vmcoreinfo: Record<string, string>;
  fdt_phys: number;
  fdt_size: number;
  scratch_phys: number;
  scratch_size: number;
  compatible: string;
  preserved_memory_map: number;
  subnodes: Array<{ name: string; fdt: number | null }>;
  blocks: Array<{ phys: number; order: number }>;
}

let atReboot: { kho: KhoView; report: Report; fdtMap: number; subtrees: Array<{ name: string; phys: number }> };
let final: Report;

beforeAll(async () => {
  const r = await cli('run', 'builtin:test-kho', '--quiet', '--export-vmcore', core, '--at', String(REBOOT_STEP));
  expect(r.code).toBe(EXIT_OK);
  const host = new Host();
  await host.loadBuiltin('test-kho');
  const f = await host.report();
  if (!f.ok) throw new Error(f.error.message);
  final = f.value;
  await host.goto(REBOOT_STEP);
  const kho = await host.kho();
  const report = await host.report();
  if (!kho.ok || !report.ok) throw new Error('host refused');
  const fdt = await host.fdt(kho.value.entryFdtPhys!);
  if (!fdt.ok) throw new Error(fdt.error.message);
  const d = decodeFdt(fdt.value.bytes);
  if (!d.ok) throw new Error(d.message);
  atReboot = {
    kho: kho.value,
    report: report.value,
    fdtMap: Number(readU64le(getProp(d.root, 'preserved-memory-map')!)),
    subtrees: d.root.children.map((c) => ({ name: c.name, phys: Number(readU64le(getProp(c, 'fdt')!)) })),
  };
});

describe('readelf', () => {
  it('shows the PT_NOTE, the PT_LOADs at their physical and direct-map addresses, and the VMCOREINFO note', () => {
    const out = execFileSync('readelf', ['-h', '-l', '-n', '-W', core], { encoding: 'utf8' });
    expect(out).toMatch(/Type:\s+CORE \(Core file\)/);
    expect(out).toMatch(/Machine:\s+Advanced Micro Devices X86-64/);
    expect(out).toMatch(/^\s+NOTE\s+0x[0-9a-f]+ 0x0+ 0x0+ 0x[0-9a-f]+ 0x[0-9a-f]+/m);
    const loads = [
      ...out.matchAll(/^\s+LOAD\s+(0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+) RWE/gm),
    ];
    expect(loads.length).toBeGreaterThan(1);
    for (const [, offset, vaddr, paddr, filesz, memsz] of loads) {
      expect(BigInt(offset!) % 4096n).toBe(0n);
      expect(BigInt(vaddr!)).toBe(0xffff888000000000n + BigInt(paddr!));
      expect(filesz).toBe(memsz);
    }
    // The root FDT page lies inside one of the loads.
    const fdt = BigInt(atReboot.kho.entryFdtPhys!);
    expect(loads.some(([, , , p, s]) => BigInt(p!) <= fdt && fdt < BigInt(p!) + BigInt(s!))).toBe(true);
    expect(out).toMatch(/VMCOREINFO\s+0x[0-9a-f]+\s+Unknown note type: \(0x00000000\)/);
  });
});

describe('drgn', () => {
  it('opens the vmcore, reads the KHO root FDT through physical memory and finds what KHO Lab reports', () => {
    const json = execFileSync('/usr/bin/python3', [join(__dirname, '../../vmcore/read_kho.py'), core], {
      encoding: 'utf8',
    });
    const d = JSON.parse(json) as DrgnKho;
    const pending = atReboot.report.kho!.pending!;
    expect(d.osrelease).toBe('6.19.0-kholab');
    expect(d.vmcoreinfo.KHO_LAB_STEP).toBe(String(REBOOT_STEP));
    expect(d.fdt_phys).toBe(atReboot.kho.entryFdtPhys);
    expect(d.fdt_phys).toBe(pending.fdtPhys);
    expect(d.fdt_size).toBe(pending.fdtSize);
    expect(d.scratch_phys).toBe(pending.scratchPhys);
    expect(d.scratch_size).toBe(pending.scratchSize);
    expect(d.compatible).toBe('kho-v1');
    expect(d.preserved_memory_map).toBe(atReboot.fdtMap);
    expect(d.preserved_memory_map).not.toBe(0);
    expect(d.subnodes.map((s) => ({ name: s.name, phys: s.fdt }))).toEqual(atReboot.subtrees);
    expect(d.subnodes.map((s) => s.name)).toContain('kho_test');
    // The next kernel booted from that handoff: same FDT, same scratch array, same blocks.
    const incoming = final.kho!.incoming!;
    expect(incoming.fdtPhys).toBe(d.fdt_phys);
    expect(incoming.scratchPhys).toBe(d.scratch_phys);
    expect(incoming.scratchSize).toBe(d.scratch_size);
    expect(d.blocks.length).toBeGreaterThan(10);
    expect(d.blocks).toEqual(incoming.blocks);
  });
});
