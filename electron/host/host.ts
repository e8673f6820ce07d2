/**
 * DOC: the engine host
 *
 * Owns one simulated Machine and its timeline of steps, and answers SimApi calls with small
 * views. The same class runs in Electron's host worker, in the browser preview's Worker and in
 * the CLI. Going back in time rebuilds the machine from its configuration and replays the steps
 * up to the target: the simulation is deterministic, so the replay lands on the same bytes.
 */
import { type Result, type SimApi, asApi, fail, ok, validateCall } from '../../shared/api';
import { type Command, type CommandInput, describeCommand } from '../../shared/commands';
import { MachineConfigSchema, type MachineConfig, type MachineConfigInput } from '../../shared/machine-config';
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
import type { AnnotatedStruct, LuoView, RecordRequest, UserspaceView } from '../../shared/views';
import { Machine } from '../kernel/machine';
import { kernelProfile } from '../kernel/profile';
import { type StepResult, applyCommand, refusal, stepFailed, stepFields } from './apply';
import { BUILTIN_SCENARIOS } from './builtins';
import { mapView, memorySummary, pageInfo } from './views';
import { chunkViews, fdtView, khoReport, khoView } from './kho-views';
import { jumpChain } from './jump-chain';
import { type VmcoreChunk, type VmcoreOptions, planVmcore, vmcoreBytes, vmcoreChunks } from './vmcore';
import { luoView, userspaceView } from './luo-views';
import { recordView } from './records';
import { runMemfdCompare } from './compare';
import { runMatrix } from './matrix';
import { MATRIX_DEFAULT_SCENARIO, type MatrixRequest, type MatrixResult } from '../../shared/matrix';
import type { MemfdCompare, MemfdCompareSpec, MemfdCompareSpecInput } from '../../shared/compare';

/** The UI's vmcore crosses IPC as one array: refuse beyond this. */
const MAX_UI_VMCORE_BYTES = 1024 ** 3;

const KHO_LAB_VERSION = '0.1.0';

export interface HostOptions {
  onProgress?: (p: Progress) => void;
}

/** validateCall() as a guard: the refusal to return, or null when the arguments fit. */
function refuse(method: Parameters<typeof validateCall>[0], args: unknown[]): Result<never> | null {
  const v = validateCall(method, args);
  return v.ok ? null : v;
}

export class Host implements SimApi {
  private config: MachineConfig = MachineConfigSchema.parse({});
  private machine: Machine;
  private scenarioName = 'interactive';
  private scenarioDescription = '';
  /** Every step ever applied on this timeline; the first `cursor` are in effect. */
  private commands: Command[] = [];
  private infos: StepInfo[] = [];
  private cursor = 0;
  private epoch = 0;

  constructor(private readonly opts: HostOptions = {}) {
    this.machine = this.freshMachine();
  }

  private freshMachine(): Machine {
    const m = new Machine(this.config);
    m.onProgress = (label, done, total) => this.opts.onProgress?.({ label, done, total });
    this.epoch++;
    return m;
  }

  private applyAt(index: number): StepInfo {
    const command = this.commands[index]!;
    this.machine.log.step = index + 1;
    this.machine.log.advance(0.001);
    let outcome: StepResult;
    try {
      outcome = applyCommand(this.machine, command);
    } catch (e) {
      // A bug in the simulator must not take the app down; it shows as a failed step.
      const message = `internal error in ${command.op}: ${e instanceof Error ? e.message : String(e)}`;
      this.machine.log.err('kho-lab', message);
      outcome = stepFailed({ message });
    }
    const info: StepInfo = { index: index + 1, label: describeCommand(command), command, ...stepFields(outcome) };
    this.infos[index] = info;
    return info;
  }

  /** Replays steps [from, to) on the current machine, reporting progress for long replays. */
  private replay(from: number, to: number): void {
    for (let i = from; i < to; i++) {
      if (to - from > 1) this.opts.onProgress?.({ label: `replaying step ${i + 1}`, done: i - from, total: to - from });
      this.applyAt(i);
    }
    this.cursor = to;
  }

  /** The panic of the kernel at the cursor, if it panicked: the step it panicked in, and why. */
  private panic(): PanicInfo | null {
    const reason = this.machine.kernel?.panicked ?? null;
    if (reason === null) return null;
    const at = this.infos.slice(0, this.cursor).findLastIndex((s) => s.panicked !== undefined);
    return { step: at >= 0 ? at + 1 : this.cursor, reason };
  }

  private sessionState(): SessionState {
    const m = this.machine;
    const panicked = this.panic();
    return {
      ...(panicked ? { panicked } : {}),
      config: this.config,
      booted: m.kernel !== null,
      kernelRelease: (m.kernel?.ctx.profile ?? kernelProfile(m.entry?.release ?? m.config.kernel)).release,
      steps: this.infos.slice(0, this.commands.length),
      cursor: this.cursor,
      maxPfn: m.layout.maxPfn,
      nodes: m.layout.nodes,
      e820: m.layout.e820,
      summary: memorySummary(m),
      lastEventSeq: m.log.lastSeq,
      epoch: this.epoch,
    };
  }

  /** Starts a new timeline for `config` with `steps` and runs them all. */
  private start(config: MachineConfig, steps: Command[], name: string, description: string): SessionState {
    this.config = config;
    this.scenarioName = name;
    this.scenarioDescription = description;
    this.commands = steps;
    this.infos = [];
    this.cursor = 0;
    this.machine = this.freshMachine();
    this.replay(0, steps.length);
    return this.sessionState();
  }

  async newMachine(config: MachineConfigInput): Promise<Result<SessionState>> {
    const parsed = MachineConfigSchema.safeParse(config);
    if (!parsed.success) return fail('invalid-argument', describeIssues('machine', parsed.error));
    return ok(this.start(parsed.data, [], 'interactive', ''));
  }

  async run(command: CommandInput): Promise<Result<StepOutcome>> {
    const v = validateCall('run', [command]);
    if (!v.ok) return v;
    const cmd = v.value.args[0] as Command; // parsed: defaults applied
    // A step the machine cannot take (after a panic, or a bad poke) never reaches the timeline.
    const refused = refusal(this.machine, cmd);
    if (refused) return fail('invalid-argument', refused.message);
    this.commands.length = this.cursor;
    this.infos.length = this.cursor;
    this.commands.push(cmd);
    const firstSeq = this.machine.log.lastSeq;
    const step = this.applyAt(this.cursor);
    this.cursor++;
    return ok({ step, state: this.sessionState(), events: this.machine.log.since(firstSeq, 100_000) });
  }

  async goto(cursor: number): Promise<Result<SessionState>> {
    if (!Number.isInteger(cursor) || cursor < 0 || cursor > this.commands.length) {
      return fail('invalid-argument', `goto: step ${cursor} is outside the timeline (0..${this.commands.length})`);
    }
    if (cursor < this.cursor) {
      this.machine = this.freshMachine();
      this.replay(0, cursor);
    } else this.replay(this.cursor, cursor);
    return ok(this.sessionState());
  }

  async state(): Promise<Result<SessionState>> {
    return ok(this.sessionState());
  }

  async mapView(request: MapViewRequest): Promise<Result<MapView>> {
    const bad = refuse('mapView', [request]);
    if (bad) return bad;
    return ok(mapView(this.machine, request));
  }

  async page(pfn: number): Promise<Result<PageInfo>> {
    const bad = refuse('page', [pfn]);
    if (bad) return bad;
    return asApi(pageInfo(this.machine, pfn));
  }

  async events(afterSeq: number, limit: number): Promise<Result<TraceEvent[]>> {
    const bad = refuse('events', [afterSeq, limit]);
    if (bad) return bad;
    return ok(this.machine.log.since(afterSeq, limit));
  }

  async loadScenario(text: string, source: string): Promise<Result<SessionState>> {
    const parsed = parseScenario(text, source);
    if (!parsed.ok) return asApi(parsed);
    const s = parsed.value;
    return ok(this.start(s.machine, s.steps, s.name, s.description));
  }

  async loadBuiltin(name: string): Promise<Result<SessionState>> {
    const s = builtinScenario(name);
    if (!s.ok) return s;
    return ok(this.start(s.value.machine, s.value.steps, s.value.name, s.value.description));
  }

  async scenario(): Promise<Result<Scenario>> {
    return ok({
      name: this.scenarioName,
      description: this.scenarioDescription,
      machine: this.config,
      steps: this.commands.slice(0, this.cursor),
    });
  }

  async report(): Promise<Result<Report>> {
    const steps = this.infos.slice(0, this.cursor);
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
    const end = this.machine.layout.maxPfn * 4096;
    if (phys + length > end)
      return fail('invalid-argument', `readPhys: [${phys}, ${phys + length}) is beyond the end of RAM (${end})`);
    return ok(this.machine.ram.read(phys, length));
  }

  async kho(): Promise<Result<KhoView>> {
    return ok({ ...khoView(this.machine), jumpChain: jumpChain(this.machine) });
  }

  async fdt(phys: number): Promise<Result<FdtView>> {
    const bad = refuse('fdt', [phys]);
    if (bad) return bad;
    return asApi(fdtView(this.machine, phys));
  }

  async vmcore(all: boolean): Promise<Result<Uint8Array>> {
    const bad = refuse('vmcore', [all]);
    if (bad) return bad;
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

  /** Steps on the timeline (applied or redo), for the CLI's --at. */
  get stepCount(): number {
    return this.commands.length;
  }

  async chunks(phys: number): Promise<Result<ChunkView[]>> {
    const bad = refuse('chunks', [phys]);
    if (bad) return bad;
    return ok(chunkViews(this.machine, phys));
  }

  async userspace(): Promise<Result<UserspaceView>> {
    return ok(userspaceView(this.machine));
  }

  async luo(): Promise<Result<LuoView | null>> {
    return ok(luoView(this.machine));
  }

  async records(request: RecordRequest): Promise<Result<AnnotatedStruct>> {
    const v = validateCall('records', [request]);
    if (!v.ok) return v;
    return asApi(recordView(this.machine, v.value.args[0] as RecordRequest));
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
        steps: this.commands,
      };
    } else {
      const s = builtinScenario(req.builtin ?? MATRIX_DEFAULT_SCENARIO);
      if (!s.ok) return s;
      scenario = s.value;
    }
    return asApi(runMatrix(scenario, (label, done, total) => this.opts.onProgress?.({ label, done, total })));
  }
}

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

/** A scenario with overrides, for the CLI's --ram and --seed. */
export function withMachine(s: Scenario, overrides: Partial<MachineConfigInput>): Result<Scenario> {
  const parsed = MachineConfigSchema.safeParse({ ...s.machine, ...overrides });
  if (!parsed.success) return fail('invalid-argument', describeIssues('machine', parsed.error));
  return ok({ ...s, machine: parsed.data });
}
