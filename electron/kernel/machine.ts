/**
 * DOC: the machine
 *
 * The hardware that outlives every kernel: its configuration, the firmware memory map, RAM
 * contents, the seeded random generator and the console. `kernel` is whichever kernel is
 * running now (none before the first boot). Same configuration and seed, same steps ⇒ the same
 * RAM bytes and page state, which `fingerprint()` condenses into one hash.
 */
import type { MachineConfig } from '../../shared/machine-config';
import { coldBoot } from './boot';
import { type KernelError, kerr } from './lib/errno';
import { Hasher } from './lib/hash';
import { Rng } from './lib/rng';
import { Kernel } from './kernel';
import { type MachineLayout, machineLayout } from './layout';
import { PhysicalMemory } from './ram';
import { KernelLog } from './trace';

export type ProgressSink = (label: string, done: number, total: number) => void;

export class Machine {
  readonly layout: MachineLayout;
  readonly ram: PhysicalMemory;
  readonly rng: Rng;
  readonly log = new KernelLog();
  kernel: Kernel | null = null;
  onProgress: ProgressSink | undefined;

  constructor(readonly config: MachineConfig) {
    this.layout = machineLayout(config);
    this.ram = new PhysicalMemory(this.layout.maxPfn);
    this.rng = new Rng(config.seed);
  }

  /** Powers on and cold-boots the first kernel. */
  boot(): KernelError | null {
    if (this.kernel) return kerr('EBUSY', 'the machine is already running a kernel');
    const k = coldBoot({
      config: this.config,
      layout: this.layout,
      ram: this.ram,
      rng: this.rng,
      log: this.log,
      onProgress: (label, done, total) => this.onProgress?.(label, done, total),
    });
    if (k instanceof Kernel) {
      this.kernel = k;
      return null;
    }
    return k;
  }

  /** One hash over RAM contents, struct page state and the RNG: equal ⇔ the same machine. */
  fingerprint(): string {
    const h = this.ram.hash(new Hasher());
    h.words(this.rng.state());
    const k = this.kernel;
    if (k) h.words(k.pages.flags).words(k.pages.order).words(k.pages.refcount).words(k.pages.owner).words(k.pages.pageblockMigratetype);
    return h.digest();
  }
}
