/**
 * The headless runner: `main(argv, io)` with captured output. Exit 0 when every step passed, 1
 * when a step or check failed, 2 for bad input with a message saying what was wrong.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { cli, scratchDir } from './run-cli';
import { EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK } from '../../../electron/cli';
import { BUILTIN_SCENARIOS } from '../../../electron/host/builtins';
import type { Report } from '../../../shared/views';

const dir = scratchDir('kho-lab-cli-');

function scenarioFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const small = { name: 'small', machine: { ram: '64M' }, steps: [{ op: 'boot' }, { op: 'expect_free', atLeast: '1M' }] };

describe('kho-lab-sim', () => {
  it('list prints every builtin with its description', async () => {
    const r = await cli('list');
    expect(r.code).toBe(EXIT_OK);
    for (const name of Object.keys(BUILTIN_SCENARIOS))
      expect(r.out.some((l) => l.startsWith(`builtin:${name}`))).toBe(true);
    expect(r.out.length).toBe(Object.keys(BUILTIN_SCENARIOS).length);
  });

  it('run builtin:boot --json writes a report with steps, events, summary and RAM hash', async () => {
    const path = join(dir, 'boot.json');
    const r = await cli('run', 'builtin:boot', '--json', path);
    expect(r.code).toBe(EXIT_OK);
    expect(r.err).toEqual([]);
    expect(r.out.some((l) => /Linux version/.test(l))).toBe(true);
    expect(r.out.some((l) => /^scenario boot: PASS/.test(l))).toBe(true);
    const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
    expect(report.tool).toBe('kho-lab');
    expect(report.ok).toBe(true);
    expect(report.steps.length).toBe(BUILTIN_SCENARIOS.boot!.steps.length);
    expect(report.events.length).toBeGreaterThan(10);
    expect(report.summary!.managedPages).toBeGreaterThan(0);
    expect(report.ramHash).toMatch(/^[0-9a-f]{16}$/);
    expect(existsSync(`${path}.tmp-${process.pid}`)).toBe(false);
  });

  it('--quiet leaves out the kernel log but keeps the summary', async () => {
    const r = await cli('run', scenarioFile('quiet.json', small), '--quiet');
    expect(r.code).toBe(EXIT_OK);
    expect(r.out.some((l) => /Linux version/.test(l))).toBe(false);
    expect(r.out[0]).toMatch(/^scenario small: PASS — 2 steps/);
  });

  it('a scenario with a failing check exits 1 and says which step failed', async () => {
    const path = scenarioFile('fail.json', {
      machine: { ram: '64M' },
      steps: [{ op: 'boot' }, { op: 'expect_free', atLeast: '1T' }],
    });
    const r = await cli('run', path, '--quiet');
    expect(r.code).toBe(EXIT_CHECK_FAILED);
    expect(r.out.some((l) => /FAIL\s+2 expect free ALL ≥ 1 TiB/.test(l))).toBe(true);
  });

  it('--ram and --seed override the scenario machine', async () => {
    const path = scenarioFile('ram.json', small);
    const jsonA = join(dir, 'a.json');
    const jsonB = join(dir, 'b.json');
    expect((await cli('run', path, '--ram', '65M', '--seed=5', '--quiet', '--json', jsonA)).code).toBe(EXIT_OK);
    expect((await cli('run', path, '--ram=65M', '--seed', '6', '--quiet', '--json', jsonB)).code).toBe(EXIT_OK);
    const a = JSON.parse(readFileSync(jsonA, 'utf8')) as Report;
    const b = JSON.parse(readFileSync(jsonB, 'utf8')) as Report;
    expect(a.config).toMatchObject({ ram: 65 * 1024 * 1024, seed: 5 });
    expect(b.config.seed).toBe(6);
    expect(a.ramHash).not.toBe(b.ramHash);
  });

  it.each([
    [['run', 'builtin:nope'], /unknown built-in scenario "nope"/],
    [['run', '/nonexistent/kho-lab/scenario.json'], /scenario\.json: cannot read: ENOENT/],
    [['run', 'MALFORMED'], /malformed\.json: not valid JSON/],
    [['run', 'BADSTEP'], /badstep\.json: steps\[1\]\.op: unknown step op/],
    [['run', 'builtin:boot', '--frobnicate'], /unknown option --frobnicate/],
    [['run', 'builtin:boot', '--ram', '3X'], /--ram: "3X" is not a size/],
    [['run', 'builtin:boot', '--ram', '63M'], /machine: ram: RAM size 63 MiB is below the minimum of 64 MiB/],
    [['run', 'builtin:boot', '--ram', '17T'], /RAM size 17 TiB is above the maximum of 16 TiB/],
    [['run', 'builtin:boot', '--seed', '-1'], /--seed: "-1" is not a non-negative integer/],
    [['run', 'builtin:boot', '--seed'], /--seed needs a value/],
    [['run', 'builtin:boot', '--ram', '64M', '--json', '/nonexistent/dir/r.json'], /--json: cannot write/],
    [[], /usage:/],
    [['run'], /usage:/],
    [['run', 'a', 'b'], /usage:/],
    [['frob'], /usage:/],
  ])('bad input %j exits 2 with a clear message', async (argv, message) => {
    const args = argv.map((a) =>
      a === 'MALFORMED'
        ? scenarioFile('malformed.json', '{"steps": [')
        : a === 'BADSTEP'
          ? scenarioFile('badstep.json', { steps: [{ op: 'boot' }, { op: 'nope' }] })
          : a,
    );
    const r = await cli(...args);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err.join('\n')).toMatch(message);
  });
});
