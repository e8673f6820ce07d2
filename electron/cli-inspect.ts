/**
 * DOC: `inspect` — the KHO handover in a memory dump
 *
 *   npm run sim -- inspect DUMP [--json FILE]
 *
 * Reads an ELF core (QEMU dump-guest-memory, kdump /proc/vmcore, KHO Lab's --export-vmcore),
 * finds the KHO handover in it and prints it (electron/host/dump/): the root FDT and sub-blobs,
 * and for a 7.x handover kexec-metadata, LUO sessions and files, memfd-v2 records and folios, FLB
 * records and the kho_block chains; a blob that does not decode is an AbiError line. Exit status 0 when a
 * handover was found and decoded, 2 for bad input: a missing or non-ELF file, a truncated dump,
 * no handover, or a KHO format nobody here knows.
 */
import { writeFileSync } from 'node:fs';
import { openDumpFile } from './dump-file';
import { describeDump, dumpReportJson } from './host/dump/describe';
import { inspectDump } from './host/dump/inspect';
import { DumpError } from './host/dump/source';

const USAGE = 'usage: kho-lab-sim inspect DUMP [--json FILE]';

export async function inspectCommand(
  argv: string[],
  io: { out: (l: string) => void; err: (l: string) => void },
): Promise<number> {
  const positional: string[] = [];
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json' || a.startsWith('--json=')) {
      json = a.includes('=') ? a.slice('--json='.length) : argv[++i];
      if (!json) return bad(io, '--json needs a value');
    } else if (a.startsWith('--')) return bad(io, `unknown option ${a}\n${USAGE}`);
    else positional.push(a);
  }
  if (positional.length !== 1) return bad(io, USAGE);
  const path = positional[0]!;
  try {
    const file = openDumpFile(path);
    try {
      const report = inspectDump(file);
      for (const line of describeDump(report)) io.out(line);
      if (json) {
        try {
          writeFileSync(json, dumpReportJson(report));
        } catch (e) {
          return bad(io, `--json: cannot write ${json}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
      return 0;
    } finally {
      file.close();
    }
  } catch (e) {
    if (e instanceof DumpError) return bad(io, `${path}: ${e.message}`);
    throw e;
  }
}

function bad(io: { err: (l: string) => void }, message: string): number {
  io.err(message);
  return 2;
}
