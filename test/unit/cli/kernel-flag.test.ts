/**
 * `run … --kernel RELEASE` boots that release whatever the scenario's `machine.kernel` says; an
 * unknown release anywhere (flag, scenario, kexec_load) is bad input, exit 2, naming the releases.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, scratchDir } from './run-cli';
import { EXIT_BAD_INPUT, EXIT_OK } from '../../../electron/cli';

const dir = scratchDir('kho-lab-kernel-');

function scenarioFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

const on70 = { name: 'on70', machine: { ram: '64M', kernel: '7.0' }, steps: [{ op: 'boot' }] };
const version = (out: string[]) => out.find((l) => /Linux version/.test(l));

describe('kho-lab-sim run --kernel', () => {
  it("start_kernel() of the scenario's machine.kernel, and --kernel overrides it", async () => {
    const path = scenarioFile('on70.json', on70);
    const plain = await cli('run', path);
    expect(plain.code).toBe(EXIT_OK);
    expect(version(plain.out)).toMatch(/Linux version 7\.0\.0-kholab /);
    const over = await cli('run', path, '--kernel', '6.19');
    expect(over.code).toBe(EXIT_OK);
    expect(version(over.out)).toMatch(/Linux version 6\.19\.0-kholab /);
  });

  it('an unknown release exits 2 naming the releases that exist', async () => {
    const r = await cli('run', 'builtin:boot', '--kernel', '7.4');
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err.join('\n')).toBe('--kernel: unknown kernel release "7.4"; the releases are 6.19, 7.0, 7.1, 7.2, 7.3');
    const s = await cli('run', scenarioFile('bad.json', { ...on70, machine: { kernel: '6.1' } }));
    expect(s.code).toBe(EXIT_BAD_INPUT);
    expect(s.err.join('\n')).toContain('unknown kernel release "6.1"; the releases are 6.19, 7.0, 7.1, 7.2, 7.3');
    const k = await cli(
      'run',
      scenarioFile('badkexec.json', {
        ...on70,
        machine: { ram: '256M', cmdline: 'kho=on' },
        steps: [{ op: 'boot' }, { op: 'kexec_load', kernel: '8.0' }],
      }),
    );
    expect(k.code).toBe(EXIT_BAD_INPUT);
    expect(k.err.join('\n')).toContain('unknown kernel release "8.0"; the releases are 6.19, 7.0, 7.1, 7.2, 7.3');
  });

  it('a kernel variant (a patched build) shows in the banner; an unknown one exits 2 naming the variants', async () => {
    const v = { name: 'v', machine: { ram: '256M', kernel: '7.3', variant: 'kho-v5' }, steps: [{ op: 'boot' }] };
    const ok = await cli('run', scenarioFile('variant.json', v));
    expect(ok.code).toBe(EXIT_OK);
    expect(version(ok.out)).toMatch(/Linux version 7\.3\.0-kholab\+kho-v5 /);
    const bad = await cli(
      'run',
      scenarioFile('badvariant.json', { ...v, machine: { kernel: '7.3', variant: 'kho-v9' } }),
    );
    expect(bad.code).toBe(EXIT_BAD_INPUT);
    expect(bad.err.join('\n')).toContain('unknown kernel variant "kho-v9"; the variants are kho-v5, luo-v6');
    const step = await cli(
      'run',
      scenarioFile('badvariantstep.json', { ...v, steps: [{ op: 'boot' }, { op: 'kexec_load', variant: 'luo-v7' }] }),
    );
    expect(step.code).toBe(EXIT_BAD_INPUT);
    expect(step.err.join('\n')).toContain('unknown kernel variant "luo-v7"; the variants are kho-v5, luo-v6');
  });
});
