/**
 * DOC: a real machine beside a simulated one
 *
 * The contract of the side-by-side view: a real kernel's handover (a memory dump taken at
 * machine_kexec()) beside KHO Lab's simulation of the built-in scenario that real selftest stands
 * for, run to the same point. Both are read by the same dump reader, so each side is a list of
 * structures (the root FDT, the sub-blobs, the tracker, LUO's blocks, sessions, memfd records and
 * folios) at their pages, keyed so that a structure on one side finds its counterpart on the
 * other; and the fidelity report (electron/host/fidelity.ts) row by row, each row naming the
 * structure it is about.
 */
import { z } from 'zod';
import { KERNEL_RELEASES, type KernelRelease } from './machine-config';

/**
 * The built-in scenarios the real kernel's selftest initramfs can run, with its rktest= name:
 * lib/test_kho.c, tools/testing/selftests/liveupdate/luo_kexec_simple.c and luo_multi_session.c.
 */
export const REAL_SELFTESTS = {
  'test-kho': 'kho',
  'luo-kexec-simple': 'luo_simple',
  'luo-multi-session': 'luo_multi',
} as const;
export type RealScenario = keyof typeof REAL_SELFTESTS;
export const REAL_SCENARIOS = Object.keys(REAL_SELFTESTS) as RealScenario[];

/** QEMU's machine in realkernel/'s runs: what the simulation runs on to stand beside a real dump. */
export const REAL_MACHINE = { ram: '1G', cmdline: 'kho=on liveupdate=on' } as const;

export const SideBySideRequestSchema = z
  .object({
    scenario: z.enum(REAL_SCENARIOS as [RealScenario, ...RealScenario[]], {
      error: (i) =>
        `scenario ${JSON.stringify(i.input)} has no counterpart in the real kernel's selftests; use one of ${REAL_SCENARIOS.join(', ')}`,
    }),
    kernel: z.enum(KERNEL_RELEASES, {
      error: (i) => `unknown kernel release ${JSON.stringify(i.input)}; the releases are ${KERNEL_RELEASES.join(', ')}`,
    }),
  })
  .strict();
export interface SideBySideRequest {
  scenario: RealScenario;
  kernel: KernelRelease;
}

/** What "Compare with simulation…" offers for the open dump. */
export interface SimulationChoice {
  scenarios: Array<{
    name: RealScenario;
    selftest: string;
    /** The dump's handover carries what this selftest leaves in it (fidelity.ts SELFTEST_MARKS). */
    carried: boolean;
    /** What the handover holds of it, or what is missing. */
    why: string;
  }>;
  /** The first scenario the handover carries, if any. */
  preselect: RealScenario | null;
  /** The release the dump's kexec-metadata names, when KHO Lab models it. */
  release: KernelRelease | null;
  /** Where `release` comes from, or why there is none. */
  releaseWhy: string;
}

export type Side = 'real' | 'sim';
export const SideSchema = z.enum(['real', 'sim']);

export type StructureKind = 'fdt' | 'blob' | 'tracker' | 'scratch' | 'luo' | 'session' | 'memfd' | 'folio' | 'block';

/** One structure of a handover and the pages it lies on. */
export interface SideStructure {
  /** The same on both sides for counterparts: "root-fdt", "sub:LUO", "session:test-session", "folio:…". */
  key: string;
  label: string;
  kind: StructureKind;
  /** [first pfn, pages], in address order. */
  ranges: Array<[number, number]>;
}

export interface SideMachine {
  /** The dump's file name, or the simulated scenario's. */
  name: string;
  release: string;
  maxPfn: number;
  /**
   * Where the map of this side may end: past its largest memory segment and every structure. A
   * QEMU dump's last PT_LOAD is the BIOS ROM below 4 GiB, which would leave a 1 GiB machine's RAM
   * in the first quarter of its map.
   */
  extentPfn: number;
  /** RAM the dump holds (its segments less x86's firmware windows; see DumpInfo.ramBytes). */
  ramBytes: number;
  structures: SideStructure[];
}

export type FidelityVerdict = 'match' | 'nature' | 'differs';

/** One field of the fidelity report (electron/host/fidelity.ts compareHandovers()). */
export interface FidelityRow {
  /** Where in the handover: "root", "sub-node LUO", "LUO session test-session", … */
  where: string;
  field: string;
  real: string;
  sim: string;
  verdict: FidelityVerdict;
  /** Why a `nature` difference is expected, or what a `differs` row comes from. */
  why?: string;
}

export interface SideRow extends FidelityRow {
  /** The structure the row is about (SideStructure.key), if it has pages. */
  key?: string;
}

export interface SideBySideView {
  /** The built-in scenario simulated, or null when the simulated side is a dump file. */
  scenario: RealScenario | null;
  /** The selftest the comparison is scoped to (what it left in the real handover), if any. */
  selftest: string | null;
  kernel: string;
  real: SideMachine;
  sim: SideMachine;
  rows: SideRow[];
  counts: { match: number; nature: number; differs: number };
}
