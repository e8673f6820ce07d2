/** Shared by the LUO tests: a booted machine (256 MiB unless told otherwise) with a "vmm" process, driven by commands. */
import { CommandSchema, type CommandInput } from '../../../shared/commands';
import { MachineConfigSchema } from '../../../shared/machine-config';
import { type StepFields, applyCommand, stepFields } from '../../../electron/host/apply';
import { Machine } from '../../../electron/kernel/machine';

export const LUO_CMDLINE = 'kho=on liveupdate=on kho_scratch=64M,32M,16M';

export function luoMachine(
  cmdline = LUO_CMDLINE,
  ram = '256M',
): { m: Machine; run: (c: CommandInput) => StepFields; ok: (c: CommandInput) => number | undefined } {
  const m = new Machine(MachineConfigSchema.parse({ ram, seed: 1, cmdline }));
  const run = (c: CommandInput): StepFields => stepFields(applyCommand(m, CommandSchema.parse(c)));
  const ok = (c: CommandInput) => {
    const r = run(c);
    if (!r.ok) throw new Error(`${c.op}: ${r.message}`);
    return r.returned;
  };
  ok({ op: 'boot' });
  ok({ op: 'spawn', name: 'vmm' });
  return { m, run, ok };
}
