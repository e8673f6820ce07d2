/**
 * The simulated machine's configuration: what a user picks in the "New machine" dialog and what a
 * scenario file's `machine` section holds. Sizes accept memparse spellings ("64M", "4G").
 */
import { z } from 'zod';
import { GiB, MiB, PAGE_SIZE, TiB, formatBytes, hex, parseSize } from './units';

const MIN_RAM = 64 * MiB;
/** The largest machine of the dialog and of scenario files. */
export const MAX_RAM = 4 * TiB;
/** The CLI's `--ram` goes further, where the host has the memory (hostMemoryFor()). */
const CLI_MAX_RAM = 16 * TiB;
export const MAX_NODES = 4;
const MAX_CPUS = 64;

/** A whole count between `min` and `max`, refused in plain words ("NUMA nodes: 1 to 4, got 9"). */
function countSchema(what: string, min: number, max: number) {
  const range = `${what} must be a whole number from ${min} to ${max}`;
  return z
    .number({ error: (i) => (Number.isNaN(i.input) || i.input === undefined ? `${what}: enter a number` : range) })
    .int({ error: (i) => `${range}, got ${String(i.input)}` })
    .min(min, { error: (i) => `${range}, got ${String(i.input)}` })
    .max(max, { error: (i) => `${range}, got ${String(i.input)}` });
}

/** A byte size written as a number or a memparse string; always resolves to a whole number of bytes. */
export const SizeSchema = z
  .union([z.number(), z.string()], {
    error: (i) => `expected a size such as 4096, "64M" or "4G", got ${JSON.stringify(i.input)}`,
  })
  .transform((v, ctx) => {
    const n = parseSize(v);
    if (n === null) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a size such as 4096, "64M" or "4G", got ${JSON.stringify(v)}`,
      });
      return z.NEVER;
    }
    return n;
  });

/** `n` as formatBytes() writes it, or exactly when that would read the same as `limit` ("4097 GiB", not "4 TiB"). */
function exactBytes(n: number, limit: number): string {
  const text = formatBytes(n);
  if (text !== formatBytes(limit)) return text;
  return n % GiB === 0 ? `${n / GiB} GiB` : `${n} bytes`;
}

const ramSizeSchema = (maxRam: number) =>
  SizeSchema.superRefine((n, ctx) => {
    if (n % PAGE_SIZE !== 0)
      ctx.addIssue({ code: 'custom', message: `RAM size ${n} is not a multiple of the 4 KiB page size` });
    else if (n < MIN_RAM)
      ctx.addIssue({
        code: 'custom',
        message: `RAM size ${formatBytes(n)} is below the minimum of ${formatBytes(MIN_RAM)}`,
      });
    else if (n > maxRam)
      ctx.addIssue({
        code: 'custom',
        message: `RAM size ${exactBytes(n, maxRam)} is above the maximum of ${formatBytes(maxRam)}`,
      });
  });

/** The kernel releases the simulator can boot (electron/kernel/profile.ts has one profile each). */
export const KERNEL_RELEASES = ['6.19', '7.0', '7.1', '7.2', '7.3'] as const;
export type KernelRelease = (typeof KERNEL_RELEASES)[number];
/** The release a machine boots when nothing says otherwise. */
export const DEFAULT_KERNEL: KernelRelease = '6.19';

export const KernelReleaseSchema = z.enum(KERNEL_RELEASES, {
  error: (i) => `unknown kernel release ${JSON.stringify(i.input)}; the releases are ${KERNEL_RELEASES.join(', ')}`,
});

/**
 * Kernels built with a one-line patch that bumps one format's compatible, as the real
 * `realkernel/7.3/variants/*.patch` do: `kho-v5` (KHO_FDT_COMPATIBLE) and `luo-v6`
 * (LUO_ABI_COMPATIBLE). Each applies to a release that writes the version it bumps (kho-v4,
 * luo-v5: 7.2 and 7.3); electron/kernel/profile.ts builds the patched profile.
 */
export const KERNEL_VARIANTS = ['kho-v5', 'luo-v6'] as const;
export type KernelVariant = (typeof KERNEL_VARIANTS)[number];
/** The releases whose formats each variant bumps. */
export const VARIANT_RELEASES: Readonly<Record<KernelVariant, readonly KernelRelease[]>> = {
  'kho-v5': ['7.2', '7.3'],
  'luo-v6': ['7.2', '7.3'],
};

export const KernelVariantSchema = z.enum(KERNEL_VARIANTS, {
  error: (i) => `unknown kernel variant ${JSON.stringify(i.input)}; the variants are ${KERNEL_VARIANTS.join(', ')}`,
});

/** Why `variant` cannot patch `release`, or null when it can. */
export function variantMismatch(release: KernelRelease, variant: KernelVariant | undefined): string | null {
  if (variant === undefined || VARIANT_RELEASES[variant].includes(release)) return null;
  return `kernel variant ${variant} patches ${VARIANT_RELEASES[variant].join(' and ')}, not ${release}`;
}

/** The machine schema with RAM up to `maxRam`. */
const machineConfigSchema = (maxRam: number) =>
  z
    .object({
      /** The kernel release the machine cold-boots (a kexec_load may name another). */
      kernel: KernelReleaseSchema.default(DEFAULT_KERNEL),
      /** A patched build of that release (KERNEL_VARIANTS); none by default. */
      variant: KernelVariantSchema.optional(),
      /** Installed RAM. Above 3 GiB the firmware map leaves the 32-bit PCI hole at [3 GiB, 4 GiB). */
      ram: ramSizeSchema(maxRam).default(1 * GiB),
      /** NUMA nodes; RAM is split between them in address order. */
      nodes: countSchema('NUMA nodes', 1, MAX_NODES).default(1),
      /** CPUs: sizes the percpu areas reserved at boot. */
      cpus: countSchema('CPUs', 1, MAX_CPUS).default(2),
      /** Seed of the machine's one random generator. */
      seed: z.number().int().min(0).max(0xffffffff).default(1),
      /** Kernel command line, e.g. "kho=on kho_scratch=200%". */
      cmdline: z.string().max(4096).default(''),
      /** Size of the initrd the boot loader hands over. */
      initrd: SizeSchema.default(8 * MiB),
      /**
       * Simulator option: after a KHO boot, overwrite every free page, so memory that was not
       * preserved can never survive by luck.
       */
      scribble: z.boolean().default(true),
      /**
       * CONFIG_KEXEC_HANDOVER_DEBUG: the kernel refuses (WARN + EINVAL) preservations that overlap a
       * scratch area. Off by default, as distributions build it, so the hazard can be seen.
       */
      khoDebug: z.boolean().default(false),
    })
    .strict()
    .superRefine((c, ctx) => {
      const mismatch = variantMismatch(c.kernel, c.variant);
      if (mismatch) ctx.addIssue({ code: 'custom', path: ['variant'], message: mismatch });
      const perNode = c.ram / c.nodes;
      if (perNode < 32 * MiB) {
        ctx.addIssue({
          code: 'custom',
          path: ['nodes'],
          message: `${c.nodes} nodes leave ${formatBytes(perNode)} per node; each node needs at least 32 MiB`,
        });
      }
      if (c.initrd % PAGE_SIZE !== 0)
        ctx.addIssue({ code: 'custom', path: ['initrd'], message: 'initrd size must be a multiple of 4 KiB' });
      if (c.initrd > c.ram / 4)
        ctx.addIssue({
          code: 'custom',
          path: ['initrd'],
          message: `initrd of ${formatBytes(c.initrd)} is more than a quarter of RAM`,
        });
    });

export const MachineConfigSchema = machineConfigSchema(MAX_RAM);
/** The CLI's: RAM up to CLI_MAX_RAM (the host-memory and pfn checks of capacityProblem() still apply). */
export const CliMachineConfigSchema = machineConfigSchema(CLI_MAX_RAM);

export type MachineConfigInput = z.input<typeof MachineConfigSchema>;
export type MachineConfig = z.output<typeof MachineConfigSchema>;

/**
 * Host memory the simulator holds per GiB of simulated RAM: the kernel's per-page state (struct
 * page arrays, RAM content identities, the buddy allocator's bitmaps) plus the host's map. The one
 * place to update when the page state's cost changes; `npm run bench` prints the measured figure
 * ("host memory per simulated GiB").
 */
export const HOST_BYTES_PER_GIB = 3.6 * MiB;
/** Node, the engine's code and a machine's fixed costs, whatever its size. */
const HOST_BASE_BYTES = 512 * MiB;

/** Host memory a machine of `ram` bytes needs, estimated from HOST_BYTES_PER_GIB. */
export function hostMemoryFor(ram: number): number {
  return HOST_BASE_BYTES + Math.ceil((ram / GiB) * HOST_BYTES_PER_GIB);
}

/**
 * Most page frames a machine may span (its max pfn). Every pfn must fit the narrowest store that
 * holds one: the page cache keeps pfn + 1 in a Uint32Array (electron/kernel/lib/sparse-index.ts),
 * vmalloc areas keep pfns in one (electron/kernel/mm/vmalloc.ts), RAM's per-page bitmaps index
 * words by `pfn >>> 5`, and Node 20's typed arrays end at 2^32 elements: 2^32 - 1, so the largest
 * machine is 16 TiB less the 1 GiB the PCI hole moves RAM up.
 */
export const MAX_PFNS = 2 ** 32 - 1;

/**
 * Why this host cannot simulate `config` (RAM spanning `maxPfn` page frames, PCI hole included)
 * with `hostBytes` of memory, or null when it can.
 */
export function capacityProblem(config: MachineConfig, maxPfn: number, hostBytes: number): string | null {
  if (maxPfn > MAX_PFNS)
    return (
      `RAM size ${formatBytes(config.ram)} ends at pfn ${hex(maxPfn)} (RAM above 3 GiB moves past the PCI hole), ` +
      `beyond the ${hex(MAX_PFNS)} page frames the simulator can number (pfns are kept in 32 bits)`
    );
  const need = hostMemoryFor(config.ram);
  if (need > hostBytes)
    return (
      `a ${formatBytes(config.ram)} machine needs about ${formatBytes(need)} of host memory ` +
      `(${formatBytes(HOST_BYTES_PER_GIB)} per GiB simulated); this host has ${formatBytes(hostBytes)}`
    );
  return null;
}
