/**
 * DOC: the compatibility matrix's state
 *
 * What the matrix view holds between openings: which scenario it runs, the last result, the cell
 * under the pointer and whether a run is in flight. Runs go through Session.matrix, so a refused
 * scenario (one with no kexec) becomes a banner line like any other call. Opening a cell loads that
 * cell's scenario — the first kernel and the kexec_load image set as the cell ran them — into the
 * main view, at the step after the next kernel's boot.
 */
import {
  MATRIX_DEFAULT_SCENARIO,
  type MatrixCell,
  type MatrixResult,
  type MatrixVariantRow,
  planCell,
  planVariant,
} from '../../../shared/matrix';
import type { Session } from './session.svelte';

/** The scenario choice that means "the scenario loaded in the main view". */
export const CURRENT_SCENARIO = ':current';

export class MatrixModel {
  /** A built-in scenario's name, or CURRENT_SCENARIO. */
  source = $state<string>(MATRIX_DEFAULT_SCENARIO);
  result = $state.raw<MatrixResult | null>(null);
  running = $state(false);
  /** The cell whose details show under the table. */
  selected = $state.raw<MatrixCell | null>(null);

  constructor(readonly session: Session) {}

  async run(): Promise<boolean> {
    if (this.running) return false;
    this.running = true;
    try {
      const r = await this.session.matrix(
        this.source === CURRENT_SCENARIO ? { current: true } : { builtin: this.source },
      );
      if (r.ok) {
        this.result = r.value;
        this.selected = r.value.cells.find((c) => c.outcome !== 'carried') ?? r.value.cells[0] ?? null;
      }
      return r.ok;
    } finally {
      this.running = false;
    }
  }

  /** Loads the cell's run into the main view, just after the next kernel's boot. */
  async open(cell: MatrixCell): Promise<boolean> {
    const m = this.result;
    if (!m || this.running) return false;
    const plan = planCell(m.scenario, cell.from, cell.to);
    if (!plan.ok) {
      this.session.reportError('matrix', plan.error.message);
      return false;
    }
    const r = await this.session.loadScenario(plan.value.scenario, cell.openAt);
    return r.ok;
  }

  /** Loads a variant row's run (the patched kernel named in the scenario), just after the next kernel's boot. */
  async openVariant(v: MatrixVariantRow): Promise<boolean> {
    const m = this.result;
    if (!m || this.running || !v.cell) return false;
    const { plan } = planVariant(m.scenario, v);
    if (!plan.ok) {
      this.session.reportError('matrix', plan.error.message);
      return false;
    }
    const r = await this.session.loadScenario(plan.value.scenario, v.cell.openAt);
    return r.ok;
  }
}
