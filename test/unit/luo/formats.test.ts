/**
 * The three memfd formats of the debate (mm/memfd_luo.c of Linux 6.19, of LUO patch v3 29/30
 * (memfd FDT) and of its port to the KHO array RFC (lib/kho_array.c)) under the
 * same 6.19 LUO: each carries files across a live update byte for byte, each refuses what its
 * source refused (v3's one-folio FDT: ENOMEM past 261,888 folios), each costs what its layout
 * costs (kho_array: a page per entry when entries are far apart), and a kernel without a format
 * refuses its files (EIO), whichever format it writes itself.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageCategory } from '../../../shared/palette';
import { PAGE_SIZE } from '../../../shared/units';
import type { CommandInput } from '../../../shared/commands';
import { ZERO_CHECKSUM } from '../../../electron/kernel/ram';
import type { Kernel } from '../../../electron/kernel/kernel';
import type { MemfdFile } from '../../../electron/kernel/proc';
import { MEMFD_FORMATS } from '../../../electron/kernel/luo/luo';
import { metaPages } from '../../../electron/kernel/luo/memfd/format';
import { MEMFD_FDT_MAX_FOLIOS } from '../../../electron/kernel/abi/memfd-fdt';
import { pageMap } from '../../../electron/host/page-map';
import { LUO_CMDLINE, luoMachine } from './helpers';

const FORMATS = MEMFD_FORMATS.map((f) => f.compatible);
/** Incoming blocks nobody restores: the KHO root FDT and the LUO FDT, which the kernel reads for its lifetime. */
const KEPT_FOREVER = 2;

/** What a reader of the file sees: size, f_pos and the checksum of every page (holes read as zeroes). */
function contents(k: Kernel, file: MemfdFile): { size: number; pos: number; pages: number[] } {
  const pages: number[] = [];
  for (let i = 0; i < Math.ceil(file.inode.size / PAGE_SIZE); i++) {
    const pfn = file.inode.pages.get(i);
    pages.push(pfn < 0 ? ZERO_CHECKSUM : k.ram.checksum(pfn));
  }
  return { size: file.inode.size, pos: file.pos, pages };
}

const fileOf = (k: Kernel, process: string, fd: number): MemfdFile =>
  k.processes.byName.get(process)!.fds.get(fd) as MemfdFile;

/** The u64 `data` LUO holds for the only file of the only outgoing session. */
const dataOf = (k: Kernel): number => k.luo!.outgoing[0]!.files[0]!.args.serializedData;

const relive = (ok: (c: CommandInput) => number | undefined, cmdline?: string) => {
  ok({ op: 'kexec_load', ...(cmdline ? { cmdline } : {}) });
  ok({ op: 'reboot' });
  ok({ op: 'boot' });
  ok({ op: 'spawn', name: 'vmm' });
  ok({ op: 'luo_open', process: 'vmm' });
};

describe.each(FORMATS)('%s', (format) => {
  it('carries "hello kexec world" across a live update; the data is the format\'s and the compatible is in luo_file_ser', () => {
    const { m, ok } = luoMachine(`${LUO_CMDLINE} luo.memfd_format=${format}`);
    ok({ op: 'memfd_create', process: 'vmm', name: 'test-memfd' });
    ok({ op: 'write', process: 'vmm', fd: 3, data: { text: 'hello kexec world' } });
    ok({ op: 'luo_open', process: 'vmm' });
    ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 'test-session' });
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 0x1a });
    const k = m.kernel!;
    expect(k.luo!.outgoing[0]!.files[0]!.compatible).toBe(format);
    const d = MEMFD_FORMATS.find((f) => f.compatible === format)!.decode(k.ram, dataOf(k));
    expect('errno' in d).toBe(false);
    relive(ok);
    ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'test-session' });
    ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 0x1a });
    ok({ op: 'expect_content', process: 'vmm', fd: 5, text: 'hello kexec world' });
    ok({ op: 'luo_finish', process: 'vmm', session_fd: 4 });
    expect(m.kernel!.khoIn!.unrestoredCount()).toBe(KEPT_FOREVER);
  });

  it('a next kernel built without the format (6.19.0, luo_session_deserialize ignores the file error): the session is retrieved, the file is missing (ENOENT)', () => {
    const { ok, run } = luoMachine(`${LUO_CMDLINE} luo.memfd_format=${format}`);
    ok({ op: 'memfd_create', process: 'vmm', name: 'g', size: '64K' });
    ok({ op: 'luo_open', process: 'vmm' });
    ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' });
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    ok({ op: 'kexec_load', cmdline: `${LUO_CMDLINE} luo.disable_handler=${format}` });
    ok({ op: 'reboot' });
    ok({ op: 'boot' });
    ok({ op: 'spawn', name: 'vmm' });
    ok({ op: 'luo_open', process: 'vmm' }); // 3
    ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 's' }); // 4
    expect(run({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 }).errno).toBe('ENOENT');
  });

  it('unpreserve (closing the session) leaves no metadata or preservation behind', () => {
    const { m, ok } = luoMachine(`${LUO_CMDLINE} luo.memfd_format=${format}`);
    const k = m.kernel!;
    const preserved = () => pageMap(k).counts[PageCategory.Preserved]!;
    const before = preserved();
    // Bitmap pages stay allocated once a bit needed them, in the kernel too; count them as used.
    const free = () => k.buddy.freePagesByType().reduce((a, b) => a + b, 0) + k.khoOut!.tracker.metadataPages;
    const freeBefore = free();
    ok({ op: 'memfd_create', process: 'vmm', name: 'g', size: '2M' });
    ok({ op: 'fallocate', process: 'vmm', fd: 3, length: '2M' });
    ok({ op: 'luo_open', process: 'vmm' });
    ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' });
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    expect(preserved()).toBeGreaterThan(before + 512);
    ok({ op: 'close', process: 'vmm', fd: 5 });
    ok({ op: 'close', process: 'vmm', fd: 3 });
    ok({ op: 'close', process: 'vmm', fd: 4 });
    expect(preserved()).toBe(before);
    expect(free()).toBe(freeBefore);
  });
});

describe('what each format costs and where it stops', () => {
  /** Preserves one memfd of `size` written in folios of `order` and decodes what the format wrote. */
  function preserveOne(format: string, size: string, order: number, extra = '') {
    const { m, run, ok } = luoMachine(`${LUO_CMDLINE} luo.memfd_format=${format} ${extra}`, '2G');
    ok({ op: 'memfd_create', process: 'vmm', name: 'guest' });
    ok({ op: 'write', process: 'vmm', fd: 3, data: { random: true }, length: size, order } as CommandInput);
    ok({ op: 'luo_open', process: 'vmm' });
    ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' });
    const r = run({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    const k = m.kernel!;
    const decoded = r.ok ? MEMFD_FORMATS.find((f) => f.compatible === format)!.decode(k.ram, dataOf(k)) : null;
    return { r, k, decoded };
  }

  it("v3's FDT folio caps a memfd at 261,888 folios: 1 GiB of 4 KiB folios is ENOMEM, memfd-v1 and kho_array take it", () => {
    expect(MEMFD_FDT_MAX_FOLIOS).toBe(261_888);
    const v3 = preserveOne('memfd-fdt-v1', '1G', 0);
    expect(v3.r.ok).toBe(false);
    expect(v3.r.errno).toBe('ENOMEM');
    expect(v3.r.message).toMatch(/MAX_PAGE_ORDER/);
    expect(fileOf(v3.k, 'vmm', 3).inode.frozen).toBe(false); // the refusal left the file as it was
    for (const format of ['memfd-v1', 'memfd-karr-v1']) {
      const { r, decoded } = preserveOne(format, '1G', 0);
      expect(r.ok, r.message).toBe(true);
      expect(decoded && !('errno' in decoded) && decoded.folios.length).toBe(262_144);
    }
  }, 60_000);

  it('just under the cap, v3 fits: 1020 MiB is one order-10 FDT folio', () => {
    const { r, decoded } = preserveOne('memfd-fdt-v1', '1020M', 0);
    expect(r.ok, r.message).toBe(true);
    if (!decoded || 'errno' in decoded) throw new Error('decode failed');
    expect(decoded.meta).toEqual([expect.objectContaining({ order: 10, what: 'memfd FDT' })]);
  }, 60_000);

  it('metadata per folio: memfd-v1 16 B (+ chunks), kho_array 8 B when dense but a page per entry for 2 MiB folios', () => {
    const dense = preserveOne('memfd-karr-v1', '64M', 0).decoded!;
    const huge = preserveOne('memfd-karr-v1', '64M', 9).decoded!;
    const v1 = preserveOne('memfd-v1', '64M', 0).decoded!;
    if ('errno' in dense || 'errno' in huge || 'errno' in v1) throw new Error('decode failed');
    expect(metaPages(v1.meta)).toBe(1 + 64 + 1); // ser + 16384 × 16 B + one chunk
    expect(metaPages(dense.meta)).toBe(1 + Math.ceil(16384 / 510)); // FDT + 33 array pages
    expect(huge.folios).toHaveLength(32);
    expect(metaPages(huge.meta)).toBe(1 + 32); // indices 512 apart: one 4 KiB page per 2 MiB folio
  }, 60_000);

  it('with holes kept out of the pin (luo.memfd_keep_holes=1) a sparse file costs kho_array a page per scattered page', () => {
    const { m, ok } = luoMachine(`${LUO_CMDLINE} luo.memfd_format=memfd-karr-v1 luo.memfd_keep_holes=1`);
    ok({ op: 'memfd_create', process: 'vmm', name: 'sparse', size: '64M' });
    for (let i = 0; i < 16; i++)
      ok({
        op: 'write',
        process: 'vmm',
        fd: 3,
        offset: i * 1024 * PAGE_SIZE,
        data: { fill: i + 1 },
        length: PAGE_SIZE,
      } as CommandInput);
    ok({ op: 'luo_open', process: 'vmm' });
    ok({ op: 'luo_create_session', process: 'vmm', fd: 4, name: 's' });
    ok({ op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: 1 });
    const k = m.kernel!;
    expect(fileOf(k, 'vmm', 3).inode.nrPages).toBe(16); // holes stayed holes
    const d = MEMFD_FORMATS[2]!.decode(k.ram, dataOf(k));
    if ('errno' in d) throw new Error(d.reason);
    expect(d.meta.filter((b) => b.what === 'KHO array page')).toHaveLength(16);
    const before = contents(k, fileOf(k, 'vmm', 3));
    relive(ok);
    ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 's' });
    ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 });
    expect(contents(m.kernel!, fileOf(m.kernel!, 'vmm', 5))).toEqual(before);
  });

  it('an unknown luo.memfd_format warns and falls back to memfd-v1', () => {
    const { m } = luoMachine(`${LUO_CMDLINE} luo.memfd_format=memfd-v9`);
    expect(m.log.events.some((e) => /luo.memfd_format=memfd-v9: no such format/.test(e.msg))).toBe(true);
  });
});

describe('property: random memfds in random sessions survive a live update byte for byte, in each format', () => {
  const file = fc.record({
    pages: fc.integer({ min: 0, max: 1200 }),
    order: fc.constantFrom(0, 9),
    holes: fc.array(fc.tuple(fc.nat(1200), fc.integer({ min: 1, max: 300 })), { maxLength: 3 }),
    session: fc.nat(2),
    pos: fc.nat(5000),
  });
  it.each(FORMATS)(
    '%s',
    (format) => {
      fc.assert(
        fc.property(fc.array(file, { minLength: 1, maxLength: 4 }), fc.boolean(), (files, keepHoles) => {
          const { m, ok } = luoMachine(
            `${LUO_CMDLINE} luo.memfd_format=${format}${keepHoles ? ' luo.memfd_keep_holes=1' : ''}`,
          );
          const k = m.kernel!;
          const fds = files.map((f, i) => {
            const fd = ok({ op: 'memfd_create', process: 'vmm', name: `f${i}`, size: f.pages * PAGE_SIZE })!;
            if (f.pages)
              ok({
                op: 'write',
                process: 'vmm',
                fd,
                data: { random: true },
                length: f.pages * PAGE_SIZE,
                order: f.order,
              } as CommandInput);
            for (const [at, len] of f.holes) {
              if (at < f.pages)
                ok({
                  op: 'fallocate',
                  process: 'vmm',
                  fd,
                  offset: at * PAGE_SIZE,
                  length: Math.min(len, f.pages - at) * PAGE_SIZE,
                  punchHole: true,
                });
            }
            fileOf(k, 'vmm', fd).pos = f.pos;
            return fd;
          });
          const dev = ok({ op: 'luo_open', process: 'vmm' })!;
          const sessions = [0, 1, 2].map((s) =>
            ok({ op: 'luo_create_session', process: 'vmm', fd: dev, name: `s${s}` })!,
          );
          files.forEach((f, i) =>
            ok({
              op: 'luo_preserve_fd',
              process: 'vmm',
              session_fd: sessions[f.session]!,
              fd: fds[i]!,
              token: 100 + i,
            }),
          );
          const before = fds.map((fd) => contents(k, fileOf(k, 'vmm', fd)));
          relive(ok);
          const k2 = m.kernel!;
          const back = [0, 1, 2].map((s) => ok({ op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: `s${s}` })!);
          files.forEach((f, i) => {
            const fd = ok({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: back[f.session]!, token: 100 + i })!;
            expect(contents(k2, fileOf(k2, 'vmm', fd))).toEqual(before[i]);
          });
          for (const s of back) ok({ op: 'luo_finish', process: 'vmm', session_fd: s });
          expect(k2.khoIn!.unrestoredCount()).toBe(KEPT_FOREVER);
        }),
        { numRuns: 12, seed: 4 },
      );
    },
    120_000,
  );
});
