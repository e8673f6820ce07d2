/**
 * The KHO root FDT, kho-v1 … kho-v4 (include/linux/kho/abi/kexec_handover.h): our encoder against
 * the real 7.2.13 and 7.3.4 blobs byte for byte, the debugfs truncation quirk, and kho_populate()'s
 * verdicts.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAbiError } from '../../../electron/kernel/abi/abi-error';
import {
  KHO_FDT_FORMATS,
  decodeKhoFdt,
  encodeKhoFdt,
  retrieveSubtree,
  type KhoFdt,
} from '../../../electron/kernel/abi/kho-fdt';
import { decodeFdt, encodeFdt, fdtString } from '../../../electron/kernel/lib/fdt';
import { fixture } from './fixtures';

const v4 = KHO_FDT_FORMATS['kho-v4'];
/** Kernel 1 of the artefact run, sub-trees in registration order (kho_init, device_initcall, late_initcall). */
const K1: KhoFdt = {
  memoryMap: 0x187000,
  subtrees: [
    { name: 'kexec-metadata', phys: 0x301000, size: 73 },
    { name: 'kho_test', phys: 0x364000, size: 240 },
    { name: 'LUO', phys: 0x2144000, size: 32 },
  ],
};
const enc = (fdt: KhoFdt, f = v4): Uint8Array => {
  const b = encodeKhoFdt(f, fdt);
  if (isAbiError(b)) throw new Error(b.message);
  return b;
};

describe('kho_init + kho_add_subtree: the kho-v4 root FDT byte for byte', () => {
  it('equals the 345-byte blob 7.2.13 handed over (newest sub-node first, blob-size before preserved-data)', () => {
    expect(enc(K1)).toEqual(fixture('realkernel-7.2/k1-out-root-fdt.dtb'));
  });

  it("equals kernel 2's own out FDT (LUO and kexec-metadata only)", () => {
    expect(
      enc({
        memoryMap: 0x37f000,
        subtrees: [
          { name: 'kexec-metadata', phys: 0x15f000, size: 73 },
          { name: 'LUO', phys: 0x159000, size: 32 },
        ],
      }),
    ).toEqual(fixture('realkernel-7.2/k2-out-root-fdt.dtb'));
  });

  it('equals the reserve_mem run (memblock added last) and the 7.3.4 blob (same format)', () => {
    expect(
      enc({
        memoryMap: 0x182000,
        subtrees: [
          { name: 'kexec-metadata', phys: 0x342000, size: 73 },
          { name: 'kho_test', phys: 0x39e000, size: 240 },
          { name: 'memblock', phys: 0x2990000, size: 210 },
        ],
      }),
    ).toEqual(fixture('realkernel-7.2/reserve_mem-k2-in-root-fdt.dtb'));
    expect(
      enc({
        memoryMap: 0x189000,
        subtrees: [
          { name: 'kexec-metadata', phys: 0x2db000, size: 73 },
          { name: 'kho_test', phys: 0x3da000, size: 240 },
          { name: 'LUO', phys: 0x21b3000, size: 32 },
        ],
      }),
    ).toEqual(fixture('realkernel-7.3/k1-out-root-fdt.dtb'));
  });

  it('debugfs quirk: out/fdt keeps the 233-byte size of the root + kexec-metadata FDT and truncates the grown blob', () => {
    const atInit = enc({ memoryMap: K1.memoryMap, subtrees: K1.subtrees.slice(0, 1) });
    expect(atInit.length).toBe(233);
    const debugfs = fixture('realkernel-7.2/k1-out-root-fdt.debugfs-truncated.dtb');
    expect(debugfs).toEqual(enc(K1).subarray(0, 233));
    expect(decodeFdt(debugfs)).toMatchObject({ ok: false, error: 'FDT_ERR_TRUNCATED' });
  });

  it("before any sub-tree the blob is kho_init()'s sequential-write layout (reservation map at 0x30)", () => {
    const b = enc({ memoryMap: 0x187000, subtrees: [] });
    const d = decodeFdt(b);
    expect(d.ok && [d.header.offMemRsvmap, d.header.totalsize]).toEqual([0x30, 152]);
  });

  it('kho-v1 names the sub-node property "fdt", kho-v2 "preserved-data" without blob-size', () => {
    const one = { memoryMap: 0x1000, subtrees: [{ name: 'LUO', phys: 0x5000, size: 32 }] };
    const props = (f: keyof typeof KHO_FDT_FORMATS): string[] => {
      const d = decodeFdt(enc(one, KHO_FDT_FORMATS[f]));
      return d.ok ? d.root.children[0]!.props.map((p) => p.name) : [];
    };
    expect([props('kho-v1'), props('kho-v2'), props('kho-v3'), props('kho-v4')]).toEqual([
      ['fdt'],
      ['preserved-data'],
      ['blob-size', 'preserved-data'],
      ['blob-size', 'preserved-data'],
    ]);
  });

  it('dtc reads what we write and shows the kho-v4 sub-nodes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kho-fdt-'));
    try {
      writeFileSync(join(dir, 'k.dtb'), enc(K1));
      const dts = execFileSync('dtc', ['-I', 'dtb', '-O', 'dts', join(dir, 'k.dtb')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      expect(dts).toContain('compatible = "kho-v4";');
      expect(dts).toContain('preserved-data = <0x401402 0x00>;');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kho_populate / kho_retrieve_subtree', () => {
  it("reads the real blob: preserved-memory-map and each sub-tree's address and size", () => {
    const d = decodeKhoFdt(fixture('realkernel-7.2/k1-out-root-fdt.dtb'), v4, 0x189000);
    if (isAbiError(d)) throw new Error(d.message);
    expect(d.memoryMap).toBe(0x187000);
    expect(d.nodes.map((n) => n.name)).toEqual(['LUO', 'kho_test', 'kexec-metadata']);
    expect(retrieveSubtree(d, v4, 'LUO')).toEqual({ phys: 0x2144000, size: 32 });
    expect(retrieveSubtree(d, v4, 'memblock')).toMatchObject({ code: 'bad-format', errno: 'ENOENT' });
  });

  it('a kernel speaking another version refuses with the line 7.3[kho-v5] printed for a 7.2 handover', () => {
    const fake = { ...v4, compatible: 'kho-v5' as never };
    const r = decodeKhoFdt(fixture('realkernel-7.2/k1-out-root-fdt.dtb'), fake, 0x324000);
    expect(isAbiError(r) && [r.code, r.klog]).toEqual([
      'incompatible',
      "KHO: setup: handover FDT (0x324000) is incompatible with 'kho-v5': 1",
    ]);
    const older = decodeKhoFdt(fixture('realkernel-7.2/k1-out-root-fdt.dtb'), KHO_FDT_FORMATS['kho-v3'], 0x189000);
    expect(isAbiError(older) && [older.code, older.message]).toEqual([
      'incompatible',
      'handover FDT says compatible "kho-v4", this kernel reads "kho-v3"',
    ]);
  });

  it('kho_populate refuses a zero preserved-memory-map and the truncated debugfs blob', () => {
    const noMap = decodeKhoFdt(enc({ memoryMap: 0, subtrees: [] }), v4);
    expect(isAbiError(noMap) && noMap.code).toBe('bad-value');
    const trunc = decodeKhoFdt(fixture('realkernel-7.2/k1-out-root-fdt.debugfs-truncated.dtb'), v4, 0x189000);
    expect(isAbiError(trunc) && trunc.code).toBe('bad-format');
  });

  it('kho_get_mem_map_phys: no preserved-memory-map (or not 8 bytes) is "failed to get preserved memory map"', () => {
    for (const props of [[], [{ name: 'preserved-memory-map', value: new Uint8Array(4) }]]) {
      const b = encodeFdt({
        name: '',
        props: [{ name: 'compatible', value: fdtString('kho-v4') }, ...props],
        children: [],
      });
      const r = decodeKhoFdt(b.ok ? b.bytes : new Uint8Array(), v4);
      expect(isAbiError(r) && [r.code, r.klog]).toEqual(['bad-format', 'KHO: failed to get preserved memory map']);
    }
  });

  it('retrieveSubtree: a sub-node without 8-byte blob-size is EINVAL from kho-v3 on', () => {
    const d = decodeKhoFdt(
      enc({ memoryMap: 0x1000, subtrees: [{ name: 'x', phys: 0x2000, size: 1 }] }, KHO_FDT_FORMATS['kho-v2']),
      KHO_FDT_FORMATS['kho-v2'],
    );
    if (isAbiError(d)) throw new Error(d.message);
    expect(retrieveSubtree(d, KHO_FDT_FORMATS['kho-v2'], 'x')).toEqual({ phys: 0x2000, size: null });
    expect(retrieveSubtree({ ...d, compatible: 'kho-v3' }, KHO_FDT_FORMATS['kho-v3'], 'x')).toMatchObject({
      code: 'bad-format',
      errno: 'EINVAL',
    });
  });

  it('kho_populate on the real blob with random bytes changed: an FDT or an AbiError, never an exception', () => {
    const real = fixture('realkernel-7.2/k1-out-root-fdt.dtb');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(real.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }), (pokes) => {
        const b = real.slice();
        for (const [i, v] of pokes) b[i] = v;
        const d = decodeKhoFdt(b, v4);
        if (isAbiError(d)) return;
        for (const n of d.nodes) retrieveSubtree(d, v4, n.name);
      }),
      { numRuns: 300 },
    );
  });
});
