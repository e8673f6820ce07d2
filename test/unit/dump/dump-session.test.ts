/**
 * A memory dump opened in the host as a read-only machine (Host.openDump): the real 7.2.13
 * handover (the pages cut at machine_kexec(), test/abi/fixtures/realkernel-7.2) and KHO Lab's own
 * vmcore export of builtin:test-kho. The map is painted from the handover, the 7.x records chain
 * from the root FDT down to memfd folios, a preserved block's radix path ends at its set bit,
 * steps are refused, and a bad file is refused with a message — never a throw.
 */
import { describe, expect, it } from 'vitest';
import type { DumpHandle } from '../../../shared/api';
import { PageCategory } from '../../../shared/palette';
import type { AnnotatedStruct, RecordRequest, StructField } from '../../../shared/views';
import { Host } from '../../../electron/host/host';
import { bytesSource } from '../../../electron/host/dump/source';
import { dumpPages } from '../../abi/kho-7x/fixtures';
import { PT_LOAD } from '../../../electron/host/dump/elf-core';
import { PAGE_SIZE } from '../../../shared/units';
import { core, coreOfPages } from './elf-build';
import { simDump } from './sim-dump';

const REAL = coreOfPages(dumpPages('realkernel-7.2/k1-machine_kexec.pages.gz'));

/** A host that opens named byte arrays as dumps. */
function hostWith(files: Record<string, Uint8Array>): Host {
  return new Host({
    openDumpSource: (h: DumpHandle) => {
      const b = typeof h === 'string' ? files[h] : undefined;
      if (!b) throw new Error(`no such file ${String(h)}`);
      return bytesSource(b);
    },
  });
}

async function record(host: Host, req: RecordRequest): Promise<AnnotatedStruct> {
  const r = await host.records(req);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const fields = (rec: AnnotatedStruct): StructField[] => [
  ...(rec.header?.fields ?? []),
  ...(rec.sections ?? []).flatMap((s) => s.fields),
  ...(rec.array?.elements.flat() ?? []),
];
const field = (rec: AnnotatedStruct, name: string): StructField => {
  const f = fields(rec).find((x) => x.name === name);
  if (!f)
    throw new Error(
      `${rec.kind} has no field ${name}: ${fields(rec)
        .map((x) => x.name)
        .join(', ')}`,
    );
  return f;
};

describe('Host.openDump on the real 7.2.13 handover', () => {
  it('inspectDump() behind openDump(): kho-v4 found by the FDT scan, state read-only with the kexec-metadata release', async () => {
    const host = hostWith({ '/dumps/k1.elf': REAL });
    const v = await host.openDump('/dumps/k1.elf');
    if (!v.ok) throw new Error(v.error.message);
    expect(v.value).toMatchObject({
      name: 'k1.elf',
      compatible: 'kho-v4',
      releases: 'Linux 7.2–7.3',
      rootFdtPhys: 0x189000,
    });
    expect(v.value.foundVia).toContain('page-aligned KHO root FDT');
    expect(v.value.tracker).toMatchObject({ kind: 'radix-tree', count: 49, bytes: 8544256, metadataPages: 49 });
    expect(v.value.subBlobs.map((s) => [s.name, s.open?.kind])).toEqual([
      ['LUO', 'luo-ser'],
      ['kho_test', 'fdt'],
      ['kexec-metadata', 'kexec-metadata'],
    ]);
    expect(v.value.luo?.sessions.map((s) => s.files.length)).toEqual([1, 1, 1, 0, 0, 1, 2]);
    const st = await host.state();
    if (!st.ok) throw new Error(st.error.message);
    expect(st.value).toMatchObject({ booted: false, steps: [], kernelRelease: '7.2.13' });
    expect(st.value.maxPfn).toBe(0x3ffd9 + 1); // the highest page of the cut
    expect(st.value.dump?.name).toBe('k1.elf');
    const run = await host.run({ op: 'boot' });
    expect(run.ok ? 'ran' : run.error.message).toMatch(/memory dump is open, read-only/);
    expect((await host.goto(0)).ok).toBe(false);
  });

  it("a QEMU dump's BIOS ROM below 4 GiB: the state's RAM is what the segments hold, the extent said apart", async () => {
    const mem = dumpPages('realkernel-7.2/k1-machine_kexec.pages.gz');
    const pages = mem.framePhys();
    // QEMU's dump-guest-memory includes pc.bios, a ROM at [0xfffc0000, 4 GiB), and the legacy ROMs under 1 MiB.
    const rom = [
      { type: PT_LOAD, paddr: 0xc0000, data: new Uint8Array(0), memsz: 0x40000 },
      { type: PT_LOAD, paddr: 0xfffc0000, data: new Uint8Array(0), memsz: 0x40000 },
    ];
    const host = hostWith({
      qemu: core([
        ...rom.slice(0, 1),
        ...pages.map((paddr) => ({ type: PT_LOAD, paddr, data: mem.read(paddr, PAGE_SIZE)! })),
        ...rom.slice(1),
      ]),
    });
    const v = await host.openDump('qemu');
    if (!v.ok) throw new Error(v.error.message);
    const st = await host.state();
    if (!st.ok) throw new Error(st.error.message);
    expect(st.value.dump).toMatchObject({ ramBytes: pages.length * PAGE_SIZE, extentBytes: 4 * 2 ** 30 });
    expect(st.value.config.ram).not.toBe(4 * 2 ** 30);
  });

  it('the map paints what the handover says: root FDT and radix nodes as KHO metadata, blocks preserved, the rest of the cut other RAM, uncaptured pages holes', async () => {
    const host = hostWith({ k1: REAL });
    await host.openDump('k1');
    const map = await host.mapView({ firstPfn: 0, pagesPerCell: 1, cells: 0x40000 });
    if (!map.ok) throw new Error(map.error.message);
    const at = (phys: number) => map.value.cells[phys / 4096];
    expect(at(0x189000)).toBe(PageCategory.KhoMetadata); // root FDT (also a preserved block)
    expect(at(0x187000)).toBe(PageCategory.KhoMetadata); // radix root, not preserved
    expect(at(0x2e6000)).toBe(PageCategory.Preserved);
    expect(at(0xc00000 + 1023 * 4096)).toBe(PageCategory.Preserved); // last page of the order-10 block
    expect(at(0x1000)).toBe(PageCategory.Hole); // not in the cut
    const page = await host.page(0x187);
    expect(page.ok && page.value.owner).toBe('KHO radix tree node (not preserved)');
    const blk = await host.page(0xc01);
    expect(blk.ok && blk.value.owner).toBe('preserved block 0xc00000 order 10');
  });

  it('kho_radix_walk_tree() path of a block: following the highlighted links from the root reaches its leaf with its bit set', async () => {
    const host = hostWith({ k1: REAL });
    const v = await host.openDump('k1');
    if (!v.ok) throw new Error(v.error.message);
    const block = v.value.tracker.blocks.find((b) => b.phys === 0x2c3e000)!;
    expect(block.key).toBeDefined();
    let req: RecordRequest | undefined = { ...v.value.tracker.root!, pathKey: block.key! };
    const levels: number[] = [];
    let last: AnnotatedStruct | undefined;
    while (req) {
      last = await record(host, req);
      levels.push(req.level!);
      const hl = fields(last).filter((f) => f.highlight);
      expect(hl).toHaveLength(1);
      req = hl[0]!.opens;
    }
    expect(levels).toEqual([5, 4, 3, 2, 1, 0]);
    expect(last!.title).toMatch(/^kho_radix_leaf: keys/);
    expect(fields(last!).find((f) => f.highlight)!.value).toMatch(/→ 0x2c3e000 order 0 \(4 KiB\): set \(preserved\)/);
  });

  it('luo_early_startup() … memfd_luo_retrieve() as records: root FDT → luo_ser → session block → file block → memfd-v2 → kho_vmalloc', async () => {
    const host = hostWith({ k1: REAL });
    await host.openDump('k1');
    const root = await record(host, { kind: 'fdt', phys: 0x189000 });
    expect(field(root, 'preserved-memory-map').opens).toEqual({
      kind: 'kho-radix-node',
      phys: 0x187000,
      level: 5,
      keyStart: 0,
    });
    expect(field(root, 'LUO/preserved-data').opens).toEqual({ kind: 'luo-ser', phys: 0x2144000 });
    expect(field(root, 'kexec-metadata/preserved-data').opens).toEqual({ kind: 'kexec-metadata', phys: 0x301000 });
    const meta = await record(host, { kind: 'kexec-metadata', phys: 0x301000 });
    expect(meta.title).toBe('kho_kexec_metadata: from 7.2.13 (count 1)');
    const ser = await record(host, { kind: 'luo-ser', phys: 0x2144000 });
    expect(field(ser, 'compatible').value).toBe('"luo-v5"');
    expect(field(ser, 'flbs_pa').opens).toEqual({ kind: 'luo-flb-area', phys: 0x2145000 });
    const sessions = await record(host, field(ser, 'sessions_pa').opens!);
    expect(sessions.title).toBe('kho_block of luo_session_ser: 7 of 51 entries');
    expect(field(sessions, 'next').value).toBe('NULL');
    const names = sessions.array!.elements.map((e) => e.find((f) => f.name === 'name')!.value);
    expect(names[6]).toBe('"multi-test-files-2"');
    const filesAt = sessions.array!.elements[6]!.find((f) => f.name === 'file_set.files')!.opens!;
    const files = await record(host, filesAt);
    expect(files.title).toBe('kho_block of luo_file_ser: 2 of 63 entries');
    const data = files.array!.elements[0]!.find((f) => f.name === 'data')!;
    expect(data.opens?.kind).toBe('memfd-v2-ser');
    const memfd = await record(host, data.opens!);
    expect(field(memfd, 'seals').value).toBe('0x1 (F_SEAL_SEAL)');
    expect(field(memfd, 'nr_folios').value).toBe('1');
    expect(field(memfd, 'folios.first').opens?.kind).toBe('kho-vmalloc-chunk');
    const flb = await record(host, { kind: 'luo-flb-area', phys: 0x2145000 });
    expect(flb.array!.elements.map((e) => e[0]!.value)).toEqual([
      '"liveupdate-test-flb-v0"',
      '"liveupdate-test-flb-v1"',
      '"liveupdate-test-flb-v2"',
    ]);
  });

  it('kho_block_set_restore(): a block whose count is 0 is flagged with the kernel message', async () => {
    const mem = dumpPages('realkernel-7.2/k1-machine_kexec.pages.gz');
    mem.write(0x23d7000 + 8, new Uint8Array(8));
    const host = hostWith({ k1: coreOfPages(mem) });
    const v = await host.openDump('k1');
    if (!v.ok) throw new Error(v.error.message);
    expect(v.value.luo?.error).toMatch(/invalid entry count: 0/);
    const blk = await record(host, { kind: 'luo-session-blocks', phys: 0x23d7000 });
    expect(field(blk, 'count').problem).toMatch(/Block contains invalid entry count: 0/);
  });
});

describe('Host.openDump: KHO Lab’s own vmcore and bad files', () => {
  it('kho-v1 (6.19) at kexec -e: VMCOREINFO names the handover, scratch and the chunk list are painted', async () => {
    const sim = await simDump();
    const host = hostWith({ 'sim.vmcore': sim.bytes });
    const v = await host.openDump('sim.vmcore');
    if (!v.ok) throw new Error(v.error.message);
    expect(v.value).toMatchObject({ compatible: 'kho-v1', foundVia: expect.stringContaining('VMCOREINFO') });
    expect(v.value.tracker.kind).toBe('chunk-list');
    expect(v.value.tracker.count).toBe(sim.incomingBlocks.length);
    expect(v.value.tracker.root?.kind).toBe('kho-mem-chunk');
    const st = await host.state();
    const maxPfn = st.ok ? st.value.maxPfn : 0;
    const map = await host.mapView({ firstPfn: 0, pagesPerCell: 1, cells: maxPfn });
    if (!map.ok) throw new Error(map.error.message);
    const s = sim.incomingScratch[0]!;
    expect(map.value.cells[s.addr / 4096 + 1]).toBe(PageCategory.Scratch);
    const b = sim.incomingBlocks.at(-1)!;
    expect(map.value.cells[b.phys / 4096]).toBeGreaterThanOrEqual(PageCategory.Preserved);
    const chunks = await host.chunks(v.value.tracker.root!.phys);
    expect(chunks.ok && chunks.value.length).toBeGreaterThan(0);
    // A new machine leaves the dump.
    await host.newMachine({});
    const after = await host.dump();
    expect(after.ok && after.value).toBeNull();
  });

  it('not ELF, truncated, no handover: refused with the reason, the previous dump stays open', async () => {
    const host = hostWith({ k1: REAL, junk: new Uint8Array(4096).fill(0x41), cut: REAL.subarray(0, 200) });
    await host.openDump('k1');
    const junk = await host.openDump('junk');
    expect(junk.ok ? '' : junk.error.message).toMatch(/^junk: .*(ELF|magic)/i);
    const cut = await host.openDump('cut');
    expect(cut.ok ? '' : cut.error.message).toMatch(/^cut: .*truncated/);
    const none = await host.openDump('missing');
    expect(none.ok ? '' : none.error.message).toMatch(/no such file/);
    const still = await host.dump();
    expect(still.ok && still.value?.name).toBe('k1');
  });

  it('a host without a file opener answers unavailable', async () => {
    const r = await new Host().openDump('x');
    expect(r.ok ? '' : r.error.code).toBe('unavailable');
  });
});
