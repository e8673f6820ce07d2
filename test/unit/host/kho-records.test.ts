/**
 * KHO's records as the struct viewer gets them (electron/host/kho-records.ts): the root FDT and a
 * sub-FDT annotated through the kernel's own FDT walk (decodeFdtLayout), a chunk page through
 * kho-v1's field offsets — every field where its bytes are, links to the records they name, and
 * a corrupt blob shown up to the break with libfdt's error.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import type { AnnotatedStruct, RecordRequest, StructField } from '../../../shared/views';
import { Host } from '../../../electron/host/host';
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_PROP,
  decodeFdt,
  decodeFdtLayout,
  encodeFdt,
  fdtString,
  fdtU64le,
} from '../../../electron/kernel/lib/fdt';
import { decodeChunk } from '../../../electron/kernel/abi/kho-v1';
import { hostMachine, okOf } from '../kho/helpers';
import { pokeCommand, pokeTarget } from '../../../renderer/src/lib/poke';

/** test-kho just after kexec -e: the handover in RAM, untouched by a next kernel. */
async function testKho(): Promise<Host> {
  const host = new Host();
  okOf(await host.loadBuiltin('test-kho'));
  okOf(await host.goto(5));
  return host;
}
const rootFdt = async (host: Host): Promise<number> => okOf(await host.kho()).entryFdtPhys!;

const record = async (host: Host, req: RecordRequest): Promise<AnnotatedStruct> => okOf(await host.records(req));
const byName = (fields: StructField[], name: string): StructField => {
  const f = fields.find((x) => x.name === name);
  if (!f) throw new Error(`no field ${name} in ${fields.map((x) => x.name).join(', ')}`);
  return f;
};
const be32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off);

describe('decodeFdtLayout (lib/fdt.ts: the walk of fdt_check_full() with offsets)', () => {
  const encoded = encodeFdt(
    {
      name: '',
      props: [{ name: 'compatible', value: fdtString('kho-v1') }],
      children: [{ name: 'LUO', props: [{ name: 'fdt', value: fdtU64le(0x1234000n) }], children: [] }],
    },
    { strings: 'sequential-write' },
  );
  if (!encoded.ok) throw new Error(encoded.message);
  const blob = encoded.bytes;

  it('places every token back to back over the structure block, each property value where decodeFdt() found it', () => {
    const layout = decodeFdtLayout(blob);
    expect(layout.error).toBeUndefined();
    const h = layout.header!;
    let off = h.offDtStruct;
    for (const t of layout.tokens) {
      expect(t.offset).toBe(off);
      expect(be32(blob, t.offset)).toBe(t.tag);
      off += t.size;
    }
    expect(off).toBe(h.offDtStruct + h.sizeDtStruct);
    expect(layout.tokens.at(-1)!.tag).toBe(FDT_END);
    const props = layout.tokens
      .filter((t) => t.tag === FDT_PROP)
      .map((t) => [t.path, t.name, Array.from(blob.subarray(t.valueOffset!, t.valueOffset! + t.len!))]);
    const d = decodeFdt(blob);
    if (!d.ok) throw new Error(d.message);
    expect(props).toEqual([
      ['/', 'compatible', Array.from(d.root.props[0]!.value)],
      ['/LUO', 'fdt', Array.from(d.root.children[0]!.props[0]!.value)],
    ]);
    expect(layout.strings.map((s) => s.text).sort()).toEqual(['compatible', 'fdt']);
  });

  it('a corrupt token: the layout up to it and the error decodeFdt() gives', () => {
    const bad = blob.slice();
    const layout = decodeFdtLayout(blob);
    const luo = layout.tokens.find((t) => t.tag === FDT_BEGIN_NODE && t.name === 'LUO')!;
    new DataView(bad.buffer).setUint32(luo.offset, 0x77);
    const broken = decodeFdtLayout(bad);
    const d = decodeFdt(bad);
    expect(d.ok).toBe(false);
    expect(broken.error).toEqual(d);
    expect(broken.error!.offset).toBe(luo.offset);
    expect(broken.tokens.map((t) => t.offset)).toEqual(
      layout.tokens.filter((t) => t.offset < luo.offset).map((t) => t.offset),
    );
  });
});

describe('fdt record (kho_populate(), kho_retrieve_subtree() read these bytes)', () => {
  it('the incoming root FDT: header fields at their offsets, the compatible and preserved-memory-map values with their paths, links to the chunk list and the sub-FDT', async () => {
    const host = await testKho();
    const root = await record(host, { kind: 'fdt', phys: await rootFdt(host) });
    expect(root.error).toBeUndefined();
    expect(root.header!.fields.map((f) => [f.name, f.offset, f.size])).toContainEqual(['totalsize', 4, 4]);
    expect(byName(root.header!.fields, 'magic').value).toBe('0xd00dfeed (FDT_MAGIC)');
    const struct = root.sections!.find((s) => s.type.startsWith('structure block'))!.fields;
    const compat = byName(struct, 'compatible');
    expect(compat.property).toBe('compatible');
    expect(new TextDecoder().decode(root.bytes.subarray(compat.offset, compat.offset + compat.size))).toBe('kho-v1\0');
    const map = byName(struct, 'preserved-memory-map');
    expect(map.opens).toEqual({ kind: 'kho-mem-chunk', phys: map.phys });
    const sub = byName(struct, 'kho_test/fdt');
    expect(sub.property).toBe('kho_test/fdt');
    expect(sub.opens).toEqual({ kind: 'fdt', phys: sub.phys });
    // The bytes are the blob through totalsize, as the kernel handed it over.
    expect(root.bytes.length).toBe(be32(root.bytes, 4));
    const subRec = await record(host, sub.opens!);
    expect(subRec.kind).toBe('fdt');
    expect(subRec.sections![1]!.fields.filter((f) => f.property).map((f) => f.property)).toContain('compatible');
  });

  it('a corrupt sub-FDT names the field where fdt_check_full() stops; an address past RAM is refused', async () => {
    const host = await testKho();
    const m = hostMachine(host);
    const root = await record(host, { kind: 'fdt', phys: await rootFdt(host) });
    const phys = byName(root.sections![1]!.fields, 'kho_test/fdt').phys!;
    const before = await record(host, { kind: 'fdt', phys });
    const node = before.sections![1]!.fields.find((f) => f.name === 'FDT_BEGIN_NODE')!;
    m.ram.write(phys + node.offset, new Uint8Array([0, 0, 0, 0x77]));
    const after = await record(host, { kind: 'fdt', phys });
    expect(after.error).toMatch(/FDT_ERR_BADSTRUCTURE: unknown token 0x77/);
    expect(after.header!.fields.every((f) => f.problem === undefined)).toBe(true);
    const broken = after.sections![1]!.fields.at(-1)!;
    expect([broken.offset, broken.value, broken.problem]).toEqual([node.offset, '0x77', after.error]);
    const r = await host.records({ kind: 'fdt', phys: m.layout.maxPfn * PAGE_SIZE - 8 });
    expect(r.ok ? null : r.error.message).toMatch(/beyond the end of RAM/);
  });
});

describe('kho-mem-chunk record (kho_mem_deserialize() walks these pages)', () => {
  it('header { next, order, num_elms } and each khoser_mem_bitmap_ptr, as decodeChunk() reads the same page', async () => {
    const host = await testKho();
    const m = hostMachine(host);
    const root = await record(host, { kind: 'fdt', phys: await rootFdt(host) });
    const head = byName(root.sections![1]!.fields, 'preserved-memory-map').opens!;
    const c = await record(host, head);
    const want = decodeChunk(m.ram.read(head.phys, PAGE_SIZE));
    if (typeof want === 'string') throw new Error(want);
    expect(c.header!.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ['next', 0, 8],
      ['order', 8, 4],
      ['num_elms', 12, 4],
    ]);
    expect(byName(c.header!.fields, 'num_elms').value).toBe(String(want.entries.length));
    expect(c.array!.count).toBe(want.entries.length);
    expect(c.array!.elements.map((e) => [e[0]!.phys, e[1]!.phys])).toEqual(
      want.entries.slice(0, 256).map((e) => [e.physStart, e.bitmap]),
    );
    expect(c.bytes.length).toBe(16 + 16 * Math.min(256, want.entries.length));
    if (want.next) expect(byName(c.header!.fields, 'next').opens).toEqual({ kind: 'kho-mem-chunk', phys: want.next });
  });

  it("a num_elms past the page is flagged and the codec's error shown; an unaligned address is refused", async () => {
    const host = await testKho();
    const m = hostMachine(host);
    const root = await record(host, { kind: 'fdt', phys: await rootFdt(host) });
    const head = byName(root.sections![1]!.fields, 'preserved-memory-map').opens!;
    m.ram.write(head.phys + 12, new Uint8Array([0xff, 0xff, 0, 0]));
    const c = await record(host, head);
    expect(byName(c.header!.fields, 'num_elms').problem).toMatch(/more than the 255 entries/);
    expect(c.error).toMatch(/num_elms 65535 exceeds/);
    const r = await host.records({ kind: 'kho-mem-chunk', phys: head.phys + 8 });
    expect(r.ok ? null : r.error.message).toMatch(/not a page inside RAM/);
  });
});

describe('"corrupt this field": the poke the struct viewer prepares, run by the host (electron/host/poke.ts)', () => {
  it('the root FDT compatible by name after kexec -e: the record shows the new bytes, and kho_populate() of the next kernel refuses the handover', async () => {
    const host = await testKho();
    const root = await record(host, { kind: 'fdt', phys: await rootFdt(host) });
    const compat = byName(root.sections![1]!.fields, 'compatible');
    const req = pokeCommand(pokeTarget(root, compat, 'root'), { mode: 'property', kind: 'string', text: 'kho-v0' });
    if (!req.ok) throw new Error(req.error.message);
    const step = okOf(await host.run(req.value)).step;
    expect(step.ok).toBe(true);
    const after = await record(host, { kind: 'fdt', phys: await rootFdt(host) });
    expect(byName(after.sections![1]!.fields, 'compatible').value.trim()).toBe('"kho-v0"');
    const boot = okOf(await host.run({ op: 'boot' }));
    // kho_populate(): fdt_node_check_compatible() fails, -EINVAL.
    expect(boot.events.map((e) => e.msg)).toContain('disabling KHO revival: -22');
    expect(okOf(await host.kho()).incoming?.fdtPhys ?? 0).toBe(0);
  });

  it('a header field by address: the bytes land where the record said they were', async () => {
    const host = await testKho();
    const phys = await rootFdt(host);
    const root = await record(host, { kind: 'fdt', phys });
    const req = pokeCommand(pokeTarget(root, byName(root.header!.fields, 'magic')), {
      mode: 'phys',
      kind: 'hex',
      text: 'deadbeef',
    });
    if (!req.ok) throw new Error(req.error.message);
    expect(req.value).toEqual({ op: 'poke', phys: `0x${phys.toString(16)}`, hex: 'deadbeef' });
    expect(okOf(await host.run(req.value)).step.ok).toBe(true);
    const after = await record(host, { kind: 'fdt', phys });
    expect(after.error).toMatch(/FDT_ERR_BADMAGIC/);
    expect(byName(after.header!.fields, 'magic').problem).toMatch(/FDT_ERR_BADMAGIC/);
  });
});
