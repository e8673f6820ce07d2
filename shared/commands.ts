/**
 * Commands: everything a user, a scenario or the UI can ask the simulated machine to do. Each
 * command is one step on the timeline. The names follow the system call or kernel function the
 * command models.
 */
import { z } from 'zod';
import { KernelReleaseSchema, KernelVariantSchema, SizeSchema } from './machine-config';
import { MAX_PAGE_ORDER, formatBytes } from './units';

const Name = z.string().min(1).max(64);
const Process = Name.describe('name of a simulated process');
/** A file descriptor: below fs.nr_open (1 << 20), the ceiling of any RLIMIT_NOFILE. */
const Fd = z.number().int().min(0).max(1048575);
const Order = z.number().int().min(0).max(MAX_PAGE_ORDER);
/** A LUO token (u64): a number, or a hex string such as "0x1A" for values past 2^53. */
const Token = z.union([
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  z.string().regex(/^0x[0-9a-fA-F]{1,16}$/),
]);
/** A session name as userspace passes it: the kernel, not the schema, refuses empty or too-long names. */
const SessionName = z.string().max(256);
/**
 * The `size` the caller puts in the first u32 of an ioctl argument struct (default: the struct's
 * own size). Below the minimum is EINVAL; above it, the bytes past the known struct are filled
 * with `trailing` and any non-zero one is E2BIG (copy_struct_from_user).
 */
const IoctlSize = {
  size: z.number().int().min(0).max(4096).optional(),
  trailing: z.number().int().min(0).max(255).optional(),
};

/** What a write puts into the pages: random bytes from the machine's RNG, a repeated byte, or text. */
const WriteDataSchema = z.union([
  z.object({ random: z.literal(true) }).strict(),
  z.object({ fill: z.number().int().min(0).max(255) }).strict(),
  z.object({ text: z.string().max(65536) }).strict(),
]);
export type WriteData = z.infer<typeof WriteDataSchema>;

/** An errno a step expects; the step passes only if the kernel answers with exactly this. */
const ExpectErrno = z.enum([
  'EINVAL',
  'ENOMEM',
  'EBUSY',
  'ENOENT',
  'EEXIST',
  'ENOSPC',
  'EIO',
  'EAGAIN',
  'EADDRNOTAVAIL',
  'EOPNOTSUPP',
  'EBADF',
  'EMFILE',
  'EFBIG',
  'EPERM',
  'ESRCH',
  'E2BIG',
  'ENOTTY',
  'EACCES',
]);

const step = <O extends string, T extends z.ZodRawShape>(op: O, shape: T) =>
  z.object({ op: z.literal(op), expect: ExpectErrno.optional(), ...shape }).strict();

export const CommandSchema = z.discriminatedUnion('op', [
  step('boot', {}),
  step('spawn', { name: Process }),
  step('exit', { process: Process }),
  step('memfd_create', { process: Process, name: Name, size: SizeSchema.optional() }),
  step('ftruncate', { process: Process, fd: Fd, size: SizeSchema }),
  step('fallocate', {
    process: Process,
    fd: Fd,
    offset: SizeSchema.default(0),
    length: SizeSchema,
    punchHole: z.boolean().default(false),
  }),
  step('write', {
    process: Process,
    fd: Fd,
    offset: SizeSchema.default(0),
    length: SizeSchema.optional(),
    data: WriteDataSchema,
    /** Folio order the page cache allocates when it fills a hole (shmem huge=within_size gives 9). */
    order: Order.default(0),
  }),
  step('close', { process: Process, fd: Fd }),
  /**
   * setrlimit(RLIMIT_NOFILE, {soft, hard}) for the process (hard default: the larger of soft and
   * the current hard limit), as the 7.x selftests' luo_ensure_nofile_limit() does before opening
   * thousands of fds. The default is 1024 soft, 4096 hard.
   */
  step('setrlimit', {
    process: Process,
    resource: z.literal('RLIMIT_NOFILE'),
    soft: z.number().int().min(0).max(1048576),
    hard: z
      .number()
      .int()
      .min(0)
      .max(1 << 30)
      .optional(),
  }),
  step('alloc_pages', {
    tag: Name,
    order: Order.default(0),
    /** Allocate folios (compound pages, __GFP_COMP) instead of plain high-order blocks. */
    folio: z.boolean().default(false),
    count: z
      .number()
      .int()
      .min(1)
      .max(1 << 24)
      .default(1),
    gfp: z.enum(['GFP_KERNEL', 'GFP_HIGHUSER_MOVABLE']).default('GFP_KERNEL'),
    nid: z.number().int().min(0).max(3).optional(),
  }),
  step('free_pages', {
    tag: Name,
    /** Free every n-th allocation of the tag (2 frees every other one, fragmenting memory). */
    every: z.number().int().min(1).default(1),
  }),
  step('vmalloc', { name: Name, size: SizeSchema }),
  step('vfree', { name: Name }),
  /**
   * echo 1 > /sys/kernel/debug/kho/out/finalize (kho_finalize()). With `ifExists`, the shell line
   * `[ -e kho/out/finalize ] && echo 1 > kho/out/finalize`: skipped on kernels without the file
   * (Linux 7.1+, stateless KHO), so one scenario runs on every release.
   */
  step('kho_finalize', { ifExists: z.boolean().optional() }),
  /**
   * kexec -s -l: load a kernel image of release `kernel` (default: the running kernel's) with this
   * command line (default: the running one's); `variant` loads a patched build of that release
   * (machine-config.ts: KERNEL_VARIANTS).
   */
  step('kexec_load', {
    cmdline: z.string().max(2047).optional(),
    initrd: SizeSchema.optional(),
    kernel: KernelReleaseSchema.optional(),
    variant: KernelVariantSchema.optional(),
  }),
  /** kexec -e: jump into the loaded kernel; then `boot` starts it. */
  step('reboot', {}),
  /** Load a kernel module: test_kho runs lib/test_kho.c's save or restore path. */
  step('insmod', {
    module: z.literal('test_kho'),
    params: z
      .object({
        max_mem: SizeSchema.optional(),
        /** Simulator fault injection: leave folio N out of the preservation. */
        forget: z.number().int().min(0).optional(),
        /** Simulator extension: after a successful restore, preserve the folios again. */
        chain: z.boolean().optional(),
      })
      .strict()
      .default({}),
  }),
  step('verify_memfd', { process: Process, fd: Fd }),
  /** open("/dev/liveupdate", O_RDWR). */
  step('luo_open', { process: Process }),
  /** ioctl(fd, LIVEUPDATE_IOCTL_CREATE_SESSION): returns the session fd. */
  step('luo_create_session', { process: Process, fd: Fd, name: SessionName, ...IoctlSize }),
  /** ioctl(fd, LIVEUPDATE_IOCTL_RETRIEVE_SESSION): returns the session fd. */
  step('luo_retrieve_session', { process: Process, fd: Fd, name: SessionName, ...IoctlSize }),
  /** ioctl(session_fd, LIVEUPDATE_SESSION_PRESERVE_FD). */
  step('luo_preserve_fd', { process: Process, session_fd: Fd, fd: Fd, token: Token, ...IoctlSize }),
  /** ioctl(session_fd, LIVEUPDATE_SESSION_RETRIEVE_FD): returns the new fd. */
  step('luo_retrieve_fd', { process: Process, session_fd: Fd, token: Token, ...IoctlSize }),
  /** ioctl(session_fd, LIVEUPDATE_SESSION_FINISH). */
  step('luo_finish', { process: Process, session_fd: Fd, ...IoctlSize }),
  /**
   * ioctl(session_fd, LIVEUPDATE_SESSION_GET_NAME) (Linux 7.2+): the session's full name; with
   * `name` the step is also a check that the kernel answered exactly that. `reserved` must be 0.
   */
  step('luo_get_name', {
    process: Process,
    session_fd: Fd,
    name: SessionName.optional(),
    reserved: z.number().int().min(0).max(0xffffffff).optional(),
    ...IoctlSize,
  }),
  /**
   * Simulator fault injection (no kernel interface): the next liveupdate_reboot() finds the freeze
   * of the file with `token` (default: the first file it freezes) failing with `errno`. One shot.
   */
  step('luo_fail_next_freeze', { errno: ExpectErrno, token: Token.optional() }),
  /**
   * The program stores the page checksums of memfd `fd` (u32 little-endian per page, in page
   * order) in memfd `into_fd`, sized to fit: a VMM's record of its guest memory, kept in RAM.
   */
  step('save_checksums', { process: Process, fd: Fd, into_fd: Fd }),
  /** A check: the page checksums of memfd `fd` equal the ones stored in memfd `from_fd` by save_checksums. */
  step('expect_checksums', { process: Process, fd: Fd, from_fd: Fd }),
  /**
   * Reads the whole file and compares it with `text` (a check: the writer may be gone after a
   * kexec). With `cstring` only the bytes before the first NUL count, as the selftests' strcmp()
   * on the mapped page does (restore_and_verify_memfd()).
   */
  step('expect_content', { process: Process, fd: Fd, text: z.string().max(65536), cstring: z.boolean().optional() }),
  /**
   * Simulator fault injection (no kernel interface): write bytes into simulated RAM, either at a
   * physical address or into a property of a KHO sub-FDT (`fdt`: a sub-node of the root, or
   * "root") as the next kernel will find it after kexec -e. Exactly one of phys / fdt, and one
   * value: `hex` bytes, a NUL-terminated `string`, or a little-endian `u64`.
   */
  step('poke', {
    phys: z
      .string()
      .regex(/^0x[0-9a-fA-F]{1,16}$/)
      .optional(),
    fdt: z.string().min(1).max(64).optional(),
    property: z.string().min(1).max(64).optional(),
    hex: z.string().max(8192).optional(),
    string: z.string().max(4096).optional(),
    u64: Token.optional(),
  }),
  step('expect_free', {
    migratetype: z.enum(['UNMOVABLE', 'MOVABLE', 'CMA', 'ALL']).default('ALL'),
    atLeast: SizeSchema.optional(),
    atMost: SizeSchema.optional(),
  }),
]);

export type Command = z.output<typeof CommandSchema>;
export type CommandInput = z.input<typeof CommandSchema>;
export type CommandOp = Command['op'];
export const COMMAND_OPS = CommandSchema.options.map((o) => o.shape.op.value) as CommandOp[];

/** A token as the selftests print it: 0x1a. */
export const tokenText = (t: number | string): string =>
  typeof t === 'string' ? t.toLowerCase() : `0x${t.toString(16)}`;

/** ", size 4" when an ioctl step sets its own argument size (and ", trailing 0xff" past the struct). */
const sz = (c: { size?: number; trailing?: number }): string =>
  (c.size !== undefined ? `, size ${c.size}` : '') + (c.trailing ? `, trailing 0x${c.trailing.toString(16)}` : '');

/** A one-line label for the timeline: "memfd_create(vmm, \"guest\", 64 MiB)". */
export function describeCommand(c: Command): string {
  const size = (n: number) => formatBytes(n);
  switch (c.op) {
    case 'boot':
      return 'boot';
    case 'spawn':
      return `spawn ${c.name}`;
    case 'exit':
      return `exit ${c.process}`;
    case 'memfd_create':
      return `${c.process}: memfd_create("${c.name}")${c.size !== undefined ? ` + ftruncate ${size(c.size)}` : ''}`;
    case 'ftruncate':
      return `${c.process}: ftruncate(${c.fd}, ${size(c.size)})`;
    case 'fallocate':
      return `${c.process}: fallocate(${c.fd}, ${c.punchHole ? 'PUNCH_HOLE, ' : ''}${size(c.offset)}, ${size(c.length)})`;
    case 'write': {
      const what =
        'random' in c.data
          ? 'random'
          : 'fill' in c.data
            ? `0x${c.data.fill.toString(16)}`
            : JSON.stringify(c.data.text.slice(0, 24));
      return `${c.process}: write(${c.fd}, ${what}${c.length !== undefined ? `, ${size(c.length)}` : ''})${c.offset ? ` @ ${size(c.offset)}` : ''}`;
    }
    case 'close':
      return `${c.process}: close(${c.fd})`;
    case 'setrlimit':
      return `${c.process}: setrlimit(${c.resource}, ${c.soft}${c.hard !== undefined ? `, ${c.hard}` : ''})`;
    case 'alloc_pages':
      return `alloc_pages(${c.gfp}, order ${c.order}) × ${c.count} [${c.tag}]`;
    case 'free_pages':
      return `free_pages [${c.tag}]${c.every > 1 ? ` every ${c.every}` : ''}`;
    case 'vmalloc':
      return `vmalloc ${c.name} ${size(c.size)}`;
    case 'vfree':
      return `vfree ${c.name}`;
    case 'verify_memfd':
      return `${c.process}: verify fd ${c.fd}`;
    case 'kho_finalize':
      return c.ifExists ? '[ -e kho/out/finalize ] && echo 1 > kho/out/finalize' : 'echo 1 > kho/out/finalize';
    case 'luo_open':
      return `${c.process}: open("/dev/liveupdate")`;
    case 'luo_create_session':
      return `${c.process}: ioctl(${c.fd}, LIVEUPDATE_IOCTL_CREATE_SESSION, "${c.name}"${sz(c)})`;
    case 'luo_retrieve_session':
      return `${c.process}: ioctl(${c.fd}, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, "${c.name}"${sz(c)})`;
    case 'luo_preserve_fd':
      return `${c.process}: ioctl(${c.session_fd}, LIVEUPDATE_SESSION_PRESERVE_FD, fd ${c.fd}, token ${tokenText(c.token)}${sz(c)})`;
    case 'luo_retrieve_fd':
      return `${c.process}: ioctl(${c.session_fd}, LIVEUPDATE_SESSION_RETRIEVE_FD, token ${tokenText(c.token)}${sz(c)})`;
    case 'luo_finish':
      return `${c.process}: ioctl(${c.session_fd}, LIVEUPDATE_SESSION_FINISH${sz(c)})`;
    case 'luo_get_name':
      return `${c.process}: ioctl(${c.session_fd}, LIVEUPDATE_SESSION_GET_NAME${c.name !== undefined ? ` = "${c.name}"` : ''}${sz(c)})`;
    case 'luo_fail_next_freeze':
      return `inject: next freeze${c.token !== undefined ? ` of token ${tokenText(c.token)}` : ''} fails with ${c.errno}`;
    case 'save_checksums':
      return `${c.process}: page checksums of fd ${c.fd} → fd ${c.into_fd}`;
    case 'expect_checksums':
      return `${c.process}: expect fd ${c.fd} page checksums = fd ${c.from_fd}`;
    case 'expect_content':
      return `${c.process}: expect fd ${c.fd} ${c.cstring ? 'strcmp ' : ''}= ${JSON.stringify(c.text.slice(0, 24))}`;
    case 'kexec_load':
      return `kexec -s -l${c.kernel !== undefined ? ` vmlinuz-${c.kernel}` : ''}${c.cmdline !== undefined ? ` --append="${c.cmdline}"` : ' --reuse-cmdline'}`;
    case 'reboot':
      return 'kexec -e';
    case 'insmod': {
      const p = Object.entries(c.params)
        .map(([key, v]) => `${key}=${v}`)
        .join(' ');
      return `insmod ${c.module}${p ? ' ' + p : ''}`;
    }
    case 'poke': {
      const where = c.phys !== undefined ? c.phys : `${c.fdt ?? '?'}/${c.property ?? '?'}`;
      const what =
        c.hex !== undefined
          ? c.hex.slice(0, 16)
          : c.string !== undefined
            ? JSON.stringify(c.string.slice(0, 24))
            : c.u64 !== undefined
              ? tokenText(c.u64)
              : '';
      return `poke ${where} = ${what}`;
    }
    case 'expect_free':
      return `expect free ${c.migratetype}${c.atLeast !== undefined ? ` ≥ ${size(c.atLeast)}` : ''}${c.atMost !== undefined ? ` ≤ ${size(c.atMost)}` : ''}`;
  }
}
