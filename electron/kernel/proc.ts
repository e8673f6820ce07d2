/**
 * DOC: processes and file descriptors
 *
 * Just enough of userspace to hold things a live update must carry: named processes with fd
 * tables (lowest free fd first, as POSIX requires) pointing at memfd files. A process also keeps
 * what a careful test program keeps: the checksum of every page it wrote, so it can verify the
 * file later. Processes die with their kernel.
 */
import { PAGE_SIZE } from '../../shared/units';
import { type KernelError, kerr } from './lib/errno';
import type { Kernel } from './kernel';
import type { ShmemInode } from './mm/shmem';
import type { LuoSession } from './luo/session';
import { ZERO_CHECKSUM, identityChecksum } from './ram';
import { PG } from './mm/page-flags';
import { F_SEAL } from './abi/memfd-v2';
import { SUMS_CHUNK, WrittenSums } from './mm/written-sums';

/** RLIMIT_NOFILE as init starts with it: INR_OPEN_CUR soft, INR_OPEN_MAX hard (include/uapi/linux/fs.h). */
const INR_OPEN_CUR = 1024;
const INR_OPEN_MAX = 4096;
/** fs/file.c: sysctl_nr_open, the ceiling of any RLIMIT_NOFILE. */
const NR_OPEN = 1024 * 1024;

/**
 * An open file description (struct file): a memfd (with its f_pos), /dev/liveupdate, or a LUO
 * session. Several fds may share one description; LUO holds one too while a file is preserved.
 */
export type OpenFile = MemfdFile | { kind: 'liveupdate' } | { kind: 'session'; session: LuoSession };

export interface MemfdFile {
  kind: 'memfd';
  inode: ShmemInode;
  /** f_pos: what memfd-v1 records at freeze. */
  pos: number;
}

export class Process {
  readonly fds = new Map<number, OpenFile>();
  /** What the program wrote: inode → page index → checksum of that page after the write. */
  readonly written = new Map<ShmemInode, WrittenSums>();
  /** RLIMIT_NOFILE: an fd must stay below `cur`. */
  readonly nofile = { cur: INR_OPEN_CUR, max: INR_OPEN_MAX };

  constructor(
    readonly pid: number,
    readonly name: string,
  ) {}

  lowestFreeFd(): number {
    let fd = 3; // 0, 1 and 2 are stdin, stdout and stderr
    while (this.fds.has(fd)) fd++;
    return fd;
  }
}

export class Processes {
  readonly byName = new Map<string, Process>();
  private nextPid = 1000;

  constructor(private readonly k: Kernel) {}

  spawn(name: string): Process | KernelError {
    if (this.byName.has(name)) return kerr('EEXIST', `a process named ${name} exists`);
    const p = new Process(this.nextPid++, name);
    this.byName.set(name, p);
    return p;
  }

  get(name: string): Process | KernelError {
    return this.byName.get(name) ?? kerr('ESRCH', `no process named ${name}`);
  }

  file(p: Process, fd: number): OpenFile | KernelError {
    return p.fds.get(fd) ?? kerr('EBADF', `${p.name} has no fd ${fd}`);
  }

  /** exit(): closes every fd. */
  exit(p: Process): void {
    for (const fd of [...p.fds.keys()]) this.close(p, fd);
    this.byName.delete(p.name);
  }

  memfdCreate(p: Process, name: string): number | KernelError {
    if (name.length > 249) return kerr('EINVAL', 'memfd name longer than 249 bytes');
    const fd = p.lowestFreeFd();
    if (fd >= p.nofile.cur)
      return kerr('EMFILE', `${p.name} has no free file descriptor below RLIMIT_NOFILE ${p.nofile.cur}`);
    const inode = this.k.shmem.create(name);
    // mm/memfd.c: memfd_create() without MFD_ALLOW_SEALING seals the file against new seals.
    inode.seals = F_SEAL.SEAL;
    inode.refs = 1;
    p.fds.set(fd, { kind: 'memfd', inode, pos: 0 });
    return fd;
  }

  /** fd_install() of an existing open file description in the lowest free fd. */
  install(p: Process, file: OpenFile): number | KernelError {
    const fd = p.lowestFreeFd();
    if (fd >= p.nofile.cur)
      return kerr('EMFILE', `${p.name} has no free file descriptor below RLIMIT_NOFILE ${p.nofile.cur}`);
    if (file.kind === 'memfd') file.inode.refs++;
    p.fds.set(fd, file);
    return fd;
  }

  /**
   * setrlimit(RLIMIT_NOFILE) (kernel/sys.c: do_prlimit()): soft above hard is EINVAL, a hard limit
   * above sysctl_nr_open EPERM. The simulated programs run as root, so raising the hard limit is allowed.
   */
  setNofile(p: Process, soft: number, hard = Math.max(soft, p.nofile.max)): KernelError | null {
    if (soft > hard) return kerr('EINVAL', `soft limit ${soft} is above the hard limit ${hard}`);
    if (hard > NR_OPEN) return kerr('EPERM', `hard limit ${hard} is above fs.nr_open ${NR_OPEN}`);
    p.nofile.cur = soft;
    p.nofile.max = hard;
    return null;
  }

  /** fput() of a memfd reference: at the last one the page cache goes. */
  putMemfd(f: MemfdFile): void {
    if (--f.inode.refs === 0) this.k.shmem.release(f.inode);
  }

  close(p: Process, fd: number): KernelError | null {
    const f = p.fds.get(fd);
    if (!f) return kerr('EBADF', `${p.name} has no fd ${fd}`);
    p.fds.delete(fd);
    if (f.kind === 'memfd') {
      p.written.delete(f.inode);
      this.putMemfd(f);
    } else if (f.kind === 'liveupdate') this.k.luo?.release();
    else this.k.luo?.closeSession(f.session);
    return null;
  }

  /** Records the checksums of pages [first, last) of the file as the program now expects them. */
  remember(p: Process, inode: ShmemInode, offset: number, length: number): void {
    let sums = p.written.get(inode);
    if (!sums) p.written.set(inode, (sums = new WrittenSums()));
    const first = Math.floor(offset / PAGE_SIZE);
    const last = Math.ceil((offset + length) / PAGE_SIZE);
    for (let i = first; i < last;) {
      // A whole chunk of bulk contents from one seed is remembered as that seed.
      const key = i / SUMS_CHUNK;
      const seed = Number.isInteger(key) && i + SUMS_CHUNK <= last ? this.bulkSeed(inode, i, SUMS_CHUNK) : -1;
      if (seed >= 0) {
        sums.setIdentityChunk(key, seed);
        i += SUMS_CHUNK;
        continue;
      }
      const stop = Math.min(last, (Math.floor(key) + 1) * SUMS_CHUNK);
      for (; i < stop; i++) sums.set(i, this.pageChecksum(inode, i));
    }
    sums.truncate(Math.ceil(inode.size / PAGE_SIZE));
  }

  /**
   * pageChecksum() of pages [index, index + n) of the file into out[0, n): runs of bulk contents
   * from one seed (a 2 MiB folio of random data) are summed from the seed, without a look-up per page.
   */
  pageChecksums(inode: ShmemInode, index: number, n: number, out: Uint32Array): void {
    for (let i = index; i < index + n;) {
      const stop = Math.min(index + n, (Math.floor(i / SUMS_CHUNK) + 1) * SUMS_CHUNK);
      const seed = this.bulkSeed(inode, i, stop - i);
      if (seed >= 0) for (let k = i; k < stop; k++) out[k - index] = identityChecksum((seed + k - i) >>> 0);
      else for (let k = i; k < stop; k++) out[k - index] = this.pageChecksum(inode, k);
      i = stop;
    }
  }

  /**
   * The seed s when pages [index, index + n) of the file read as bulk contents s + k, each page's
   * checksum then identityChecksum(s + k): consecutive frames of uptodate folios, no stored bytes,
   * identities from one seed. Else -1.
   */
  private bulkSeed(inode: ShmemInode, index: number, n: number): number {
    const { pages, ram } = this.k;
    if (!inode.pages.isRun(index, n)) return -1;
    const pfn = inode.pages.get(index);
    for (let f = pfn; f < pfn + n;) {
      const head = pages.compoundHead(f);
      const flags = pages.flags.get(head);
      if (!(flags & PG.uptodate)) return -1;
      f = head + (flags & PG.head ? 2 ** pages.order.get(head) : 1);
    }
    const seed = ram.identity.linearSeed(pfn, n);
    if (seed < 0) return -1;
    for (let f = pfn; f < pfn + n; f++) if (ram.kind(f) === 'bytes') return -1;
    return seed;
  }

  /**
   * The checksum of the file's page `index` as a read would see it: a hole, or a folio that is not
   * uptodate (shmem_get_folio(SGP_READ) skips it), reads as zeroes.
   */
  pageChecksum(inode: ShmemInode, index: number): number {
    const pfn = inode.pages.get(index);
    if (pfn < 0 || !(this.k.pages.flags.get(this.k.pages.compoundHead(pfn)) & PG.uptodate)) return ZERO_CHECKSUM;
    return this.k.ram.checksum(pfn);
  }
}
