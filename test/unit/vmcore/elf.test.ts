/**
 * The vmcore writer, checked byte by byte in TypeScript: the ELF header, the PT_NOTE and its
 * VMCOREINFO note (layout, padding, the lines drgn insists on, KHO's handoff), one PT_LOAD per
 * run of exported pages (offsets, addresses, sizes) and the page bytes behind each, against
 * what the simulated machine holds. Also what is exported (pages in use / non-zero RAM / all)
 * and the refusals.
 */
import { describe, expect, it } from 'vitest';
import { Host } from '../../../electron/host/host';
import { planVmcore, vmcoreBytes, vmcoreChunks } from '../../../electron/host/vmcore';
import { pendingHandoverPages } from '../../../electron/host/handover-pages';
import type { Machine } from '../../../electron/kernel/machine';
import { PG } from '../../../electron/kernel/mm/page-flags';

const PAGE = 4096;
const DIRECT_MAP = 0xffff888000000000n;
const KHO_SCENARIO = {
  name: 'small-kho',
  machine: { ram: '512M', nodes: 1, seed: 3, cmdline: 'kho=on kho_scratch=200%' },
  steps: [
    { op: 'boot' },
    { op: 'insmod', module: 'test_kho' },
    { op: 'kho_finalize' },
    { op: 'kexec_load' },
    { op: 'reboot' },
    { op: 'boot' },
  ],
};

async function hostAt(step: number): Promise<{ host: Host; m: Machine }> {
  const host = new Host();
  const r = await host.loadScenario(JSON.stringify(KHO_SCENARIO), 'small-kho');
  if (!r.ok) throw new Error(r.error.message);
  expect(r.value.steps.map((s) => s.ok)).toEqual(KHO_SCENARIO.steps.map(() => true));
  await host.goto(step);
  return { host, m: (host as unknown as { machine: Machine }).machine };
}

interface Phdr {
  type: number;
  flags: number;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: number;
  align: number;
}

function parse(b: Uint8Array) {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const phnum = v.getUint16(56, true);
  const phdrs: Phdr[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = 64 + 56 * i;
    phdrs.push({
      type: v.getUint32(o, true),
      flags: v.getUint32(o + 4, true),
      offset: Number(v.getBigUint64(o + 8, true)),
      vaddr: v.getBigUint64(o + 16, true),
      paddr: v.getBigUint64(o + 24, true),
      filesz: Number(v.getBigUint64(o + 32, true)),
      memsz: Number(v.getBigUint64(o + 40, true)),
      align: Number(v.getBigUint64(o + 48, true)),
    });
  }
  return { v, phnum, phdrs };
}

function noteOf(b: Uint8Array, p: Phdr) {
  const v = new DataView(b.buffer, b.byteOffset + p.offset, p.filesz);
  const namesz = v.getUint32(0, true);
  const descsz = v.getUint32(4, true);
  const type = v.getUint32(8, true);
  const name = b.subarray(p.offset + 12, p.offset + 12 + namesz);
  const descAt = p.offset + 12 + Math.ceil(namesz / 4) * 4;
  const desc = Buffer.from(b.subarray(descAt, descAt + descsz)).toString('utf8');
  return { namesz, descsz, type, name, desc, end: descAt + Math.ceil(descsz / 4) * 4, descAt };
}

const info = (desc: string) =>
  Object.fromEntries(
    desc
      .trimEnd()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );

async function vmcore(host: Host, all = false): Promise<Uint8Array> {
  const r = await host.vmcore(all);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe('vmcore ELF layout', () => {
  it('has the ELF64 LE ET_CORE EM_X86_64 header, a PT_NOTE first, then PT_LOADs laid out in file order', async () => {
    const { host } = await hostAt(5); // right after kexec -e
    const b = await vmcore(host);
    expect([...b.subarray(0, 16)]).toEqual([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const { v, phnum, phdrs } = parse(b);
    expect(v.getUint16(16, true)).toBe(4); // ET_CORE
    expect(v.getUint16(18, true)).toBe(62); // EM_X86_64
    expect(v.getUint32(20, true)).toBe(1); // EV_CURRENT
    expect(v.getBigUint64(24, true)).toBe(0n); // e_entry
    expect(v.getBigUint64(32, true)).toBe(64n); // e_phoff
    expect(v.getBigUint64(40, true)).toBe(0n); // e_shoff
    expect(v.getUint16(52, true)).toBe(64); // e_ehsize
    expect(v.getUint16(54, true)).toBe(56); // e_phentsize
    expect(v.getUint16(60, true)).toBe(0); // e_shnum
    expect(phnum).toBeGreaterThan(1);
    const [note, ...loads] = phdrs;
    expect(note!.type).toBe(4);
    expect(note!.offset).toBe(64 + 56 * phnum);
    expect(note!.vaddr).toBe(0n);
    expect(note!.paddr).toBe(0n);
    expect(note!.filesz).toBe(note!.memsz);
    expect(loads.every((p) => p.type === 1)).toBe(true);
    expect(loads[0]!.offset).toBe(Math.ceil((note!.offset + note!.filesz) / PAGE) * PAGE);
    for (let i = 0; i < loads.length; i++) {
      const p = loads[i]!;
      expect(p.offset % PAGE).toBe(0);
      expect(Number(p.paddr) % PAGE).toBe(0);
      expect(p.filesz).toBe(p.memsz);
      expect(p.filesz % PAGE).toBe(0);
      expect(p.filesz).toBeGreaterThan(0);
      expect(p.vaddr).toBe(DIRECT_MAP + p.paddr);
      if (i > 0) {
        const prev = loads[i - 1]!;
        expect(p.offset).toBe(prev.offset + prev.filesz);
        // Runs are maximal: a gap separates each from the one before.
        expect(Number(p.paddr)).toBeGreaterThan(Number(prev.paddr) + prev.filesz);
      }
    }
    const last = loads.at(-1)!;
    expect(b.length).toBe(last.offset + last.filesz);
  });

  it('carries one VMCOREINFO note, 4-byte padded, with the lines drgn needs and the pending KHO handoff', async () => {
    const { host, m } = await hostAt(5);
    const b = await vmcore(host);
    const { phdrs } = parse(b);
    const n = noteOf(b, phdrs[0]!);
    expect(n.namesz).toBe(11);
    expect(Buffer.from(n.name).toString('latin1')).toBe('VMCOREINFO\0');
    expect(n.type).toBe(0);
    expect(n.descAt - phdrs[0]!.offset).toBe(24); // 12-byte header + "VMCOREINFO\0" padded to 12
    expect(n.end - phdrs[0]!.offset).toBe(phdrs[0]!.filesz);
    expect(phdrs[0]!.filesz % 4).toBe(0);
    expect([...b.subarray(n.descAt + n.descsz, n.end)].every((x) => x === 0)).toBe(true);
    const kv = info(n.desc);
    expect(kv).toMatchObject({
      OSRELEASE: '6.19.0-kholab',
      PAGESIZE: '4096',
      KERNELOFFSET: '0',
      'NUMBER(pgtable_l5_enabled)': '0',
      KHO_LAB_STEP: '5',
    });
    expect(BigInt('0x' + kv['SYMBOL(swapper_pg_dir)']!)).toBeGreaterThanOrEqual(0xffffffff80000000n);
    const kho = await host.kho();
    if (!kho.ok) throw new Error(kho.error.message);
    expect(Number(kv.KHO_FDT_PHYS)).toBe(kho.value.entryFdtPhys);
    expect(kv.KHO_FDT_SIZE).toBe('4096');
    const report = await host.report();
    if (!report.ok) throw new Error(report.error.message);
    const pending = report.value.kho!.pending!;
    expect(Number(kv.KHO_SCRATCH_PHYS)).toBe(pending.scratchPhys);
    expect(Number(kv.KHO_SCRATCH_SIZE)).toBe(pending.scratchSize);
    expect(pending.scratchSize).toBe(16 * 3); // struct kho_scratch for lowmem, global and node 0
    // The scratch array in the dump is the one the next kernel will read.
    expect(m.kernel).toBeNull();
  });

  it('holds the bytes RAM holds, page for page, for byte pages and content-identity pages alike', async () => {
    const { host, m } = await hostAt(5);
    const b = await vmcore(host);
    const loads = parse(b).phdrs.slice(1);
    let bytePages = 0;
    let patternPages = 0;
    for (const p of loads) {
      const first = Number(p.paddr) / PAGE;
      for (let i = 0; i < p.filesz / PAGE; i += 7) {
        const kind = m.ram.kind(first + i);
        if (kind === 'bytes') bytePages++;
        if (kind === 'pattern') patternPages++;
        expect(
          Buffer.from(b.subarray(p.offset + i * PAGE, p.offset + (i + 1) * PAGE)).equals(
            Buffer.from(m.ram.page(first + i)),
          ),
        ).toBe(true);
      }
    }
    expect(bytePages).toBeGreaterThan(0);
    expect(patternPages).toBeGreaterThan(0);
    // The root FDT the note names is in the dump.
    const fdt = Number(info(noteOf(b, parse(b).phdrs[0]!).desc).KHO_FDT_PHYS);
    const seg = loads.find((p) => Number(p.paddr) <= fdt && fdt < Number(p.paddr) + p.filesz)!;
    const at = seg.offset + fdt - Number(seg.paddr);
    expect([...b.subarray(at, at + 4)]).toEqual([0xd0, 0x0d, 0xfe, 0xed]);
  });
});

/** The set of pfns a dump exports. */
function exported(b: Uint8Array): Set<number> {
  const s = new Set<number>();
  for (const p of parse(b).phdrs.slice(1)) for (let i = 0; i < p.filesz / PAGE; i++) s.add(Number(p.paddr) / PAGE + i);
  return s;
}

/** All-zero contents: no identity and no bytes, or stored bytes that are all zero. */
const isZero = (m: Machine, pfn: number): boolean =>
  m.ram.kind(pfn) === 'zero' || (m.ram.kind(pfn) === 'bytes' && m.ram.page(pfn).every((x) => x === 0));

function ramPfns(m: Machine): number[] {
  const out: number[] = [];
  for (const [a, z] of m.layout.ram) for (let p = a / PAGE; p < z / PAGE; p++) out.push(p);
  return out;
}

describe('what a vmcore exports', () => {
  it('with a kernel running, dump level 25: the RAM pages neither free in its buddy allocator nor all-zero', async () => {
    const { host, m } = await hostAt(2);
    const got = exported(await vmcore(host));
    const k = m.kernel!;
    let kept = 0;
    for (const pfn of ramPfns(m)) {
      const free = k.pages.owner.get(pfn) === 0 && !(k.pages.flags.get(pfn) & (PG.reserved | PG.hole | PG.noinit));
      const zero = isZero(m, pfn);
      expect(got.has(pfn), `pfn ${pfn} free=${free} zero=${zero}`).toBe(!free && !zero);
      if (!free && !zero) kept++;
    }
    expect(got.size).toBe(kept);
    expect(kept).toBeLessThan(ramPfns(m).length / 2);
  });

  it('after kexec -e: the non-zero pages the pending handover keeps (kho_populate()/kho_mem_deserialize())', async () => {
    const { host, m } = await hostAt(5);
    const got = exported(await vmcore(host));
    const handover = pendingHandoverPages(m)!;
    expect(handover.error).toBeUndefined();
    expect(handover.blocks).toBeGreaterThan(0);
    const kept = new Set<number>();
    for (const [s, e] of handover.kept) for (let p = s; p < e; p++) kept.add(p);
    for (const pfn of ramPfns(m)) expect(got.has(pfn), `pfn ${pfn}`).toBe(kept.has(pfn) && !isZero(m, pfn));
  });

  it('dump level 16 keeps the zero pages in use as holes: the file reads back as zeroes there', async () => {
    const { m } = await hostAt(2);
    const planned = planVmcore(m, { dumpLevel: 16 });
    if (!planned.ok) throw new Error(planned.error.message);
    const chunks = Array.from(vmcoreChunks(m, planned.value), (c) => (c instanceof Uint8Array ? c.length : -c.hole));
    const holes = chunks.filter((n) => n < 0).reduce((a, n) => a - n, 0);
    expect(holes).toBeGreaterThan(0);
    expect(chunks.reduce((a, n) => a + Math.abs(n), 0)).toBe(planned.value.size);
    const b = vmcoreBytes(m, { dumpLevel: 16 });
    if (!b.ok) throw new Error(b.error.message);
    for (const p of parse(b.value).phdrs.slice(1))
      for (let at = 0; at < p.filesz; at += PAGE) {
        const pfn = (Number(p.paddr) + at) / PAGE;
        const bytes = Buffer.from(b.value.subarray(p.offset + at, p.offset + at + PAGE));
        expect(bytes.equals(Buffer.from(m.ram.page(pfn))), `pfn ${pfn}`).toBe(true);
      }
  });

  it("stays within ELF's 65,535 program headers: the smallest gaps are closed and written as holes", async () => {
    const host = new Host();
    await host.newMachine({ ram: '1G' });
    const m = (host as unknown as { machine: Machine }).machine;
    // Every other page of RAM non-zero: a run per page, more runs than e_phnum can count.
    const pfns = ramPfns(m);
    for (const pfn of pfns) m.ram.setIdentity(pfn, 1, pfn % 2 ? 0 : 0x1234 + pfn);
    const planned = planVmcore(m, { dumpLevel: 1 });
    if (!planned.ok) throw new Error(planned.error.message);
    const plan = planned.value;
    expect(plan.runs.length).toBe(0xfffe - 1);
    expect(plan.runs.some((r) => !r.dense)).toBe(true);
    let holes = 0;
    let data = 0;
    for (const c of vmcoreChunks(m, plan))
      if (c instanceof Uint8Array) data += c.length;
      else holes += c.hole;
    expect(data - plan.dataOffset).toBe(pfns.filter((p) => p % 2 === 0).length * PAGE);
    expect(holes).toBe(plan.size - data);
  });

  it("refuses a dump level outside makedumpfile's 0–31", async () => {
    const { m } = await hostAt(2);
    for (const level of [-1, 32, 1.5])
      expect(planVmcore(m, { dumpLevel: level })).toMatchObject({
        ok: false,
        error: { message: expect.stringMatching(/dump level .* is not one of 0–31/) },
      });
  });

  it('with all: every RAM page, one PT_LOAD per RAM range', async () => {
    const { host, m } = await hostAt(2);
    const b = await vmcore(host, true);
    const loads = parse(b).phdrs.slice(1);
    expect(loads.map((p) => [Number(p.paddr), Number(p.paddr) + p.filesz])).toEqual(m.layout.ram);
    expect(exported(b).size).toBe(ramPfns(m).length);
  });

  it('the streamed chunks concatenate to the same file as vmcoreBytes', async () => {
    const { m } = await hostAt(5);
    const planned = planVmcore(m);
    if (!planned.ok) throw new Error(planned.error.message);
    const plan = planned.value;
    // Copies: the stream reuses its buffer; a hole reads back as zeroes.
    const parts = Array.from(vmcoreChunks(m, plan), (c) =>
      c instanceof Uint8Array ? Buffer.from(c) : Buffer.alloc(c.hole),
    );
    expect(parts.length).toBeGreaterThan(2);
    expect(Buffer.concat(parts).equals(Buffer.from((vmcoreBytes(m) as { value: Uint8Array }).value))).toBe(true);
  });
});

describe('vmcore refusals', () => {
  it('refuses the UI a file over 1 GiB, with a clear message', async () => {
    const host = new Host();
    await host.newMachine({ ram: '2G' });
    const big = await host.vmcore(true);
    expect(!big.ok && big.error.message).toMatch(/the vmcore would be 2(\.\d+)? GiB; the limit here is 1 GiB/);
    const m = (host as unknown as { machine: Machine }).machine;
    expect(planVmcore(m, { all: true }).ok).toBe(true);
  });

  it('validates its argument like every SimApi call', async () => {
    const r = await new Host().vmcore('yes' as never);
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
  });
});
