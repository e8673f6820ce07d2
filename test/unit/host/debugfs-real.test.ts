/**
 * The debugfs model against what the real Linux 7.2.13 left (test/abi/fixtures/realkernel-7.2):
 * its `kho/out/fdt` file is exactly the first 233 bytes of the root FDT it handed over (the
 * wrapper points at the live page; only its size is stale), 233 is what kho_init()'s tree —
 * root + kexec-metadata — packs to with our codec, and dtc's error names the header's totalsize
 * as it did on the real file. The hex view prints a blob as xxd printed the captured one.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { blobFile, outFdtSizeAtInit } from '../../../electron/host/debugfs';
import { LINUX_7_2 } from '../../../electron/kernel/profile';
import { decodeFdt } from '../../../electron/kernel/lib/fdt';
import { xxd } from '../../../renderer/src/lib/debugfs-text';

const FIX = 'test/abi/fixtures/realkernel-7.2';
const bytes = (name: string) => new Uint8Array(readFileSync(`${FIX}/${name}`));

describe('debugfs vs the real 7.2.13 (kho_init(), kho_debugfs_blob_add())', () => {
  it('out/fdt: the real 233-byte file is a prefix of the real 345-byte root; kho_init()’s tree packs to 233', () => {
    const full = bytes('k1-out-root-fdt.dtb');
    const file = bytes('k1-out-root-fdt.debugfs-truncated.dtb');
    expect(file.length).toBe(233);
    expect(full.length).toBe(345);
    expect(file).toEqual(full.subarray(0, 233));
    for (const name of ['k1-out-root-fdt.dtb', 'k2-out-root-fdt.dtb']) {
      const d = decodeFdt(bytes(name));
      if (!d.ok) throw new Error(d.message);
      expect(outFdtSizeAtInit(LINUX_7_2.kho, d.root), name).toBe(233);
    }
  });

  it('dtc on the real truncated file: "EOF before reading 345 bytes of DT blob", as the captured .dts.err', () => {
    const f = blobFile('kho/out/fdt', 0x189000, { bytes: bytes('k1-out-root-fdt.debugfs-truncated.dtb') });
    expect(f.kind).toBe('fdt');
    expect(f.dtcError).toBe('FATAL ERROR: EOF before reading 345 bytes of DT blob');
    const whole = blobFile('kho/in/fdt', 0x189000, { bytes: bytes('k1-out-root-fdt.dtb') });
    expect(whole.dts).toContain('compatible = "kho-v4";');
  });

  it('xxd of the real kexec-metadata blob, as the capture’s .xxd.txt', () => {
    expect(xxd(bytes('sub-kexec-metadata.count1.bin'))).toBe(
      [
        '00000000: 0100 0000 372e 322e 3133 0000 0000 0000  ....7.2.13......',
        '00000010: 0000 0000 0000 0000 0000 0000 0000 0000  ................',
        '00000020: 0000 0000 0000 0000 0000 0000 0000 0000  ................',
        '00000030: 0000 0000 0000 0000 0000 0000 0000 0000  ................',
        '00000040: 0000 0000 0001 0000 00                   .........',
      ].join('\n'),
    );
  });
});
