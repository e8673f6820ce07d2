/**
 * Fidelity: the simulator's 7.2 LUO handover against what the real 7.2.13 left in RAM at
 * machine_kexec() (test/abi/fixtures/realkernel-7.2, see PROVENANCE.md there). The workload is the
 * artefact run's: luo_kexec_simple's and luo_multi_session's stage 1 (seven sessions, six memfds of
 * one page each). Addresses differ between any two boots; everything else — luo_ser's compatible
 * and number, the session chain and its order, the file records, the memfd-v2 records, the folio
 * records and data, the FLB area — must be equal, decoded with the same codecs from both.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../shared/units';
import { decodeFlbArea } from '../../../electron/kernel/abi/luo-flb';
import { LUO_SER, decodeLuoV5 } from '../../../electron/kernel/abi/luo-v5';
import { MEMFD_LUO_SER_V2, decodeMemfdSerV2, readMemfdFoliosV2 } from '../../../electron/kernel/abi/memfd-v2';
import { type PhysReader, ramReader } from '../../../electron/kernel/abi/phys-reader';
import { dumpPages, fixture, fixtureJson, hexn } from '../../abi/kho-7x/fixtures';
import { machine72 } from './luo72-helpers';

interface ExpectedLuo {
  phys: string;
  liveupdateNum: number;
  flbs: { pgcnt: number; count: number; entries: { name: string; data: string; count: number }[] };
  sessions: {
    name: string;
    fileCount: number;
    files: {
      compatible: string;
      token: string;
      memfd: { pos: number; size: number; seals: number; flags: number; nr_folios: number };
      folios: { flags: number; index: number; dataPrefix: string }[];
    }[];
  }[];
}
const want = fixtureJson<{ luo: ExpectedLuo }>('realkernel-7.2/k1-machine_kexec.expected.json').luo;

/** The artefact run's stage 1: every memfd is one page, in creation order, with the selftests' texts. */
function artefactWorkload() {
  const t = machine72('7.2', '512M');
  t.ok({ op: 'luo_open', process: 'vmm' }); // 3
  let fd = 4;
  for (const s of want.sessions) {
    const sfd = fd++;
    t.ok({ op: 'luo_create_session', process: 'vmm', fd: 3, name: s.name });
    for (const f of s.files) {
      const mfd = fd++;
      t.ok({ op: 'memfd_create', process: 'vmm', name: `${s.name}-${f.token}`, size: '4K' });
      t.ok({ op: 'write', process: 'vmm', fd: mfd, data: { text: f.folios[0]!.dataPrefix } });
      t.ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: sfd, fd: mfd, token: f.token });
    }
  }
  return t;
}

/** The handover at `luoPa`, decoded the same way from either RAM, addresses left out. */
function shape(mem: PhysReader, luoPa: number) {
  const d = decodeLuoV5(mem, luoPa, LUO_SER.size);
  if ('code' in d) throw new Error(d.message);
  const flbs = decodeFlbArea(mem, d.flbsPa);
  if ('code' in flbs) throw new Error(flbs.message);
  return {
    compatible: d.compatible,
    liveupdateNum: d.liveupdateNum,
    sessionBlocks: d.sessionBlocks.map((b) => b.count),
    sessions: d.sessions.map((s) => ({
      name: s.name,
      fileCount: s.fileCount,
      filesPaIsZero: s.filesPa === 0,
      files: s.files.map((f) => {
        const rec = decodeMemfdSerV2(mem.read(Number(f.data), MEMFD_LUO_SER_V2.bytes)!);
        if ('code' in rec) throw new Error(rec.message);
        const folios = readMemfdFoliosV2(mem, rec);
        if ('code' in folios) throw new Error(folios.message);
        return {
          compatible: f.compatible,
          token: f.token,
          memfd: { pos: rec.pos, size: rec.size, seals: rec.seals, flags: rec.flags, nrFolios: rec.nrFolios },
          folios: folios.folios.map((x) => ({
            flags: x.flags,
            index: x.index,
            data: new TextDecoder().decode(mem.read(x.pfn * PAGE_SIZE, 32)!).replace(/\0+$/, ''),
          })),
        };
      }),
    })),
    flbs: { pgcnt: flbs.pgcnt, records: flbs.flbs.map((f) => [f.name, f.data, f.count]) },
  };
}

describe('golden: the luo_ser handover of the artefact workload equals the real 7.2.13 one but for addresses', () => {
  it('luo_state_setup() + liveupdate_reboot(): the same luo_ser fields, session chain, file and memfd-v2 records, folios and FLB records', () => {
    const t = artefactWorkload();
    const luoPa = t.k().luo!.fdtPhys;
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    const ours = shape(ramReader(t.m.ram), luoPa);
    const real = shape(dumpPages('realkernel-7.2/k1-machine_kexec.pages.gz'), hexn(want.phys));
    expect(ours).toEqual(real);
    // And against the independent decode (decode_kho.py) the fixture carries.
    expect(ours.flbs.records).toEqual(want.flbs.entries.map((e) => [e.name, BigInt(e.data), e.count]));
    expect(ours.sessions.map((s) => s.name)).toEqual(want.sessions.map((s) => s.name));
  });

  it('luo_ser bytes: compatible and liveupdate_num identical to the real blob; sessions_pa and flbs_pa page-aligned pointers', () => {
    const t = artefactWorkload();
    const luoPa = t.k().luo!.fdtPhys;
    const real = fixture('realkernel-7.2/sub-LUO.at-machine_kexec.bin');
    const realBefore = fixture('realkernel-7.2/sub-LUO.before-kexec.bin');
    const before = t.m.ram.read(luoPa, LUO_SER.size);
    expect(before.subarray(0, 24)).toEqual(realBefore.subarray(0, 24)); // sessions_pa still 0
    t.ok({ op: 'kexec_load' });
    t.ok({ op: 'reboot' });
    const ours = t.m.ram.read(luoPa, LUO_SER.size);
    expect(ours.subarray(0, 16)).toEqual(real.subarray(0, 16));
    const dv = new DataView(ours.buffer, ours.byteOffset);
    for (const off of [LUO_SER.sessionsPa, LUO_SER.flbsPa]) {
      const v = Number(dv.getBigUint64(off, true));
      expect(v).toBeGreaterThan(0);
      expect(v % PAGE_SIZE).toBe(0);
    }
  });
});
