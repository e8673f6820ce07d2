/**
 * DOC: the cross-release compatibility matrix (shared/matrix.ts says what a cell reports)
 *
 * Each cell is a machine of its own: cold-boot release A, run the scenario up to its `kexec -e`
 * with the image of release B loaded, jump, boot B, run the rest. Nothing is predicted from the
 * profiles: the outcome is read from the machines themselves — whether B's KHO took the handover
 * (kho_populate() in kernel/liveupdate/kexec_handover.c leaves kho_in empty when it refuses),
 * whether a kernel panicked, which steps passed — and the reason is the kernel's own log line
 * from the step that decided it.
 */
import {
  type CellPlan,
  type MatrixCarried,
  type MatrixCell,
  type MatrixResult,
  type MatrixVariantRow,
  carriedShort,
  carriedText,
  planCell,
  planVariant,
} from '../../shared/matrix';
import { checkHop, hopLabel, isVariantHop, realHops } from '../../shared/real-evidence';
import type { Command } from '../../shared/commands';
import type { KernelRelease } from '../../shared/machine-config';
import { type Result, failure, ok } from '../../shared/result';
import type { Scenario } from '../../shared/scenario';
import { PAGE_SIZE } from '../../shared/units';
import { decodeFdt, getProp, readString } from '../kernel/lib/fdt';
import { isErr } from '../kernel/lib/errno';
import { Machine } from '../kernel/machine';
import { KERNEL_PROFILES } from '../kernel/profile';
import type { KernelEvent } from '../kernel/trace';
import { type StepResult, applyCommand, stepFailed } from './apply';
import { entryKhoData } from './kho-views';

/** The releases the simulator can boot, in profile order: the matrix's rows and columns. */
export function matrixReleases(): KernelRelease[] {
  return Object.values(KERNEL_PROFILES).map((p) => p.name);
}

/** Largest root FDT read back to learn its compatible (a KHO root is a page or two). */
const MAX_ROOT_FDT = 1 << 20;

/** The root node's compatible of the FDT at `phys` in RAM, or null when none is readable there. */
function rootCompatible(m: Machine, phys: number): string | null {
  const end = m.layout.maxPfn * PAGE_SIZE;
  if (!Number.isFinite(phys) || phys <= 0 || phys + 8 > end) return null;
  const head = m.ram.read(phys, 8);
  // fdt_header.totalsize: big-endian, at offset 4.
  const size = new DataView(head.buffer, head.byteOffset, 8).getUint32(4);
  const fdt = decodeFdt(m.ram.read(phys, Math.min(size, MAX_ROOT_FDT, end - phys)));
  if (!fdt.ok) return null;
  const compat = getProp(fdt.root, 'compatible');
  return compat ? readString(compat) : null;
}

/**
 * The compatible of the KHO root FDT a jump hands on: boot_params → setup_data → kho_data → FDT,
 * read from RAM as the next kernel's kho_populate() would; null when there is no readable handover.
 */
function handedOverCompatible(m: Machine): string | null {
  const d = m.entry ? entryKhoData(m, m.entry.bootParams) : null;
  return d ? rootCompatible(m, d.fdtAddr) : null;
}

/** A step as the host applies it: a simulator exception is a failed step, never a crashed matrix. */
function apply(m: Machine, cmd: Command, index: number): StepResult {
  m.log.step = index + 1;
  m.log.advance(0.001);
  try {
    return applyCommand(m, cmd);
  } catch (e) {
    const message = `internal error in ${cmd.op}: ${e instanceof Error ? e.message : String(e)}`;
    m.log.err('kho-lab', message);
    return stepFailed({ message });
  }
}

const line = (e: KernelEvent) => (e.subsys ? `${e.subsys}: ${e.msg}` : e.msg);

/** The subsystems whose lines a real run's evidence quotes. */
const EVIDENCE_SUBSYS = new Set(['KHO', 'luo', 'test_kho']);
const MAX_LOG_LINES = 60;

/** The next kernel's lines a real log can be held against: KHO, LUO, test_kho, warnings, the panic. */
function nextKernelLog(events: readonly KernelEvent[]): string[] {
  return events
    .filter((e) => EVIDENCE_SUBSYS.has(e.subsys) || e.level === 'warn' || e.level === 'err')
    .slice(0, MAX_LOG_LINES)
    .map(line);
}

/** The size of the memfd a check step looked at (it passed, so the fd is a memfd of that process). */
function checkedBytes(m: Machine, cmd: Command): number {
  if (cmd.op !== 'expect_content' && cmd.op !== 'verify_memfd' && cmd.op !== 'expect_checksums') return 0;
  const k = m.kernel;
  const p = k?.processes.get(cmd.process);
  if (!k || !p || isErr(p)) return 0;
  const f = k.processes.file(p, cmd.fd);
  return !isErr(f) && f.kind === 'memfd' ? f.inode.size : 0;
}

/** Runs one cell of the plan on a fresh machine and classifies it. */
export function runCell(plan: CellPlan, from: KernelRelease, to: KernelRelease): MatrixCell {
  const { scenario, reboot, boot } = plan;
  const m = new Machine(scenario.machine);
  let bootSeq: number | null = null;
  const cell = (c: Omit<MatrixCell, 'from' | 'to' | 'openAt' | 'log' | 'real'>): MatrixCell => ({
    from,
    to,
    openAt: boot + 1,
    ...c,
    log: bootSeq === null ? [] : nextKernelLog(m.log.events.slice(bootSeq)),
    real: [],
  });
  let wrote: string | null = null;
  let bootLines: string[] = [];
  const carried: MatrixCarried = { sessions: [], files: 0, bytesVerified: 0, khoBlocks: 0 };
  for (const [i, cmd] of scenario.steps.entries()) {
    if (i === boot) wrote = handedOverCompatible(m);
    const firstSeq = m.log.lastSeq;
    if (i === boot) bootSeq = firstSeq;
    const r = apply(m, cmd, i);
    const panicked = r.ok ? undefined : r.error.panicked;
    if (panicked !== undefined) {
      const last = m.log.events.slice(firstSeq).filter((e) => e.level !== 'info' && e.level !== 'debug');
      return cell({
        outcome: 'panic',
        short: `step ${i + 1} ${cmd.op}`,
        reason: panicked,
        detail: last.map(line),
        carried: null,
        wrote,
        step: i + 1,
      });
    }
    if (i === boot && r.ok) {
      const kin = m.kernel?.khoIn ?? null;
      const accepted = kin !== null && kin.fdtPhys !== 0;
      carried.khoBlocks = kin?.blockCount ?? 0;
      bootLines = m.log.events
        .slice(firstSeq)
        .filter((e) => e.level === 'warn' || e.level === 'err')
        .map(line);
      if (!accepted && wrote !== null) {
        // What this kernel speaks: the compatible of the root FDT its own kho_init() wrote.
        const khoOut = m.kernel?.khoOut;
        const expects = khoOut ? rootCompatible(m, khoOut.fdtPhys) : null;
        const kho = m.log.events.slice(firstSeq).filter((e) => e.subsys === 'KHO' && e.level !== 'info');
        const said = kho.length ? kho[kho.length - 1]!.msg : 'the next kernel did not take the KHO handover';
        return cell({
          outcome: 'refused',
          short: expects && wrote !== expects ? `${wrote} ≠ ${expects}` : `step ${i + 1} boot`,
          reason: expects && wrote !== expects ? `${wrote} ≠ ${expects}: ${said}` : said,
          detail: bootLines,
          carried: null,
          wrote,
          step: i + 1,
        });
      }
    }
    if (!r.ok) {
      return cell({
        outcome: i <= reboot ? 'failed' : 'lost',
        short: `step ${i + 1} ${cmd.op}${r.error.errno ? `: ${r.error.errno}` : ''}`,
        reason: r.error.message,
        detail: i > boot ? bootLines : [],
        carried: i > boot ? carried : null,
        wrote,
        step: i + 1,
      });
    }
    // A step that got the errno it expected passed, but retrieved nothing.
    if (i > boot && !r.value.errno) {
      if (cmd.op === 'luo_retrieve_session') carried.sessions.push(cmd.name);
      if (cmd.op === 'luo_retrieve_fd') carried.files++;
      carried.bytesVerified += checkedBytes(m, cmd);
    }
  }
  return cell({
    outcome: 'carried',
    short: carriedShort(carried),
    reason: carriedText(carried),
    detail: bootLines,
    carried,
    wrote,
    step: null,
  });
}

/**
 * Runs `scenario` from every release into every release, rows = from, columns = to, and puts
 * each real run (shared/real-evidence.ts) beside its cell, or — a patched kernel — in a variant
 * row of its own. A scenario with no kexec to cross is refused before anything runs.
 */
export function runMatrix(
  scenario: Scenario,
  onProgress?: (label: string, done: number, total: number) => void,
): Result<MatrixResult> {
  const started = Date.now();
  const releases = matrixReleases();
  const probe = planCell(scenario, releases[0]!, releases[0]!);
  if (!probe.ok) return failure(`matrix: ${probe.error.message}`);
  const hops = realHops();
  const variantHops = hops.filter(isVariantHop);
  const cells: MatrixCell[] = [];
  const total = releases.length ** 2 + variantHops.length;
  for (const from of releases) {
    for (const to of releases) {
      onProgress?.(`matrix: ${from} → ${to}`, cells.length, total);
      const plan = planCell(scenario, from, to);
      if (!plan.ok) return failure(`matrix: ${plan.error.message}`);
      const c = runCell(plan.value, from, to);
      c.real = hops
        .filter((h) => !isVariantHop(h) && h.from === from && h.to === to)
        .map((h) => checkHop(h, scenario.name, c));
      cells.push(c);
    }
  }
  const variants: MatrixVariantRow[] = variantHops.map((h, i) => {
    onProgress?.(`matrix: ${hopLabel(h)}`, releases.length ** 2 + i, total);
    const { reproduce, plan } = planVariant(scenario, h);
    const names = { from: h.from, to: h.to, ...(h.fromVariant ? { fromVariant: h.fromVariant } : {}) };
    const row = { ...names, ...(h.toVariant ? { toVariant: h.toVariant } : {}), reproduce };
    if (!plan.ok) {
      const unavailable = `this build cannot run it: ${plan.error.message.split('\n').join('; ')}`;
      return { ...row, cell: null, unavailable, real: checkHop(h, scenario.name, { unavailable }) };
    }
    const c = runCell(plan.value, h.from as KernelRelease, h.to as KernelRelease);
    return { ...row, cell: c, real: checkHop(h, scenario.name, c) };
  });
  const known = new Set<string>(releases);
  const realElsewhere = hops
    .filter((h) => !isVariantHop(h) && !(known.has(h.from) && known.has(h.to)))
    .map(
      (h) =>
        `${hopLabel(h)} (${h.run.log}): ${h.run.outcome} — ${[...new Set([h.from, h.to])].filter((r) => !known.has(r)).join(', ')} is not a release this build models`,
    );
  onProgress?.('matrix', total, total);
  return ok({ scenario, releases, cells, variants, realElsewhere, elapsedMs: Date.now() - started });
}
