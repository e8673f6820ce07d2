/**
 * KHO through the Host and the CLI (lib/test_kho.c: kho_test_init()): the test_kho built-ins pass,
 * fail naming the forgotten folio, chain across three kernels, and replay deterministically.
 */
import { describe, expect, it } from 'vitest';
import { Host } from '../../../electron/host/host';
import { main } from '../../../electron/cli';
import type { Report } from '../../../shared/views';
import { hostMachine, okOf } from './helpers';

async function runBuiltin(name: string): Promise<{ host: Host; report: Report }> {
  const host = new Host();
  okOf(await host.loadBuiltin(name));
  return { host, report: okOf(await host.report()) };
}

const msgs = (r: Report) => r.events.map((e) => e.msg);

describe('built-in KHO scenarios', () => {
  it('test-kho: every step passes and the log says "KHO restore succeeded"', async () => {
    const { host, report } = await runBuiltin('test-kho');
    expect(report.ok).toBe(true);
    expect(report.steps.map((s) => s.ok)).toEqual([true, true, true, true, true, true, true]);
    expect(msgs(report)).toContain('KHO restore succeeded');
    expect(msgs(report)).toContain('found kexec handover data.');
    expect(report.steps[6]!.message).toMatch(/^KHO restore succeeded: \d+ folios verified/);
    expect(hostMachine(host).generation).toBe(2);
  });

  it('test-kho-forgot-one: fails at folio 3 and names its pfn', async () => {
    const { report } = await runBuiltin('test-kho-forgot-one');
    expect(report.ok).toBe(false);
    const skipped = msgs(report).find((l) => l.startsWith('not preserving folio 3 at pfn '));
    const pfn = /pfn (0x[0-9a-f]+)/.exec(skipped ?? '')?.[1];
    expect(pfn).toBeDefined();
    const last = report.steps[report.steps.length - 1]!;
    expect(last.ok).toBe(false);
    // kho_test_restore_data() stops at the first failure and the sum then differs (lib/test_kho.c)
    expect(last.message).toMatch(
      /^KHO restore failed: folio 3 \(order \d+\) at pfn 0x[0-9a-f]+: kho_restore_folio failed; folios 3\.\.\d+ left unrestored; checksum 0x[0-9a-f]{8} differs from the saved 0x[0-9a-f]{8}$/,
    );
    expect(last.message).toContain(`at pfn ${pfn}:`);
    expect(report.steps.slice(0, -1).every((s) => s.ok)).toBe(true);
    expect(msgs(report)).not.toContain('KHO restore succeeded');
  });

  it('kho-chain: three generations, verified in the second and the third', async () => {
    const { host, report } = await runBuiltin('kho-chain');
    expect(report.ok).toBe(true);
    expect(report.steps).toHaveLength(12);
    expect(msgs(report).filter((l) => l === 'KHO restore succeeded')).toHaveLength(2);
    expect(report.steps[6]!.message).toMatch(/verified and preserved again$/);
    expect(report.steps[11]!.message).toMatch(/^KHO restore succeeded: \d+ folios verified/);
    expect(hostMachine(host).generation).toBe(3);
  });
});

describe('determinism', () => {
  it('the same built-in twice gives the same ramHash', async () => {
    const a = await runBuiltin('test-kho');
    const b = await runBuiltin('test-kho');
    expect(a.report.ramHash).toBe(b.report.ramHash);
    const other = await runBuiltin('test-kho-forgot-one');
    expect(other.report.ramHash).not.toBe(a.report.ramHash);
  });

  it('going back to just after reboot and forward again reproduces the same ramHash', async () => {
    const { host, report } = await runBuiltin('test-kho');
    const reboot = report.steps.findIndex((s) => s.command.op === 'reboot') + 1; // cursor after it
    expect(reboot).toBe(5);
    okOf(await host.goto(reboot));
    expect(hostMachine(host).kernel).toBeNull(); // between kexec -e and boot
    const atReboot = okOf(await host.report()).ramHash;
    expect(atReboot).not.toBe(report.ramHash);
    okOf(await host.goto(report.steps.length));
    const forward = okOf(await host.report());
    expect(forward.ok).toBe(true);
    expect(forward.ramHash).toBe(report.ramHash);
    okOf(await host.goto(reboot));
    expect(okOf(await host.report()).ramHash).toBe(atReboot);
  });
});

describe('CLI', () => {
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  };

  it('run builtin:test-kho-forgot-one exits 1', async () => {
    const r = await run(['run', 'builtin:test-kho-forgot-one']);
    expect(r.code).toBe(1);
    expect(r.out.some((l) => l.startsWith('scenario test-kho-forgot-one: FAIL'))).toBe(true);
    expect(r.out.some((l) => l.includes('KHO restore failed: folio 3'))).toBe(true);
  });

  it('run builtin:test-kho exits 0', async () => {
    const r = await run(['run', 'builtin:test-kho']);
    expect(r.code).toBe(0);
    expect(r.out.some((l) => l.startsWith('scenario test-kho: PASS'))).toBe(true);
    expect(r.out.some((l) => l.endsWith('test_kho: KHO restore succeeded'))).toBe(true);
    expect(r.err).toEqual([]);
  });
});
