/**
 * The app's command line (electron/launch-args.ts): `--real DUMP [--sim SIMDUMP | --scenario
 * NAME]`, each path a regular file, the scenario one a real selftest stands for, anything else a
 * message naming what was wrong. main.test.ts runs it through main with the mocked electron module.
 */
import { describe, expect, it } from 'vitest';
import { appArgs, openLaunch, parseLaunchArgs } from '../../../electron/launch-args';
import { createFakeApi } from './fixtures/fake-api';

const files: Record<string, 'file' | 'missing' | 'not a regular file'> = {
  '/d/real.elf': 'file',
  '/d/sim.vmcore': 'file',
  '/d': 'not a regular file',
};
const parse = (...args: string[]) => parseLaunchArgs(args, (p) => files[p] ?? 'missing');
const message = (r: ReturnType<typeof parse>) => (r.ok ? '' : r.error.message);

describe('appArgs: what follows the app on its command line', () => {
  it('a packaged app: everything after the executable', () =>
    expect(appArgs(['/opt/kho-lab', '--real', 'x'], false)).toEqual(['--real', 'x']));
  it("electron APP (npm start): after the app path, Electron's own switches before it skipped", () => {
    expect(appArgs(['electron', '/repo', '--real', 'x'], true)).toEqual(['--real', 'x']);
    expect(appArgs(['electron', '--inspect=0', '--remote-debugging-port=0', '/repo', '--sim', 'y'], true)).toEqual([
      '--sim',
      'y',
    ]);
    expect(appArgs(['electron'], true)).toEqual([]);
  });
});

describe('parseLaunchArgs', () => {
  it('nothing (or only Chromium switches) asks for nothing', () => {
    expect(parse()).toEqual({ ok: true, value: null });
    expect(parse('--no-sandbox', '--enable-logging=stderr')).toEqual({ ok: true, value: null });
  });

  it('--real alone, with --sim, with --scenario (builtin: prefix allowed), and the --flag=value form', () => {
    expect(parse('--real', '/d/real.elf')).toEqual({ ok: true, value: { real: '/d/real.elf' } });
    expect(parse('--real', '/d/real.elf', '--sim', '/d/sim.vmcore')).toEqual({
      ok: true,
      value: { real: '/d/real.elf', sim: '/d/sim.vmcore' },
    });
    expect(parse('--scenario=builtin:luo-multi-session', '--real=/d/real.elf')).toEqual({
      ok: true,
      value: { real: '/d/real.elf', scenario: 'luo-multi-session' },
    });
  });

  it.each([
    [['--real', '/d/real.elf', '--frobnicate'], /^unknown option --frobnicate\nusage: npm start -- --real DUMP/],
    [['stray'], /^unexpected argument "stray"/],
    [['--real'], /^--real needs a value/],
    [['--real', '--sim', '/d/sim.vmcore'], /^--real needs a value/],
    [['--real', '/d/real.elf', '--real', '/d/real.elf'], /^--real is given twice/],
    [['--sim', '/d/sim.vmcore'], /give --real DUMP/],
    [
      ['--real', '/d/real.elf', '--sim', '/d/sim.vmcore', '--scenario', 'test-kho'],
      /either --sim SIMDUMP or --scenario NAME, not both/,
    ],
    [['--real', '/d/nope.elf'], /^--real \/d\/nope\.elf: no such file$/],
    [['--real', '/d'], /^--real \/d: not a regular file$/],
    [['--real', '/d/real.elf', '--sim', '/d/missing'], /^--sim \/d\/missing: no such file$/],
    [
      ['--real', '/d/real.elf', '--scenario', 'luo-vm'],
      /"luo-vm" has no counterpart in the real kernel's selftests; use one of test-kho, luo-kexec-simple, luo-multi-session/,
    ],
  ])('%j is refused with a message naming what was wrong', (args, why) => {
    const r = parse(...args);
    expect(r.ok).toBe(false);
    expect(message(r)).toMatch(why);
  });

  it('checks the real file system by default: a directory is not a dump', () => {
    expect(message(parseLaunchArgs(['--real', __dirname]))).toMatch(/not a regular file/);
  });
});

describe('openLaunch: the request through the host', () => {
  it('opens the real dump first; a refusal names the flag; a bad --sim leaves the real dump open with a warning', async () => {
    const api = createFakeApi();
    const r = await openLaunch(api, { real: '/d/real.elf', sim: '/d/sim.vmcore' });
    expect(api.calls).toEqual([['openDump', ['/d/real.elf']]]);
    expect(r).toMatchObject({
      ok: false,
      error: { message: '--real /d/real.elf: /d/real.elf: not an ELF core (the fake)' },
    });
    const opening = { ...api, openDump: async () => ({ ok: true as const, value: { name: 'real.elf' } as never }) };
    expect(await openLaunch(opening, { real: '/d/real.elf', sim: '/d/sim.vmcore' })).toMatchObject({
      ok: true,
      value: { compare: null, warning: '--sim /d/sim.vmcore: /d/sim.vmcore: not an ELF core (the fake)' },
    });
    expect(await openLaunch(opening, { real: '/d/real.elf', scenario: 'test-kho' })).toMatchObject({
      ok: true,
      value: { compare: { scenario: 'test-kho' } },
    });
  });
});
