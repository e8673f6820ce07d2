/**
 * DOC: fidelity — the simulated handover beside a real one
 *
 * Two handovers read by the same dump reader (inspect.ts): one from a real kernel's memory (QEMU's
 * dump-guest-memory at machine_kexec()), one from KHO Lab's own vmcore of the simulated machine at
 * the same point of the same scenario. They are compared structure by structure — root compatible
 * and properties, sub-nodes and their properties, blob sizes and formats, kexec-metadata, LUO's
 * sessions, files and memfd records, FLBs, the tracker — and each field gets a verdict:
 *   match    equal;
 *   nature   different by nature: a physical address, a random choice of the workload (test_kho
 *            picks folio orders at random), the release string or the machine's size;
 *   differs  anything else: a simulator bug to fix, or a release the simulator does not model.
 */
import { hex } from '../../shared/units';
import { AbiError } from '../kernel/abi/abi-error';
import type { DumpReport } from './dump/inspect';
import type { LuoReport } from './dump/sub-blobs-7x';

export type FidelityVerdict = 'match' | 'nature' | 'differs';

export interface FidelityRow {
  /** Where in the handover: "root", "sub-node LUO", "LUO session test-session", … */
  where: string;
  field: string;
  real: string;
  sim: string;
  verdict: FidelityVerdict;
  /** Why a `nature` difference is expected. */
  why?: string;
}

export interface FidelityReport {
  rows: FidelityRow[];
  matches: number;
  nature: number;
  differs: number;
}

type Value = string | number | boolean | null | undefined | readonly (string | number)[];

const show = (v: Value): string =>
  v === undefined || v === null ? '—' : Array.isArray(v) ? `[${v.join(', ')}]` : String(v);

/** Compares handover `sim` with handover `real`, field by field. */
export function compareHandovers(real: DumpReport, sim: DumpReport): FidelityReport {
  const rows: FidelityRow[] = [];
  const row = (where: string, field: string, r: Value, s: Value, nature?: string): void => {
    const same = show(r) === show(s);
    // A field one side lacks is a structural difference, whatever the field.
    if (!same && (r === undefined || r === null || s === undefined || s === null)) nature = undefined;
    rows.push({
      where,
      field,
      real: show(r),
      sim: show(s),
      verdict: same ? 'match' : nature ? 'nature' : 'differs',
      ...(same || !nature ? {} : { why: nature }),
    });
  };
  const ADDRESS = 'a physical address: where each kernel allocated it';
  const randomKho = real.subBlobs.some((b) => b.name === 'kho_test')
    ? 'test_kho preserves folios of random orders, so the count and sizes vary from boot to boot'
    : undefined;

  row('root', 'compatible', real.fdt.compatible, sim.fdt.compatible);
  row('root', 'properties', real.fdt.rootProps, sim.fdt.rootProps);
  row('root', 'totalsize', real.fdt.totalsize, sim.fdt.totalsize);
  row('root', 'preserved-memory-map', hexOf(real.fdt.preservedMemoryMap), hexOf(sim.fdt.preservedMemoryMap), ADDRESS);
  row('root', 'FDT address', hex(real.fdt.phys), hex(sim.fdt.phys), ADDRESS);
  const names = (r: DumpReport) => r.subBlobs.map((b) => b.name);
  const sameSet = [...names(real)].sort().join() === [...names(sim)].sort().join();
  row(
    'root',
    'sub-nodes',
    names(real),
    names(sim),
    sameSet
      ? 'newest first: the order is when each subsystem registered (a built-in test_kho registers at device_initcall, before LUO; KHO Lab insmods it after boot)'
      : undefined,
  );

  for (const r of real.subBlobs) {
    const s = sim.subBlobs.find((b) => b.name === r.name);
    const where = `sub-node ${r.name}`;
    if (!s) {
      row(where, 'present', 'yes', 'no');
      continue;
    }
    row(where, 'properties', r.props, s.props);
    row(where, 'kind', r.kind, s.kind);
    row(where, 'blob size', r.size, s.size);
    if (r.compatible !== undefined || s.compatible !== undefined) row(where, 'compatible', r.compatible, s.compatible);
    if (r.leadingText !== undefined || s.leadingText !== undefined)
      row(where, 'leading text', r.leadingText, s.leadingText);
    row(where, 'address', hexOf(r.phys), hexOf(s.phys), ADDRESS);
  }
  for (const s of sim.subBlobs)
    if (!real.subBlobs.some((b) => b.name === s.name)) row(`sub-node ${s.name}`, 'present', 'no', 'yes');

  const rm = real.decoded7x?.kexecMetadata;
  const sm = sim.decoded7x?.kexecMetadata;
  if (rm || sm) {
    const where = 'kexec-metadata';
    if (rm instanceof AbiError || sm instanceof AbiError) row(where, 'decodes', errOf(rm), errOf(sm));
    else {
      row(where, 'version', rm?.version, sm?.version);
      row(
        where,
        'previous_release',
        rm?.previousRelease,
        sm?.previousRelease,
        'the release string of the kernel that wrote it (uname -r)',
      );
      row(where, 'kexec_count', rm?.kexecCount, sm?.kexecCount);
    }
  }
  compareLuo(real.decoded7x?.luo, sim.decoded7x?.luo, row, ADDRESS);

  const rt = real.tracker;
  const st = sim.tracker;
  row('tracker', 'decoded', rt.decoded ? 'yes' : rt.reason, st.decoded ? 'yes' : st.reason);
  if (rt.decoded && st.decoded) {
    row('tracker', 'kind', rt.kind, st.kind);
    row('tracker', 'preserved blocks', rt.count, st.count, randomKho);
    row('tracker', 'preserved bytes', rt.bytes, st.bytes, randomKho);
    row(
      'tracker',
      'metadata pages',
      rt.metadataPages.length,
      st.metadataPages.length,
      'the radix tree has a table per populated key range, so its size follows the addresses preserved',
    );
    row('tracker', 'walk error', rt.error, st.error);
  }
  if (real.scratch || sim.scratch)
    row(
      'scratch',
      'areas',
      real.scratch?.areas.length,
      sim.scratch?.areas.length,
      'one per NUMA node plus the lowmem area; the machines differ',
    );

  return {
    rows,
    matches: rows.filter((r) => r.verdict === 'match').length,
    nature: rows.filter((r) => r.verdict === 'nature').length,
    differs: rows.filter((r) => r.verdict === 'differs').length,
  };
}

const hexOf = (v: number | null | undefined): string | undefined =>
  v === null || v === undefined ? undefined : hex(v);
const errOf = (v: unknown): string => (v instanceof AbiError ? v.message : v === undefined ? 'absent' : 'ok');

function compareLuo(
  r: LuoReport | AbiError | undefined,
  s: LuoReport | AbiError | undefined,
  row: (where: string, field: string, r: Value, s: Value, nature?: string) => void,
  address: string,
): void {
  if (!r && !s) return;
  if (!r || !s || r instanceof AbiError || s instanceof AbiError) {
    row('LUO', 'decodes', errOf(r), errOf(s));
    return;
  }
  row('LUO', 'compatible', r.compatible, s.compatible);
  row('LUO', 'liveupdate_num', r.liveupdateNum, s.liveupdateNum);
  row('LUO', 'sessions_pa', hex(r.sessionsPa), hex(s.sessionsPa), address);
  row(
    'LUO',
    'sessions',
    r.sessions.map((x) => x.name),
    s.sessions.map((x) => x.name),
  );
  row('LUO', 'session blocks', r.sessionBlocks.length, s.sessionBlocks.length);
  for (const rs of r.sessions) {
    const ss = s.sessions.find((x) => x.name === rs.name);
    if (!ss) continue;
    const where = `LUO session ${rs.name}`;
    row(where, 'files (token:compatible)', rs.files.map(fileKey), ss.files.map(fileKey));
    for (const rf of rs.files) {
      const sf = ss.files.find((x) => x.token === rf.token);
      if (!sf?.memfd || !rf.memfd || rf.memfd instanceof AbiError || sf.memfd instanceof AbiError) continue;
      const fw = `${where} file ${hex(Number(rf.token))}`;
      row(fw, 'memfd size', rf.memfd.ser.size, sf.memfd.ser.size);
      row(fw, 'memfd pos', rf.memfd.ser.pos, sf.memfd.ser.pos);
      row(fw, 'memfd nr_folios', rf.memfd.ser.nrFolios, sf.memfd.ser.nrFolios);
      row(fw, 'memfd seals', rf.memfd.ser.seals, sf.memfd.ser.seals);
    }
  }
  const flbNames = (f: LuoReport['flbs']): string[] | string =>
    f instanceof AbiError ? f.message : f.flbs.map((e) => `${e.name}×${e.count}`);
  row('LUO', 'FLBs', flbNames(r.flbs), flbNames(s.flbs));
}

const fileKey = (f: { token: number | bigint; compatible: string }): string =>
  `${hex(Number(f.token))}:${f.compatible}`;

/** The report as an aligned text table, differences first. */
export function describeFidelity(rep: FidelityReport): string[] {
  const order: Record<FidelityVerdict, number> = { differs: 0, nature: 1, match: 2 };
  const rows = [...rep.rows].sort((a, b) => order[a.verdict] - order[b.verdict]);
  const w = (k: keyof FidelityRow, cap: number) =>
    Math.min(cap, Math.max(...rows.map((r) => String(r[k] ?? '').length), 4));
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));
  const [ww, fw, rw, sw] = [w('where', 34), w('field', 26), w('real', 36), w('sim', 36)];
  const lines = [
    `${cut('where', ww)}  ${cut('field', fw)}  ${cut('real kernel', rw)}  ${cut('KHO Lab', sw)}  verdict`,
    ...rows.map(
      (r) =>
        `${cut(r.where, ww)}  ${cut(r.field, fw)}  ${cut(r.real, rw)}  ${cut(r.sim, sw)}  ${r.verdict === 'differs' ? 'DIFFERS' : r.verdict}${r.why ? ` (${r.why})` : ''}`,
    ),
    `${rep.matches} match, ${rep.nature} differ by nature, ${rep.differs} differ`,
  ];
  return lines;
}
