/**
 * Ground truth: the real Linux 7.2.13 kernel in the suite (issue 11). One QEMU boot runs the
 * kernel's own selftests (test_kho, luo_kexec_simple, luo_multi_session) across a real kexec and
 * dumps guest memory at machine_kexec() and at kho_populate(); the dump reader must find in those
 * dumps exactly the handover the kernels reported (debugfs kho/in, boot_params setup_data, serial
 * log). Skipped, with one line saying why, where ../shared/realkernel, QEMU or gdb is missing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDumpFile } from '../../electron/dump-file';
import { type DumpReport, inspectDump } from '../../electron/host/dump/inspect';
import { decodeKhoData } from '../../electron/kernel/abi/kho-v1';
import { type FdtNode, decodeFdt } from '../../electron/kernel/lib/fdt';
import { type RealRun, REALKERNEL, TESTS, bootRealKernel, whyNot } from '../../electron/real-kernel';

const skip = whyNot();
if (skip) console.log(`realkernel: skipped — ${skip}`);

let run: RealRun;
let k1: DumpReport;
let k2: DumpReport;
const inspectFile = (path: string): DumpReport => {
  const f = openDumpFile(path);
  try {
    return inspectDump(f);
  } finally {
    f.close();
  }
};
const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
/** Kernel 1's debugfs kho/out/scratch_phys and scratch_len: one hex number per line. */
const exportedScratch = () => {
  const lines = (rel: string) =>
    text(run.artefact(rel))
      .split('\n')
      .map((l) => Number(l));
  const len = lines('s1/prekexec/kho/out/scratch_len');
  return lines('s1/prekexec/kho/out/scratch_phys').map((addr, i) => ({ addr, size: len[i] }));
};

describe.skipIf(skip !== null)('the real 7.2.13 kernel across a real kexec (QEMU TCG)', () => {
  beforeAll(async () => {
    run = await bootRealKernel();
    k1 = inspectFile(run.k1Dump);
    k2 = inspectFile(run.k2Dump);
  });
  afterAll(() => run?.remove());

  it("the kernel's selftests pass on both sides of the kexec", () => {
    const log = run.console;
    for (const prog of [
      '/bin/luo_kexec_simple --stage 1',
      '/bin/luo_multi_session --stage 1',
      '/bin/luo_kexec_simple --stage 2',
      '/bin/luo_multi_session --stage 2',
    ]) {
      expect(log).toContain(`RC=0 for ${prog}`);
    }
    expect(log).toMatch(/^RK\[stage1 [^\]]*\] RC=0 for \/bin\/kexec_file load /m);
    expect(log).toContain('KHO: found kexec handover data.');
    expect(log).toContain('luo: Retrieved live update data, liveupdate number: 1');
    expect(log).toContain('KHO: exec from: 7.2.13 (count 1)');
    expect(log).toContain('test_kho: KHO restore succeeded');
    expect(log).toContain('--- SIMPLE KEXEC TEST PASSED ---');
    expect(log).toContain('--- MULTI-SESSION KEXEC TEST PASSED ---');
    expect(log).toContain(`ALL TESTS PASSED (${TESTS})`);
    expect(run.timings.qemu_rc).toBe(0);
  });

  it('machine_kexec(): the staged setup_data node carries the kho_data kernel 2 found in boot_params', () => {
    expect(k1.handover.via).toBe('setup_data');
    expect(text(run.artefact('s2/post/boot_params/setup_data/0/type'))).toBe('0xa'); // SETUP_KEXEC_KHO
    expect(k1.handover.khoData).toEqual(decodeKhoData(run.artefact('s2/post/boot_params/setup_data/0/data')));
  });

  it('machine_kexec(): the scratch array is still staged; the staged copy equals debugfs kho/out/scratch_*', () => {
    // relocate_kernel() copies the segment to scratch_addr only after machine_kexec().
    expect(k1.scratch!.note).toMatch(/still staged in a kexec segment/);
    expect(k1.scratch!.stagedAt!.length).toBeGreaterThan(0);
    expect(k1.scratch!.areas).toEqual(exportedScratch());
  });

  it("kho_fill_kimage(): the kho-v4 root FDT in the dump is byte-equal to kernel 2's debugfs kho/in/fdt", () => {
    expect(k1.fdt.compatible).toBe('kho-v4');
    expect(k1.fdt.bytes).toEqual(run.artefact('s2/post/kho/in/fdt'));
    expect(k2.fdt.bytes).toEqual(k1.fdt.bytes);
  });

  it('kho_add_subtree(): sub-blob names, sizes and bytes match debugfs kho/in/sub_fdts', () => {
    expect(k1.subBlobs.map((s) => [s.name, s.size])).toEqual([
      ['LUO', 32],
      ['kho_test', 240],
      ['kexec-metadata', 73],
    ]);
    const sub = (name: string) => k1.subBlobs.find((s) => s.name === name)!;
    expect(sub('kho_test').bytes).toEqual(run.artefact('s2/post/kho/in/sub_fdts/kho_test'));
    expect(sub('kho_test').compatible).toBe('kho-test-v1');
    expect(sub('kexec-metadata').bytes).toEqual(run.artefact('s2/post/kho/in/sub_fdts/kexec-metadata'));
    // kernel 2 frees the incoming LUO blob before userspace; the dump keeps what liveupdate_reboot() wrote.
    expect(sub('LUO').leadingText).toBe('luo-v5');
  });

  it('the blobs in the dump say what the next kernel logged (kho_kexec_metadata, luo_ser)', () => {
    const sub = (name: string) => {
      const b = k1.subBlobs.find((s) => s.name === name)!.bytes!;
      return new DataView(b.buffer, b.byteOffset, b.length);
    };
    // struct kho_kexec_metadata { u32 version; char previous_release[65]; u32 kexec_count; } __packed
    const md = k1.subBlobs.find((s) => s.name === 'kexec-metadata')!.bytes!;
    const release = new TextDecoder().decode(md.subarray(4, 4 + 65)).replace(/\0.*$/s, '');
    const count = sub('kexec-metadata').getUint32(69, true);
    expect(run.console).toContain(`KHO: exec from: ${release} (count ${count})`);
    // struct luo_ser { char compatible[8]; u64 liveupdate_num; u64 sessions_pa; u64 flbs_pa; } __packed
    const num = sub('LUO').getBigUint64(8, true);
    expect(run.console).toContain(`luo: Retrieved live update data, liveupdate number: ${num}`);
    expect(sub('LUO').getBigUint64(16, true)).not.toBe(0n); // sessions_pa, written in liveupdate_reboot()
  });

  it('luo_session_deserialize(): the dump decodes to the sessions, memfds and FLBs the selftests made', () => {
    const luo = k1.decoded7x?.luo;
    if (!luo || 'kind' in luo) throw new Error(`LUO not decoded: ${luo?.message}`);
    expect(luo.sessions.map((s) => [s.name, s.fileCount])).toEqual([
      ['kexec_simple_state', 1],
      ['test-session', 1],
      ['kexec_multi_state', 1],
      ['multi-test-empty-1', 0],
      ['multi-test-empty-2', 0],
      ['multi-test-files-1', 1],
      ['multi-test-files-2', 2],
    ]);
    for (const s of luo.sessions.filter((x) => !x.name.endsWith('_state')))
      expect(run.console).toContain(`'${s.name}'`);
    const files = luo.sessions.flatMap((s) => s.files);
    expect(files.map((f) => f.token)).toEqual([0x3e7n, 0x1an, 0x3e6n, 0x1001n, 0x2002n, 0x3003n]);
    for (const f of files) expect(f.memfd).toMatchObject({ ser: { size: 4096, seals: 1, nrFolios: 1 } });
    expect('kind' in luo.flbs ? luo.flbs.message : luo.flbs.flbs.map((f) => f.count)).toEqual([6, 6, 6]);
    expect(k1.decoded7x?.kexecMetadata).toEqual({ version: 1, previousRelease: '7.2.13', kexecCount: 1 });
  });

  it('kho_radix_walk_tree(): the preserved blocks in the tracker are the same on both sides of the jump', () => {
    const blocks = (r: DumpReport) => {
      if (!r.tracker.decoded) throw new Error(r.tracker.reason);
      expect(r.tracker.error).toBeUndefined();
      return r.tracker.blocks;
    };
    expect(blocks(k1).length).toBeGreaterThan(10);
    expect(blocks(k2)).toEqual(blocks(k1));
  });

  it('the handover has the shape of the one shipped in realkernel/fdt (addresses aside)', () => {
    const shipped = decodeFdt(readFileSync(join(REALKERNEL, 'fdt/k1-out-root-fdt.FULL-from-memdump@0x189000.dtb')));
    const mine = decodeFdt(k1.fdt.bytes);
    if (!shipped.ok || !mine.ok) throw new Error('FDT does not parse');
    const shape = (n: FdtNode): unknown => ({
      name: n.name,
      props: n.props.map((p) => [p.name, p.value.length]),
      children: n.children.map(shape),
    });
    expect(shape(mine.root)).toEqual(shape(shipped.root));
    expect(mine.header.totalsize).toBe(shipped.header.totalsize);
  });

  it('kho_populate(): kernel 2 reads boot_params → setup_data and the scratch array kernel 1 exported', () => {
    expect(k2.handover.via).toBe('boot_params');
    expect(k2.handover.khoData).toEqual(k1.handover.khoData);
    expect(k2.scratch!.stagedAt).toBeUndefined();
    expect(k2.scratch!.areas).toEqual(exportedScratch());
  });
});
