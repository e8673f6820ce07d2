/** Shared by the 7.2 LUO tests: a booted 7.2 machine driven by commands, and direct access to LUO. */
import { CommandSchema, type CommandInput } from '../../../shared/commands';
import { type KernelRelease, MachineConfigSchema } from '../../../shared/machine-config';
import { type StepFields, applyCommand, stepFields } from '../../../electron/host/apply';
import { Machine } from '../../../electron/kernel/machine';
import type { Kernel } from '../../../electron/kernel/kernel';
import { isErr } from '../../../electron/kernel/lib/errno';
import type { LuoSession } from '../../../electron/kernel/luo/session';
import type { MemfdFile } from '../../../electron/kernel/proc';
import { LUO_CMDLINE } from './helpers';

export function machine72(kernel: KernelRelease = '7.2', ram = '256M') {
  const m = new Machine(MachineConfigSchema.parse({ ram, seed: 1, cmdline: LUO_CMDLINE, kernel }));
  const run = (c: CommandInput): StepFields => stepFields(applyCommand(m, CommandSchema.parse(c)));
  const ok = (c: CommandInput) => {
    const r = run(c);
    if (!r.ok) throw new Error(`${c.op}: ${r.message}`);
    return r.returned;
  };
  ok({ op: 'boot' });
  ok({ op: 'spawn', name: 'vmm' });
  /** kexec_load + reboot, then `between` (RAM may be corrupted there), then boot (and spawn vmm); the boot step's fields. */
  const liveUpdate = (between?: (m: Machine) => void) => {
    ok({ op: 'kexec_load' });
    ok({ op: 'reboot' });
    between?.(m);
    const since = m.log.lastSeq;
    const r = run({ op: 'boot' });
    if (r.ok) ok({ op: 'spawn', name: 'vmm' });
    return { r, since };
  };
  return { m, run, ok, liveUpdate, k: () => m.kernel! };
}

/** A memfd file object of `size` bytes (never installed in a process: no fd limit applies). */
export function memfdFile(k: Kernel, name: string): MemfdFile {
  const inode = k.shmem.create(name);
  inode.refs = 1;
  return { kind: 'memfd', inode, pos: 0 };
}

/** luo_session_create() straight on LUO; throws on error. */
export function session(k: Kernel, name: string): LuoSession {
  const s = k.luo!.createSession(name);
  if (isErr(s)) throw new Error(`${name}: ${s.errno} ${s.reason}`);
  return s;
}
