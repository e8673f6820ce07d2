/** `inspect DUMP [--json F]`: the handover as text and JSON; exit 2 with a clear line for bad dumps. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT_BAD_INPUT, EXIT_OK } from '../../../electron/cli';
import { hex } from '../../../shared/units';
import { cli, scratchDir } from '../cli/run-cli';
import { dumpPages } from '../../abi/kho-7x/fixtures';
import { coreOfPages } from './elf-build';
import { type SimDump, simDump } from './sim-dump';

const dir = scratchDir('kho-lab-inspect-');
let sim: SimDump;
const core = join(dir, 'test-kho.vmcore');
beforeAll(async () => {
  sim = await simDump();
  writeFileSync(core, sim.bytes);
});

describe('npm run sim -- inspect', () => {
  it('prints where the handover was found, the root FDT, its sub-blobs, scratch and the tracker', async () => {
    const json = join(dir, 'r.json');
    const r = await cli('inspect', core, '--json', json);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(EXIT_OK);
    const fdt = sim.atReboot.kho!.pending!.fdtPhys;
    expect(r.out.some((l) => l.startsWith('handover: found via the VMCOREINFO note'))).toBe(true);
    expect(r.out.find((l) => l.startsWith('root FDT at'))).toMatch(
      new RegExp(`^root FDT at ${hex(fdt)}: compatible "kho-v1" \\(Linux 6.16–7.0\\)`),
    );
    expect(r.out.some((l) => /^ {2}kho_test\s+0x[0-9a-f]+ {2}\d+ bytes {2}FDT "kho-test-v1"$/.test(l))).toBe(true);
    expect(r.out.find((l) => l.startsWith('tracker'))).toMatch(
      new RegExp(`^tracker \\(chunk-list\\): ${sim.incomingBlocks.length} preserved blocks`),
    );
    const j = JSON.parse(readFileSync(json, 'utf8')) as {
      fdt: { bytes: string; phys: number };
      handover: { via: string };
    };
    expect(j.handover.via).toBe('vmcoreinfo');
    expect(j.fdt.phys).toBe(fdt);
    expect(j.fdt.bytes.slice(0, 8)).toBe('d00dfeed');
  });

  it.each([
    ['a missing file', ['inspect', '/nonexistent/dump.elf'], /cannot open \/nonexistent\/dump.elf: no such file/],
    ['a directory', ['inspect', '/tmp'], /is not a regular file/],
    ['no file', ['inspect'], /usage: kho-lab-sim inspect DUMP/],
    ['an unknown option', ['inspect', 'x', '--kernel'], /unknown option --kernel/],
  ])('exits 2 for %s', async (_n, argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.err.join('\n')).toMatch(message);
  });

  it('exits 2 for a file that is not ELF and for a truncated dump', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello\n'.repeat(40));
    const a = await cli('inspect', text);
    expect(a.code).toBe(EXIT_BAD_INPUT);
    expect(a.err[0]).toBe(`${text}: not an ELF file: no \\x7fELF magic at offset 0`);
    const cut = join(dir, 'cut.vmcore');
    writeFileSync(cut, sim.bytes.subarray(0, sim.bytes.length >> 1));
    const b = await cli('inspect', cut);
    expect(b.code).toBe(EXIT_BAD_INPUT);
    expect(b.err[0]).toMatch(/truncated dump: program header \d+ needs file bytes up to/);
  });
});

describe('npm run sim -- inspect on the real 7.2.13 pages cut at machine_kexec()', () => {
  it('luo_session_deserialize() + memfd_luo_retrieve(): prints the LUO sessions, memfd folios and FLBs; --json has them', async () => {
    const file = join(dir, 'real-7.2.core');
    writeFileSync(file, coreOfPages(dumpPages('realkernel-7.2/k1-machine_kexec.pages.gz')));
    const json = join(dir, 'real.json');
    const r = await cli('inspect', file, '--json', json);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain('kexec-metadata: version 1, previous release "7.2.13", kexec count 1');
    expect(r.out.filter((l) => /^ {2}session "/.test(l))).toHaveLength(7);
    expect(r.out).toContain('    file token 0x1001 at 0x2c3b010: handler "memfd-v2", data 0x2c3c000');
    expect(r.out).toContain('      folio index 0: pfn 0x1782, flags 0x3');
    const j = JSON.parse(readFileSync(json, 'utf8')) as {
      decoded7x: {
        kexecMetadata: { previousRelease: string };
        luo: { sessions: Array<{ files: Array<{ memfd: { ser: { size: number } } }> }>; flbs: { flbs: unknown[] } };
      };
    };
    expect(j.decoded7x.kexecMetadata.previousRelease).toBe('7.2.13');
    expect(j.decoded7x.luo.sessions.flatMap((s) => s.files.map((f) => f.memfd.ser.size))).toEqual(Array(6).fill(4096));
    expect(j.decoded7x.luo.flbs.flbs).toHaveLength(3);
  });
});
