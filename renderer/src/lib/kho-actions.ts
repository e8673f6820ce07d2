/**
 * DOC: KHO actions
 *
 * Which KHO workload actions apply to the machine as it is now, with the reason when one does
 * not (shown as the button's tooltip), and the commands they run.
 */
import type { CommandInput } from '../../../shared/commands';
import type { KernelRelease } from '../../../shared/machine-config';
import type { KhoView, SessionState } from '../../../shared/views';

export interface Availability {
  enabled: boolean;
  /** Why the action is disabled, or what it will do when enabled. */
  reason: string;
}

export type KhoAction = 'insmod' | 'finalize' | 'kexecLoad' | 'reboot' | 'bootNext';

const yes = (reason: string): Availability => ({ enabled: true, reason });
const no = (reason: string): Availability => ({ enabled: false, reason });

/** Availability of each KHO action for a state and its KHO view; everything is off while busy. */
export function khoActions(
  state: SessionState | null,
  kho: KhoView | null,
  busy: boolean,
): Record<KhoAction, Availability> {
  const running = kho ? kho.running : (state?.booted ?? false);
  const noKernel = state === null ? 'no machine' : 'no kernel is running';
  const out = kho?.outgoing ?? null;
  const loaded = (kho?.segments.length ?? 0) > 0;
  /** KHO is off in the running kernel (no outgoing state): test_kho and a KHO kexec would do nothing. */
  const khoOff = running && kho !== null && !out;
  const actions: Record<KhoAction, Availability> = {
    // lib/test_kho.c: kho_test_init() returns 0 at once when !kho_is_enabled().
    insmod: khoOff
      ? no('KHO is off (no kho=on on the command line): test_kho would load and do nothing')
      : running
        ? yes(
            kho?.incoming
              ? 'test_kho: restore and verify what the previous kernel preserved'
              : 'test_kho: preserve ~8 MiB of random folios and a kho_test sub-FDT',
          )
        : no(noKernel),
    finalize: !running
      ? no(noKernel)
      : !out
        ? no('KHO is off: boot with kho=on')
        : out.finalized
          ? no('already finalized')
          : yes('serialize the preserved memory into the kho-v1 chunk list and the root FDT'),
    // kernel/kexec_file.c: kho_fill_kimage() adds no KHO segments when KHO is off.
    kexecLoad: khoOff
      ? no('KHO is off (no kho=on on the command line): the image would carry no handover')
      : running
        ? yes('kexec_file_load the next kernel into scratch')
        : no(noKernel),
    reboot: !running
      ? no(noKernel)
      : !loaded
        ? no('no kexec image loaded: kexec load first')
        : yes('kexec -e: jump into the loaded kernel'),
    bootNext:
      !running && kho?.entry != null
        ? yes('boot the new kernel from RAM')
        : running
          ? no('a kernel is running: kexec -e first')
          : no('nothing to boot: kexec -e first (or Boot for a cold boot)'),
  };
  if (state?.panicked)
    for (const k of Object.keys(actions) as KhoAction[])
      actions[k] = no('the kernel panicked: step back or create a new machine');
  else if (busy) for (const k of Object.keys(actions) as KhoAction[]) actions[k] = { ...actions[k], enabled: false };
  return actions;
}

export interface InsmodOptions {
  /** Leave folio N out of the preservation (fault injection), or null. */
  forget: number | null;
  /** After a successful restore, preserve the folios again (for a chain of kexecs). */
  chain: boolean;
}

/** `insmod test_kho [forget=N] [chain=1]` as a command. */
export function insmodCommand(o: InsmodOptions): CommandInput {
  const params: { forget?: number; chain?: boolean } = {};
  if (o.forget !== null && Number.isInteger(o.forget) && o.forget >= 0) params.forget = o.forget;
  if (o.chain) params.chain = true;
  return { op: 'insmod', module: 'test_kho', params };
}

/** The step for an action; kexec_load takes the next kernel's command line and release (default: this one's). */
export function khoCommand(
  action: Exclude<KhoAction, 'insmod'>,
  cmdline?: string,
  kernel?: KernelRelease,
): CommandInput {
  switch (action) {
    case 'finalize':
      return { op: 'kho_finalize' };
    case 'kexecLoad':
      return {
        op: 'kexec_load',
        ...(kernel ? { kernel } : {}),
        ...(cmdline !== undefined && cmdline.trim() !== '' ? { cmdline: cmdline.trim() } : {}),
      };
    case 'reboot':
      return { op: 'reboot' };
    case 'bootNext':
      return { op: 'boot' };
  }
}
