/**
 * KHO Lab's dump reader against the realkernel folder's own decoder (tools/decode_kho.py): the
 * preserved-pages ELF of the full LUO run at machine_kexec() must decode to what
 * runs/artefacts/decoded/k1-machine_kexec.json says — the luo_ser, every session with its
 * file blocks, file tokens, compatibles and memfd records with their folios, the FLB entries, the
 * sub-blob sizes and the radix tree's preserved blocks. Two independent decoders of the same
 * bytes; skipped, saying why, without the realkernel folder. No QEMU boot.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHIPPED_REAL_HANDOVER } from '../../electron/cli-real';
import { openDumpFile } from '../../electron/dump-file';
import { type DumpReport, inspectDump } from '../../electron/host/dump/inspect';
import { AbiError } from '../../electron/kernel/abi/abi-error';
import { REALKERNEL } from '../../electron/real-kernel';

const JSON_PATH = join(REALKERNEL, 'runs/artefacts/decoded/k1-machine_kexec.json');
const skip = existsSync(SHIPPED_REAL_HANDOVER) && existsSync(JSON_PATH) ? null : `${JSON_PATH} is absent`;
if (skip) console.log(`decoded handover: skipped — ${skip}`);

interface PyFolio {
  pfn: string;
  flags: number;
  index: number;
}
interface PyFile {
  compatible: string;
  token: string;
  memfd_luo_ser: { pos: number; size: number; seals: number; flags: number; nr_folios: number; folios: PyFolio[] };
}
interface PySession {
  name: string;
  file_count: number;
  files: PyFile[];
  file_blocks?: { count: number }[];
}
interface PyRoot {
  compatible: string;
  subnodes: { name: string; blob_size: number; luo?: PyLuo }[];
  radix: { n_preserved: number; preserved_bytes: number; preserved: [string, number][] };
}
interface PyLuo {
  compatible: string;
  liveupdate_num: number;
  sessions: PySession[];
  flbs: { entries: { name: string; count: number }[] };
  session_blocks: { count: number }[];
}

const num = (h: string) => Number(BigInt(h));

describe.skipIf(skip !== null)('the dump reader beside decode_kho.py on the real 7.2.13 handover', () => {
  const py = () => (JSON.parse(readFileSync(JSON_PATH, 'utf8')) as { roots: PyRoot[] }).roots[0]!;
  const mine = (): DumpReport => {
    const f = openDumpFile(SHIPPED_REAL_HANDOVER);
    try {
      return inspectDump(f);
    } finally {
      f.close();
    }
  };

  it('kho_add_subtree(): the root compatible and every sub-blob with its size', () => {
    const [p, m] = [py(), mine()];
    expect(m.fdt.compatible).toBe(p.compatible);
    expect(m.subBlobs.map((b) => [b.name, b.size])).toEqual(p.subnodes.map((s) => [s.name, s.blob_size]));
  });

  it('luo_session_serialize(), luo_file_serialize(), memfd_luo_preserve(): sessions, files, records, folios, FLBs', () => {
    const p = py().subnodes.find((s) => s.name === 'LUO')!.luo!;
    const luo = mine().decoded7x?.luo;
    if (!luo || luo instanceof AbiError) throw new Error('LUO did not decode');
    expect([luo.compatible, luo.liveupdateNum]).toEqual([p.compatible, p.liveupdate_num]);
    expect(luo.sessionBlocks.map((b) => b.count)).toEqual(p.session_blocks.map((b) => b.count));
    expect(luo.sessions.map((s) => [s.name, s.fileCount, s.fileBlocks.map((b) => b.count)])).toEqual(
      p.sessions.map((s) => [s.name, s.file_count, (s.file_blocks ?? []).map((b) => b.count)]),
    );
    const files = (ss: typeof luo.sessions) =>
      ss.flatMap((s) =>
        s.files.map((f) => {
          const m = f.memfd && !(f.memfd instanceof AbiError) ? f.memfd : null;
          const folios = m && !(m.folios instanceof AbiError) ? m.folios.folios : [];
          return [
            f.compatible,
            Number(f.token),
            m?.ser.pos,
            m?.ser.size,
            m?.ser.seals,
            m?.ser.flags,
            m?.ser.nrFolios,
            folios.map((x) => [x.pfn, x.flags, x.index]),
          ];
        }),
      );
    expect(files(luo.sessions)).toEqual(
      p.sessions.flatMap((s) =>
        s.files.map((f) => {
          const r = f.memfd_luo_ser;
          return [
            f.compatible,
            num(f.token),
            r.pos,
            r.size,
            r.seals,
            r.flags,
            r.nr_folios,
            r.folios.map((x) => [num(x.pfn), x.flags, x.index]),
          ];
        }),
      ),
    );
    if (luo.flbs instanceof AbiError) throw luo.flbs;
    expect(luo.flbs.flbs.map((f) => [f.name, f.count])).toEqual(p.flbs.entries.map((e) => [e.name, e.count]));
  });

  it('kho_radix_walk_tree(): the preserved blocks, their count and bytes', () => {
    const p = py().radix;
    const t = mine().tracker;
    if (!t.decoded) throw new Error(t.reason);
    expect([t.count, t.bytes]).toEqual([p.n_preserved, p.preserved_bytes]);
    const sorted = (xs: [number, number][]) => [...xs].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(sorted(t.blocks.map((b) => [b.phys, b.order]))).toEqual(
      sorted(p.preserved.map(([phys, order]) => [num(phys), order])),
    );
  });
});
