/**
 * SimApi: the whole contract between the UI and the engine host. The Electron preload exposes an
 * object implementing it, the browser preview implements it over a Worker, and the CLI calls the
 * host directly. Every call answers a Result (shared/result.ts): errors travel as data, never as
 * exceptions.
 */
import { z } from 'zod';
import { type Failure, type Result as AnyResult, ok } from './result';
import { CommandSchema, type CommandInput } from './commands';
import { type MemfdCompare, MemfdCompareSpecSchema, type MemfdCompareSpecInput } from './compare';
import { MachineConfigSchema, type MachineConfigInput } from './machine-config';
import { type MatrixRequest, MatrixRequestSchema, type MatrixResult } from './matrix';
import type { Scenario } from './scenario';
import { type GenerationDiff, type PageBytesRequest, PageBytesRequestSchema, type PageBytesView } from './page-diff';
import type {
  BuiltinScenario,
  ChunkView,
  FdtView,
  KhoView,
  MapView,
  MapViewRequest,
  PageInfo,
  Progress,
  Report,
  SessionState,
  StepOutcome,
  TraceEvent,
} from './views';
import { type AnnotatedStruct, type LuoView, RECORD_KINDS, type RecordRequest, type UserspaceView } from './views';
import type { DumpView } from './views';
import type { DebugfsView } from './debugfs-view';
import {
  type Side,
  type SideBySideRequest,
  SideBySideRequestSchema,
  type SideBySideView,
  SideSchema,
  type SimulationChoice,
} from './side-by-side';

/**
 * A memory dump to open: a file path (only main names one, from its open dialog; ipc.ts refuses
 * openDump from the renderer) or, in the browser preview, a File the user picked (read in slices).
 */
export type DumpHandle = string | BlobLike;
/** The part of a DOM Blob the preview host reads through (shared/ compiles without the DOM). */
export interface BlobLike {
  readonly size: number;
  readonly name?: string;
  slice(start: number, end: number): unknown;
}
const isBlobLike = (v: unknown): v is BlobLike =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as BlobLike).size === 'number' &&
  typeof (v as BlobLike).slice === 'function';

/** A Failure that also says whose it is. */
export interface ApiError extends Failure {
  /** 'invalid-argument' for input the host refused, 'errno' for a kernel error, 'internal' for a bug. */
  code: 'invalid-argument' | 'errno' | 'internal' | 'unavailable' | 'cancelled';
}

/** What every API call answers: shared/result.ts's Result with an ApiError. */
export type Result<T> = AnyResult<T, ApiError>;

export { ok };
export const fail = (code: ApiError['code'], message: string): Result<never> => ({
  ok: false,
  error: { code, message },
});
/** A host-side Result turned into the API's: a failure is the caller's (`code`, invalid-argument by default). */
export const asApi = <T>(r: AnyResult<T>, code: ApiError['code'] = 'invalid-argument'): Result<T> =>
  r.ok ? r : { ok: false, error: { ...r.error, code } };

export interface SimApi {
  /** Replaces the machine with a new, powered-off one; history starts again. */
  newMachine(config: MachineConfigInput): Promise<Result<SessionState>>;
  /**
   * Applies a command as the next step. With redo history after the cursor, that history is kept
   * as a branch of its own (SessionState.branches) and the new step starts a new branch.
   */
  run(command: CommandInput): Promise<Result<StepOutcome>>;
  /**
   * Moves the timeline to just after step `cursor` (0 = before the first step). A replay can be
   * stopped with cancel(): the answer is then a 'cancelled' error and the cursor is where it stopped.
   */
  goto(cursor: number): Promise<Result<SessionState>>;
  /** Makes another branch (SessionState.branches[].id) current, the cursor where it was left; cancelable. */
  switchBranch(id: number): Promise<Result<SessionState>>;
  /**
   * Stops the replay in progress (goto, switchBranch, loading a scenario) at the next step; served
   * at once, not after the call it stops. Answers whether a replay was running.
   */
  cancel(): Promise<Result<boolean>>;
  state(): Promise<Result<SessionState>>;
  mapView(request: MapViewRequest): Promise<Result<MapView>>;
  page(pfn: number): Promise<Result<PageInfo>>;
  /** Events with seq > afterSeq, at most `limit` of them. */
  events(afterSeq: number, limit: number): Promise<Result<TraceEvent[]>>;
  /** Loads a scenario (JSON text) and runs all its steps; `source` names it in errors. */
  loadScenario(text: string, source: string): Promise<Result<SessionState>>;
  /** Loads and runs a built-in scenario by name (without the "builtin:" prefix). */
  loadBuiltin(name: string): Promise<Result<SessionState>>;
  /** The current machine and the steps up to the cursor, as a scenario that replays them. */
  scenario(): Promise<Result<Scenario>>;
  report(): Promise<Result<Report>>;
  builtins(): Promise<Result<BuiltinScenario[]>>;
  /** Reads physical memory (at most 64 KiB), as the next kernel or a debugger would see it. */
  readPhys(phys: number, length: number): Promise<Result<Uint8Array>>;
  /** KHO's state: scratch, outgoing and incoming handover, the loaded kexec image. */
  kho(): Promise<Result<KhoView>>;
  /** The devicetree blob at a physical address, decoded from RAM (a KHO root or sub-FDT). */
  fdt(phys: number): Promise<Result<FdtView>>;
  /** The kho-v1 chunk list starting at a physical address, decoded from RAM. */
  chunks(phys: number): Promise<Result<ChunkView[]>>;
  /**
   * RAM at the current step as an ELF vmcore (/proc/vmcore's layout, a VMCOREINFO note with KHO's
   * handoff): the pages in use, or every RAM page with `all`. Refused beyond 1 GiB.
   */
  vmcore(all: boolean): Promise<Result<Uint8Array>>;
  /** The running kernel's processes and their fds (memfds, /dev/liveupdate, LUO sessions). */
  userspace(): Promise<Result<UserspaceView>>;
  /** LUO of the running kernel: sessions, files, handlers, record addresses; null when LUO is off. */
  luo(): Promise<Result<LuoView | null>>;
  /** /sys/kernel/debug/kho of the running kernel: each file with what a read() returns. */
  debugfs(): Promise<Result<DebugfsView>>;
  /** A record (LUO session block, luo_file_ser array…) decoded field by field from RAM. */
  records(request: RecordRequest): Promise<Result<AnnotatedStruct>>;
  /**
   * Preserves the memfds a spec describes in each memfd format on a machine of its own (the
   * session's machine is untouched) and reports what each cost, where it lies and what it hit.
   */
  compareMemfd(spec: MemfdCompareSpecInput): Promise<Result<MemfdCompare>>;
  /**
   * Runs a scenario (a built-in, by default the VMM memfd, or the session's own) from every kernel
   * release into every release, each run on a machine of its own (the session is untouched), and
   * says per pair what crossed, or why it was refused or panicked.
   */
  matrix(request: MatrixRequest): Promise<Result<MatrixResult>>;
  /**
   * Opens a memory dump (an ELF core) as a read-only machine in place of the simulated one: the
   * map, pages and records then come from the dump, and steps are refused until newMachine() or
   * a scenario replaces it. A dump that is not an ELF core, is cut short or holds no handover is
   * refused with a message saying which.
   */
  openDump(handle: DumpHandle): Promise<Result<DumpView>>;
  /** The open dump's handover, or null when a simulated machine is shown. */
  dump(): Promise<Result<DumpView | null>>;
  /**
   * One page's 4096 bytes at the cursor, the records decoded on it, and with `base` the same page
   * at an earlier state (the step before, the RAM of the last kexec -e, or a step by index).
   */
  pageBytes(request: PageBytesRequest): Promise<Result<PageBytesView>>;
  /** Every block the last kexec handed over beside what the kernel at the cursor made of it. */
  generationDiff(): Promise<Result<GenerationDiff>>;
  /** With a dump open: the built-in scenarios it can be compared with, the one it suggests and its release. */
  simulationChoice(): Promise<Result<SimulationChoice>>;
  /**
   * Runs a built-in scenario on QEMU's machine of the real runs (1 GiB, `kho=on liveupdate=on`) to
   * its kexec -e, on a timeline of its own (cancelable, with progress), reads its memory with the
   * dump reader and shows it beside the open dump: both machines' structures and the fidelity report.
   */
  compareWithSimulation(request: SideBySideRequest): Promise<Result<SideBySideView>>;
  /** As compareWithSimulation, with a KHO Lab vmcore file as the simulated side (a path only main names). */
  compareWithDump(handle: DumpHandle): Promise<Result<SideBySideView>>;
  /** The comparison shown beside the open dump, if any. */
  sideBySide(): Promise<Result<SideBySideView | null>>;
  /** The map of one side of the comparison: 'real' is the open dump, 'sim' the simulated side. */
  sideMapView(side: Side, request: MapViewRequest): Promise<Result<MapView>>;
}

export type SimMethod = keyof SimApi;

const DumpHandleSchema = z.union([
  z.string().min(1).max(4096),
  z.custom<BlobLike>(isBlobLike, 'a file path or a File'),
]);

const Pfn = z
  .number()
  .int()
  .min(0)
  .max(2 ** 40);

const MapViewRequestSchema = z
  .object({
    firstPfn: Pfn,
    pagesPerCell: z
      .number()
      .int()
      .min(1)
      .max(2 ** 30),
    cells: z.number().int().min(1).max(4_194_304),
  })
  .strict();

/** Argument schemas, one tuple per method: main validates with these before the host sees a call. */
const SIM_ARGS = {
  newMachine: z.tuple([MachineConfigSchema]),
  run: z.tuple([CommandSchema]),
  goto: z.tuple([z.number().int().min(0).max(1_000_000)]),
  switchBranch: z.tuple([
    z
      .number()
      .int()
      .min(0)
      .max(2 ** 31),
  ]),
  cancel: z.tuple([]),
  state: z.tuple([]),
  mapView: z.tuple([MapViewRequestSchema]),
  page: z.tuple([Pfn]),
  events: z.tuple([z.number().int().min(0), z.number().int().min(1).max(100_000)]),
  loadScenario: z.tuple([z.string().max(64 * 1024 * 1024), z.string().min(1).max(4096)]),
  loadBuiltin: z.tuple([z.string().min(1).max(128)]),
  scenario: z.tuple([]),
  report: z.tuple([]),
  builtins: z.tuple([]),
  readPhys: z.tuple([
    z
      .number()
      .int()
      .min(0)
      .max(2 ** 52),
    z.number().int().min(0).max(65536),
  ]),
  kho: z.tuple([]),
  fdt: z.tuple([
    z
      .number()
      .int()
      .min(0)
      .max(2 ** 52),
  ]),
  chunks: z.tuple([
    z
      .number()
      .int()
      .min(0)
      .max(2 ** 52),
  ]),
  vmcore: z.tuple([z.boolean()]),
  userspace: z.tuple([]),
  luo: z.tuple([]),
  debugfs: z.tuple([]),
  records: z.tuple([
    z
      .object({
        kind: z.enum(RECORD_KINDS),
        phys: z
          .number()
          .int()
          .min(0)
          .max(2 ** 52),
        count: z
          .number()
          .int()
          .min(0)
          .max(1 << 20)
          .optional(),
        level: z.number().int().min(0).max(5).optional(),
        keyStart: z
          .number()
          .int()
          .min(0)
          .max(2 ** 53)
          .optional(),
        pathKey: z
          .number()
          .int()
          .min(1)
          .max(2 ** 53)
          .optional(),
        readAtBoot: z.boolean().optional(),
      })
      .strict(),
  ]),
  compareMemfd: z.tuple([MemfdCompareSpecSchema]),
  matrix: z.tuple([MatrixRequestSchema]),
  openDump: z.tuple([DumpHandleSchema]),
  dump: z.tuple([]),
  pageBytes: z.tuple([PageBytesRequestSchema]),
  generationDiff: z.tuple([]),
  simulationChoice: z.tuple([]),
  compareWithSimulation: z.tuple([SideBySideRequestSchema]),
  compareWithDump: z.tuple([DumpHandleSchema]),
  sideBySide: z.tuple([]),
  sideMapView: z.tuple([SideSchema, MapViewRequestSchema]),
} as const satisfies Record<SimMethod, z.ZodTuple>;

export const SIM_METHODS = Object.keys(SIM_ARGS) as SimMethod[];

/** Methods a host serves at once, ahead of the call running (which they act on). */
export const IMMEDIATE_METHODS: readonly SimMethod[] = ['cancel'];

export type ValidatedCall = { method: SimMethod; args: unknown[] };

/**
 * Checks that `method` is a SimApi method and `args` fit its schema; returns the parsed
 * (defaults-applied) arguments, or an invalid-argument failure naming what was wrong.
 */
export function validateCall(method: unknown, args: unknown): Result<ValidatedCall> {
  if (typeof method !== 'string' || !Object.hasOwn(SIM_ARGS, method)) {
    return fail('invalid-argument', `unknown API method ${JSON.stringify(method)}`);
  }
  const schema = SIM_ARGS[method as SimMethod];
  const r = schema.safeParse(args);
  if (!r.success) {
    const detail = r.error.issues
      .map((i) => `${i.path.length ? 'argument ' + i.path.map(String).join('.') : 'arguments'}: ${i.message}`)
      .join('; ');
    return fail('invalid-argument', `${method}: ${detail}`);
  }
  return ok({ method: method as SimMethod, args: r.data as unknown[] });
}

/** What the UI holds: the API plus a progress stream for long steps. */
export interface SimClient extends SimApi {
  onProgress(listener: (p: Progress) => void): () => void;
}
