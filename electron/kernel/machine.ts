/**
 * DOC: the machine
 *
 * The hardware that outlives every kernel: its configuration, the firmware memory map, RAM
 * contents, the seeded random generator and the console. `kernel` is whichever kernel is
 * running now (none before the first boot). Same configuration and seed, same steps ⇒ the same
 * RAM bytes and page state, which `fingerprint()` condenses into one hash.
 */
import type { MachineConfig } from '../../shared/machine-config';
import { type KexecEntry, bootKernel } from './boot';
import { writeSegments } from './kexec';
import { type KernelError, kerr } from './lib/errno';
import { Hasher } from './lib/hash';
import { hashState } from './lib/state-hash';
import { Rng } from './lib/rng';
import { Kernel } from './kernel';
import { type MachineLayout, machineLayout } from './layout';
import { kernelProfile } from './profile';
import { PhysicalMemory } from './ram';
import { KernelLog } from './trace';

export type ProgressSink = (label: string, done: number, total: number) => void;

/**
 * Where long kernel operations report progress. Kernels reach it through their context; the sink
 * is the host's and not machine state, so a snapshot of the machine (the timeline's checkpoints)
 * leaves it out and the host attaches its sink to a restored machine.
 */
export class ProgressRelay {
  sink: ProgressSink | undefined = undefined;

  report(label: string, done: number, total: number): void {
    this.sink?.(label, done, total);
  }
}

export class Machine {
  readonly layout: MachineLayout;
  readonly ram: PhysicalMemory;
  readonly rng: Rng;
  readonly log = new KernelLog();
  kernel: Kernel | null = null;
  /** Kernels started since power-on. */
  generation = 0;
  /** After a kexec jump: where the next kernel's boot parameters are. Nothing else crosses. */
  entry: KexecEntry | null = null;
  readonly progress = new ProgressRelay();

  constructor(readonly config: MachineConfig) {
    this.layout = machineLayout(config);
    this.ram = new PhysicalMemory(this.layout.maxPfn);
    this.rng = new Rng(config.seed);
  }

  get onProgress(): ProgressSink | undefined {
    return this.progress.sink;
  }
  set onProgress(sink: ProgressSink | undefined) {
    this.progress.sink = sink;
  }

  /** Boots a kernel: cold after power-on, or the kexec'd one after a jump. */
  boot(): KernelError | null {
    if (this.kernel) return kerr('EBUSY', 'the machine is already running a kernel');
    this.generation++;
    const entry = this.entry;
    this.entry = null;
    const k = bootKernel(
      {
        generation: this.generation,
        config: this.config,
        layout: this.layout,
        ram: this.ram,
        rng: this.rng,
        log: this.log,
        profile: entry
          ? kernelProfile(entry.release, entry.variant)
          : kernelProfile(this.config.kernel, this.config.variant),
        progress: this.progress,
      },
      entry ?? undefined,
    );
    if (k instanceof Kernel) {
      this.kernel = k;
      return null;
    }
    return k;
  }

  /**
   * reboot(LINUX_REBOOT_CMD_KEXEC): LUO freezes and serializes its sessions and finalizes KHO
   * (a failure returns its errno and the machine keeps running); then the loaded image's segments
   * are copied to their places and the running kernel, with every object it owned, is gone. RAM
   * keeps everything else.
   */
  kexecReboot(): KernelError | null {
    const k = this.kernel;
    if (!k) return kerr('EINVAL', 'no kernel is running');
    if (!k.kimage) return kerr('EINVAL', 'no kexec image is loaded (kexec_file_load first)');
    // liveupdate_reboot(): freeze, serialize, kho_finalize. A failure leaves this kernel running.
    const e = k.luo?.reboot();
    if (e) return e;
    this.log.info('', 'kexec_core: Starting new kernel');
    writeSegments(k, k.kimage);
    this.entry = { bootParams: k.kimage.bootParams, release: k.kimage.release, variant: k.kimage.variant };
    this.kernel = null;
    return null;
  }

  /**
   * One hash over the whole machine — RAM contents, the RNG, the log and every object of the
   * running kernel (lib/state-hash.ts): equal ⇔ the same machine.
   */
  fingerprint(): string {
    return hashState(this, new Hasher()).digest();
  }
}
