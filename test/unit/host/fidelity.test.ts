/**
 * The fidelity comparison (electron/host/fidelity.ts) on handovers KHO Lab can make itself: the
 * same scenario read back from two vmcores agrees in every field but the addresses; a handover
 * with a field changed is reported as differing in exactly that field. The CLI's `fidelity` and
 * `real` refuse bad input with exit 2 and say what is missing.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Host, builtinScenario, withMachine } from '../../../electron/host/host';
import { type DumpReport, inspectDump } from '../../../electron/host/dump/inspect';
import { bytesSource } from '../../../electron/host/dump/source';
import { compareHandovers, describeFidelity } from '../../../electron/host/fidelity';
import { cli, scratchDir } from '../cli/run-cli';
import { EXIT_BAD_INPUT, EXIT_OK } from '../../../electron/cli';

const dir = scratchDir('kho-lab-fidelity-');

/** builtin:NAME on a 1 GiB machine with `seed`, read back by the dump reader at kexec -e. */
async function handoverOf(
  name: string,
  seed: number,
  cmdline?: string,
): Promise<{ report: DumpReport; vmcore: Uint8Array }> {
  const s = builtinScenario(name);
  if (!s.ok) throw new Error(s.error.message);
  const sized = withMachine(s.value, { ram: '1G', seed, ...(cmdline ? { cmdline } : {}) });
  if (!sized.ok) throw new Error(sized.error.message);
  const host = new Host();
  const r = await host.loadScenario(JSON.stringify(sized.value), name);
  if (!r.ok) throw new Error(r.error.message);
  await host.goto(r.value.steps.findIndex((x) => x.command.op === 'reboot') + 1);
  const v = await host.vmcore(false);
  if (!v.ok) throw new Error(v.error.message);
  return { report: inspectDump(bytesSource(v.value)), vmcore: v.value };
}

describe('compareHandovers()', () => {
  it('the same scenario with another seed: everything matches but addresses and test_kho random choices', async () => {
    const a = (await handoverOf('test-kho', 1)).report;
    const b = (await handoverOf('test-kho', 2)).report;
    const rep = compareHandovers(a, b);
    expect(rep.differs, describeFidelity(rep).join('\n')).toBe(0);
    expect(rep.matches).toBeGreaterThan(5);
    for (const r of rep.rows.filter((x) => x.verdict === 'nature')) expect(r.why).toBeTruthy();
    expect(rep.rows.find((r) => r.where === 'root' && r.field === 'compatible')).toMatchObject({
      real: 'kho-v1',
      sim: 'kho-v1',
      verdict: 'match',
    });
  });

  it('a changed field is reported as differing, by name, with both values', async () => {
    const a = (await handoverOf('luo-kexec-simple', 1)).report;
    const b: DumpReport = { ...a, fdt: { ...a.fdt, compatible: 'kho-v9' }, subBlobs: a.subBlobs.slice(1) };
    const rep = compareHandovers(a, b);
    expect(rep.rows.filter((r) => r.verdict === 'differs').map((r) => `${r.where} ${r.field}`)).toEqual(
      expect.arrayContaining(['root compatible', 'root sub-nodes', `sub-node ${a.subBlobs[0]!.name} present`]),
    );
    const lines = describeFidelity(rep);
    expect(lines[0]).toMatch(/^where\s+field\s+real kernel\s+KHO Lab\s+verdict$/);
    expect(lines[1]).toMatch(/DIFFERS/);
    expect(lines.at(-1)).toMatch(/^\d+ match, \d+ differ by nature, [1-9]\d* differ$/);
  });
});

describe('npm run sim -- fidelity / real', () => {
  it('fidelity --real DUMP SCENARIO: a KHO Lab vmcore of the same scenario agrees (exit 0)', async () => {
    const file = join(dir, 'test-kho.vmcore');
    // The machine `fidelity` simulates: 1 GiB, booted as rkdrive boots the real kernel.
    writeFileSync(file, (await handoverOf('test-kho', 5, 'kho=on liveupdate=on')).vmcore);
    const r = await cli('fidelity', '--real', file, '--kernel', '6.19', 'test-kho');
    expect(r.code, r.err.join('\n')).toBe(EXIT_OK);
    expect(r.out.join('\n')).toMatch(/KHO Lab: builtin:test-kho on 6\.19/);
    expect(r.out.at(-1)).toMatch(/ 0 differ$/);
  });

  it('refuses bad input with exit 2, naming what was wrong', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['fidelity', 'test-kho'], /fidelity needs --real DUMP/],
      [
        ['fidelity', '--real', join(dir, 'missing.elf'), 'test-kho'],
        /missing\.elf: cannot open .*missing\.elf: no such file/,
      ],
      [['fidelity', '--real', join(dir, 'x'), 'boot'], /"boot" has no counterpart in the real kernel's selftests/],
      [['fidelity', '--real', join(dir, 'x'), '--kernel', '5.4', 'test-kho'], /--kernel: "5\.4" is not a release/],
      [
        ['real', '--realkernel', join(dir, 'nowhere'), 'test-kho'],
        /cannot boot a real kernel here: .*nowhere is absent/,
      ],
      [['real', '--bogus', 'test-kho'], /unknown option --bogus/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(EXIT_BAD_INPUT);
      expect(r.err.join('\n')).toMatch(message);
    }
  });
});
