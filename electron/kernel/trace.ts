/**
 * DOC: kernel log
 *
 * The simulated console: dmesg-style lines with a virtual timestamp. The machine owns it, so the
 * lines of every kernel generation stay readable after a kexec, each tagged with the step that
 * produced it.
 */
export type LogLevel = 'err' | 'warn' | 'info' | 'debug';

export interface KernelEvent {
  seq: number;
  step: number;
  /** Virtual seconds since this kernel started. */
  time: number;
  level: LogLevel;
  subsys: string;
  msg: string;
}

export class KernelLog {
  readonly events: KernelEvent[] = [];
  /** The step events are currently attributed to. */
  step = 0;
  /** Virtual clock of the running kernel, in seconds. */
  clock = 0;

  log(level: LogLevel, subsys: string, msg: string): void {
    this.events.push({ seq: this.events.length + 1, step: this.step, time: this.clock, level, subsys, msg });
    this.clock += 0.000004;
  }

  info(subsys: string, msg: string): void {
    this.log('info', subsys, msg);
  }
  warn(subsys: string, msg: string): void {
    this.log('warn', subsys, msg);
  }
  err(subsys: string, msg: string): void {
    this.log('err', subsys, msg);
  }

  /** Advances the clock by a modelled duration. */
  advance(seconds: number): void {
    this.clock += seconds;
  }

  get lastSeq(): number {
    return this.events.length;
  }

  since(seq: number, limit: number): KernelEvent[] {
    return this.events.slice(seq, seq + limit);
  }
}

/** How a log line reads on a console: "[    0.004213] memblock: ..." */
export function formatEvent(e: { time: number; subsys: string; msg: string }): string {
  const t = e.time.toFixed(6).padStart(12, ' ');
  return `[${t}] ${e.subsys ? e.subsys + ': ' : ''}${e.msg}`;
}
