/**
 * Opening a dump (Host.openDump, File → Open Memory Dump…) reads the whole file once to find the
 * handover; on a 1 GiB dump that takes seconds, so the host reports how far it got after every
 * chunk, lets the event loop in between, and cancel() stops it with the view as it was.
 */
import { describe, expect, it } from 'vitest';
import type { DumpHandle } from '../../../shared/api';
import type { Progress } from '../../../shared/views';
import { Host, builtinScenario } from '../../../electron/host/host';
import { bytesSource } from '../../../electron/host/dump/source';

/** KHO Lab's own vmcore of test-kho on a 256 MiB machine at kexec -e: a real-shaped dump of a few chunks. */
async function vmcore(): Promise<Uint8Array> {
  const s = builtinScenario('test-kho');
  if (!s.ok) throw new Error(s.error.message);
  const host = new Host();
  const loaded = await host.loadScenario(
    JSON.stringify({ ...s.value, machine: { ...s.value.machine, ram: '256M' } }),
    't',
  );
  if (!loaded.ok) throw new Error(loaded.error.message);
  await host.goto(loaded.value.steps.findIndex((x) => x.command.op === 'reboot') + 1);
  const core = await host.vmcore(true);
  if (!core.ok) throw new Error(core.error.message);
  return core.value;
}

function hostFor(bytes: Uint8Array, onYield: (host: Host) => void = () => {}) {
  const progress: Progress[] = [];
  const host: Host = new Host({
    openDumpSource: (_h: DumpHandle) => bytesSource(bytes),
    onProgress: (p) => progress.push(p),
    yieldToEvents: async () => onYield(host),
  });
  return { host, progress };
}

describe('Host.openDump(): progress and cancel while the dump is read', () => {
  it('reports each chunk read, cancelable, up to the whole dump; then opens it', async () => {
    const bytes = await vmcore();
    const { host, progress } = hostFor(bytes);
    const r = await host.openDump('sim.vmcore');
    expect(r.ok, r.ok ? '' : r.error.message).toBe(true);
    const reads = progress.filter((p) => p.label.startsWith('reading sim.vmcore: '));
    expect(reads.length).toBeGreaterThan(2);
    expect(reads.every((p) => p.cancelable)).toBe(true);
    expect(reads.map((p) => p.done)).toEqual([...reads.map((p) => p.done)].sort((a, b) => a - b));
    expect(reads.at(-1)!.done).toBe(reads.at(-1)!.total);
    expect(reads.at(-1)!.label).toMatch(/^reading sim\.vmcore: (\d+) MiB of \1 MiB$/);
    const opened = await host.dump();
    expect(opened.ok && opened.value).toBeTruthy();
  });

  it('cancel() during the read stops it: the call answers cancelled and no dump is open', async () => {
    const bytes = await vmcore();
    let cancels = 0;
    const { host, progress } = hostFor(bytes, (h) => {
      if (cancels++ === 0) void h.cancel().then((c) => expect(c.ok && c.value).toBe(true));
    });
    const r = await host.openDump('sim.vmcore');
    expect(!r.ok && r.error.code).toBe('cancelled');
    expect(!r.ok && r.error.message).toMatch(/opening sim\.vmcore: cancelled/);
    expect(progress.length).toBeLessThan(4);
    const d = await host.dump();
    expect(d.ok && d.value).toBeNull();
    // Nothing to stop afterwards, and the next open goes through.
    const again = await host.cancel();
    expect(again.ok && again.value).toBe(false);
  });
});
