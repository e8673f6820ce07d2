/**
 * The next kernel's view of the kho-v1 chunk list (electron/host/chunks-read.ts, kho-views.ts
 * chunkViews(), kho-records.ts khoMemChunk()): after a test_kho live update and the scribble,
 * the list is the one kho_mem_deserialize() read at early boot — equal to what the previous
 * kernel handed over — marked as freed and overwritten, and nothing decoded from the garbage
 * now in those pages.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { type ChunkView, readAtBootMarker } from '../../../shared/views';
import { Host } from '../../../electron/host/host';
import { decodeChunk } from '../../../electron/kernel/abi/kho-v1';
import { khoMemChunk } from '../../../electron/host/kho-records';
import { chunkViews } from '../../../electron/host/kho-views';
import { allocFolio, bootKho, chunkTracker, handOver, hostMachine, okOf } from '../kho/helpers';

/** test-kho: boot, insmod, finalize (3), kexec_load, kexec -e (5), boot (6), insmod (7). */
const FINALIZED = 3;
const NEXT_KERNEL = 6;

const strip = (list: ChunkView[]) => list.map(({ readAtBoot: _, ...c }) => c);

async function handedOverAndRead(scribble: boolean) {
  const host = new Host();
  okOf(
    await host.loadScenario(
      JSON.stringify({
        name: 'test-kho',
        machine: { ram: '1G', nodes: 1, seed: 1, cmdline: 'kho=on', scribble },
        steps: [
          { op: 'boot' },
          { op: 'insmod', module: 'test_kho', params: {} },
          { op: 'kho_finalize' },
          { op: 'kexec_load' },
          { op: 'reboot' },
          { op: 'boot' },
          { op: 'insmod', module: 'test_kho' },
        ],
      }),
      'test',
    ),
  );
  okOf(await host.goto(FINALIZED));
  const head = okOf(await host.kho()).outgoing!.chunkPhys[0]!;
  const handedOver = okOf(await host.chunks(head));
  const handedOverPages = handedOver.map((c) => hostMachine(host).ram.read(c.phys, PAGE_SIZE));
  okOf(await host.goto(NEXT_KERNEL));
  return { host, head, handedOver, handedOverPages, m: hostMachine(host) };
}

describe('the incoming chunk list as kho_mem_deserialize() read it', () => {
  it('kho_mem_deserialize(): after test_kho and the scribble, the chunk list equals what was handed over, marked freed and overwritten', async () => {
    const { host, head, handedOver, m } = await handedOverAndRead(true);
    expect(handedOver.length).toBe(10);
    // The scribble really did overwrite the chunk pages: decoding RAM now gives garbage.
    expect(typeof decodeChunk(m.ram.read(head, PAGE_SIZE))).toBe('string');
    const read = okOf(await host.chunks(head));
    expect(strip(read)).toEqual(handedOver);
    for (const c of read) {
      expect(c.readAtBoot).toEqual({ released: true, overwritten: true });
      expect(c.error).toBeUndefined();
      expect(c.entries.length).toBeLessThanOrEqual(255);
    }
    expect(readAtBootMarker(read[0]!.readAtBoot)).toBe(
      'read at early boot; these pages have since been freed and overwritten',
    );
    // The incoming record agrees with the kernel's own count of what it reserved.
    const blocks = read.reduce((n, c) => n + c.entries.reduce((b, e) => b + e.bitsSet, 0), 0);
    expect(blocks).toBe(okOf(await host.kho()).incoming!.blocks);
  });

  it('kho_mem_deserialize(): the chunk page record shows the bytes read at early boot, never the scribbled RAM', async () => {
    const { host, handedOver, handedOverPages } = await handedOverAndRead(true);
    for (const [i, c] of handedOver.entries()) {
      const rec = okOf(await host.records({ kind: 'kho-mem-chunk', phys: c.phys }));
      expect(rec.readAtBoot).toEqual({ released: true, overwritten: true });
      expect(rec.error).toBeUndefined();
      expect(Array.from(rec.bytes)).toEqual(Array.from(handedOverPages[i]!.subarray(0, rec.bytes.length)));
      expect(rec.title).toBe(`khoser_mem_chunk: order ${c.order}, 1 bitmap`);
      expect(rec.notes[0]).toContain('read at early boot; these pages have since been freed and overwritten');
      const text = JSON.stringify([rec.title, rec.header, rec.array, rec.notes]);
      expect(text).not.toMatch(/Infinity|NaN/);
    }
  });

  it('kho_mem_deserialize(): with the scribble off the freed pages still hold the list; the marker says freed, not overwritten', async () => {
    const { host, head, handedOver } = await handedOverAndRead(false);
    const read = okOf(await host.chunks(head));
    expect(strip(read)).toEqual(handedOver);
    expect(read[0]!.readAtBoot).toEqual({ released: true, overwritten: false });
    expect(readAtBootMarker(read[0]!.readAtBoot)).toBe(
      'read at early boot; these pages have since been freed (not yet overwritten)',
    );
  });

  it('before the next kernel boots (after kexec -e) the handed-over list is decoded from RAM, with no marker', async () => {
    const { host, head, handedOver } = await handedOverAndRead(true);
    okOf(await host.goto(5));
    expect(okOf(await host.chunks(head))).toEqual(handedOver);
  });
});

describe('chunkViews() where kho_mem_deserialize() gave up', () => {
  it('kho_mem_deserialize(): a bad next pointer ends the list read at early boot with a row saying the walk stopped there', () => {
    const { m, k } = bootKho();
    expect(k.khoOut!.preserveFolio(allocFolio(k, 0))).toBeNull();
    expect(k.khoOut!.finalize()).toBeNull();
    const head = chunkTracker(k).chunkPfns[0]! * PAGE_SIZE;
    const bad = 0x1001;
    const next = new Uint8Array(8);
    new DataView(next.buffer).setUint32(0, bad, true);
    m.ram.write(head, next);
    const k2 = handOver(m, { finalize: false });
    expect(k2.khoIn!.fdtPhys).toBe(0); // abandoned
    const list = chunkViews(m, head);
    expect(list.map((c) => [c.phys, c.error ?? null])).toEqual([
      [head, null],
      [bad, 'bad chunk pointer: the walk stopped here'],
    ]);
    expect(list[0]!.entries.reduce((n, e) => n + e.bitsSet, 0)).toBe(k2.khoIn!.blockCount);
    expect(list[0]!.readAtBoot?.released).toBe(true);
  });
});

describe('khoMemChunk() on a corrupt header', () => {
  it('an order beyond MAX_PAGE_ORDER is a problem, not "Infinity KiB"', () => {
    const { m, k } = bootKho();
    const pfn = allocFolio(k, 0);
    expect(k.khoOut!.preserveFolio(pfn)).toBeNull();
    const next = handOver(m);
    expect(next.khoIn).not.toBeNull();
    // A chunk page in RAM the running kernel never read: the RAM decode, corrupted on purpose.
    const page = allocFolio(next, 0, 'a fake chunk');
    const bytes = new Uint8Array(PAGE_SIZE);
    new DataView(bytes.buffer).setUint32(8, 0x8ec3_1a5d, true);
    m.ram.write(page * PAGE_SIZE, bytes);
    const rec = okOf(khoMemChunk(m, page * PAGE_SIZE));
    expect(rec.readAtBoot).toBeUndefined();
    expect(JSON.stringify(rec)).not.toContain('Infinity');
    expect(rec.header!.fields[1]!.problem).toMatch(/MAX_PAGE_ORDER/);
    expect(rec.title).toBe('khoser_mem_chunk (header does not check out)');
  });
});
