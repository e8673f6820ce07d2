/**
 * Stateless KHO as Linux 7.1 and 7.2 have it (kernel/liveupdate/kexec_handover.c at 7.1/7.2,
 * include/linux/kho/abi/kexec_handover.h, kexec_metadata.h): the radix tree edited in RAM on every
 * preserve, no finalize, `preserved-data` + `blob-size` sub-nodes, kexec-metadata, and the next
 * kernel walking the tree in place. Each test names the kernel function whose behaviour it pins.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PAGE_SIZE } from '../../../shared/units';
import { CommandSchema, type CommandInput } from '../../../shared/commands';
import type { KernelRelease } from '../../../shared/machine-config';
import { KHO_PAGE_MAGIC } from '../../../electron/kernel/abi/kho-v1';
import { walkRadixTree } from '../../../electron/kernel/abi/kho-radix-tree';
import { ramReader } from '../../../electron/kernel/abi/phys-reader';
import { isAbiError } from '../../../electron/kernel/abi/abi-error';
import { decodeKexecMetadata } from '../../../electron/kernel/abi/kexec-metadata';
import { putU64 } from '../../../electron/kernel/abi/bytes';
import { decodeFdt, encodeFdt, getProp, readU64le, type FdtNode } from '../../../electron/kernel/lib/fdt';
import { isErr } from '../../../electron/kernel/lib/errno';
import { testKhoInit } from '../../../electron/kernel/modules/test-kho';
import type { Machine } from '../../../electron/kernel/machine';
import type { Kernel } from '../../../electron/kernel/kernel';
import { applyCommand } from '../../../electron/host/apply';
import { khoView } from '../../../electron/host/kho-views';
import { fdtRecord } from '../../../electron/host/kho-records';
import { fixture } from '../../abi/kho-7x/fixtures';
import { allocFolio, bootKho, handOver, kexecLoad, logLines, preservedMemoryMap, rebootInto } from './helpers';

/** Blocks (phys, order) the tree at `root` in RAM marks, in walk order. */
function treeBlocks(m: Machine, root: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const r = walkRadixTree(ramReader(m.ram), root, { entry: (p, o) => void out.push([p, o]) });
  if (isAbiError(r)) throw new Error(r.message);
  return out;
}

const rootFdt = (m: Machine, phys: number): FdtNode => {
  const d = decodeFdt(m.ram.read(phys, PAGE_SIZE));
  if (!d.ok) throw new Error(d.message);
  return d.root;
};

const u64 = (n: FdtNode, prop: string): number => Number(readU64le(getProp(n, prop)!));

const run = (m: Machine, c: CommandInput) => applyCommand(m, CommandSchema.parse(c));

describe.each(['7.1', '7.2'] as const)(
  'Linux %s: kho_preserve_folio() / kho_unpreserve_folio() edit the radix tree in RAM',
  (kernel) => {
    it('kho_init(): preserved-memory-map is the radix root from the start; no finalize is needed', () => {
      const { m, k } = bootKho({ kernel });
      const t = k.khoOut!.tracker;
      expect(t.kind).toBe('radix');
      expect(preservedMemoryMap(m, k.khoOut!.fdtPhys)).toBe(t.kind === 'radix' ? t.root : -1);
      expect(rootFdt(m, k.khoOut!.fdtPhys).props.map((p) => p.name)).toEqual(['compatible', 'preserved-memory-map']);
    });

    it('kho_radix_add_page(): a preserved folio is in the tree the moment preserve returns; kho_radix_del_page() takes it out', () => {
      const { m, k } = bootKho({ kernel });
      const root = preservedMemoryMap(m, k.khoOut!.fdtPhys);
      const pfn = allocFolio(k, 3);
      const before = treeBlocks(m, root).length;
      expect(k.khoOut!.preserveFolio(pfn)).toBeNull();
      expect(treeBlocks(m, root)).toContainEqual([pfn * PAGE_SIZE, 3]);
      expect(k.khoOut!.tracker.isMarked(pfn, 3)).toBe(true);
      k.khoOut!.unpreserveFolio(pfn);
      expect(treeBlocks(m, root)).not.toContainEqual([pfn * PAGE_SIZE, 3]);
      expect(treeBlocks(m, root)).toHaveLength(before);
      // Nodes are never freed: the tree keeps its pages.
      expect(k.khoOut!.tracker.metadataPages).toBeGreaterThan(1);
    });

    it('the tree pages are not themselves preserved (the real 7.2.13 hands them over unpreserved)', () => {
      const { m, k } = bootKho({ kernel });
      allocFolio(k, 0);
      k.khoOut!.preserveFolio(allocFolio(k, 0));
      const t = k.khoOut!.tracker;
      if (t.kind !== 'radix') throw new Error('not radix');
      const blocks = new Set(treeBlocks(m, t.root).map(([p]) => p));
      const { tables, leaves } = t.pages();
      for (const p of [...tables, ...leaves]) expect(blocks.has(p)).toBe(false);
    });
  },
);

describe('Linux 7.1: kho_populate() / kho_mem_retrieve() read the tree the previous kernel left in RAM', () => {
  it('every preserved block is reserved and stamped KHOP with its order; kho_restore_folio() gets the bytes back', () => {
    const { m, k } = bootKho({ kernel: '7.1' });
    const folios = [allocFolio(k, 0), allocFolio(k, 2), allocFolio(k, 9)];
    folios.forEach((pfn, i) => {
      k.ram.write(pfn * PAGE_SIZE, new TextEncoder().encode(`folio ${i}`));
      expect(k.khoOut!.preserveFolio(pfn)).toBeNull();
    });
    const k2 = handOver(m);
    expect(k2.khoIn!.fdtPhys).not.toBe(0);
    expect(logLines(m).some((l) => l.includes('found kexec handover data.'))).toBe(true);
    // Walk order: higher orders first (smaller keys), then ascending address.
    const orders = k2.khoIn!.blocks.map((b) => b.order);
    expect(orders).toEqual([...orders].sort((a, b) => b - a));
    for (const [i, pfn] of folios.entries()) {
      expect(k2.pages.privateHi(pfn)).toBe(KHO_PAGE_MAGIC);
      expect(k2.khoIn!.restoreFolio(pfn * PAGE_SIZE, 'test')).toBe(pfn);
      expect(new TextDecoder().decode(k2.ram.read(pfn * PAGE_SIZE, 7))).toBe(`folio ${i}`);
    }
    expect(k2.khoIn!.radixRead.length).toBeGreaterThan(5);
  });

  it('kho_in_kexec_metadata(): the next kernel logs "exec from: <release> (count N)"; a third kernel sees count 2', () => {
    const { m } = bootKho({ kernel: '7.1' });
    const k2 = handOver(m);
    expect(logLines(m)).toContain('exec from: 7.1.0-kholab (count 1)');
    expect(k2.khoIn!.kexecCount).toBe(1);
    handOver(m);
    expect(logLines(m)).toContain('exec from: 7.1.0-kholab (count 2)');
  });

  it('kho_retrieve_subtree(): phys and size; a blob-size that is not 8 bytes is EINVAL with "broken KHO subnode"', () => {
    const { m } = bootKho({ kernel: '7.1' });
    const k2 = handOver(m);
    const r = k2.khoIn!.retrieveSubtreeSized('kexec-metadata');
    if (isErr(r)) throw new Error(r.reason);
    expect(r.size).toBe(73);
    expect(k2.khoIn!.retrieveSubtreeSized('nothing')).toMatchObject({ errno: 'ENOENT' });
    // Shorten blob-size to 4 bytes in the incoming root FDT (still in RAM, preserved).
    const root = rootFdt(m, k2.khoIn!.fdtPhys);
    root.children.find((c) => c.name === 'kexec-metadata')!.props[0]!.value = new Uint8Array(4);
    const enc = encodeFdt(root, { capacity: PAGE_SIZE });
    if (!enc.ok) throw new Error(enc.message);
    k2.ram.write(k2.khoIn!.fdtPhys, enc.bytes);
    const since = m.log.lastSeq;
    expect(k2.khoIn!.retrieveSubtreeSized('kexec-metadata')).toMatchObject({ errno: 'EINVAL' });
    expect(logLines(m, 'warn', since)).toContain(
      "broken KHO subnode 'kexec-metadata': missing or invalid blob-size property",
    );
  });
});

describe('no kho_finalize() from 7.1: debugfs kho/out/finalize does not exist', () => {
  it('`echo 1 > kho/out/finalize` fails as creating a file in a debugfs directory does (EACCES); ifExists skips it', () => {
    const { m } = bootKho({ kernel: '7.1' });
    const r = run(m, { op: 'kho_finalize' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.errno).toBe('EACCES');
    expect(run(m, { op: 'kho_finalize', ifExists: true }).ok).toBe(true);
    // 6.19 still has the file.
    expect(run(bootKho({ kernel: '6.19' }).m, { op: 'kho_finalize' }).ok).toBe(true);
  });

  it('liveupdate_reboot() does not finalize: a LUO reboot on 7.2 hands over the live tree', () => {
    const { m, k } = bootKho({ kernel: '7.2', cmdline: 'kho=on kho_scratch=64M,32M,16M liveupdate=on' });
    const pfn = allocFolio(k, 0);
    k.khoOut!.preserveFolio(pfn);
    kexecLoad(m);
    const k2 = rebootInto(m);
    expect(logLines(m).some((l) => l.includes('KHO finalized'))).toBe(false);
    expect(k2.pages.privateHi(pfn)).toBe(KHO_PAGE_MAGIC);
  });
});

describe('kho_out_kexec_metadata() and the root FDT against the real Linux 7.2.13 bytes', () => {
  it('the kexec-metadata blob has the real layout: version 1, NUL-padded release, count 1 after a cold boot', () => {
    const { m, k } = bootKho({ kernel: '7.2' });
    const root = rootFdt(m, k.khoOut!.fdtPhys);
    const node = root.children.find((c) => c.name === 'kexec-metadata')!;
    const ours = m.ram.read(u64(node, 'preserved-data'), u64(node, 'blob-size'));
    const real = fixture('realkernel-7.2/sub-kexec-metadata.count1.bin').subarray(0, 73);
    expect(ours.length).toBe(real.length);
    // Same bytes once the release strings are aligned: every other byte is structure.
    const patched = ours.slice();
    patched.fill(0, 4, 69);
    patched.set(real.subarray(4, 69), 4);
    expect(patched).toEqual(real);
    expect(decodeKexecMetadata(ours)).toEqual({ version: 1, previousRelease: '7.2.0-kholab', kexecCount: 1 });
  });

  it('test_kho on 7.2: the root FDT has the real header layout, strings block, property order and newest-first sub-nodes', () => {
    const { m, k } = bootKho({ kernel: '7.2' });
    const r = testKhoInit(k, {});
    expect(r.ok).toBe(true);
    const ours = decodeFdt(m.ram.read(k.khoOut!.fdtPhys, PAGE_SIZE));
    const real = decodeFdt(fixture('realkernel-7.2/k1-out-root-fdt.dtb'));
    if (!ours.ok || !real.ok) throw new Error('decode');
    const strings = (b: Uint8Array, h: typeof ours.header) =>
      b.subarray(h.offDtStrings, h.offDtStrings + h.sizeDtStrings);
    expect(strings(m.ram.read(k.khoOut!.fdtPhys, PAGE_SIZE), ours.header)).toEqual(
      strings(fixture('realkernel-7.2/k1-out-root-fdt.dtb'), real.header),
    );
    for (const f of ['offMemRsvmap', 'offDtStruct', 'version', 'lastCompVersion'] as const)
      expect(ours.header[f]).toBe(real.header[f]);
    const shape = (n: FdtNode) => ({ props: n.props.map((p) => p.name), children: n.children.map((c) => c.name) });
    // The real kernel 1 also ran LUO (added last, so first): drop it to compare.
    const realRoot = { ...real.root, children: real.root.children.filter((c) => c.name !== 'LUO') };
    expect(shape(ours.root)).toEqual(shape(realRoot));
    for (const c of ours.root.children) expect(c.props.map((p) => p.name)).toEqual(['blob-size', 'preserved-data']);
    expect(getProp(ours.root, 'compatible')).toEqual(getProp(real.root, 'compatible'));
  });
});

describe('live update across releases: kho_populate() refuses another compatible', () => {
  it.each([
    ['7.0', '7.1', 'kho-v3'],
    ['7.1', '7.2', 'kho-v4'],
    ['7.2', '7.1', 'kho-v3'],
    ['7.2', '6.19', 'kho-v1'],
  ] as Array<[KernelRelease, KernelRelease, string]>)(
    '%s → %s: "incompatible with \'%s\'", then "disabling KHO revival"',
    (from, to, compat) => {
      const { m, k } = bootKho({ kernel: from });
      const pfn = allocFolio(k, 0);
      k.khoOut!.preserveFolio(pfn);
      if (k.ctx.profile.kho.finalize === 'refreshable') k.khoOut!.finalize();
      expect(run(m, { op: 'kexec_load', kernel: to }).ok).toBe(true);
      const k2 = rebootInto(m);
      expect(k2.ctx.profile.name).toBe(to);
      const warns = logLines(m, 'warn');
      expect(warns.some((l) => l.includes(`is incompatible with '${compat}': 1`))).toBe(true);
      // 6.19 prints the errno; 7.x's kho_populate() (after its error-handling cleanup) does not.
      expect(warns).toContain(to === '6.19' ? 'disabling KHO revival: -22' : 'disabling KHO revival');
      expect(k2.khoIn).toBeNull();
      expect(k2.pages.privateHi(pfn)).not.toBe(KHO_PAGE_MAGIC);
    },
  );
});

describe('a corrupt radix tree (kho_radix_walk_tree() checks nothing): never a hang or an exception', () => {
  /** Preserves two folios, jumps, lets `poke` damage RAM, boots the next kernel. */
  function corruptAndBoot(poke: (m: Machine, root: number, k: Kernel) => void): { m: Machine; k2: Kernel } {
    const { m, k } = bootKho({ kernel: '7.1' });
    k.khoOut!.preserveFolio(allocFolio(k, 0));
    k.khoOut!.preserveFolio(allocFolio(k, 4));
    const root = preservedMemoryMap(m, k.khoOut!.fdtPhys);
    kexecLoad(m);
    expect(m.kexecReboot()).toBeNull();
    poke(m, root, k);
    expect(m.boot()).toBeNull();
    return { m, k2: m.kernel! };
  }

  it.each([
    [
      'a table entry pointing past RAM',
      (m: Machine, root: number) => {
        const b = new Uint8Array(8);
        putU64(b, 0, 2 ** 45);
        m.ram.write(root + 8 * 7, b);
      },
    ],
    [
      'a table entry pointing back at the root (a cycle)',
      (m: Machine, root: number) => {
        const b = new Uint8Array(8);
        putU64(b, 0, root);
        m.ram.write(root + 8 * 9, b);
      },
    ],
    [
      'a misaligned child',
      (m: Machine, root: number) => {
        const b = new Uint8Array(8);
        putU64(b, 0, root + 8);
        m.ram.write(root + 8 * 11, b);
      },
    ],
  ])('%s: the handover is abandoned with a log line and the kernel boots', (_what, poke) => {
    const { m, k2 } = corruptAndBoot(poke);
    expect(logLines(m, 'err').some((l) => l.includes('corrupt radix tree'))).toBe(true);
    expect(k2.khoIn!.fdtPhys).toBe(0);
    expect(k2.booted).toBe(true);
  });
});

describe('property: random preserve/unpreserve sequences survive a live update on every release', () => {
  it.each(['6.19', '7.0', '7.1', '7.2', '7.3'] as const)(
    'Linux %s: exactly the blocks preserved at the jump come back, bytes intact',
    (kernel) => {
      fc.assert(
        fc.property(
          fc.array(fc.record({ order: fc.integer({ min: 0, max: 4 }), keep: fc.boolean() }), {
            minLength: 1,
            maxLength: 24,
          }),
          (ops) => {
            const { m, k } = bootKho({ kernel });
            const folios = ops.map((o, i) => {
              const pfn = allocFolio(k, o.order);
              k.ram.write(pfn * PAGE_SIZE, new Uint8Array([i, o.order, 0x4b]));
              expect(k.khoOut!.preserveFolio(pfn)).toBeNull();
              return { pfn, ...o };
            });
            for (const f of folios) if (!f.keep) k.khoOut!.unpreserveFolio(f.pfn);
            const k2 = handOver(m);
            for (const [i, f] of folios.entries()) {
              const got = k2.khoIn!.restoreFolio(f.pfn * PAGE_SIZE, 'prop');
              if (f.keep) {
                expect(got).toBe(f.pfn);
                expect([...k2.ram.read(f.pfn * PAGE_SIZE, 3)]).toEqual([i, f.order, 0x4b]);
              } else expect(got).toBeNull();
            }
          },
        ),
        { numRuns: 8 },
      );
    },
  );
});

describe('host views on 7.x: the Handover tab reads the radix tree', () => {
  it('khoView(): outgoing radix levels and leaves from RAM, incoming from what kho_mem_retrieve() read, and exec-from', () => {
    const { m, k } = bootKho({ kernel: '7.2' });
    k.khoOut!.preserveFolio(allocFolio(k, 0));
    const v1 = khoView(m);
    expect(v1.outgoing!.radix!.nodes[0]!.level).toBe(5);
    expect(v1.outgoing!.radix!.entries).toBeGreaterThanOrEqual(3);
    expect(v1.outgoing!.subtrees.map((s) => s.name)).toEqual(['kexec-metadata']);
    expect(v1.outgoing!.subtrees[0]!.phys).not.toBe(0);
    handOver(m);
    const v2 = khoView(m);
    expect(v2.incoming!.radix!.entries).toBe(v1.outgoing!.radix!.entries);
    expect(v2.incoming!.execFrom).toEqual({ release: '7.2.0-kholab', count: 1 });
  });
});

describe('the fdt record on 7.x: preserved-memory-map is a radix root, not a chunk list', () => {
  it('the kho-v4 root FDT record links no kho-mem-chunk from preserved-memory-map; kho-v1 still does', () => {
    const opensOf = (kernel: KernelRelease) => {
      const { m, k } = bootKho({ kernel });
      k.khoOut!.preserveFolio(allocFolio(k, 0));
      if (k.ctx.profile.kho.finalize === 'refreshable') k.khoOut!.finalize();
      const r = fdtRecord(m, k.khoOut!.fdtPhys);
      if (!r.ok) throw new Error(r.error.message);
      const fields = [...(r.value.header?.fields ?? []), ...(r.value.sections ?? []).flatMap((sec) => sec.fields)];
      return fields.find((f) => f.name === 'preserved-memory-map')?.opens;
    };
    expect(opensOf('7.2')).toBeUndefined();
    expect(opensOf('6.19')).toMatchObject({ kind: 'kho-mem-chunk' });
  });
});
