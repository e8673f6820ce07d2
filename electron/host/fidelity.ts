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
 *
 * A real run may have run several selftests in one kernel (realkernel's memory-dump run ran
 * test_kho, luo_kexec_simple and luo_multi_session) while a built-in scenario stands for one. With
 * a scope, the real handover is cut to what that selftest leaves in it (SELFTEST_MARKS): the
 * others' sub-nodes and sessions are listed as there by nature, naming the selftest that made them.
 */
import type { FidelityRow, FidelityVerdict } from '../../shared/side-by-side';
import { hex } from '../../shared/units';
import { AbiError } from '../kernel/abi/abi-error';
import type { DumpReport } from './dump/inspect';
import type { DecodedFlbArea } from '../kernel/abi/luo-flb';
import type { LuoReport, MemfdReport } from './dump/sub-blobs-7x';

export type { FidelityRow, FidelityVerdict };

/**
 * What each real selftest leaves in the handover: lib/test_kho.c its `kho_test` sub-FDT;
 * tools/testing/selftests/liveupdate/luo_kexec_simple.c and luo_multi_session.c their sessions
 * (each with the state session luo_test_utils.c: create_state_file() makes for stage 2).
 */
export const SELFTEST_MARKS: Readonly<Record<string, { subBlobs: readonly string[]; sessions: readonly string[] }>> = {
  kho: { subBlobs: ['kho_test'], sessions: [] },
  luo_simple: { subBlobs: ['LUO'], sessions: ['kexec_simple_state', 'test-session'] },
  luo_multi: {
    subBlobs: ['LUO'],
    sessions: [
      'kexec_multi_state',
      'multi-test-empty-1',
      'multi-test-empty-2',
      'multi-test-files-1',
      'multi-test-files-2',
    ],
  },
};

/** The selftest a built-in scenario stands for, and its name for the report. */
export interface FidelityScope {
  selftest: string;
  scenario: string;
}

/** The selftests other than `selftest` whose marks the real handover carries. */
function ranBeside(real: DumpReport, selftest: string): string[] {
  const luo = real.decoded7x?.luo;
  const sessions = luo && !(luo instanceof AbiError) ? luo.sessions.map((x) => x.name) : [];
  return Object.entries(SELFTEST_MARKS)
    .filter(([t]) => t !== selftest)
    .filter(([t, m]) =>
      t === 'kho'
        ? real.subBlobs.some((b) => m.subBlobs.includes(b.name))
        : m.sessions.some((n) => sessions.includes(n)),
    )
    .map(([t]) => t);
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

/**
 * Compares handover `sim` with handover `real`, field by field; with `scope`, only what the
 * scope's selftest left in the real one is held against the simulation.
 */
export function compareHandovers(real: DumpReport, sim: DumpReport, scope?: FidelityScope): FidelityReport {
  const rows: FidelityRow[] = [];
  /** `nature`: why a difference is expected; `differs`: what a difference comes from. */
  const row = (where: string, field: string, r: Value, s: Value, nature?: string, differs?: string): void => {
    const same = show(r) === show(s);
    // A field one side lacks is a structural difference, whatever the field.
    if (!same && (r === undefined || r === null || s === undefined || s === null)) nature = undefined;
    const why = same ? undefined : (nature ?? differs);
    rows.push({
      where,
      field,
      real: show(r),
      sim: show(s),
      verdict: same ? 'match' : nature ? 'nature' : 'differs',
      ...(why ? { why } : {}),
    });
  };
  const ADDRESS = 'a physical address: where each kernel allocated it';
  const beside = scope ? ranBeside(real, scope.selftest) : [];
  const alsoRan = beside.length ? `the real run also ran ${beside.join(', ')} in the same kernel` : undefined;
  const randomKho = real.subBlobs.some((b) => b.name === 'kho_test')
    ? [
        'test_kho preserves folios of random orders, so the count and sizes vary from boot to boot',
        ...(alsoRan ? [alsoRan] : []),
      ].join('; ')
    : alsoRan;
  /** The selftests that made a sub-node, when none is the scope's (the real run ran them beside it). */
  const besideOnly = (name: string): string[] => {
    const owners = Object.entries(SELFTEST_MARKS).filter(([, m]) => m.subBlobs.includes(name));
    return owners.length && scope && !owners.some(([t]) => t === scope.selftest) ? owners.map(([t]) => t) : [];
  };
  const extraSubs = real.subBlobs.filter(
    (b) => besideOnly(b.name).length && !sim.subBlobs.some((x) => x.name === b.name),
  );

  row('root', 'compatible', real.fdt.compatible, sim.fdt.compatible);
  row('root', 'properties', real.fdt.rootProps, sim.fdt.rootProps);
  row(
    'root',
    'totalsize',
    real.fdt.totalsize,
    sim.fdt.totalsize,
    extraSubs.length
      ? `the real root also names ${extraSubs.map((b) => b.name).join(', ')} (${alsoRan ?? 'another selftest'})`
      : undefined,
  );
  row('root', 'preserved-memory-map', hexOf(real.fdt.preservedMemoryMap), hexOf(sim.fdt.preservedMemoryMap), ADDRESS);
  row('root', 'FDT address', hex(real.fdt.phys), hex(sim.fdt.phys), ADDRESS);
  const names = (r: DumpReport) =>
    r.subBlobs.map((b) => b.name).filter((n) => r === sim || !extraSubs.some((b) => b.name === n));
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
      const owners = besideOnly(r.name);
      rows.push({
        where,
        field: 'present',
        real: 'yes',
        sim: 'no',
        ...(owners.length
          ? { verdict: 'nature' as const, why: `made by ${owners.join(' / ')}, which ran beside ${scope?.selftest}` }
          : { verdict: 'differs' as const }),
      });
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
  const realLuo = real.decoded7x?.luo;
  if (!extraSubs.some((b) => b.name === 'LUO')) compareLuo(realLuo, sim.decoded7x?.luo, row, ADDRESS, scope, alsoRan);

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
  if (real.scratch && sim.scratch)
    row(
      'scratch',
      'areas',
      real.scratch.areas.length,
      sim.scratch.areas.length,
      'one per NUMA node plus the lowmem area; the machines differ',
    );
  else if (real.scratch || sim.scratch)
    rows.push({
      where: 'scratch',
      field: 'areas',
      real: show(real.scratch?.areas.length),
      sim: show(sim.scratch?.areas.length),
      verdict: 'nature',
      why: 'the other dump holds no staged scratch array: a dump cut to the preserved pages holds no kexec segments',
    });

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
  row: (where: string, field: string, r: Value, s: Value, nature?: string, differs?: string) => void,
  address: string,
  scope: FidelityScope | undefined,
  alsoRan: string | undefined,
): void {
  if (!r && !s) return;
  if (!r || !s || r instanceof AbiError || s instanceof AbiError) {
    row('LUO', 'decodes', errOf(r), errOf(s));
    return;
  }
  row('LUO', 'compatible', r.compatible, s.compatible);
  row('LUO', 'liveupdate_num', r.liveupdateNum, s.liveupdateNum);
  row('LUO', 'sessions_pa', hex(r.sessionsPa), hex(s.sessionsPa), address);
  // The real sessions the scope's selftest made; the others are listed, not compared.
  const mine = scope ? SELFTEST_MARKS[scope.selftest]?.sessions : undefined;
  const inScope = mine ? r.sessions.filter((x) => mine.includes(x.name)) : r.sessions;
  const others = r.sessions.filter((x) => !inScope.includes(x));
  if (others.length)
    row(
      'LUO',
      'sessions of other selftests',
      others.map((x) => x.name),
      [],
      alsoRan,
    );
  row(
    'LUO',
    'sessions',
    inScope.map((x) => x.name),
    s.sessions.map((x) => x.name),
    undefined,
    scope ? `every session the real ${scope.selftest} preserves, against builtin:${scope.scenario}'s` : undefined,
  );
  row(
    'LUO',
    'session blocks',
    r.sessionBlocks.length,
    s.sessionBlocks.length,
    others.length ? 'the block count follows the number of sessions' : undefined,
  );
  for (const rs of inScope) {
    const ss = s.sessions.find((x) => x.name === rs.name);
    const where = `LUO session ${rs.name}`;
    if (!ss) {
      row(
        where,
        'present',
        'yes',
        'no',
        undefined,
        scope ? `the real ${scope.selftest} preserves it; builtin:${scope.scenario} does not` : undefined,
      );
      continue;
    }
    row(where, 'files (token:compatible)', rs.files.map(fileKey), ss.files.map(fileKey));
    row(where, 'file blocks', rs.fileBlocks.length, ss.fileBlocks.length);
    for (const rf of rs.files) {
      const sf = ss.files.find((x) => x.token === rf.token);
      if (!sf?.memfd || !rf.memfd || rf.memfd instanceof AbiError || sf.memfd instanceof AbiError) continue;
      const fw = `${where} file ${hex(Number(rf.token))}`;
      const [a, b] = [rf.memfd.ser, sf.memfd.ser];
      row(
        fw,
        'memfd size',
        a.size,
        b.size,
        undefined,
        scope
          ? `the real selftest ftruncate()s the memfd to a page (luo_test_utils.c: create_and_preserve_memfd())`
          : undefined,
      );
      row(fw, 'memfd pos', a.pos, b.pos);
      row(fw, 'memfd nr_folios', a.nrFolios, b.nrFolios);
      row(fw, 'memfd seals', a.seals, b.seals);
      row(fw, 'memfd flags', a.flags, b.flags);
      const folios = (m: MemfdReport): string | string[] =>
        m.folios instanceof AbiError ? m.folios.message : m.folios.folios.map((f) => `${f.index}:${hex(f.flags)}`);
      row(fw, 'folios (index:flags)', folios(rf.memfd), folios(sf.memfd));
    }
  }
  if (r.flbs instanceof AbiError || s.flbs instanceof AbiError) {
    row('LUO', 'FLBs', errOf(r.flbs), errOf(s.flbs));
    return;
  }
  // Each FLB counts the files preserved under its handler in that kernel (luo_flb.c).
  const files = (l: LuoReport) => l.sessions.reduce((n, x) => n + x.files.length, 0);
  const onlyOthers = files(s) === 0 && inScope.every((x) => x.files.length === 0) && others.length > 0;
  row(
    'LUO',
    'FLBs',
    r.flbs.flbs.map((e) => e.name),
    s.flbs.flbs.map((e) => e.name),
    onlyOthers
      ? `no file was preserved here, so no FLB was handed over; the real files are the other selftests'`
      : undefined,
  );
  const counts = (l: LuoReport & { flbs: DecodedFlbArea }) => l.flbs.flbs.map((e) => e.count);
  const own = (l: LuoReport & { flbs: DecodedFlbArea }) => counts(l).every((c) => c === files(l));
  row(
    'LUO',
    'FLB counts',
    counts(r as LuoReport & { flbs: DecodedFlbArea }),
    counts(s as LuoReport & { flbs: DecodedFlbArea }),
    own(r as LuoReport & { flbs: DecodedFlbArea }) && own(s as LuoReport & { flbs: DecodedFlbArea })
      ? `each FLB counts the files preserved in its kernel: ${files(r)} real, ${files(s)} simulated`
      : undefined,
  );
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
