/**
 * Shared schemas and units: size parsing and formatting, command labels, scenario paths and the
 * exported JSON Schema, and API argument validation.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GiB, KiB, MiB, TiB, formatBytes, hex, memRange, parseSize } from '../../../shared/units';
import { COMMAND_OPS, CommandSchema, describeCommand, type CommandInput } from '../../../shared/commands';
import { jsonPath, scenarioJsonSchema } from '../../../shared/scenario';
import { validateCall } from '../../../shared/api';

describe('units', () => {
  it.each([
    ['4096', 4096],
    ['64M', 64 * MiB],
    ['64m', 64 * MiB],
    ['4G', 4 * GiB],
    ['512K', 512 * KiB],
    ['1T', TiB],
    ['0x1000', 4096],
    ['64MiB', 64 * MiB],
    ['4 GB', 4 * GiB],
    [' 8k ', 8 * KiB],
    ['0', 0],
    [4096, 4096],
  ] as const)('parseSize(%j) = %d', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', '3X', '-1', '1.5G', 'G', '64MM', '0x', '99999999999T'])('parseSize(%j) is null', (text) => {
    expect(parseSize(text)).toBeNull();
  });

  it('parseSize refuses numbers that are not non-negative safe integers', () => {
    for (const n of [-1, 1.5, Number.NaN, Infinity, 2 ** 60]) expect(parseSize(n)).toBeNull();
  });

  it.each([
    [0, '0 B'],
    [123, '123 B'],
    [4096, '4 KiB'],
    [64 * MiB, '64 MiB'],
    [1.5 * GiB, '1.5 GiB'],
    [1.25 * GiB, '1.3 GiB'],
    [3 * TiB, '3 TiB'],
    [2048 * TiB, '2048 TiB'],
  ])('formatBytes(%d) = %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('property: formatBytes of a whole number of KiB..TiB parses back', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1023 }),
        fc.constantFrom(['KiB', KiB], ['MiB', MiB], ['GiB', GiB], ['TiB', TiB]),
        (n, [unit, mult]) => {
          const text = formatBytes(n * mult);
          expect(text).toBe(`${n} ${unit}`);
          expect(parseSize(text.replace(' ', ''))).toBe(n * mult);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('hex and memRange print as the kernel does', () => {
    expect(hex(255)).toBe('0xff');
    expect(hex(1, 4)).toBe('0x0001');
    expect(memRange(0x100000, 0x40000000)).toBe('[mem 0x0000000000100000-0x000000003fffffff]');
  });
});

describe('commands', () => {
  const samples: Record<string, CommandInput> = {
    boot: { op: 'boot' },
    spawn: { op: 'spawn', name: 'vmm' },
    exit: { op: 'exit', process: 'vmm' },
    memfd_create: { op: 'memfd_create', process: 'vmm', name: 'guest', size: '64M' },
    ftruncate: { op: 'ftruncate', process: 'vmm', fd: 3, size: '1G' },
    fallocate: { op: 'fallocate', process: 'vmm', fd: 3, offset: '8M', length: '4M', punchHole: true },
    write: { op: 'write', process: 'vmm', fd: 3, data: { fill: 171 }, length: '4K', offset: '1M' },
    close: { op: 'close', process: 'vmm', fd: 4 },
    alloc_pages: { op: 'alloc_pages', tag: 'slab', order: 2, count: 8 },
    free_pages: { op: 'free_pages', tag: 'slab', every: 2 },
    vmalloc: { op: 'vmalloc', name: 'ring', size: '3M' },
    vfree: { op: 'vfree', name: 'ring' },
    verify_memfd: { op: 'verify_memfd', process: 'vmm', fd: 3 },
    expect_free: { op: 'expect_free', atLeast: '800M', atMost: '1G' },
    kho_finalize: { op: 'kho_finalize' },
    kexec_load: { op: 'kexec_load', cmdline: 'kho=on quiet' },
    reboot: { op: 'reboot' },
    insmod: { op: 'insmod', module: 'test_kho', params: { forget: 3 } },
    poke: { op: 'poke', fdt: 'LUO', property: 'compatible', string: 'luo-v0' },
    luo_open: { op: 'luo_open', process: 'vmm' },
    luo_create_session: { op: 'luo_create_session', process: 'vmm', fd: 4, name: 'test-session' },
    luo_retrieve_session: { op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'test-session' },
    luo_preserve_fd: { op: 'luo_preserve_fd', process: 'vmm', session_fd: 5, fd: 3, token: '0x1A' },
    luo_retrieve_fd: { op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 26 },
    luo_finish: { op: 'luo_finish', process: 'vmm', session_fd: 4 },
    luo_get_name: { op: 'luo_get_name', process: 'vmm', session_fd: 4, name: 's' },
    setrlimit: { op: 'setrlimit', process: 'vmm', resource: 'RLIMIT_NOFILE', soft: 2032 },
    expect_content: { op: 'expect_content', process: 'vmm', fd: 5, text: 'hello kexec world' },
    luo_fail_next_freeze: { op: 'luo_fail_next_freeze', errno: 'EIO', token: 2 },
    save_checksums: { op: 'save_checksums', process: 'vmm', fd: 3, into_fd: 4 },
    expect_checksums: { op: 'expect_checksums', process: 'vmm', fd: 7, from_fd: 5 },
  };
  const labels: Record<string, string> = {
    boot: 'boot',
    spawn: 'spawn vmm',
    exit: 'exit vmm',
    memfd_create: 'vmm: memfd_create("guest") + ftruncate 64 MiB',
    ftruncate: 'vmm: ftruncate(3, 1 GiB)',
    fallocate: 'vmm: fallocate(3, PUNCH_HOLE, 8 MiB, 4 MiB)',
    write: 'vmm: write(3, 0xab, 4 KiB) @ 1 MiB',
    close: 'vmm: close(4)',
    alloc_pages: 'alloc_pages(GFP_KERNEL, order 2) × 8 [slab]',
    free_pages: 'free_pages [slab] every 2',
    vmalloc: 'vmalloc ring 3 MiB',
    vfree: 'vfree ring',
    verify_memfd: 'vmm: verify fd 3',
    expect_free: 'expect free ALL ≥ 800 MiB ≤ 1 GiB',
    kho_finalize: 'echo 1 > kho/out/finalize',
    kexec_load: 'kexec -s -l --append="kho=on quiet"',
    reboot: 'kexec -e',
    insmod: 'insmod test_kho forget=3',
    poke: 'poke LUO/compatible = "luo-v0"',
    luo_open: 'vmm: open("/dev/liveupdate")',
    luo_create_session: 'vmm: ioctl(4, LIVEUPDATE_IOCTL_CREATE_SESSION, "test-session")',
    luo_retrieve_session: 'vmm: ioctl(3, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, "test-session")',
    luo_preserve_fd: 'vmm: ioctl(5, LIVEUPDATE_SESSION_PRESERVE_FD, fd 3, token 0x1a)',
    luo_retrieve_fd: 'vmm: ioctl(4, LIVEUPDATE_SESSION_RETRIEVE_FD, token 0x1a)',
    luo_finish: 'vmm: ioctl(4, LIVEUPDATE_SESSION_FINISH)',
    luo_get_name: 'vmm: ioctl(4, LIVEUPDATE_SESSION_GET_NAME = "s")',
    setrlimit: 'vmm: setrlimit(RLIMIT_NOFILE, 2032)',
    expect_content: 'vmm: expect fd 5 = "hello kexec world"',
    luo_fail_next_freeze: 'inject: next freeze of token 0x2 fails with EIO',
    save_checksums: 'vmm: page checksums of fd 3 → fd 4',
    expect_checksums: 'vmm: expect fd 7 page checksums = fd 5',
  };

  it('every op has a sample here', () => {
    expect(Object.keys(samples).sort()).toEqual([...COMMAND_OPS].sort());
  });

  it.each(Object.keys(labels))('describeCommand labels %s', (op) => {
    expect(describeCommand(CommandSchema.parse(samples[op]))).toBe(labels[op]);
  });

  it('describeCommand variants: random and text writes, no size, default order', () => {
    expect(describeCommand(CommandSchema.parse({ op: 'write', process: 'p', fd: 3, data: { random: true } }))).toBe(
      'p: write(3, random)',
    );
    expect(
      describeCommand(
        CommandSchema.parse({ op: 'write', process: 'p', fd: 3, data: { text: 'hello kexec world, how are you' } }),
      ),
    ).toBe('p: write(3, "hello kexec world, how a")');
    expect(describeCommand(CommandSchema.parse({ op: 'memfd_create', process: 'p', name: 'n' }))).toBe(
      'p: memfd_create("n")',
    );
    expect(describeCommand(CommandSchema.parse({ op: 'free_pages', tag: 't' }))).toBe('free_pages [t]');
    expect(describeCommand(CommandSchema.parse({ op: 'expect_free', migratetype: 'CMA' }))).toBe('expect free CMA');
  });

  it('the schema applies defaults and refuses out-of-range fields', () => {
    expect(CommandSchema.parse({ op: 'alloc_pages', tag: 't' })).toMatchObject({
      order: 0,
      count: 1,
      folio: false,
      gfp: 'GFP_KERNEL',
    });
    expect(CommandSchema.parse({ op: 'fallocate', process: 'p', fd: 3, length: '4K' })).toMatchObject({
      offset: 0,
      length: 4096,
      punchHole: false,
    });
    expect(CommandSchema.safeParse({ op: 'alloc_pages', tag: 't', order: 11 }).success).toBe(false);
    // fds reach fs.nr_open (1 << 20) once RLIMIT_NOFILE is raised
    expect(CommandSchema.safeParse({ op: 'close', process: 'p', fd: 2031 }).success).toBe(true);
    expect(CommandSchema.safeParse({ op: 'close', process: 'p', fd: 1048576 }).success).toBe(false);
    expect(CommandSchema.safeParse({ op: 'write', process: 'p', fd: 3, data: { fill: 256 } }).success).toBe(false);
    expect(CommandSchema.safeParse({ op: 'boot', expect: 'EWHAT' }).success).toBe(false);
  });
});

describe('scenario', () => {
  it('jsonPath renders paths as jq does', () => {
    expect(jsonPath(['steps', 3, 'size'])).toBe('steps[3].size');
    expect(jsonPath(['machine', 'ram'])).toBe('machine.ram');
    expect(jsonPath([])).toBe('(root)');
  });

  it('scenarioJsonSchema() is an object schema with steps and machine properties', () => {
    const schema = scenarioJsonSchema() as {
      type?: string;
      properties?: Record<string, { type?: string }>;
      required?: string[];
    };
    expect(typeof schema).toBe('object');
    expect(schema.type).toBe('object');
    expect(schema.properties?.steps).toBeDefined();
    expect(schema.properties?.steps?.type).toBe('array');
    expect(schema.properties?.machine).toBeDefined();
    expect(schema.required).toContain('steps');
    expect(JSON.stringify(schema)).toContain('memfd_create');
  });
});

describe('validateCall', () => {
  it('checks the method name and argument tuple, applying defaults', () => {
    expect(validateCall('nope', [])).toEqual({
      ok: false,
      error: { code: 'invalid-argument', message: 'unknown API method "nope"' },
    });
    expect(validateCall('toString', [])).toMatchObject({ ok: false });
    const r = validateCall('run', [{ op: 'alloc_pages', tag: 't' }]);
    expect(r.ok && r.value.args[0]).toMatchObject({ order: 0, count: 1 });
    const bad = validateCall('mapView', [{ firstPfn: -1, pagesPerCell: 1, cells: 1 }]);
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error.message).toMatch(/^mapView: argument 0\.firstPfn: /);
    expect(validateCall('page', [1.5]).ok).toBe(false);
    expect(validateCall('readPhys', [0, 65537]).ok).toBe(false);
  });
});
