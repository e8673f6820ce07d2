/**
 * DOC: the memfd comparison's state
 *
 * What "Compare memfd formats" holds between openings: the form, the last comparison, the last
 * sparseness sweep and what is running. Every run goes through Session.compareMemfd, so a refusal
 * or a dead engine becomes a banner line like any other call. A sweep is one comparison per
 * sparseness, one after another; stop() ends it after the run in flight (the engine cannot be
 * interrupted inside a run, which at multi-GiB sizes takes seconds).
 */
import {
  MemfdCompareSpecSchema,
  type MemfdCompare,
  type MemfdCompareSpec,
  type MemfdCompareSpecInput,
} from '../../../shared/compare';
import type { Progress } from '../../../shared/views';
import { sparseText, type SweepPoint } from './compare-data';
import { DEFAULT_COMPARE_FORM, DEFAULT_SWEEP, type CompareForm } from './compare-form';
import type { Session } from './session.svelte';

export interface SweepState {
  /** What the sweep holds fixed (its sparse is that of the form and is not used). */
  spec: MemfdCompareSpec;
  values: number[];
  points: SweepPoint[];
  /** False while it runs, and when it was stopped or a run failed before the last value. */
  complete: boolean;
}

export class CompareModel {
  form = $state<CompareForm>({ ...DEFAULT_COMPARE_FORM });
  sweepText = $state(DEFAULT_SWEEP);
  result = $state.raw<MemfdCompare | null>(null);
  sweep = $state.raw<SweepState | null>(null);
  /** What runs now, or null. */
  running = $state<'compare' | 'sweep' | null>(null);
  /** The label of the run in flight: "comparing memfd formats", "sweep 2/5: sparse 0.9". */
  label = $state<string | null>(null);
  /** stop() was asked; the sweep ends when the run in flight does. */
  stopping = $state(false);

  constructor(readonly session: Session) {}

  /**
   * The engine's progress for the run in flight, prefixed with which run it is. The engine reports
   * booting and writing the files but not the preservations that follow, so a finished phase
   * shows as "working" (indeterminate) rather than sitting at 100%.
   */
  get progress(): Progress | null {
    const p = this.session.progress;
    if (!this.label) return null;
    return p && p.done < p.total
      ? { label: `${this.label} · ${p.label}`, done: p.done, total: p.total }
      : { label: this.label, done: 0, total: 0 };
  }

  async run(spec: MemfdCompareSpecInput): Promise<boolean> {
    if (this.running) return false;
    this.running = 'compare';
    this.label = 'comparing memfd formats';
    try {
      const r = await this.session.compareMemfd(spec, this.label);
      if (r.ok) this.result = r.value;
      return r.ok;
    } finally {
      this.running = null;
      this.label = null;
    }
  }

  /** Runs `spec` once per sparseness in `values`; the points arrive one by one in `sweep`. */
  async runSweep(spec: MemfdCompareSpecInput, values: readonly number[]): Promise<boolean> {
    if (this.running) return false;
    const fixed = MemfdCompareSpecSchema.safeParse(spec);
    if (!fixed.success) return false;
    this.running = 'sweep';
    this.stopping = false;
    this.sweep = { spec: fixed.data, values: [...values], points: [], complete: false };
    try {
      for (let i = 0; i < values.length; i++) {
        if (this.stopping) return false;
        const sparse = values[i]!;
        this.label = `sweep ${i + 1}/${values.length}: sparse ${sparseText(sparse)}`;
        const r = await this.session.compareMemfd({ ...spec, sparse }, this.label);
        if (!r.ok) return false;
        const s: SweepState | null = this.sweep;
        if (s) this.sweep = { ...s, points: [...s.points, { sparse, result: r.value }] };
      }
      if (this.sweep) this.sweep = { ...this.sweep, complete: true };
      return true;
    } finally {
      this.running = null;
      this.label = null;
      this.stopping = false;
    }
  }

  /** Ends a sweep after the run in flight. */
  stop(): void {
    if (this.running === 'sweep') this.stopping = true;
  }
}
