/**
 * The dump reader on what the real Linux 7.2.13 handed over (../shared/realkernel, skipped when
 * absent): the preserved-pages core cut from a guest dump at machine_kexec() decodes to the root
 * FDT and sub-blobs the kernel wrote — byte for byte the blobs its README ships and the root FDT
 * kernel 2 showed in debugfs (kho/in/fdt).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectDump } from '../../../electron/host/dump/inspect';
import { bytesSource } from '../../../electron/host/dump/source';

const RK = join(__dirname, '../../../../shared/realkernel');
const DECODED = join(RK, 'runs/artefacts/decoded');
const CORE = join(DECODED, 'k1-machine_kexec.preserved.elf');

describe.skipIf(!existsSync(CORE))('real 7.2 handover at machine_kexec() (preserved-pages core)', () => {
  const r = () => inspectDump(bytesSource(readFileSync(CORE)));

  it('kho_fill_kimage(): the kho-v4 root FDT at 0x189000 equals the blob kernel 2 read in kho/in/fdt', () => {
    const rep = r();
    expect(rep.handover.via).toBe('fdt-scan'); // the cut holds no setup_data
    expect(rep.fdt.phys).toBe(0x189000);
    expect(rep.fdt.compatible).toBe('kho-v4');
    expect(rep.format.releases).toBe('Linux 7.2–7.3');
    expect(rep.fdt.rootProps).toEqual(['compatible', 'preserved-memory-map']);
    expect(rep.fdt.preservedMemoryMap).toBe(0x187000);
    expect(rep.fdt.bytes).toEqual(new Uint8Array(readFileSync(join(RK, 'fdt/k2-in-root-fdt.debugfs.dtb'))));
    expect(rep.fdt.bytes).toEqual(
      new Uint8Array(readFileSync(join(RK, 'fdt/k1-out-root-fdt.FULL-from-memdump@0x189000.dtb'))),
    );
    expect(rep.scratch).toBeNull();
  });

  it('kho_add_subtree(): sub-nodes newest first, blob-size before preserved-data, bytes as cut from the dump', () => {
    const subs = r().subBlobs;
    expect(subs.map((s) => [s.name, s.phys, s.size])).toEqual([
      ['LUO', 0x2144000, 32],
      ['kho_test', 0x364000, 240],
      ['kexec-metadata', 0x301000, 73],
    ]);
    for (const s of subs) {
      expect(s.props).toEqual(['blob-size', 'preserved-data']);
      const file = join(DECODED, `k1-machine_kexec-sub-${s.name}@${s.phys!.toString(16)}.bin`);
      expect(s.bytes).toEqual(new Uint8Array(readFileSync(file)));
    }
    expect(subs[0]).toMatchObject({ kind: 'raw', leadingText: 'luo-v5' });
    expect(subs[1]).toMatchObject({ kind: 'fdt', compatible: 'kho-test-v1' });
  });

  it('luo_session_deserialize(): the core decodes to the 7 sessions and 6 memfd-v2 files the selftests preserved', () => {
    const d = r().decoded7x;
    expect(d?.kexecMetadata).toEqual({ version: 1, previousRelease: '7.2.13', kexecCount: 1 });
    const luo = d?.luo;
    if (!luo || 'kind' in luo) throw new Error(`LUO not decoded: ${luo?.message}`);
    expect(luo.sessions.map((s) => s.name)).toEqual([
      'kexec_simple_state',
      'test-session',
      'kexec_multi_state',
      'multi-test-empty-1',
      'multi-test-empty-2',
      'multi-test-files-1',
      'multi-test-files-2',
    ]);
    const files = luo.sessions.flatMap((s) => s.files);
    expect(files.map((f) => [f.compatible, f.token])).toEqual(
      [0x3e7n, 0x1an, 0x3e6n, 0x1001n, 0x2002n, 0x3003n].map((t) => ['memfd-v2', t]),
    );
    for (const f of files) expect(f.memfd).toMatchObject({ ser: { size: 4096, seals: 1, nrFolios: 1 } });
  });

  it("kho_radix_walk_tree(): the radix tracker decodes to tools/decode_kho.py's list of preserved blocks", () => {
    const t = r().tracker;
    if (!t.decoded) throw new Error(t.reason);
    expect(t.kind).toBe('radix-tree');
    expect(t.error).toBeUndefined();
    const ref = JSON.parse(readFileSync(join(DECODED, 'k1-machine_kexec.json'), 'utf8')) as {
      roots: Array<{
        radix: {
          preserved: Array<[string, number]>;
          preserved_bytes: number;
          table_pages: string[];
          leaf_pages: string[];
        };
      }>;
    };
    const radix = ref.roots[0]!.radix;
    const key = (b: { phys: number; order: number }) => `${b.phys}:${b.order}`;
    expect(t.blocks.map(key).sort()).toEqual(
      radix.preserved.map(([p, o]) => key({ phys: Number(p), order: o })).sort(),
    );
    expect(t.count).toBe(49);
    expect(t.bytes).toBe(radix.preserved_bytes);
    expect(new Set(t.metadataPages)).toEqual(new Set([...radix.table_pages, ...radix.leaf_pages].map(Number)));
  });
});
