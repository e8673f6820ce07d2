/**
 * DOC: the engine host
 *
 * Owns one simulated Machine and its timeline of steps, and answers SimApi calls with small
 * views. The same class runs in Electron's host worker, in the browser preview's Worker and in
 * the CLI. The steps form a tree of branches with checkpoints (timeline.ts): going back restores
 * the nearest checkpoint and replays the few steps after it, cancelably; an action taken while
 * stepped back starts a branch and keeps the old future.
 */
import { type DumpHandle, type Result, type SimApi, asApi, fail, ok, validateCall } from '../../shared/api';
import { type Command, type CommandInput, describeCommand } from '../../shared/commands';
import {
  MachineConfigSchema,
  type MachineConfig,
  type MachineConfigInput,
  capacityProblem,
} from '../../shared/machine-config';
import { machineLayout } from '../kernel/layout';
import { type Scenario, ScenarioSchema, describeIssues, parseScenario } from '../../shared/scenario';
import type {
  BuiltinScenario,
  ChunkView,
  FdtView,
  KhoView,
  MapView,
  MapViewRequest,
  PageInfo,
  PanicInfo,
  Progress,
  Report,
  SessionState,
  StepInfo,
  StepOutcome,
  TraceEvent,
} from '../../shared/views';
import type { AnnotatedStruct, DumpView, LuoView, RecordRequest, UserspaceView } from '../../shared/views';
import { DumpSession } from './dump/dump-session';
import { type ScanHits, scanMemoryAsync } from './dump/find-handover';
import { openDump as openElfDump } from './dump/inspect';
import type { DumpSource } from './dump/source';
import type { Machine } from '../kernel/machine';
import { kernelProfile } from '../kernel/profile';
import { type StepResult, applyCommand, refusal, stepFailed, stepFields } from './apply';
import { BUILTIN_SCENARIOS } from './builtins';
import { mapView, memorySummary, pageInfo } from './views';
import { chunkViews, fdtView, khoReport, khoView } from './kho-views';
import { jumpChain } from './jump-chain';
import { type VmcoreChunk, type VmcoreOptions, planVmcore, vmcoreBytes, vmcoreChunks } from './vmcore';
import { luoView, userspaceView } from './luo-views';
import { recordView } from './records';
import { debugfsView } from './debugfs';
import type { DebugfsView } from '../../shared/debugfs-view';
import { runMemfdCompare } from './compare';
import { runMatrix } from './matrix';
import { MATRIX_DEFAULT_SCENARIO, type MatrixRequest, type MatrixResult } from '../../shared/matrix';
import type { MemfdCompare, MemfdCompareSpec, MemfdCompareSpecInput } from '../../shared/compare';
import { type MoveResult, Timeline, type TimelineOptions } from './timeline';
import type { GenerationDiff, PageBytesRequest, PageBytesView } from '../../shared/page-diff';
import { changedBytes, generationDiff, generationStep, pageBytes, releaseAt } from './page-diff';
import { type RecordIndex, recordIndex, recordsOnPage } from './page-records';
import { hex } from '../../shared/units';
import {
  REAL_MACHINE,
  type RealScenario,
  type Side,
  type SideBySideRequest,
  type SideBySideView,
  type SimulationChoice,
} from '../../shared/side-by-side';
import type { KernelRelease } from '../../shared/machine-config';
import { type SparseDump, sparseSource } from './dump/source';
import { releaseOfDump, scenarioOfSimDump, sideBySide, simulationChoice } from './dump/side-by-side';

/** The UI's vmcore crosses IPC as one array: refuse beyond this. */
const MAX_UI_VMCORE_BYTES = 1024 ** 3;

const KHO_LAB_VERSION = '0.1.0';

export interface HostOptions extends Omit<TimelineOptions, 'onProgress'> {
  onProgress?: (p: Progress) => void;
  /**
   * Opens a dump handle for reading: a path in Electron's host worker (electron/dump-file.ts), a
   * File in the browser preview. Without it openDump() answers 'unavailable'.
   */
  openDumpSource?: (handle: DumpHandle) => DumpSource & { close?: () => void };
  /**
   * The host's memory in bytes: a machine that needs more (capacityProblem()) is refused before
   * it is built. Absent in the browser preview, which cannot tell.
   */
  hostMemory?: number;
}

/** What a step or an export answers while a dump is open. */
const READ_ONLY =
  'a memory dump is open, read-only: it has no timeline and no kernel to run (File → New Machine… or a scenario leaves it)';

/** validateCall() as a guard: the refusal to return, or null when the arguments fit. */
function refuse(method: Parameters<typeof validateCall>[0], args: unknown[]): Result<never> | null {
  const v = validateCall(method, args);
  return v.ok ? null : v;
}

/** Applies one command as step `index`: the timeline's ApplyStep. */
function applyStep(machine: Machine, command: Command, index: number): StepInfo {
  machine.log.step = index;
  machine.log.advance(0.001);
  let outcome: StepResult;
  try {
    outcome = applyCommand(machine, command);
  } catch (e) {
    // A bug in the simulator must not take the app down; it shows as a failed step.
    const message = `internal error in ${command.op}: ${e instanceof Error ? e.message : String(e)}`;
    machine.log.err('kho-lab', message);
    outcome = stepFailed({ message });
  }
  return { index, label: describeCommand(command), command, ...stepFields(outcome) };
}

export class Host implements SimApi {
  private scenarioName = 'interactive';
  private scenarioDescription = '';
  private timeline: Timeline;
  /** The memory dump shown instead of the machine, if one is open. */
  private dumpSession: DumpSession | null = null;
  /** The records decoded at the cursor's state, for the page inspector's overlay (page-records.ts). */
  private records_: { timeline: Timeline; node: number; index: RecordIndex } | null = null;
  /** Set by cancel() while openDump() scans a dump; the scan stops at its next chunk. */
  private dumpCancel: boolean | null = null;
  /** The simulated side shown beside the open dump (compareWithSimulation / compareWithDump). */
  private side: { sim: DumpSession; view: SideBySideView } | null = null;
  /** The simulation running for compareWithSimulation(), which cancel() stops. */
  private simTimeline: Timeline | null = null;

  constructor(private readonly opts: HostOptions = {}) {
    this.timeline = this.newTimeline(MachineConfigSchema.parse({}), []);
  }

  private newTimeline(config: MachineConfig, steps: readonly Command[]): Timeline {
    const epoch = this.timeline?.epoch ?? 0;
    const t = new Timeline(config, steps, applyStep, this.opts);
    // Event numbering restarts with every new machine: the epoch keeps counting across timelines.
    t.epoch += epoch;
    return t;
  }

  private get machine(): Machine {
    return this.timeline.machine;
  }
  private get config(): MachineConfig {
    return this.timeline.config;
  }
  private get cursor(): number {
    return this.timeline.cursor.depth;
  }
  /** The steps in effect, oldest first. */
  private applied(): StepInfo[] {
    return this.timeline.steps().slice(0, this.cursor);
  }

  /** The panic of the kernel at the cursor, if it panicked: the step it panicked in, and why. */
  private panic(): PanicInfo | null {
    const reason = this.machine.kernel?.panicked ?? null;
    if (reason === null) return null;
    const at = this.applied().findLastIndex((s) => s.panicked !== undefined);
    return { step: at >= 0 ? at + 1 : this.cursor, reason };
  }

  /** A move's answer: the state, or a 'cancelled' error saying where the replay stopped. */
  private moved(how: string, r: MoveResult): Result<SessionState> {
    if (r === 'cancelled') return fail('cancelled', `${how}: cancelled; the timeline stopped at step ${this.cursor}`);
    return ok(this.sessionState());
  }

  private closeDump(): void {
    this.closeSide();
    this.dumpSession?.close();
    this.dumpSession = null;
  }

  private closeSide(): void {
    this.side?.sim.close();
    this.side = null;
  }

  private sessionState(): SessionState {
    if (this.dumpSession) return this.dumpSession.state(this.timeline.epoch);
    const m = this.machine;
    const panicked = this.panic();
    return {
      ...(panicked ? { panicked } : {}),
      config: this.config,
      booted: m.kernel !== null,
      kernelRelease: (
        m.kernel?.ctx.profile ??
        (m.entry ? kernelProfile(m.entry.release, m.entry.variant) : kernelProfile(m.config.kernel, m.config.variant))
      ).release,
      steps: this.timeline.steps(),
      cursor: this.cursor,
      maxPfn: m.layout.maxPfn,
      nodes: m.layout.nodes,
      e820: m.layout.e820,
      summary: memorySummary(m),
      lastEventSeq: m.log.lastSeq,
      epoch: this.timeline.epoch,
      branches: this.timeline.branches(),
    };
  }

  /** Starts a new timeline for `config` with `steps` and runs them all (cancelably). */
  private async start(
    config: MachineConfig,
    steps: Command[],
    name: string,
    description: string,
  ): Promise<Result<SessionState>> {
    const host = this.opts.hostMemory;
    const tooBig = host === undefined ? null : capacityProblem(config, machineLayout(config).maxPfn, host);
    if (tooBig) return fail('invalid-argument', tooBig);
    this.closeDump();
    this.scenarioName = name;
    this.scenarioDescription = description;
    this.timeline = this.newTimeline(config, steps);
    return this.moved(`loading ${name}`, await this.timeline.runAll());
  }

  async newMachine(config: MachineConfigInput): Promise<Result<SessionState>> {
    const parsed = MachineConfigSchema.safeParse(config);
    if (!parsed.success) return fail('invalid-argument', describeIssues('machine', parsed.error));
    return this.start(parsed.data, [], 'interactive', '');
  }

  async run(command: CommandInput): Promise<Result<StepOutcome>> {
    const v = validateCall('run', [command]);
    if (!v.ok) return v;
    if (this.dumpSession) return fail('invalid-argument', `run: ${READ_ONLY}`);
    const cmd = v.value.args[0] as Command; // parsed: defaults applied
    // A step the machine cannot take (after a panic, or a bad poke) never reaches the timeline.
    const refused = refusal(this.machine, cmd);
    if (refused) return fail('invalid-argument', refused.message);
    const firstSeq = this.machine.log.lastSeq;
    const step = this.timeline.run(cmd);
    return ok({ step, state: this.sessionState(), events: this.machine.log.since(firstSeq, 100_000) });
  }

  async goto(cursor: number): Promise<Result<SessionState>> {
    if (this.dumpSession) return fail('invalid-argument', `goto: ${READ_ONLY}`);
    const n = this.stepCount;
    if (!Number.isInteger(cursor) || cursor < 0 || cursor > n)
      return fail('invalid-argument', `goto: step ${cursor} is outside the timeline (0..${n})`);
    return this.moved(`goto ${cursor}`, await this.timeline.goto(cursor));
  }

  async switchBranch(id: number): Promise<Result<SessionState>> {
    const bad = refuse('switchBranch', [id]);
    if (bad) return bad;
    const move = this.timeline.switchTo(id);
    if (!move) return fail('invalid-argument', `switchBranch: no branch ${id} (see SessionState.branches)`);
    return this.moved('switchBranch', await move);
  }

  async cancel(): Promise<Result<boolean>> {
    const opening = this.dumpCancel === false;
    if (opening) this.dumpCancel = true;
    const simulating = this.simTimeline?.cancel() ?? false;
    return ok(this.timeline.cancel() || opening || simulating);
  }

  /** The timeline's checkpoints: how many and the host memory they hold (for the bench and tests). */
  checkpointStats(): { count: number; bytes: number; off: string | null } {
    const t = this.timeline;
    return { count: t.checkpoints().length, bytes: t.checkpointBytes(), off: t.checkpointsOff };
  }

  async state(): Promise<Result<SessionState>> {
    return ok(this.sessionState());
  }

  async mapView(request: MapViewRequest): Promise<Result<MapView>> {
    const bad = refuse('mapView', [request]);
    if (bad) return bad;
    if (this.dumpSession) return ok(this.dumpSession.mapView(request));
    return ok(mapView(this.machine, request));
  }

  async page(pfn: number): Promise<Result<PageInfo>> {
    const bad = refuse('page', [pfn]);
    if (bad) return bad;
    if (this.dumpSession) return asApi(this.dumpSession.page(pfn));
    return asApi(pageInfo(this.machine, pfn));
  }

  async events(afterSeq: number, limit: number): Promise<Result<TraceEvent[]>> {
    const bad = refuse('events', [afterSeq, limit]);
    if (bad) return bad;
    if (this.dumpSession) return ok([]);
    return ok(this.machine.log.since(afterSeq, limit));
  }

  async loadScenario(text: string, source: string): Promise<Result<SessionState>> {
    const parsed = parseScenario(text, source);
    if (!parsed.ok) return asApi(parsed);
    const s = parsed.value;
    return this.start(s.machine, s.steps, s.name, s.description);
  }

  /** Runs a scenario validated already (the CLI's, whose machine may pass the dialog's limit). */
  async loadParsed(s: Scenario): Promise<Result<SessionState>> {
    return this.start(s.machine, s.steps, s.name, s.description);
  }

  async loadBuiltin(name: string): Promise<Result<SessionState>> {
    const s = builtinScenario(name);
    if (!s.ok) return s;
    return this.start(s.value.machine, s.value.steps, s.value.name, s.value.description);
  }

  async scenario(): Promise<Result<Scenario>> {
    if (this.dumpSession) return fail('invalid-argument', `scenario: ${READ_ONLY}`);
    return ok({
      name: this.scenarioName,
      description: this.scenarioDescription,
      machine: this.config,
      steps: this.applied().map((s) => s.command),
    });
  }

  async report(): Promise<Result<Report>> {
    if (this.dumpSession) return fail('invalid-argument', `report: ${READ_ONLY}`);
    const steps = this.applied();
    const kho = khoReport(this.machine);
    const panicked = this.panic();
    return ok({
      tool: 'kho-lab',
      version: KHO_LAB_VERSION,
      scenario: this.scenarioName,
      config: this.config,
      ok: steps.every((s) => s.ok),
      steps,
      events: this.machine.log.events.slice(),
      summary: memorySummary(this.machine),
      ramHash: this.machine.fingerprint(),
      ...(kho ? { kho } : {}),
      ...(panicked ? { panicked } : {}),
    });
  }

  async builtins(): Promise<Result<BuiltinScenario[]>> {
    return ok(Object.entries(BUILTIN_SCENARIOS).map(([name, s]) => ({ name, description: s.description ?? '' })));
  }

  async readPhys(phys: number, length: number): Promise<Result<Uint8Array>> {
    const bad = refuse('readPhys', [phys, length]);
    if (bad) return bad;
    if (this.dumpSession) return asApi(this.dumpSession.readPhys(phys, length));
    const end = this.machine.layout.maxPfn * 4096;
    if (phys + length > end)
      return fail('invalid-argument', `readPhys: [${phys}, ${phys + length}) is beyond the end of RAM (${end})`);
    return ok(this.machine.ram.read(phys, length));
  }

  async kho(): Promise<Result<KhoView>> {
    if (this.dumpSession) return ok(this.dumpSession.kho());
    return ok({ ...khoView(this.machine), jumpChain: jumpChain(this.machine) });
  }

  async fdt(phys: number): Promise<Result<FdtView>> {
    const bad = refuse('fdt', [phys]);
    if (bad) return bad;
    if (this.dumpSession) return asApi(this.dumpSession.fdt(phys));
    return asApi(fdtView(this.machine, phys));
  }

  async vmcore(all: boolean): Promise<Result<Uint8Array>> {
    const bad = refuse('vmcore', [all]);
    if (bad) return bad;
    if (this.dumpSession) return fail('invalid-argument', `vmcore: ${READ_ONLY}`);
    const bytes = vmcoreBytes(this.machine, { all, maxBytes: MAX_UI_VMCORE_BYTES }, this.cursor);
    return bytes.ok ? bytes : fail('invalid-argument', `vmcore: ${bytes.error.message}`);
  }

  /**
   * The vmcore of the current state as a stream of chunks (for the CLI, which writes it to disk
   * without holding it whole): its size and the chunks, or why it is refused.
   */
  vmcoreStream(
    opts: VmcoreOptions = {},
  ): Result<{ size: number; pages: number; dumpLevel: number; chunks: Iterable<VmcoreChunk> }> {
    const planned = planVmcore(this.machine, opts, this.cursor);
    if (!planned.ok) return asApi(planned);
    const plan = planned.value;
    return ok({
      size: plan.size,
      pages: plan.pages,
      dumpLevel: plan.dumpLevel,
      chunks: vmcoreChunks(this.machine, plan),
    });
  }

  /** Steps on the current branch (applied or redo), for the CLI's --at. */
  get stepCount(): number {
    return this.timeline.tip.depth;
  }

  async chunks(phys: number): Promise<Result<ChunkView[]>> {
    const bad = refuse('chunks', [phys]);
    if (bad) return bad;
    if (this.dumpSession) return ok(this.dumpSession.chunks(phys));
    return ok(chunkViews(this.machine, phys));
  }

  async userspace(): Promise<Result<UserspaceView>> {
    if (this.dumpSession) return ok({ running: false, processes: [] });
    return ok(userspaceView(this.machine));
  }

  async luo(): Promise<Result<LuoView | null>> {
    if (this.dumpSession) return ok(null);
    return ok(luoView(this.machine));
  }

  async debugfs(): Promise<Result<DebugfsView>> {
    if (this.dumpSession)
      return ok({ present: false, release: null, dirs: [], files: [], note: 'A memory dump has no debugfs.' });
    return ok(debugfsView(this.machine));
  }

  async records(request: RecordRequest): Promise<Result<AnnotatedStruct>> {
    const v = validateCall('records', [request]);
    if (!v.ok) return v;
    const req = v.value.args[0] as RecordRequest;
    if (this.dumpSession) return asApi(this.dumpSession.record(req));
    return asApi(recordView(this.machine, req));
  }

  async openDump(handle: DumpHandle): Promise<Result<DumpView>> {
    const v = validateCall('openDump', [handle]);
    if (!v.ok) return v;
    const open = this.opts.openDumpSource;
    if (!open) return fail('unavailable', 'openDump: this host cannot read files (open the dump in the desktop app)');
    const name = handleName(handle);
    let session: DumpSession;
    let src: (DumpSource & { close?: () => void }) | undefined;
    try {
      src = open(handle);
      const hits = await this.scanDump(src, name);
      if (hits === 'cancelled') {
        src.close?.();
        return fail('cancelled', `opening ${name}: cancelled; the view is as it was`);
      }
      session = DumpSession.open(src, name, hits);
    } catch (e) {
      // A hostile or broken file: say what is wrong with it, keep whatever was shown before.
      src?.close?.();
      return fail('invalid-argument', `${name}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.dumpCancel = null;
    }
    this.closeDump();
    this.dumpSession = session;
    this.timeline.epoch++;
    return ok(session.view());
  }

  /**
   * Reads the whole dump once, looking for the handover (dump/find-handover.ts), with progress
   * and between chunks a turn of the event loop, so a multi-GiB dump shows how far it got and
   * cancel() stops it.
   */
  private scanDump(src: DumpSource, name: string): Promise<ScanHits | 'cancelled'> {
    this.dumpCancel = false;
    const { mem } = openElfDump(src);
    const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
    return scanMemoryAsync(mem, {
      onProgress: (done, total) =>
        this.opts.onProgress?.({
          label: `reading ${name}: ${mib(done)} of ${mib(total)}`,
          done,
          total,
          cancelable: true,
        }),
      yieldToEvents: this.opts.yieldToEvents ?? (() => Promise.resolve()),
      cancelled: () => this.dumpCancel === true,
    });
  }

  async dump(): Promise<Result<DumpView | null>> {
    return ok(this.dumpSession?.view() ?? null);
  }

  /** The record index of the machine at the cursor, built once per state. */
  private recordIndex(): RecordIndex {
    const t = this.timeline;
    const c = this.records_;
    if (c && c.timeline === t && c.node === t.cursor.id) return c.index;
    const index = recordIndex(this.machine);
    this.records_ = { timeline: t, node: t.cursor.id, index };
    return index;
  }

  async pageBytes(request: PageBytesRequest): Promise<Result<PageBytesView>> {
    const v = validateCall('pageBytes', [request]);
    if (!v.ok) return v;
    const { pfn, base } = v.value.args[0] as PageBytesRequest;
    const maxPfn = this.dumpSession ? this.dumpSession.maxPfn : this.machine.layout.maxPfn;
    if (pfn >= maxPfn)
      return fail('invalid-argument', `pageBytes: pfn ${hex(pfn)} is beyond the end of RAM (max_pfn ${hex(maxPfn)})`);
    if (this.dumpSession) {
      if (base !== undefined) return fail('invalid-argument', `pageBytes: ${READ_ONLY}`);
      const bytes = this.dumpSession.readPhys(pfn * 4096, 4096);
      if (!bytes.ok) return asApi(bytes);
      return ok({
        pfn,
        phys: pfn * 4096,
        step: 0,
        bytes: bytes.value,
        records: [],
        bases: { step: null, generation: null },
      });
    }
    const steps = this.applied();
    const cursor = this.cursor;
    const bases = { step: cursor > 0 ? cursor - 1 : null, generation: generationStep(steps, cursor) };
    const bytes = pageBytes(this.machine, pfn);
    const view: PageBytesView = {
      pfn,
      phys: pfn * 4096,
      step: cursor,
      bytes,
      records: recordsOnPage(this.recordIndex(), pfn),
      bases,
    };
    if (base === undefined) return ok(view);
    const at = base === 'step' ? bases.step : base === 'generation' ? bases.generation : base;
    if (at === null)
      return fail(
        'invalid-argument',
        base === 'step'
          ? 'pageBytes: at power-on there is no step before'
          : `pageBytes: no kexec -e at or before step ${cursor}: there is no earlier kernel`,
      );
    if (at > this.stepCount)
      return fail('invalid-argument', `pageBytes: step ${at} is outside the timeline (0..${this.stepCount})`);
    const then = pageBytes(this.timeline.machineAt(at), pfn);
    const label =
      at === 0
        ? 'power-on'
        : base === 'generation' && this.timeline.steps()[at - 1]?.command.op === 'reboot'
          ? `step ${at} (kexec -e): the RAM the previous kernel handed over`
          : `step ${at} (${this.timeline.steps()[at - 1]?.label ?? '?'})`;
    return ok({ ...view, base: { step: at, label, bytes: then, changed: changedBytes(bytes, then) } });
  }

  async generationDiff(): Promise<Result<GenerationDiff>> {
    if (this.dumpSession) return fail('invalid-argument', `generationDiff: ${READ_ONLY}`);
    const steps = this.applied();
    const cursor = this.cursor;
    const jump = steps.findLast((s) => s.command.op === 'reboot' && s.ok && s.index <= cursor);
    if (!jump) return fail('invalid-argument', `generationDiff: no kexec -e at or before step ${cursor}`);
    const before = this.timeline.machineAt(jump.index);
    const from = releaseAt(steps, jump.index, this.config.kernel);
    const r = generationDiff(before, this.machine, jump.index, cursor, steps, from, (pfn, pages) =>
      this.timeline.lastChange(jump.index, cursor, pfn, pages),
    );
    return r.ok ? r : fail('invalid-argument', `generationDiff: ${r.error.message}`);
  }

  async compareMemfd(spec: MemfdCompareSpecInput): Promise<Result<MemfdCompare>> {
    const v = validateCall('compareMemfd', [spec]);
    if (!v.ok) return v;
    return asApi(
      runMemfdCompare(v.value.args[0] as MemfdCompareSpec, (label, done, total) =>
        this.opts.onProgress?.({ label, done, total }),
      ),
    );
  }

  async simulationChoice(): Promise<Result<SimulationChoice>> {
    if (!this.dumpSession)
      return fail('invalid-argument', 'simulationChoice: open a memory dump first (File → Open Memory Dump…)');
    return ok(simulationChoice(this.dumpSession.report));
  }

  async compareWithSimulation(request: SideBySideRequest): Promise<Result<SideBySideView>> {
    const v = validateCall('compareWithSimulation', [request]);
    if (!v.ok) return v;
    const { scenario, kernel } = v.value.args[0] as SideBySideRequest;
    const real = this.dumpSession;
    if (!real)
      return fail('invalid-argument', 'compareWithSimulation: open a memory dump first (File → Open Memory Dump…)');
    const bytes = await this.simulateAtKexec(scenario, kernel);
    if (!bytes.ok) return bytes;
    if (this.dumpSession !== real) return fail('cancelled', 'compareWithSimulation: the dump was closed meanwhile');
    return this.showBeside(bytes.value, `builtin:${scenario} on ${kernel} (simulated)`, scenario, kernel);
  }

  async compareWithDump(handle: DumpHandle): Promise<Result<SideBySideView>> {
    const v = validateCall('compareWithDump', [handle]);
    if (!v.ok) return v;
    const open = this.opts.openDumpSource;
    if (!open) return fail('unavailable', 'compareWithDump: this host cannot read files');
    if (!this.dumpSession) return fail('invalid-argument', 'compareWithDump: open the real dump first');
    let src: (DumpSource & { close?: () => void }) | undefined;
    try {
      src = open(handle);
    } catch (e) {
      return fail('invalid-argument', `compareWithDump: ${e instanceof Error ? e.message : String(e)}`);
    }
    const name = handleName(handle);
    return this.showBeside(src, name, null, null);
  }

  /** Reads `src` as the simulated side and compares the open dump with it. */
  private showBeside(
    src: DumpSource & { close?: () => void },
    name: string,
    scenario: RealScenario | null,
    kernel: KernelRelease | null,
  ): Result<SideBySideView> {
    const real = this.dumpSession!;
    let sim: DumpSession;
    try {
      sim = DumpSession.open(src, name);
    } catch (e) {
      src.close?.();
      return fail('invalid-argument', `${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const sc = scenario ?? scenarioOfSimDump(sim.report);
    const view = sideBySide(real, sim, sc, kernel ?? releaseOfDump(sim.report).release ?? sim.report.format.releases);
    this.closeSide();
    this.side = { sim, view };
    return ok(view);
  }

  async sideBySide(): Promise<Result<SideBySideView | null>> {
    return ok(this.side?.view ?? null);
  }

  async sideMapView(side: Side, request: MapViewRequest): Promise<Result<MapView>> {
    const bad = refuse('sideMapView', [side, request]);
    if (bad) return bad;
    const s = side === 'real' ? this.dumpSession : this.side?.sim;
    if (!s) return fail('invalid-argument', `sideMapView: no ${side === 'real' ? 'dump' : 'simulated side'} is open`);
    return ok(s.mapView(request));
  }

  /**
   * The vmcore of built-in `scenario` on the machine of the real kernel's runs (REAL_MACHINE, in
   * release `kernel`) just after its `kexec -e`: the state a dump at machine_kexec() shows, every
   * RAM page of it (dump level 0). Runs on a timeline of its own (the session's is untouched), with
   * progress, cancelably.
   */
  async simulateAtKexec(scenario: string, kernel: KernelRelease): Promise<Result<SparseDump>> {
    const base = builtinScenario(scenario);
    if (!base.ok) return base;
    const sized = withMachine(base.value, { ...REAL_MACHINE, kernel });
    if (!sized.ok) return sized;
    const reboot = sized.value.steps.findIndex((c) => c.op === 'reboot');
    if (reboot < 0) return fail('invalid-argument', `${scenario} has no kexec -e`);
    const onProgress = this.opts.onProgress;
    const t = new Timeline(sized.value.machine, sized.value.steps.slice(0, reboot + 1), applyStep, {
      ...this.opts,
      onProgress: (p) =>
        onProgress?.({ ...p, label: `simulating ${scenario} on ${kernel}: ${p.label}`, cancelable: true }),
    });
    this.simTimeline = t;
    let moved: MoveResult;
    try {
      moved = await t.runAll();
    } finally {
      this.simTimeline = null;
    }
    if (moved === 'cancelled') return fail('cancelled', `simulating ${scenario}: cancelled`);
    const jump = t.steps()[reboot];
    if (!jump?.ok) return fail('invalid-argument', `${scenario} on ${kernel}: kexec -e failed (${jump?.label ?? '?'})`);
    // Every RAM page, as QEMU's dump-guest-memory writes the real side: free RAM is in the dump on
    // both sides. Zero pages are holes, so only what the pages hold costs memory.
    const plan = planVmcore(t.machine, { all: true }, t.cursor.depth);
    if (!plan.ok) return fail('invalid-argument', `${scenario}: ${plan.error.message}`);
    try {
      return ok(sparseSource(vmcoreChunks(t.machine, plan.value), MAX_UI_VMCORE_BYTES));
    } catch (e) {
      return fail('invalid-argument', `${scenario}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async matrix(request: MatrixRequest): Promise<Result<MatrixResult>> {
    const v = validateCall('matrix', [request]);
    if (!v.ok) return v;
    const req = v.value.args[0] as MatrixRequest;
    let scenario: Scenario;
    if (req.current) {
      scenario = {
        name: this.scenarioName,
        description: this.scenarioDescription,
        machine: this.config,
        steps: this.timeline.steps().map((s) => s.command),
      };
    } else {
      const s = builtinScenario(req.builtin ?? MATRIX_DEFAULT_SCENARIO);
      if (!s.ok) return s;
      scenario = s.value;
    }
    return asApi(runMatrix(scenario, (label, done, total) => this.opts.onProgress?.({ label, done, total })));
  }
}

/** A dump handle's name for messages: the file's name without its directory. */
const handleName = (handle: DumpHandle): string =>
  typeof handle === 'string' ? (handle.split(/[\\/]/).pop() ?? handle) : (handle.name ?? 'dump');

/** A built-in scenario by name, validated like a file. */
export function builtinScenario(name: string): Result<Scenario> {
  const raw = BUILTIN_SCENARIOS[name];
  if (!raw)
    return fail(
      'invalid-argument',
      `unknown built-in scenario "${name}"; known: ${Object.keys(BUILTIN_SCENARIOS).join(', ')}`,
    );
  const parsed = ScenarioSchema.safeParse(raw);
  if (!parsed.success) return fail('internal', describeIssues(`builtin:${name}`, parsed.error));
  return ok(parsed.data);
}

/** A scenario with overrides, for the CLI's --ram and --seed (`schema`: the CLI's allows more RAM). */
export function withMachine(
  s: Scenario,
  overrides: Partial<MachineConfigInput>,
  schema = MachineConfigSchema,
): Result<Scenario> {
  const parsed = schema.safeParse({ ...s.machine, ...overrides });
  if (!parsed.success) return fail('invalid-argument', describeIssues('machine', parsed.error));
  return ok({ ...s, machine: parsed.data });
}
