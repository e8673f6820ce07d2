/**
 * DOC: machine form
 *
 * The "New machine" dialog's fields as text, checked with the same MachineConfigSchema the host
 * uses, so the dialog shows exactly the message the host would answer with, next to the field.
 */
import {
  DEFAULT_KERNEL,
  type KernelRelease,
  MachineConfigSchema,
  type MachineConfigInput,
} from '../../../shared/machine-config';

export interface MachineForm {
  /** The kernel release booted at power-on. */
  kernel: KernelRelease;
  ram: string;
  nodes: number;
  cpus: number;
  seed: number;
  cmdline: string;
  initrd: string;
  /** CONFIG_KEXEC_HANDOVER_DEBUG. */
  khoDebug: boolean;
}

type MachineField = keyof MachineForm;

export const DEFAULT_FORM: MachineForm = {
  kernel: DEFAULT_KERNEL,
  ram: '4G',
  nodes: 1,
  cpus: 4,
  seed: 1,
  // LUO (/dev/liveupdate) is off unless liveupdate=on, as in 6.19 (kernel/liveupdate/luo_core.c).
  cmdline: 'kho=on liveupdate=on kho_scratch=200%',
  initrd: '8M',
  khoDebug: false,
};

/** Fills the form from an existing machine's config (sizes back in memparse spelling). */
export function formFromConfig(c: {
  kernel?: KernelRelease;
  ram: number;
  nodes: number;
  cpus: number;
  seed: number;
  cmdline: string;
  initrd: number;
  khoDebug?: boolean;
}): MachineForm {
  return {
    kernel: c.kernel ?? DEFAULT_KERNEL,
    ram: memparseText(c.ram),
    nodes: c.nodes,
    cpus: c.cpus,
    seed: c.seed,
    cmdline: c.cmdline,
    initrd: memparseText(c.initrd),
    khoDebug: c.khoDebug ?? false,
  };
}

/** 4294967296 → "4G", 8388608 → "8M": the largest suffix that divides evenly. */
export function memparseText(bytes: number): string {
  for (const [suffix, shift] of [
    ['T', 40],
    ['G', 30],
    ['M', 20],
    ['K', 10],
  ] as const) {
    const unit = 2 ** shift;
    if (bytes >= unit && bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}

export type FormCheck =
  { ok: true; config: MachineConfigInput } | { ok: false; errors: Partial<Record<MachineField | 'form', string>> };

export function checkMachineForm(f: MachineForm): FormCheck {
  const input = {
    kernel: f.kernel,
    ram: f.ram.trim(),
    nodes: f.nodes,
    cpus: f.cpus,
    seed: f.seed,
    cmdline: f.cmdline.trim(),
    initrd: f.initrd.trim(),
    khoDebug: f.khoDebug,
  };
  const r = MachineConfigSchema.safeParse(input);
  if (r.success) return { ok: true, config: input };
  const errors: Partial<Record<MachineField | 'form', string>> = {};
  for (const issue of r.error.issues) {
    const key = issue.path[0];
    const field = typeof key === 'string' && key in f ? (key as MachineField) : 'form';
    errors[field] ??= issue.message;
  }
  return { ok: false, errors };
}
