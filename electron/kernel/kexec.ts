/**
 * DOC: kexec_file_load and the jump
 *
 * `kexec -s -l` (kexec_file_load) builds an image of segments — the kernel, the initrd, the
 * boot parameters page with the command line and the setup_data list, the purgatory and, with
 * KHO on, a copy of the scratch array, added first by kho_fill_kimage() — and finds each a
 * destination (kernel/kexec_file.c: kimage_file_prepare_segments()). With KHO on, destinations
 * are searched only inside scratch areas, in array order, top-down within an area
 * (kho_locate_mem_hole); if a segment fits nowhere the load fails with EADDRNOTAVAIL. KHO's
 * handoff rides in a setup_data node of type SETUP_KEXEC_KHO (kho_data: root FDT address and
 * size, scratch array address and size); the root FDT itself is not copied.
 *
 * The jump (machine_kexec) copies every segment to its destination and leaves RAM otherwise as
 * it is; the only thing the next kernel is told is where its boot parameters are.
 */
import type { KernelRelease, KernelVariant } from '../../shared/machine-config';
import { MiB, PAGE_SIZE, formatBytes, hex } from '../../shared/units';
import { encodeBootParams, encodeCmdline, BOOT_PARAMS_SIZE } from './abi/boot-params';
import { encodeKhoSetupData, encodeScratchArray, type ScratchArea } from './abi/kho-v1';
import { kernelImageSize } from './boot';
import { kernelProfile } from './profile';
import { type KernelError, kerr } from './lib/errno';
import { mix32 } from './lib/hash';
import type { Kernel } from './kernel';

interface Segment {
  name: string;
  dest: number;
  size: number;
  /** Real bytes (boot parameters, the scratch copy) or a content identity (kernel, initrd). */
  bytes?: Uint8Array;
  identity?: number;
}

export interface KexecImage {
  segments: Segment[];
  /** Physical address of the boot parameters: what the next kernel is started with. */
  bootParams: number;
  cmdline: string;
  /** The kernel release this image is: the profile the next kernel boots with. */
  release: KernelRelease;
  /** A patched build of that release (profile.ts: kernelProfile()). */
  variant?: KernelVariant;
}

/** The purgatory: the small program that checks segment digests before jumping. */
const PURGATORY_SIZE = 16 * 1024;

/** Content identity of a named blob, so the same kernel image always has the same bytes. */
function blobIdentity(name: string): number {
  let h = 0x9747b28c;
  for (let i = 0; i < name.length; i++) h = mix32(h ^ name.charCodeAt(i));
  return h | 1;
}

interface Want {
  name: string;
  size: number;
  align: number;
}

/** Finds a destination for each segment inside `ranges`, first range that fits, top-down within it. */
function place(wants: Want[], ranges: Array<[number, number]>): Array<[Want, number]> | Want {
  const placed: Array<[number, number]> = [];
  const out: Array<[Want, number]> = [];
  for (const w of wants) {
    let found = -1;
    for (const [start, end] of ranges) {
      let cand = Math.floor((end - w.size) / w.align) * w.align;
      while (cand >= start) {
        const clash = placed.find(([a, b]) => a < cand + w.size && cand < b);
        if (!clash) break;
        cand = Math.floor((clash[0] - w.size) / w.align) * w.align;
      }
      if (cand >= start) {
        found = cand;
        break;
      }
    }
    if (found < 0) return w;
    placed.push([found, found + w.size]);
    out.push([w, found]);
  }
  return out;
}

/**
 * kexec_file_load() of a bzImage of `image.release` (default: the running kernel's, variant
 * included) or its patched `image.variant` (the caller checked it fits: variantMismatch()), with
 * `cmdline` and an initrd of `initrdSize`.
 */
export function kexecFileLoad(
  k: Kernel,
  cmdline: string,
  initrdSize: number,
  image: { release?: KernelRelease; variant?: KernelVariant } = {},
): KexecImage | KernelError {
  const release = image.release ?? k.ctx.profile.name;
  const variant = image.variant ?? (image.release ? undefined : k.ctx.profile.variant);
  const kernelSize = kernelImageSize(kernelProfile(release, variant).image);
  const cmd = encodeCmdline(cmdline);
  const cmdPadded = Math.ceil(cmd.length / 16) * 16;
  const scratch: ScratchArea[] | null = k.khoOut ? k.khoOut.scratch : null;
  const scratchBytes = scratch ? encodeScratchArray(scratch) : null;
  const setupSize = scratch ? 48 : 0;
  // kexec_file_load() runs kho_fill_kimage() before the image loader (kimage_file_prepare_segments),
  // so the scratch array's segment is placed first: at the top of the first scratch area.
  const wants: Want[] = [
    ...(scratchBytes
      ? [{ name: 'KHO scratch array', size: Math.ceil(scratchBytes.length / PAGE_SIZE) * PAGE_SIZE, align: 64 * 1024 }]
      : []),
    { name: 'kernel', size: kernelSize, align: 2 * MiB },
    ...(initrdSize ? [{ name: 'initrd', size: initrdSize, align: PAGE_SIZE }] : []),
    {
      name: 'boot params',
      size: Math.ceil((BOOT_PARAMS_SIZE + cmdPadded + setupSize) / PAGE_SIZE) * PAGE_SIZE,
      align: PAGE_SIZE,
    },
    { name: 'purgatory', size: PURGATORY_SIZE, align: PAGE_SIZE },
  ];
  const ranges: Array<[number, number]> = scratch
    ? scratch.map((a) => [a.addr, a.addr + a.size])
    : k.ctx.layout.ram.slice().reverse();
  const placed = place(wants, ranges);
  if (!Array.isArray(placed)) {
    const where = scratch ? 'in any KHO scratch area' : 'in RAM';
    k.log.err(
      'kho-lab',
      `kexec_file_load: no room for the ${placed.name} segment (${formatBytes(placed.size)}) ${where}`,
    );
    return kerr(
      scratch ? 'EADDRNOTAVAIL' : 'ENOMEM',
      `the ${placed.name} segment (${formatBytes(placed.size)}) does not fit ${where}`,
    );
  }
  const at = (name: string) => placed.find(([w]) => w.name === name)?.[1] ?? 0;
  const paramsAt = at('boot params');
  const setupAt = paramsAt + BOOT_PARAMS_SIZE + cmdPadded;
  const params = new Uint8Array(wants.find((w) => w.name === 'boot params')!.size);
  params.set(
    encodeBootParams({
      e820: k.e820,
      kernelAddr: at('kernel'),
      ramdiskAddr: initrdSize ? at('initrd') : 0,
      ramdiskSize: initrdSize,
      cmdlineAddr: paramsAt + BOOT_PARAMS_SIZE,
      setupData: scratch ? setupAt : 0,
    }),
  );
  params.set(cmd, BOOT_PARAMS_SIZE);
  if (scratch && k.khoOut) {
    params.set(
      encodeKhoSetupData({
        fdtAddr: k.khoOut.fdtPhys,
        fdtSize: PAGE_SIZE,
        scratchAddr: at('KHO scratch array'),
        scratchSize: scratchBytes!.length,
      }),
      BOOT_PARAMS_SIZE + cmdPadded,
    );
  }
  const segments: Segment[] = placed.map(([w, dest]) => {
    const seg: Segment = { name: w.name, dest, size: w.size };
    if (w.name === 'boot params') seg.bytes = params;
    else if (w.name === 'KHO scratch array') seg.bytes = scratchBytes!;
    else seg.identity = blobIdentity(w.name);
    return seg;
  });
  for (const s of segments)
    k.log.info('kho-lab', `kexec segment ${s.name}: ${formatBytes(s.size)} at ${hex(s.dest, 16)}`);
  if (k.khoOut)
    k.log.info(
      'kho-lab',
      `kexec handover: root FDT at ${hex(k.khoOut.fdtPhys)}, scratch array of ${scratch!.length} areas at ${hex(at('KHO scratch array'))}`,
    );
  return { segments, bootParams: paramsAt, cmdline, release, ...(variant ? { variant } : {}) };
}

/** machine_kexec(): the segments land at their destinations; everything else in RAM stays. */
export function writeSegments(k: Kernel, image: KexecImage): void {
  for (const s of image.segments) {
    const pfn = s.dest / PAGE_SIZE;
    const pages = Math.ceil(s.size / PAGE_SIZE);
    if (s.bytes) {
      k.ram.setIdentity(pfn, pages, 0);
      k.ram.write(s.dest, s.bytes);
    } else {
      for (let i = 0; i < pages; i++) k.ram.setPageIdentity(pfn + i, mix32(s.identity! + i) | 1);
    }
  }
}
