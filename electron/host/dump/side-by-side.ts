/**
 * DOC: a real dump beside the simulated one
 *
 * What the side-by-side view needs from two dumps read by the same reader (inspect.ts): which
 * built-in scenario a real handover can stand beside (the marks each real selftest leaves in it,
 * fidelity.ts SELFTEST_MARKS) and in which release (its kexec-metadata, written by
 * kernel/liveupdate/kexec_handover.c: kho_out_kexec_metadata()); each handover's structures at
 * their pages, keyed by what they are rather than where, so the counterpart of a structure on one
 * side is the one with the same key on the other; and the fidelity report, each row naming the
 * structure it is about.
 */
import { KERNEL_RELEASES, type KernelRelease } from '../../../shared/machine-config';
import {
  REAL_SCENARIOS,
  REAL_SELFTESTS,
  type RealScenario,
  type SideBySideView,
  type SideMachine,
  type SideRow,
  type SideStructure,
  type SimulationChoice,
} from '../../../shared/side-by-side';
import { PAGE_SIZE, hex } from '../../../shared/units';
import { isAbiError } from '../../kernel/abi/abi-error';
import { KHO_METADATA_NODE_NAME } from '../../kernel/abi/kexec-metadata';
import { LUO_KHO_ENTRY_NAME } from '../../kernel/abi/luo-v5';
import { SELFTEST_MARKS, compareHandovers } from '../fidelity';
import type { DumpReport } from './inspect';

/** Preserved blocks no structure claims are listed one by one up to this many. */
const MAX_LOOSE_BLOCKS = 4096;

/** The selftest of `scenario` carries its marks in `r`: its sub-blobs, or (for LUO) one of its sessions. */
function carries(r: DumpReport, selftest: string): string | null {
  const m = SELFTEST_MARKS[selftest]!;
  const luo = r.decoded7x?.luo;
  const sessions = luo && !isAbiError(luo) ? luo.sessions.map((s) => s.name) : [];
  if (m.sessions.length === 0) {
    const b = m.subBlobs.find((n) => r.subBlobs.some((s) => s.name === n));
    return b ? `the handover has its "${b}" sub-FDT` : null;
  }
  const held = m.sessions.filter((n) => sessions.includes(n));
  return held.length ? `the handover holds its LUO session${held.length > 1 ? 's' : ''} ${held.join(', ')}` : null;
}

/** The release the dump's kexec-metadata names ("7.2.13" → 7.2), when KHO Lab models it. */
export function releaseOfDump(r: DumpReport): { release: KernelRelease | null; why: string } {
  const md = r.decoded7x?.kexecMetadata;
  if (!md) {
    // Without kexec-metadata, the oldest modelled release that writes the root's compatible.
    const v = (s: string) => s.split('.').reduce((n, x) => n * 1000 + Number(x), 0);
    const [lo, hi = lo] = (r.format.releases.match(/\d+\.\d+/g) ?? []).map(v);
    const first = lo === undefined ? undefined : KERNEL_RELEASES.find((k) => v(k) >= lo && v(k) <= hi!);
    return first
      ? { release: first, why: `no kexec-metadata; "${r.fdt.compatible}" is written by ${r.format.releases}` }
      : { release: null, why: 'the handover has no kexec-metadata sub-blob to name its release' };
  }
  if (isAbiError(md)) return { release: null, why: `its kexec-metadata does not decode: ${md.message}` };
  const rel = md.previousRelease.split('.').slice(0, 2).join('.');
  return (KERNEL_RELEASES as readonly string[]).includes(rel)
    ? { release: rel as KernelRelease, why: `kexec-metadata names "${md.previousRelease}"` }
    : { release: null, why: `kexec-metadata names "${md.previousRelease}", a release KHO Lab does not model` };
}

/** The scenarios a real dump can be compared with, the one to preselect and the release. */
export function simulationChoice(r: DumpReport): SimulationChoice {
  const scenarios = REAL_SCENARIOS.map((name) => {
    const selftest = REAL_SELFTESTS[name];
    const held = carries(r, selftest);
    const m = SELFTEST_MARKS[selftest]!;
    const wants = m.sessions.length
      ? `its LUO sessions (${m.sessions.join(', ')})`
      : `its "${m.subBlobs.join()}" sub-FDT`;
    return {
      name,
      selftest,
      carried: held !== null,
      why: held ?? `the handover does not hold what ${selftest} leaves in it: ${wants}`,
    };
  });
  const { release, why } = releaseOfDump(r);
  return { scenarios, preselect: scenarios.find((s) => s.carried)?.name ?? null, release, releaseWhy: why };
}

/** The scenario a dump of KHO Lab's own stands for: the one selftest whose marks it carries, if only one. */
export function scenarioOfSimDump(r: DumpReport): RealScenario | null {
  const held = REAL_SCENARIOS.filter((n) => carries(r, REAL_SELFTESTS[n]) !== null);
  // luo-multi-session's state session is its own; test-kho's sub-FDT may sit beside any LUO run.
  const luo = held.filter((n) => n !== 'test-kho');
  return luo.length === 1 ? luo[0]! : held.length === 1 ? held[0]! : null;
}

const pfnOf = (phys: number) => Math.floor(phys / PAGE_SIZE);
const pagesOf = (phys: number, bytes: number) => pfnOf(phys + Math.max(1, bytes) - 1) - pfnOf(phys) + 1;

/** Every structure of a handover at its pages, keyed so its counterpart on the other side has the same key. */
export function dumpStructures(r: DumpReport): SideStructure[] {
  const out: SideStructure[] = [];
  const add = (key: string, label: string, kind: SideStructure['kind'], ranges: Array<[number, number]>) => {
    const rs = ranges.filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
    if (rs.length) out.push({ key, label, kind, ranges: rs });
  };
  const page = (phys: number): [number, number] => [pfnOf(phys), 1];
  add('root-fdt', `root FDT "${r.fdt.compatible}"`, 'fdt', [[pfnOf(r.fdt.phys), pagesOf(r.fdt.phys, r.fdt.totalsize)]]);
  for (const s of r.subBlobs)
    if (s.phys !== null)
      add(`sub:${s.name}`, `sub-blob "${s.name}"${s.compatible ? ` (${s.compatible})` : ''}`, 'blob', [
        [pfnOf(s.phys), pagesOf(s.phys, s.size ?? 1)],
      ]);
  const t = r.tracker;
  if (t.decoded)
    add('tracker', `tracker (${t.kind}): ${t.metadataPages.length} pages`, 'tracker', t.metadataPages.map(page));
  if (r.scratch?.areas.length)
    add(
      'scratch',
      `scratch: ${r.scratch.areas.length} areas`,
      'scratch',
      r.scratch.areas.filter((a) => a.size > 0).map((a) => [pfnOf(a.addr), a.size / PAGE_SIZE]),
    );
  const luo = r.decoded7x?.luo;
  if (luo && !isAbiError(luo)) {
    add(
      'luo-sessions',
      `LUO session blocks (${luo.sessions.length} sessions)`,
      'luo',
      luo.sessionBlocks.map((b) => page(b.pa)),
    );
    if (luo.flbsPa) add('luo-flb', 'LUO FLB area', 'luo', [page(luo.flbsPa)]);
    for (const s of luo.sessions) {
      add(
        `session:${s.name}`,
        `LUO session "${s.name}": ${s.files.length} file${s.files.length === 1 ? '' : 's'}`,
        'session',
        s.fileBlocks.length ? s.fileBlocks.map((b) => page(b.pa)) : [page(s.pa)],
      );
      for (const f of s.files) {
        const m = f.memfd;
        if (!m || isAbiError(m)) continue;
        const tok = hex(Number(f.token));
        const folios = isAbiError(m.folios) ? null : m.folios;
        add(`memfd:${s.name}:${tok}`, `memfd-v2 record, session "${s.name}" token ${tok}`, 'memfd', [
          page(m.pa),
          ...(folios ? [...folios.chunks, ...folios.pages].map(page) : []),
        ]);
        for (const fo of folios?.folios ?? [])
          add(
            `folio:${s.name}:${tok}:${fo.index}`,
            `memfd folio ${fo.index}, session "${s.name}" token ${tok}`,
            'folio',
            [[fo.pfn, 2 ** (blockOrderAt(r, fo.pfn) ?? 0)]],
          );
      }
    }
  }
  // Preserved blocks none of the above lies on (test_kho's folios): paired by address order.
  if (t.decoded) {
    const claimed = (pfn: number, n: number) =>
      out.some(
        (s) => s.kind !== 'tracker' && s.kind !== 'scratch' && s.ranges.some(([a, k]) => a < pfn + n && pfn < a + k),
      );
    const loose = t.blocks
      .map((b) => ({ pfn: pfnOf(b.phys), order: b.order }))
      .filter((b) => !claimed(b.pfn, 2 ** b.order))
      .sort((a, b) => a.pfn - b.pfn);
    loose
      .slice(0, MAX_LOOSE_BLOCKS)
      .forEach((b, i) =>
        add(
          `block:${i}`,
          `preserved block ${i + 1} of ${loose.length}, order ${b.order} (no owner in the handover; paired by address order)`,
          'block',
          [[b.pfn, 2 ** b.order]],
        ),
      );
  }
  return out;
}

function blockOrderAt(r: DumpReport, pfn: number): number | undefined {
  const t = r.tracker;
  return t.decoded ? t.blocks.find((b) => pfnOf(b.phys) === pfn)?.order : undefined;
}

/** The structure a fidelity row is about (a SideStructure key), from where it is and its field. */
export function rowKey(where: string, field: string): string | undefined {
  if (where === 'root') return 'root-fdt';
  if (where === 'tracker' || where === 'scratch') return where;
  if (where === KHO_METADATA_NODE_NAME) return `sub:${KHO_METADATA_NODE_NAME}`;
  if (where.startsWith('sub-node ')) return `sub:${where.slice('sub-node '.length)}`;
  if (where === 'LUO') {
    if (field.startsWith('FLB')) return 'luo-flb';
    if (field.startsWith('session')) return 'luo-sessions';
    return `sub:${LUO_KHO_ENTRY_NAME}`;
  }
  const file = /^LUO session (.+) file (0x[0-9a-f]+)$/.exec(where);
  if (file) return `memfd:${file[1]}:${file[2]}`;
  if (where.startsWith('LUO session ')) return `session:${where.slice('LUO session '.length)}`;
  return undefined;
}

export interface SideInput {
  name: string;
  report: DumpReport;
  maxPfn: number;
  ramBytes: number;
}

function sideMachine(s: SideInput, release: string): SideMachine {
  const structures = dumpStructures(s.report);
  const largest = s.report.dump.segments.reduce((a, b) => (b.memsz > a.memsz ? b : a), { paddr: 0, memsz: 0 });
  const ends = [
    pfnOf(largest.paddr + largest.memsz - 1) + 1,
    ...structures.flatMap((x) => x.ranges.map(([a, n]) => a + n)),
  ];
  return {
    name: s.name,
    release,
    maxPfn: s.maxPfn,
    extentPfn: Math.min(s.maxPfn, Math.max(...ends)),
    ramBytes: s.ramBytes,
    structures,
  };
}

/** The release string a handover's kexec-metadata carries, else its format's releases. */
const releaseText = (r: DumpReport): string => {
  const md = r.decoded7x?.kexecMetadata;
  return md && !isAbiError(md) ? md.previousRelease : r.format.releases;
};

/**
 * The side-by-side view of `real` and `sim`: scoped to `scenario`'s selftest when one is named
 * (what it left in the real handover is held against the simulation; the rest is there by nature).
 */
export function sideBySide(
  real: SideInput,
  sim: SideInput,
  scenario: RealScenario | null,
  kernel: string,
): SideBySideView {
  const selftest = scenario ? REAL_SELFTESTS[scenario] : null;
  const rep = compareHandovers(real.report, sim.report, scenario && selftest ? { scenario, selftest } : undefined);
  const rows: SideRow[] = rep.rows.map((row) => {
    const key = rowKey(row.where, row.field);
    return key ? { ...row, key } : { ...row };
  });
  return {
    scenario,
    selftest,
    kernel,
    real: sideMachine(real, releaseText(real.report)),
    sim: sideMachine(sim, releaseText(sim.report)),
    rows,
    counts: { match: rep.matches, nature: rep.nature, differs: rep.differs },
  };
}
