/**
 * Fidelity beyond test_kho (issue 11): the real 7.2.13 handover the realkernel folder ships (the
 * full LUO run — test_kho, luo_kexec_simple and luo_multi_session in one kernel — cut to its
 * preserved pages at machine_kexec()) beside KHO Lab's 7.2 running each selftest's built-in
 * scenario, structure by structure: luo_ser, sessions, file tokens and compatibles, memfd records,
 * folios, FLBs, block counts. Every difference is listed with its reason; the ones left are the
 * built-in scenarios, which do what the selftests do (the state session, the page-sized memfds), so
 * none is left. No QEMU boot.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHIPPED_REAL_HANDOVER, fidelityCommand } from '../../electron/cli-real';
import { openDumpFile } from '../../electron/dump-file';
import { inspectDump } from '../../electron/host/dump/inspect';
import type { FidelityReport } from '../../electron/host/fidelity';

const skip = existsSync(SHIPPED_REAL_HANDOVER) ? null : `${SHIPPED_REAL_HANDOVER} is absent`;
if (skip) console.log(`fidelity: skipped — ${skip}`);
const dir = mkdtempSync(join(tmpdir(), 'kho-lab-fidelity-real-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function fidelity(scenario: string): Promise<{ code: number; rep: FidelityReport; out: string[] }> {
  const json = join(dir, `${scenario}.json`);
  const out: string[] = [];
  const r = await fidelityCommand(['--real', SHIPPED_REAL_HANDOVER, '--json', json, scenario], {
    out: (l) => out.push(l),
    err: () => {},
  });
  if (!r.ok) throw new Error(r.error.message);
  return { code: r.value, rep: JSON.parse(readFileSync(json, 'utf8')) as FidelityReport, out };
}

const key = (r: { where: string; field: string }) => `${r.where} / ${r.field}`;
const verdicts = (rep: FidelityReport, v: string) => rep.rows.filter((r) => r.verdict === v).map(key);
const rowOf = (rep: FidelityReport, where: string, field: string) =>
  rep.rows.find((r) => r.where === where && r.field === field);

describe.skipIf(skip !== null)(
  'the simulated 7.2 handover beside the real 7.2.13 one (luo_session_serialize(), memfd_luo_preserve())',
  () => {
    it('luo-kexec-simple: luo_ser, both sessions, token 0x1a memfd-v2, its record, size and folio match; nothing differs', async () => {
      const { code, rep, out } = await fidelity('luo-kexec-simple');
      expect(out[1]).toMatch(/builtin:luo-kexec-simple on 7\.2/);
      for (const [where, field] of [
        ['LUO', 'compatible'],
        ['LUO', 'liveupdate_num'],
        ['LUO', 'session blocks'],
        ['LUO', 'FLBs'],
        ['LUO session test-session', 'files (token:compatible)'],
        ['LUO session test-session', 'file blocks'],
        ['LUO session test-session file 0x1a', 'memfd nr_folios'],
        ['LUO session test-session file 0x1a', 'memfd seals'],
        ['LUO session test-session file 0x1a', 'memfd flags'],
        ['LUO session test-session file 0x1a', 'folios (index:flags)'],
        ['sub-node LUO', 'blob size'],
        ['kexec-metadata', 'kexec_count'],
      ] as const)
        expect(rowOf(rep, where, field)?.verdict, `${where} / ${field}`).toBe('match');
      expect(rowOf(rep, 'LUO session test-session', 'files (token:compatible)')!.real).toBe('[0x1a:memfd-v2]');
      expect(rowOf(rep, 'LUO', 'FLB counts')).toMatchObject({ real: '[6, 6, 6]', sim: '[2, 2, 2]', verdict: 'nature' });
      // luo_test_utils.c: create_state_file() and create_and_preserve_memfd()'s ftruncate() to a page.
      expect(rowOf(rep, 'LUO', 'sessions')).toMatchObject({
        real: '[kexec_simple_state, test-session]',
        verdict: 'match',
      });
      expect(rowOf(rep, 'LUO session test-session file 0x1a', 'memfd size')).toMatchObject({
        real: '4096',
        sim: '4096',
      });
      expect(verdicts(rep, 'differs')).toEqual([]);
      for (const r of rep.rows.filter((x) => x.verdict !== 'match')) expect(r.why, key(r)).toBeTruthy();
      expect(code).toBe(0);
    });

    it('luo-multi-session: the state session and the four sessions, tokens 0x1001/0x2002/0x3003 and their records match', async () => {
      const { rep } = await fidelity('luo-multi-session');
      expect(rowOf(rep, 'LUO session kexec_multi_state', 'files (token:compatible)')).toMatchObject({
        real: '[0x3e6:memfd-v2]',
        verdict: 'match',
      });
      expect(rowOf(rep, 'LUO session multi-test-files-2', 'files (token:compatible)')).toMatchObject({
        real: '[0x2002:memfd-v2, 0x3003:memfd-v2]',
        verdict: 'match',
      });
      expect(rowOf(rep, 'LUO session multi-test-files-1 file 0x1001', 'memfd size')).toMatchObject({
        real: '4096',
        verdict: 'match',
      });
      expect(verdicts(rep, 'differs')).toEqual([]);
    });

    it('--open DIR: the simulated vmcore is written beside, and `npm start -- --real … --sim …` opens both side by side', async () => {
      const out: string[] = [];
      const r = await fidelityCommand(['--real', SHIPPED_REAL_HANDOVER, '--open', dir, 'test-kho'], {
        out: (l) => out.push(l),
        err: () => {},
      });
      expect(r.ok && r.value).toBe(0);
      const sim = join(dir, 'kho-lab-test-kho-7.2.vmcore');
      expect(out).toContain(`  simulated: ${sim}`);
      expect(out).toContain(`  real:      ${SHIPPED_REAL_HANDOVER}`);
      // The app opens the two side by side from its command line (electron/launch-args.ts).
      expect(out).toContain(`  npm start -- --real ${SHIPPED_REAL_HANDOVER} --sim ${sim}`);
      expect(out).toContain(`  npm run sim -- inspect ${sim}`);
      expect(out).toContain(`  npm run sim -- fidelity --real ${SHIPPED_REAL_HANDOVER} --kernel 7.2 test-kho`);
      // What was written is a dump the reader opens: the simulated kho-v4 handover.
      const f = openDumpFile(sim);
      try {
        expect(inspectDump(f).fdt.compatible).toBe('kho-v4');
      } finally {
        f.close();
      }
    });

    it("test-kho: nothing differs; the LUO sessions are the other selftests' (exit 0)", async () => {
      const { code, rep } = await fidelity('test-kho');
      expect(verdicts(rep, 'differs')).toEqual([]);
      expect(code).toBe(0);
      expect(rowOf(rep, 'LUO', 'sessions of other selftests')!.why).toMatch(/also ran luo_simple, luo_multi/);
    });
  },
);
