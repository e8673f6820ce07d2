/**
 * DOC: kernel references
 *
 * Which Linux functions a step models, and which kernel structure each inspector view shows, with
 * the source file, so the inspector can say "kho_preserve_folio() — kernel/liveupdate/kexec_handover.c"
 * at every step. Steps that are KHO Lab's own checks (expect_*, poke, checksums) model nothing.
 */
import type { CommandInput } from '../../../shared/commands';

export interface KernelRef {
  /** A function with "()" or a structure name. */
  symbol: string;
  /** Path in the Linux tree. */
  file: string;
}

const KHO = 'kernel/liveupdate/kexec_handover.c';
const LUO_CORE = 'kernel/liveupdate/luo_core.c';
const LUO_SESSION = 'kernel/liveupdate/luo_session.c';
const LUO_FILE = 'kernel/liveupdate/luo_file.c';
const MEMFD_LUO = 'mm/memfd_luo.c';
const SHMEM = 'mm/shmem.c';
const r = (symbol: string, file: string): KernelRef => ({ symbol, file });

const BY_OP: Partial<Record<CommandInput['op'], readonly KernelRef[]>> = {
  boot: [r('start_kernel()', 'init/main.c'), r('kho_populate()', KHO), r('kho_memory_init()', KHO)],
  spawn: [r('kernel_clone()', 'kernel/fork.c')],
  exit: [r('do_exit()', 'kernel/exit.c')],
  memfd_create: [r('memfd_create()', 'mm/memfd.c'), r('shmem_file_setup()', SHMEM)],
  ftruncate: [r('shmem_setattr()', SHMEM)],
  fallocate: [r('shmem_fallocate()', SHMEM)],
  write: [r('shmem_file_write_iter()', SHMEM), r('shmem_get_folio()', SHMEM)],
  close: [r('close_fd()', 'fs/file.c'), r('__fput()', 'fs/file_table.c')],
  setrlimit: [r('do_prlimit()', 'kernel/sys.c')],
  alloc_pages: [r('alloc_pages()', 'mm/page_alloc.c')],
  free_pages: [r('__free_pages()', 'mm/page_alloc.c')],
  vmalloc: [r('vmalloc()', 'mm/vmalloc.c')],
  vfree: [r('vfree()', 'mm/vmalloc.c')],
  kho_finalize: [r('kho_finalize()', KHO), r('kho_mem_serialize()', KHO)],
  kexec_load: [r('kexec_file_load()', 'kernel/kexec_file.c'), r('kho_fill_kimage()', KHO)],
  reboot: [r('kernel_kexec()', 'kernel/kexec_core.c'), r('liveupdate_reboot()', LUO_CORE)],
  insmod: [r('kho_test_init()', 'lib/test_kho.c'), r('kho_preserve_folio()', KHO), r('kho_restore_folio()', KHO)],
  luo_open: [r('luo_open()', LUO_CORE)],
  luo_create_session: [r('luo_ioctl_create_session()', LUO_CORE), r('luo_session_create()', LUO_SESSION)],
  luo_retrieve_session: [r('luo_ioctl_retrieve_session()', LUO_CORE), r('luo_session_retrieve()', LUO_SESSION)],
  luo_preserve_fd: [r('luo_preserve_file()', LUO_FILE), r('memfd_luo_preserve()', MEMFD_LUO)],
  luo_retrieve_fd: [r('luo_retrieve_file()', LUO_FILE), r('memfd_luo_retrieve()', MEMFD_LUO)],
  luo_finish: [r('luo_session_finish()', LUO_SESSION), r('memfd_luo_finish()', MEMFD_LUO)],
  luo_get_name: [r('luo_session_get_name()', LUO_SESSION)],
  luo_fail_next_freeze: [r('memfd_luo_freeze()', MEMFD_LUO)],
};

/** The kernel functions `command` models (empty for KHO Lab's own checks). */
export function stepRefs(command: CommandInput): readonly KernelRef[] {
  return BY_OP[command.op] ?? [];
}

/** The kernel structure each inspector view shows. */
export const VIEW_REFS: Record<'page' | 'handover' | 'fdt' | 'tracker' | 'luo' | 'debugfs', readonly KernelRef[]> = {
  page: [r('struct page', 'include/linux/mm_types.h')],
  handover: [
    r('struct kho_out / kho_in', KHO),
    r('struct kho_data (setup_data)', 'arch/x86/include/uapi/asm/setup_data.h'),
  ],
  fdt: [r('KHO root FDT', 'include/linux/kho/abi/kexec_handover.h'), r('kho_add_subtree()', KHO)],
  tracker: [
    r('struct khoser_mem_chunk', KHO),
    r('struct kho_radix_node', 'include/linux/kho/abi/kexec_handover.h'),
    r('kho_radix_walk_tree()', KHO),
  ],
  luo: [
    r('struct luo_session_ser / luo_file_ser', 'include/linux/kho/abi/luo.h'),
    r('luo_session_deserialize()', LUO_SESSION),
  ],
  debugfs: [
    r('kho_out_debugfs_init() / kho_in_debugfs_init()', 'kernel/liveupdate/kexec_handover_debugfs.c'),
    r('kho_init()', KHO),
  ],
};

/** Where a kernel source file can be read (the browser preview links there). */
export function sourceUrl(ref: KernelRef): string {
  return `https://elixir.bootlin.com/linux/latest/source/${ref.file}`;
}
