/**
 * Shared by the dump tests: a small ELF core of the simulator's own RAM (electron/host/vmcore.ts)
 * taken right after `kexec -e` of builtin:test-kho, and what the simulator says that RAM holds.
 */
import { Host } from '../../../electron/host/host';
import type { PreservedBlock, Report } from '../../../shared/views';

const REBOOT_STEP = 5; // builtin:test-kho: boot, insmod, finalize, kexec_load, reboot (kexec -e), boot, insmod

export interface SimDump {
  /** The vmcore at the jump: the handover pending, no kernel running. */
  bytes: Uint8Array;
  atReboot: Report;
  /** What the next kernel deserialized from that handover. */
  incomingBlocks: PreservedBlock[];
  /** The scratch areas the next kernel was given. */
  incomingScratch: Array<{ addr: number; size: number }>;
}

let cached: Promise<SimDump> | undefined;

export function simDump(): Promise<SimDump> {
  cached ??= (async () => {
    const host = new Host();
    await host.loadBuiltin('test-kho');
    const final = await host.report();
    const kho = await host.kho();
    if (!final.ok || !kho.ok) throw new Error('host refused');
    await host.goto(REBOOT_STEP);
    const report = await host.report();
    const core = await host.vmcore(false);
    if (!report.ok || !core.ok) throw new Error('host refused');
    return {
      bytes: core.value,
      atReboot: report.value,
      incomingBlocks: final.value.kho!.incoming!.blocks,
      incomingScratch: kho.value.scratch.map(({ addr, size }) => ({ addr, size })),
    };
  })();
  return cached;
}

/** A copy of `b` with every occurrence of the ASCII `from` replaced by `to` (same length). */
export function patchText(b: Uint8Array, from: string, to: string): Uint8Array {
  if (from.length !== to.length) throw new Error('patchText keeps lengths');
  const out = b.slice();
  const f = Array.from(from, (c) => c.charCodeAt(0));
  let n = 0;
  for (let i = out.indexOf(f[0]!); i >= 0 && i + f.length <= out.length; i = out.indexOf(f[0]!, i + 1)) {
    if (f.every((c, j) => out[i + j] === c)) {
      for (let j = 0; j < to.length; j++) out[i + j] = to.charCodeAt(j);
      n++;
    }
  }
  if (n === 0) throw new Error(`"${from}" not found`);
  return out;
}
