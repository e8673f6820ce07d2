/**
 * Boot options in dmesg as Linux reports them: a refused early_param value is "Malformed early
 * option" (init/main.c: do_early_param()), what nothing took is "Unknown kernel command line
 * parameters" (init/main.c: print_unknown_bootoptions()), module parameters (dotted) never are,
 * and the machine config refuses NUMA and CPU counts in plain words.
 */
import { describe, expect, it } from 'vitest';
import { MachineConfigSchema } from '../../../shared/machine-config';
import { describeIssues } from '../../../shared/scenario';
import { bootMachine } from './helpers';

const lines = (cmdline: string) =>
  bootMachine('256M', { cmdline }).machine.log.events.map((e) => `${e.level} ${e.msg}`);

describe('boot options in dmesg', () => {
  it('do_early_param(): kstrtobool() refusing kho= or a bare liveupdate logs Malformed early option, before the unknown list', () => {
    const log = lines('kho=maybe liveupdate kho_scratch=abc% foo bar=1 luo.memfd_format=memfd-v1 pci.x=1 quiet');
    const at = (s: string) => log.findIndex((l) => l.includes(s));
    expect(log).toContain("warn Malformed early option 'kho'");
    expect(log).toContain("warn Malformed early option 'liveupdate'");
    expect(log).toContain("warn Malformed early option 'kho_scratch'");
    expect(log).toContain('info Unknown kernel command line parameters "foo bar=1", will be passed to user space.');
    expect(at('Malformed early option')).toBeGreaterThan(at('Command line:'));
    expect(at('Unknown kernel command line')).toBeGreaterThan(at("Malformed early option 'kho_scratch'"));
  });

  it('print_unknown_bootoptions(): silent when every option is known or a module parameter', () => {
    const log = lines('kho=on liveupdate=off kho_scratch=64M,32M,16M quiet pci.noaer=1');
    expect(log.filter((l) => /Malformed|Unknown kernel command line/.test(l))).toEqual([]);
  });

  it('refuses NUMA and CPU counts in plain words', () => {
    const msg = (over: object) => {
      const r = MachineConfigSchema.safeParse({ ram: '1G', ...over });
      return r.success ? '' : describeIssues('machine', r.error);
    };
    expect(msg({ nodes: 9 })).toContain('NUMA nodes must be a whole number from 1 to 4, got 9');
    expect(msg({ nodes: 0 })).toContain('NUMA nodes must be a whole number from 1 to 4, got 0');
    expect(msg({ cpus: 1.5 })).toContain('CPUs must be a whole number from 1 to 64, got 1.5');
    expect(msg({ cpus: Number.NaN })).toContain('CPUs: enter a number');
  });
});
