/**
 * The FDT library against the real tools: golden bytes checked field by field, dtc/fdtdump/fdtget
 * reading our blobs, our reader on dtc's blobs, round trips, NOSPACE at one page, and fuzzing that
 * decodeFdt never throws (include/linux/kho/abi/kexec_handover.h; kernel/liveupdate/
 * kexec_handover.c: kho_add_subtree()).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_ERRNO,
  FDT_NOP,
  FDT_PROP,
  FDT_MAX_DEPTH,
  decodeFdt,
  encodeFdt,
  fdtCheckCompatible,
  fdtString,
  fdtStringList,
  fdtU32be,
  fdtU64le,
  findNode,
  getProp,
  readString,
  readStringList,
  readU32be,
  readU64le,
  type FdtNode,
} from '../../electron/kernel/lib/fdt';
import { fdtToDts } from '../../electron/host/fdt-text';

const dir = mkdtempSync(join(tmpdir(), 'kho-lab-fdt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const node = (name: string, props: Array<[string, Uint8Array]> = [], children: FdtNode[] = []): FdtNode => ({
  name,
  props: props.map(([n, value]) => ({ name: n, value })),
  children,
});

/** The KHO root FDT of the brief: compatible, the tracker's address, one sub-FDT. */
const khoTree = (): FdtNode =>
  node(
    '',
    [
      ['compatible', fdtString('kho-v1')],
      ['preserved-memory-map', fdtU64le(0x116be4000n)],
    ],
    [node('kho_test', [['fdt', fdtU64le(0x12345000n)]])],
  );

function encodeOk(root: FdtNode, opts?: Parameters<typeof encodeFdt>[1]): Uint8Array {
  const r = encodeFdt(root, opts);
  if (!r.ok) throw new Error(`encodeFdt: ${r.message}`);
  return r.bytes;
}

function decodeOk(bytes: Uint8Array) {
  const r = decodeFdt(bytes);
  if (!r.ok) throw new Error(`decodeFdt: ${r.message}`);
  return r;
}

const dtc = (args: string[], input: string | Uint8Array): Buffer =>
  execFileSync('dtc', ['-q', ...args, '-'], { input, stdio: ['pipe', 'pipe', 'pipe'] });
const dtcToDts = (blob: Uint8Array): string => dtc(['-I', 'dtb', '-O', 'dts'], blob).toString('utf8');
const dtcToDtb = (source: string, extra: string[] = []): Uint8Array =>
  new Uint8Array(dtc(['-I', 'dts', '-O', 'dtb', ...extra], source));

function tempFile(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const be32 = (b: Uint8Array, off: number): number => new DataView(b.buffer, b.byteOffset).getUint32(off);

describe('golden bytes', () => {
  // Written out by hand; every offset is checked below.
  const GOLDEN =
    // header: magic, totalsize 0xbc, off_dt_struct 0x38, off_dt_strings 0x98, off_mem_rsvmap 0x28,
    // version 17, last_comp_version 16, boot_cpuid_phys 0, size_dt_strings 0x24, size_dt_struct 0x60
    'd00dfeed' +
    '000000bc' +
    '00000038' +
    '00000098' +
    '00000028' +
    '00000011' +
    '00000010' +
    '00000000' +
    '00000024' +
    '00000060' +
    // 0x28 memory reservation block: only the 0,0 terminator
    '0000000000000000' +
    '0000000000000000' +
    // 0x38 FDT_BEGIN_NODE "" (root)
    '00000001' +
    '00000000' +
    // 0x40 FDT_PROP len 7 nameoff 0 "kho-v1\0" + 1 pad
    '00000003' +
    '00000007' +
    '00000000' +
    '6b686f2d763100' +
    '00' +
    // 0x54 FDT_PROP len 8 nameoff 11: 0x116be4000 as a little-endian u64
    '00000003' +
    '00000008' +
    '0000000b' +
    '0040be1601000000' +
    // 0x68 FDT_BEGIN_NODE "kho_test\0" + 3 pad
    '00000001' +
    '6b686f5f7465737400' +
    '000000' +
    // 0x78 FDT_PROP len 8 nameoff 32: 0x12345000 little-endian
    '00000003' +
    '00000008' +
    '00000020' +
    '0050341200000000' +
    // 0x8c FDT_END_NODE (kho_test), 0x90 FDT_END_NODE (root), 0x94 FDT_END
    '00000002' +
    '00000002' +
    '00000009' +
    // 0x98 strings: "compatible\0" @0, "preserved-memory-map\0" @11, "fdt\0" @32
    '636f6d70617469626c6500' +
    '7072657365727665642d6d656d6f72792d6d617000' +
    '66647400';

  it('the KHO tree encodes to exactly the expected bytes', () => {
    expect(hex(encodeOk(khoTree()))).toBe(GOLDEN);
  });

  it('the header fields and token offsets are where the hand layout puts them', () => {
    const b = encodeOk(khoTree());
    expect(b.length).toBe(0xbc);
    const fields = Array.from({ length: 10 }, (_, i) => be32(b, i * 4));
    expect(fields).toEqual([0xd00dfeed, 0xbc, 0x38, 0x98, 0x28, 17, 16, 0, 0x24, 0x60]);
    expect(fields[2]! + fields[9]!).toBe(fields[3]); // struct ends where strings begin
    expect(fields[3]! + fields[8]!).toBe(fields[0 + 1]); // strings end at totalsize
    const tokens: Array<[number, number]> = [
      [0x38, FDT_BEGIN_NODE],
      [0x40, FDT_PROP],
      [0x54, FDT_PROP],
      [0x68, FDT_BEGIN_NODE],
      [0x78, FDT_PROP],
      [0x8c, FDT_END_NODE],
      [0x90, FDT_END_NODE],
      [0x94, FDT_END],
    ];
    for (const [off, tag] of tokens) expect([off, be32(b, off)]).toEqual([off, tag]);
    const decoded = decodeOk(b);
    expect(decoded.header).toMatchObject({
      totalsize: 0xbc,
      offDtStruct: 0x38,
      offDtStrings: 0x98,
      offMemRsvmap: 0x28,
      sizeDtStruct: 0x60,
      sizeDtStrings: 0x24,
    });
  });

  it('dtc compiles the same tree from DTS to the very same bytes', () => {
    const src =
      '/dts-v1/;\n/ {\n compatible = "kho-v1";\n preserved-memory-map = [00 40 be 16 01 00 00 00];\n kho_test { fdt = [00 50 34 12 00 00 00 00]; };\n};\n';
    expect(hex(dtcToDtb(src))).toBe(GOLDEN);
  });
});

describe('our blobs in the real tools', () => {
  const KHO_DTS = `/dts-v1/;

/ {
\tcompatible = "kho-v1";
\tpreserved-memory-map = <0x40be16 0x1000000>;

\tkho_test {
\t\tfdt = <0x503412 0x00>;
\t};
};
`;

  it('dtc -I dtb -O dts prints the tree, each LE u64 as two byte-swapped cells', () => {
    // 0x1_16be_4000 is in memory 00 40 be 16 01 00 00 00: big-endian cells 0x0040be16 0x01000000,
    // the form of the kernel doc's example (Documentation/core-api/kho/fdt.rst).
    expect(dtcToDts(encodeOk(khoTree()))).toBe(KHO_DTS);
  });

  it('fdtToDts prints what dtc prints', () => {
    expect(fdtToDts(khoTree())).toBe(KHO_DTS);
  });

  it('fdtdump walks our blob and agrees on the header', () => {
    const path = tempFile('kho.dtb', encodeOk(khoTree()));
    const out = execFileSync('fdtdump', [path], { stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
    expect(out).toContain('// totalsize:\t\t0xbc (188)');
    expect(out).toContain('// size_dt_struct:\t0x60');
    expect(out).toContain('compatible = "kho-v1";');
    expect(out).toContain('fdt = <0x00503412 0x00000000>;');
  });

  it('libfdt (fdtget) reads our properties, memreserve and boot cpu', () => {
    const path = tempFile('rsv.dtb', encodeOk(khoTree(), { bootCpuid: 3, memReserve: [[0x1000000n, 0x4000n]] }));
    const get = (...args: string[]): string =>
      execFileSync('fdtget', [...args], { stdio: ['ignore', 'pipe', 'pipe'] })
        .toString('utf8')
        .trim();
    expect(get('-t', 'bx', path, '/kho_test', 'fdt')).toBe('0 50 34 12 0 0 0 0');
    expect(get('-t', 's', path, '/', 'compatible')).toBe('kho-v1');
    expect(get('-l', path, '/')).toBe('kho_test');
    const dts = dtcToDts(new Uint8Array(readFileSync(path)));
    expect(dts).toContain('/memreserve/\t0x0000000001000000 0x0000000000004000;');
    expect(execFileSync('fdtdump', [path], { stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8')).toContain(
      '// boot_cpuid_phys:\t0x3',
    );
  });
});

/** A source with what dtc can express: labels, refs, string lists, bytes, cells, /bits/, memreserve. */
const RICH_DTS = `/dts-v1/;
/memreserve/ 0x10000000 0x4000;
/memreserve/ 0x1234567890 0x1000;
/ {
	compatible = "acme,board", "kho-v1";
	preserved-memory-map = /bits/ 64 <0x0100000000>;
	empty-prop;
	strs = "a", "bc", "";
	esc = "tab\\there\\"q\\\\x\\n";
	bytes = [01 02 03];
	cells = <1 2 0xdeadbeef>;
	wide = /bits/ 64 <0x1122334455667788>;
	acme,label-ish = "x";
	label-ish = "shares the tail of acme,label-ish in the strings block";
	path-ref = &lbl;
	lbl: node@1000 {
		ref = <&lbl>;
		deep { deeper { x = "y"; }; };
	};
	kho_test {
		fdt = [00 50 34 12 00 00 00 00];
	};
	empty-node { };
};
`;

describe('dtc blobs in our reader', () => {
  const blob = dtcToDtb(RICH_DTS);

  it('decodes to the tree the source describes', () => {
    const { root, memReserve, header } = decodeOk(blob);
    expect(header.version).toBe(17);
    expect(memReserve).toEqual([
      [0x10000000n, 0x4000n],
      [0x1234567890n, 0x1000n],
    ]);
    expect(root.props.map((p) => p.name)).toEqual([
      'compatible',
      'preserved-memory-map',
      'empty-prop',
      'strs',
      'esc',
      'bytes',
      'cells',
      'wide',
      'acme,label-ish',
      'label-ish',
      'path-ref',
    ]);
    expect(root.children.map((c) => c.name)).toEqual(['node@1000', 'kho_test', 'empty-node']);
    expect(readStringList(getProp(root, 'compatible')!)).toEqual(['acme,board', 'kho-v1']);
    expect(fdtCheckCompatible(root, 'kho-v1')).toBe(0);
    expect(getProp(root, 'empty-prop')!.length).toBe(0);
    expect(readStringList(getProp(root, 'strs')!)).toEqual(['a', 'bc', '']);
    expect(readString(getProp(root, 'esc')!)).toBe('tab\there"q\\x\n');
    expect(Array.from(getProp(root, 'bytes')!)).toEqual([1, 2, 3]);
    expect([0, 1, 2, 3].map((i) => readU32be(getProp(root, 'cells')!, i))).toEqual([1, 2, 0xdeadbeef, null]);
    expect(hex(getProp(root, 'wide')!)).toBe('1122334455667788'); // /bits/ 64 is big-endian, unlike KHO's u64
    expect(readString(getProp(root, 'path-ref')!)).toBe('/node@1000');
    const lbl = findNode(root, '/node@1000')!;
    // dtc turns the label reference into a phandle and gives the node its phandle property.
    expect(readU32be(getProp(lbl, 'ref')!)).toBe(1);
    expect(readU32be(getProp(lbl, 'phandle')!)).toBe(1);
    expect(readString(getProp(findNode(root, '/node/deep/deeper')!, 'x')!)).toBe('y');
    expect(readU64le(getProp(findNode(root, 'kho_test')!, 'fdt')!)).toBe(0x12345000n);
    expect(findNode(root, '/empty-node')).toEqual({ name: 'empty-node', props: [], children: [] });
  });

  it("re-encodes to dtc's bytes exactly, shared string tails included", () => {
    const { root, memReserve } = decodeOk(blob);
    expect(hex(encodeOk(root, { memReserve }))).toBe(hex(blob));
  });

  it('prints the DTS dtc prints for it', () => {
    const { root, memReserve } = decodeOk(blob);
    expect(fdtToDts(root, memReserve)).toBe(dtcToDts(blob));
  });

  it('reads a v16 blob and a padded blob (-V 16, -p 512) to the same tree', () => {
    const want = decodeOk(blob).root;
    const v16 = decodeOk(dtcToDtb(RICH_DTS, ['-V', '16']));
    expect(v16.header.version).toBe(16);
    expect(v16.root).toEqual(want);
    const padded = decodeOk(dtcToDtb(RICH_DTS, ['-p', '512']));
    expect(padded.header.totalsize).toBe(blob.length + 512);
    expect(padded.root).toEqual(want);
  });

  it('reads a blob in a larger page, ignoring bytes past totalsize', () => {
    const page = new Uint8Array(4096).fill(0xa5);
    page.set(blob);
    expect(decodeOk(page).root).toEqual(decodeOk(blob).root);
  });
});

/** Trees whose names and values are arbitrary but valid for the writer. */
const nameArb = fc.stringMatching(/^[a-z0-9,._+-]{1,12}(@[0-9a-f]{1,8})?$/);
const propArb = fc.record({
  name: fc.stringMatching(/^[a-z0-9#,._+?-]{1,20}$/),
  value: fc.uint8Array({ maxLength: 24 }),
});
const uniqueBy = <T extends { name: string }>(items: T[]): T[] => [...new Map(items.map((i) => [i.name, i])).values()];
/** A node with sub-trees at most `depth` deep (explicit, since fc.letrec's bias still grows huge trees now and then). */
const nodeArb = (name: fc.Arbitrary<string>, depth: number): fc.Arbitrary<FdtNode> =>
  fc
    .record({
      name,
      props: fc.array(propArb, { maxLength: 4 }),
      children: depth === 0 ? fc.constant<FdtNode[]>([]) : fc.array(nodeArb(nameArb, depth - 1), { maxLength: 3 }),
    })
    .map(({ name: n, props, children }) => ({ name: n, props: uniqueBy(props), children: uniqueBy(children) }));
const treeArb = nodeArb(fc.constant(''), 3);
const memReserveArb = fc.array(
  fc.tuple(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 1n, max: (1n << 64n) - 1n })),
  { maxLength: 3 },
);

describe('round trips', () => {
  it('decode(encode(x)) is x', () => {
    fc.assert(
      fc.property(treeArb, memReserveArb, fc.nat(0xffffffff), (root, memReserve, bootCpuid) => {
        const d = decodeOk(encodeOk(root, { memReserve, bootCpuid }));
        expect(d.root).toEqual(root);
        expect(d.memReserve).toEqual(memReserve);
        expect(d.header.bootCpuidPhys).toBe(bootCpuid);
      }),
      { numRuns: 300 },
    );
  });

  it('dtc accepts every blob we write and prints what fdtToDts prints', () => {
    fc.assert(
      fc.property(treeArb, memReserveArb, (root, memReserve) => {
        // -f: random properties break dtc's devicetree conventions ("name" must be a string), not the format.
        const dts = dtc(['-f', '-I', 'dtb', '-O', 'dts'], encodeOk(root, { memReserve })).toString('utf8');
        expect(dts).toBe(fdtToDts(root, memReserve));
      }),
      { numRuns: 40 },
    );
  });

  it('a 100 000-deep tree encodes without recursion; decoding stops at FDT_MAX_DEPTH (unflatten_dt_nodes())', () => {
    const root = node('', [['compatible', fdtString('deep')]]);
    let tip = root;
    for (let i = 0; i < 100_000; i++) tip.children.push((tip = node('n', [['depth', fdtU32be(i)]])));
    const d = decodeFdt(encodeOk(root));
    expect(d).toMatchObject({ ok: false, error: 'FDT_ERR_BADSTRUCTURE' });
    // The deepest tree the kernel unflattens round-trips.
    const shallow = node('', [['compatible', fdtString('deep')]]);
    tip = shallow;
    for (let i = 0; i < FDT_MAX_DEPTH - 2; i++) tip.children.push((tip = node('n', [['depth', fdtU32be(i)]])));
    const bytes = encodeOk(shallow);
    const ok = decodeOk(bytes);
    expect(hex(encodeOk(ok.root))).toBe(hex(bytes));
    expect(readU32be(getProp(findNode(ok.root, '/n'.repeat(FDT_MAX_DEPTH - 2))!, 'depth')!)).toBe(FDT_MAX_DEPTH - 3);
  });
});

describe('writer limits and errors', () => {
  /**
   * The root FDT with one padding property whose value makes the blob exactly `total` bytes (a
   * multiple of 4: the strings "compatible\0pad-\0" are 16 bytes, everything else is padded to 4).
   */
  const sized = (total: number): FdtNode => {
    const base = encodeOk(
      node('', [
        ['compatible', fdtString('kho-v1')],
        ['pad-', new Uint8Array(0)],
      ]),
    ).length;
    return node('', [
      ['compatible', fdtString('kho-v1')],
      ['pad-', new Uint8Array(total - base)],
    ]);
  };

  it('fits a tree of exactly one page and refuses the next size up with FDT_ERR_NOSPACE (-3)', () => {
    expect(encodeOk(sized(4096), { capacity: 4096 }).length).toBe(4096);
    const over = encodeFdt(sized(4100), { capacity: 4096 });
    expect(over).toMatchObject({ ok: false, error: 'FDT_ERR_NOSPACE' });
    expect(FDT_ERRNO.FDT_ERR_NOSPACE).toBe(3);
    if (!over.ok) expect(over.message).toBe('the tree needs 4100 bytes but only 4096 are available');
  });

  it('refuses many sub-nodes that do not fit a page', () => {
    const children = Array.from({ length: 200 }, (_, i) => node(`subtree-${i}`, [['fdt', fdtU64le(BigInt(i) << 12n)]]));
    expect(encodeFdt(node('', [], children), { capacity: 4096 })).toMatchObject({
      ok: false,
      error: 'FDT_ERR_NOSPACE',
    });
    expect(encodeFdt(node('', [], children)).ok).toBe(true);
  });

  it.each([
    [
      'duplicate property',
      node('', [
        ['a', fdtU32be(1)],
        ['a', fdtU32be(2)],
      ]),
      'FDT_ERR_EXISTS',
      'duplicate property "a" in /',
    ],
    ['duplicate child', node('', [], [node('x'), node('x')]), 'FDT_ERR_EXISTS', 'duplicate node "x" in /'],
    ['named root', node('root'), 'FDT_ERR_BADVALUE', 'the root node must have an empty name, not "root"'],
    ['slash in a node name', node('', [], [node('a/b')]), 'FDT_ERR_BADVALUE', 'bad node name "a/b" at /a/b'],
    ['unnamed child', node('', [], [node('ok', [], [node('')])]), 'FDT_ERR_BADVALUE', 'bad node name "" at /ok/'],
    [
      'NUL in a property name',
      node('', [['a\0b', fdtU32be(1)]]),
      'FDT_ERR_BADVALUE',
      'property name "a\\0b" in / contains NUL',
    ],
    ['empty property name', node('', [['', fdtU32be(1)]]), 'FDT_ERR_BADVALUE', 'empty property name in /'],
  ] as const)('refuses a %s', (_what, root, error, message) => {
    expect(encodeFdt(root)).toEqual({ ok: false, error, message });
  });

  it('refuses bad options', () => {
    expect(
      encodeFdt(khoTree(), {
        memReserve: [
          [1n, 1n],
          [0x1000n, 0n],
        ],
      }),
    ).toMatchObject({
      error: 'FDT_ERR_BADVALUE',
      message: 'memreserve entry 1 has size 0, which reads back as the terminator',
    });
    expect(encodeFdt(khoTree(), { memReserve: [[1n << 64n, 1n]] })).toMatchObject({ error: 'FDT_ERR_BADVALUE' });
    expect(encodeFdt(khoTree(), { bootCpuid: -1 })).toMatchObject({ error: 'FDT_ERR_BADVALUE' });
  });
});

describe('helpers', () => {
  it('encode values as the kernel does', () => {
    expect(hex(fdtU64le(0x116be4000n))).toBe('0040be1601000000');
    expect(hex(fdtU32be(1, 0xdeadbeef))).toBe('00000001deadbeef');
    expect(hex(fdtStringList(['kho-v1', 'x']))).toBe('6b686f2d7631007800');
    expect(() => fdtU64le(-1n)).toThrow(RangeError);
    expect(() => fdtU32be(2 ** 32)).toThrow(RangeError);
    expect(() => fdtString('a\0b')).toThrow(RangeError);
  });

  it('read values back and refuse wrong sizes', () => {
    expect(readU64le(fdtU64le(2n ** 64n - 1n))).toBe(2n ** 64n - 1n);
    expect(readU64le(new Uint8Array(7))).toBeNull(); // kho_retrieve_subtree: not 8 bytes → -EINVAL
    expect(readU64le(new Uint8Array(9))).toBeNull();
    expect(readU32be(fdtU32be(7, 9), 1)).toBe(9);
    expect(readString(fdtStringList(['a', 'b']))).toBeNull();
    expect(readString(new Uint8Array([0x61]))).toBeNull();
    expect(readStringList(new Uint8Array(0))).toBeNull();
  });

  it('fdtCheckCompatible matches whole strings only, like fdt_node_check_compatible()', () => {
    const withCompat = (v: Uint8Array): FdtNode => node('', [['compatible', v]]);
    expect(fdtCheckCompatible(withCompat(fdtStringList(['a', 'kho-v1'])), 'kho-v1')).toBe(0);
    expect(fdtCheckCompatible(withCompat(fdtString('kho-v1')), 'kho-v')).toBe(1);
    expect(fdtCheckCompatible(withCompat(fdtString('kho-v10')), 'kho-v1')).toBe(1);
    expect(fdtCheckCompatible(withCompat(new Uint8Array([0x6b, 0x68, 0x6f])), 'kho')).toBe(1); // no NUL
    expect(fdtCheckCompatible(node(''), 'kho-v1')).toBe(-FDT_ERRNO.FDT_ERR_NOTFOUND);
  });

  it('findNode follows paths and matches a name without its unit address', () => {
    const root = node('', [], [node('memory@1000', [], [node('a')]), node('memory')]);
    expect(findNode(root, '/')).toBe(root);
    expect(findNode(root, '/memory')!.name).toBe('memory@1000'); // first match, as fdt_path_offset()
    expect(findNode(root, '/memory@1000/a')!.name).toBe('a');
    expect(findNode(root, '/memory@2000')).toBeUndefined();
    expect(findNode(root, '/nope/a')).toBeUndefined();
  });
});

/** Blobs built token by token, to reach the checks a writer never trips. */
function craft(
  tokens: Array<number | string | Uint8Array>,
  strings = 'compatible\0',
  over: Partial<Record<'version' | 'lastComp' | 'offStruct', number>> = {},
): Uint8Array {
  const parts: number[] = [];
  for (const t of tokens) {
    const b = typeof t === 'number' ? [...fdtU32be(t)] : typeof t === 'string' ? [...Buffer.from(t + '\0')] : [...t];
    parts.push(...b);
    while (parts.length % 4) parts.push(0);
  }
  const offStruct = over.offStruct ?? 0x38;
  const offStrings = offStruct + parts.length;
  const total = offStrings + strings.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  [
    0xd00dfeed,
    total,
    offStruct,
    offStrings,
    0x28,
    over.version ?? 17,
    over.lastComp ?? 16,
    0,
    strings.length,
    parts.length,
  ].forEach((v, i) => view.setUint32(i * 4, v));
  out.set(parts, offStruct);
  out.set(Buffer.from(strings, 'latin1'), offStrings);
  return out;
}

describe('reader errors', () => {
  const B = FDT_BEGIN_NODE,
    E = FDT_END_NODE,
    P = FDT_PROP,
    N = FDT_NOP,
    END = FDT_END;

  it('accepts a crafted minimal tree, skipping FDT_NOP', () => {
    const d = decodeOk(craft([N, B, '', N, P, 3, 0, fdtU32be(0).subarray(0, 3), N, E, END]));
    expect(d.root).toEqual({ name: '', props: [{ name: 'compatible', value: new Uint8Array(3) }], children: [] });
  });

  it.each([
    [
      'bad magic',
      () => new Uint8Array([0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0]),
      'FDT_ERR_BADMAGIC',
      'bad magic 0x12345678 at offset 0x0 (expected 0xd00dfeed)',
    ],
    ['an empty buffer', () => new Uint8Array(0), 'FDT_ERR_TRUNCATED', 'empty: 0 bytes'],
    [
      'a truncated blob',
      () => encodeOk(khoTree()).subarray(0, 100),
      'FDT_ERR_TRUNCATED',
      'truncated: totalsize at offset 0x4 is 188 bytes but only 100 are present',
    ],
    [
      'a header cut short',
      () => encodeOk(khoTree()).subarray(0, 30),
      'FDT_ERR_TRUNCATED',
      'only 30 bytes, too short for a 40-byte v17 header',
    ],
    [
      'version 15',
      () => craft([B, '', E, END], '', { version: 15, lastComp: 15 }),
      'FDT_ERR_BADVERSION',
      'unsupported version 15 at offset 0x14 (last compatible 15); this reader handles 16 and 17',
    ],
    [
      'a misaligned structure block',
      () => craft([B, '', E, END], '', { offStruct: 0x3a }),
      'FDT_ERR_ALIGNMENT',
      'structure block at offset 0x3a is not 4-byte aligned',
    ],
    ['an unknown token', () => craft([B, '', 7, E, END]), 'FDT_ERR_BADSTRUCTURE', 'unknown token 0x7 at offset 0x40'],
    [
      'two roots',
      () => craft([B, '', E, B, '', E, END]),
      'FDT_ERR_BADSTRUCTURE',
      'token 0x1 at offset 0x44 after the root node closed (a second root, or FDT_END missing)',
    ],
    [
      'a named root',
      () => craft([B, 'r', E, END]),
      'FDT_ERR_BADSTRUCTURE',
      'root node at offset 0x38 has the name "r"; it must be empty',
    ],
    [
      'a property before the root',
      () => craft([P, 0, 0, B, '', E, END]),
      'FDT_ERR_BADSTRUCTURE',
      'property at offset 0x38 outside any node',
    ],
    [
      'FDT_END inside a node',
      () => craft([B, '', B, 'a', END]),
      'FDT_ERR_BADSTRUCTURE',
      'FDT_END at offset 0x48 inside /a: 2 node(s) still open',
    ],
    [
      'an extra FDT_END_NODE',
      () => craft([E, END]),
      'FDT_ERR_BADSTRUCTURE',
      'FDT_END_NODE at offset 0x38 with no open node',
    ],
    ['no root at all', () => craft([N, END]), 'FDT_ERR_BADSTRUCTURE', 'FDT_END at offset 0x3c before any root node'],
    ['no FDT_END', () => craft([B, '', E]), 'FDT_ERR_TRUNCATED', 'structure block ends at offset 0x44 without FDT_END'],
    [
      'a property longer than the block',
      () => craft([B, '', P, 999, 0, E, END]),
      'FDT_ERR_TRUNCATED',
      'property at offset 0x40 in / claims 999 bytes, past the end of the structure block',
    ],
    [
      'a name offset past the strings',
      () => craft([B, '', P, 0, 11, E, END]),
      'FDT_ERR_BADOFFSET',
      'property at offset 0x40 in /: name offset 0xb is outside the 11-byte strings block',
    ],
    [
      'an unterminated property name',
      () => craft([B, '', P, 0, 0, E, END], 'compatible'),
      'FDT_ERR_TRUNCATED',
      'property at offset 0x40 in /: name at strings offset 0x0 has no NUL before the end of the strings block',
    ],
    [
      'an unterminated node name',
      () => craft([B, '', B, new Uint8Array([0x61, 0x61, 0x61, 0x61])]),
      'FDT_ERR_TRUNCATED',
      'node at offset 0x40 in /: name has no NUL before the end of the structure block',
    ],
  ] as const)('names %s', (_what, make, error, message) => {
    expect(decodeFdt(make())).toMatchObject({ ok: false, error, message });
  });

  it('ends the memory reservation block at the first size 0, as libfdt and dtc do', () => {
    const b = encodeOk(khoTree(), {
      memReserve: [
        [0x5000n, 0x1000n],
        [0x9000n, 0x1000n],
      ],
    });
    new DataView(b.buffer).setBigUint64(0x28 + 8, 0n); // the first entry's size
    expect(decodeOk(b).memReserve).toEqual([]);
  });

  it('refuses a memory reservation block that runs past totalsize', () => {
    const b = encodeOk(khoTree());
    new DataView(b.buffer).setUint32(16, 0xb8); // off_mem_rsvmap: 8 bytes before totalsize 0xbc
    expect(decodeFdt(b)).toMatchObject({
      ok: false,
      error: 'FDT_ERR_TRUNCATED',
      offset: 0xb8,
      message: 'memory reservation entry at offset 0xb8 runs past totalsize: no terminating entry of size 0',
    });
  });

  it('never throws on something that is not bytes', () => {
    expect(decodeFdt(null as unknown as Uint8Array)).toMatchObject({ ok: false, error: 'FDT_ERR_BADVALUE' });
  });
});

describe('fuzz: decodeFdt never throws', () => {
  const seeds = [
    encodeOk(khoTree(), { memReserve: [[0x1000n, 0x2000n]] }),
    dtcToDtb(RICH_DTS),
    dtcToDtb(RICH_DTS, ['-V', '16']),
  ];

  /** decode, and when it succeeds, the tree survives another round through the writer. */
  function decodesSafely(bytes: Uint8Array): void {
    const r = decodeFdt(bytes);
    expect(typeof r.ok).toBe('boolean');
    if (!r.ok) {
      expect(r.message.length).toBeGreaterThan(0);
      return;
    }
    const again = encodeFdt(r.root, { memReserve: r.memReserve });
    // A mutation can produce a tree the writer refuses (duplicate names, '/' in a name), never one it garbles.
    if (again.ok) expect(decodeOk(again.bytes).root).toEqual(r.root);
    else expect(['FDT_ERR_EXISTS', 'FDT_ERR_BADVALUE']).toContain(again.error);
  }

  it('random bytes, with and without a valid magic', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), (bytes, magic) => {
        if (magic && bytes.length >= 4) bytes.set([0xd0, 0x0d, 0xfe, 0xed]);
        decodesSafely(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('random header and structure words over a real blob', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(0, 1, 2, 3, 4, 9, 0xffffffff, 0x7fffffff, 0x28, 0x38)), {
          minLength: 1,
          maxLength: 4,
        }),
        (seed, pokes) => {
          const b = seed.slice();
          const view = new DataView(b.buffer);
          for (const [at, word] of pokes) view.setUint32((at % (b.length >> 2)) * 4, word);
          decodesSafely(b);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('every truncation of real blobs', () => {
    for (const seed of seeds) for (let n = 0; n <= seed.length; n++) decodesSafely(seed.subarray(0, n));
  });

  it('every single-bit flip of real blobs, and random byte replacements', () => {
    for (const seed of seeds) {
      for (let bit = 0; bit < seed.length * 8; bit++) {
        const b = seed.slice();
        b[bit >> 3]! ^= 1 << (bit & 7);
        decodesSafely(b);
      }
    }
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.nat(), fc.nat(255), (seed, at, byte) => {
        const b = seed.slice();
        b[at % b.length] = byte;
        decodesSafely(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('a blob of a million NOPs ends with an error, not a hang', () => {
    const tokens = [...new Array<number>(1_000_000).fill(FDT_NOP), FDT_END];
    const b = craft(tokens);
    expect(decodeFdt(b)).toMatchObject({
      ok: false,
      error: 'FDT_ERR_BADSTRUCTURE',
      message: expect.stringContaining('before any root node') as unknown,
    });
  });
});
