/**
 * DOC: session model
 *
 * The UI's view of the engine session: the current SessionState, the dmesg log, the workload
 * transcript, the selected page, the error banner and the progress of a long step. Every API call
 * goes through `#call`, so a rejected promise or an ok:false Result becomes a banner message and
 * never an unhandled rejection. Large arrays (events) are replaced, not mutated, under $state.raw.
 */
import type { ApiError, Result, SimClient } from '../../../shared/api';
import type { CommandInput } from '../../../shared/commands';
import type { MemfdCompare, MemfdCompareSpecInput } from '../../../shared/compare';
import type { MachineConfigInput } from '../../../shared/machine-config';
import type { MatrixRequest, MatrixResult } from '../../../shared/matrix';
import type { Scenario } from '../../../shared/scenario';
import type {
  BuiltinScenario,
  KhoView,
  PageInfo,
  PanicInfo,
  Progress,
  SessionState,
  StepInfo,
  StepOutcome,
  TraceEvent,
} from '../../../shared/views';
import type { PokeInput } from '../../../shared/poke';
import type { DumpView, LuoView, UserspaceView } from '../../../shared/views';
import { apiErrorLine, stepDetail, stepResultLine } from './format';

/** The log keeps the newest lines only; older ones stay in the host and the report. */
const MAX_LOG_LINES = 20_000;
const EVENT_BATCH = 10_000;

export interface BannerMessage {
  id: number;
  text: string;
}

export interface TranscriptEntry {
  id: number;
  /** The command as typed, e.g. `memfd_create vmm "vm-ram" 64MiB`. */
  step: StepInfo | null;
  command: CommandInput;
  ok: boolean;
  /** What the shell printed: the kernel's message or `memfd_create: ENOMEM`. */
  result: string;
  /** The host's longer explanation of a refusal, when it has one. */
  detail: string | null;
}

let nextId = 1;

export class Session {
  state = $state.raw<SessionState | null>(null);
  events = $state.raw<TraceEvent[]>([]);
  transcript = $state.raw<TranscriptEntry[]>([]);
  banner = $state.raw<BannerMessage[]>([]);
  progress = $state.raw<Progress | null>(null);
  /** Label of the call in progress, or null when idle. */
  busy = $state<string | null>(null);
  selectedPfn = $state<number | null>(null);
  page = $state.raw<PageInfo | null>(null);
  /** Bumped whenever RAM may have changed: the map re-fetches its viewport. */
  revision = $state(0);
  /** KHO as the kernel at the cursor sees it; null before the first answer or when the call failed. */
  kho = $state.raw<KhoView | null>(null);
  /** LUO as the kernel at the cursor holds it; null when LUO is off, no kernel runs or the call failed. */
  luo = $state.raw<LuoView | null>(null);
  /** The processes and fds of the kernel at the cursor; null before the first answer or when the call failed. */
  userspace = $state.raw<UserspaceView | null>(null);
  /** The built-in scenarios, once the Scenarios menu asked for them. */
  builtins = $state.raw<BuiltinScenario[] | null>(null);
  /** Name of the scenario loaded last (built-in), for the top bar. */
  scenarioName = $state<string | null>(null);
  /** The memory dump shown instead of a machine (state.dump is set), with what its handover says. */
  dump = $state.raw<DumpView | null>(null);

  #lastSeq = 0;
  #epoch = -1;
  #pageSerial = 0;
  #khoSerial = 0;
  #luoSerial = 0;

  constructor(readonly client: SimClient) {
    client.onProgress((p) => {
      this.progress = p;
    });
  }

  get cursor(): number {
    return this.state?.cursor ?? 0;
  }
  get stepCount(): number {
    return this.state?.steps.length ?? 0;
  }

  /** Fetches the state again; `quiet` keeps a missing machine (at start-up) out of the banner. */
  async refresh(quiet = false): Promise<void> {
    const r = await this.#call('state', () => this.client.state(), undefined, !quiet);
    if (r.ok) await this.#apply(r.value);
  }

  async newMachine(config: MachineConfigInput): Promise<Result<SessionState>> {
    const r = await this.#call('new machine', () => this.client.newMachine(config), 'creating machine');
    if (r.ok) {
      this.transcript = [];
      this.selectedPfn = null;
      this.page = null;
      this.scenarioName = null;
      await this.#apply(r.value, true);
    }
    return r;
  }

  /**
   * Runs one command as the next step. A kernel refusal (errno) is a normal outcome: it goes to
   * the transcript like a shell would print it, not to the error banner.
   */
  async run(command: CommandInput): Promise<Result<StepOutcome>> {
    const r = await this.#call(command.op, () => this.client.run(command), command.op, false);
    if (r.ok) {
      const { step } = r.value;
      this.#record(command, step, step.ok, stepResultLine(step), step.ok ? null : stepDetail(step));
      if (r.value.state.epoch === this.#epoch) this.#appendEvents(r.value.events);
      await this.#apply(r.value.state);
    } else {
      this.#record(command, null, false, apiErrorLine(command.op, r.error), null);
      if (r.error.code !== 'errno') this.#report(command.op, r.error);
    }
    return r;
  }

  /**
   * Runs a poke (shared/poke.ts builds one) as the next step. A refused poke (bad input) is a
   * banner and transcript line; the machine and the timeline stay as they were.
   */
  poke(request: PokeInput): Promise<Result<StepOutcome>> {
    return this.run(request);
  }

  /** The kernel at the cursor panicked: which step, and why; null otherwise. */
  get panicked(): PanicInfo | null {
    return this.state?.panicked ?? null;
  }

  async goto(cursor: number): Promise<void> {
    if (!this.state || cursor < 0 || cursor > this.state.steps.length || cursor === this.state.cursor) return;
    const r = await this.#call(
      'goto',
      () => this.client.goto(cursor),
      cursor > this.cursor ? 'replaying' : 'rewinding',
    );
    await this.#moved(r);
  }

  /** Makes another branch of the timeline current (the cursor goes where that branch was left). */
  async switchBranch(id: number): Promise<void> {
    const r = await this.#call('switch branch', () => this.client.switchBranch(id), 'switching branch');
    await this.#moved(r);
  }

  /** Stops the replay in progress; the call it stops answers 'cancelled' and the state is fetched again. */
  async cancel(): Promise<void> {
    await this.#call('cancel', () => this.client.cancel());
  }

  /** After a move: its state, or after a cancel the state where the replay stopped. */
  async #moved(r: Result<SessionState>): Promise<void> {
    if (r.ok) await this.#apply(r.value);
    else if (r.error.code === 'cancelled') await this.refresh();
  }

  /** Lists the built-in scenarios (once; the list does not change while the app runs). */
  async loadBuiltins(): Promise<BuiltinScenario[]> {
    if (this.builtins) return this.builtins;
    const r = await this.#call('builtins', () => this.client.builtins());
    if (r.ok) this.builtins = r.value;
    return r.ok ? r.value : [];
  }

  /** Replaces the machine with a built-in scenario and runs all its steps (the cursor ends at the last). */
  async loadBuiltin(name: string): Promise<Result<SessionState>> {
    let r = await this.#call(`builtin:${name}`, () => this.client.loadBuiltin(name), `loading ${name}`);
    // A cancelled load keeps what ran: the rest of the scenario waits as redo history.
    if (!r.ok && r.error.code === 'cancelled') r = await this.#call('state', () => this.client.state());
    if (r.ok) await this.#loaded(r.value, name);
    return r;
  }

  /** Replaces the machine with a scenario file's text (the browser preview's File → Open). */
  async loadScenarioText(text: string, source: string): Promise<Result<SessionState>> {
    const name = source.replace(/\.json$/i, '');
    const r = await this.#call(`open ${source}`, () => this.client.loadScenario(text, source), `loading ${name}`);
    if (r.ok) await this.#loaded(r.value, name);
    return r;
  }

  /**
   * Replaces the machine with `scenario`, runs all its steps, then moves the timeline to `cursor`
   * (the matrix opens a run just after the next kernel's boot).
   */
  async loadScenario(scenario: Scenario, cursor?: number): Promise<Result<SessionState>> {
    const r = await this.#call(
      scenario.name,
      () => this.client.loadScenario(JSON.stringify(scenario), scenario.name),
      `loading ${scenario.name}`,
    );
    if (!r.ok) return r;
    await this.#loaded(r.value, scenario.name);
    if (cursor !== undefined) await this.goto(cursor);
    return r;
  }

  async #loaded(state: SessionState, name: string): Promise<void> {
    this.transcript = [];
    this.selectedPfn = null;
    this.page = null;
    this.scenarioName = name;
    // The transcript shows what the scenario ran, as if typed in order.
    for (const step of state.steps.slice(0, state.cursor)) {
      this.#record(step.command, step, step.ok, stepResultLine(step), step.ok ? null : stepDetail(step));
    }
    await this.#apply(state, true);
  }

  /**
   * Runs the memfd format comparison (on a machine of the host's own: this session's machine and
   * timeline are untouched). `label` is what the progress bar says while it runs.
   */
  compareMemfd(spec: MemfdCompareSpecInput, label = 'comparing memfd formats'): Promise<Result<MemfdCompare>> {
    return this.#call('compare-memfd', () => this.client.compareMemfd(spec), label);
  }

  /** Runs the compatibility matrix on machines of the host's own: this session's machine and timeline are untouched. */
  matrix(request: MatrixRequest): Promise<Result<MatrixResult>> {
    return this.#call('matrix', () => this.client.matrix(request), 'running the compatibility matrix');
  }

  /**
   * Opens a memory dump through `open` (main's dialog in Electron, a picked File in the preview):
   * a refusal (not an ELF core, no handover…) is a banner line and the session stays as it was;
   * a cancelled dialog (null) changes nothing.
   */
  async openDump(open: () => Promise<Result<DumpView | null>>): Promise<Result<DumpView | null>> {
    const r = await this.#call('open dump', open, 'opening memory dump');
    if (r.ok && r.value) {
      this.transcript = [];
      this.selectedPfn = null;
      this.page = null;
      this.scenarioName = null;
      await this.refresh();
    }
    return r;
  }

  back = () => this.goto(this.cursor - 1);
  forward = () => this.goto(this.cursor + 1);
  runRemaining = () => this.goto(this.stepCount);

  async select(pfn: number | null): Promise<void> {
    this.selectedPfn = pfn;
    const serial = ++this.#pageSerial;
    if (pfn === null) {
      this.page = null;
      return;
    }
    const r = await this.#call('page', () => this.client.page(pfn));
    if (serial !== this.#pageSerial) return;
    this.page = r.ok ? r.value : null;
  }

  dismiss(id: number): void {
    this.banner = this.banner.filter((b) => b.id !== id);
  }

  /** Reports an error from elsewhere in the UI (map fetches) in the banner. */
  reportError(context: string, message: string): void {
    this.#report(context, { code: 'internal', message });
  }

  async #apply(state: SessionState, reset = false): Promise<void> {
    this.state = state;
    this.revision++;
    // A replay from the start restarts event numbering (a new epoch): the log is fetched again.
    if (reset || state.epoch !== this.#epoch || state.lastEventSeq < this.#lastSeq) {
      this.events = [];
      this.#lastSeq = 0;
      this.#epoch = state.epoch;
    }
    while (this.#lastSeq < state.lastEventSeq) {
      const from = this.#lastSeq;
      const r = await this.#call('events', () => this.client.events(from, EVENT_BATCH));
      if (!r.ok || r.value.length === 0) break;
      this.#appendEvents(r.value);
    }
    await Promise.all([this.#refreshKho(), this.#refreshLuo(), this.#refreshDump(state)]);
    if (this.selectedPfn !== null) await this.select(this.selectedPfn < state.maxPfn ? this.selectedPfn : null);
  }

  /** KHO state follows every state change; a failure leaves the inspector empty, not a banner. */
  async #refreshKho(): Promise<void> {
    const serial = ++this.#khoSerial;
    const r = await this.#call('kho', () => this.client.kho(), undefined, false);
    if (serial === this.#khoSerial) this.kho = r.ok ? r.value : null;
  }

  /** The dump's handover, fetched once per opened dump (its epoch). */
  async #refreshDump(state: SessionState): Promise<void> {
    if (!state.dump) {
      this.dump = null;
      return;
    }
    const r = await this.#call('dump', () => this.client.dump());
    this.dump = r.ok ? r.value : null;
  }

  /** LUO and user space follow every state change like KHO does; a failure empties them, no banner. */
  async #refreshLuo(): Promise<void> {
    const serial = ++this.#luoSerial;
    const [luo, user] = await Promise.all([
      this.#call('luo', () => this.client.luo(), undefined, false),
      this.#call('userspace', () => this.client.userspace(), undefined, false),
    ]);
    if (serial !== this.#luoSerial) return;
    this.luo = luo.ok ? luo.value : null;
    this.userspace = user.ok ? user.value : null;
  }

  #appendEvents(events: TraceEvent[]): void {
    const fresh = events.filter((e) => e.seq > this.#lastSeq);
    if (fresh.length === 0) return;
    this.#lastSeq = fresh[fresh.length - 1]!.seq;
    const all = this.events.concat(fresh);
    this.events = all.length > MAX_LOG_LINES ? all.slice(all.length - MAX_LOG_LINES) : all;
  }

  #record(command: CommandInput, step: StepInfo | null, ok: boolean, result: string, detail: string | null): void {
    const entry: TranscriptEntry = { id: nextId++, command, step, ok, result, detail };
    this.transcript = [...this.transcript.slice(-199), entry];
  }

  #report(context: string, error: ApiError): void {
    this.banner = [...this.banner.slice(-4), { id: nextId++, text: apiErrorLine(context, error) }];
  }

  /** Calls the API; a rejection becomes an 'unavailable' Result and, with `banner`, a message. */
  async #call<T>(context: string, fn: () => Promise<Result<T>>, busyLabel?: string, banner = true): Promise<Result<T>> {
    if (busyLabel) this.busy = busyLabel;
    let r: Result<T>;
    try {
      r = await fn();
    } catch (e) {
      r = { ok: false, error: { code: 'unavailable', message: e instanceof Error ? e.message : String(e) } };
    } finally {
      if (busyLabel) {
        this.busy = null;
        this.progress = null;
      }
    }
    // A cancel is the user's own doing, not an error to report.
    if (!r.ok && banner && r.error.code !== 'cancelled') this.#report(context, r.error);
    return r;
  }
}
