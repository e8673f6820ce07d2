/**
 * DOC: a dump's handover, as text and as JSON
 *
 * What `inspect` prints: where the handover was found, the root FDT and its sub-blobs, what a
 * 7.x handover's kexec-metadata and LUO blobs say (sessions, files, memfd records and folios,
 * FLBs, kho_block chains), the scratch array and the tracker — addresses in hex as the kernel logs
 * them. A blob that does not decode is one `AbiError` line naming why. The JSON form is the same
 * report with byte arrays and u64 values (bigint) as hex strings.
 */
import { formatBytes, hex } from '../../../shared/units';
import type { HandoverCandidate } from './find-handover';
import type { DumpReport } from './inspect';
import type { AbiError } from '../../kernel/abi/abi-error';
import type { BlockHeader } from '../../kernel/abi/kho-block';
import { F_SEAL } from '../../kernel/abi/memfd-v2';
import type { LuoReport, MemfdReport, SubBlobs7x } from './sub-blobs-7x';

const VIA: Record<HandoverCandidate['via'], string> = {
  vmcoreinfo: 'the VMCOREINFO note',
  boot_params: 'boot_params → setup_data type 10 (SETUP_KEXEC_KHO)',
  setup_data: 'a staged setup_data node of type 10 (SETUP_KEXEC_KHO)',
  'fdt-scan': 'a scan for a page-aligned KHO root FDT',
};

function where(c: HandoverCandidate): string {
  const at = c.at !== undefined ? ` at ${hex(c.at)}` : '';
  const copies = c.copies.length ? ` (+${c.copies.length} identical ${c.copies.length === 1 ? 'copy' : 'copies'})` : '';
  return `${VIA[c.via]}${at}${copies}`;
}

const isErr = (v: unknown): v is AbiError => (v as AbiError | undefined)?.kind === 'AbiError';
const abiLine = (e: AbiError): string => `AbiError ${e.toString()}${e.klog ? ` [kernel: "${e.klog}"]` : ''}`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A kho_block chain: each block's address and entry count, in list order. */
const chain = (blocks: readonly BlockHeader[]): string =>
  blocks.length ? blocks.map((b) => `${hex(b.pa)} (${plural(b.count, 'entry', 'entries')})`).join(' → ') : 'none';

const sealNames = (seals: number): string =>
  Object.entries(F_SEAL)
    .filter(([, bit]) => seals & bit)
    .map(([name]) => name)
    .join('|') || 'none';

/** The folios listed per memfd before "…" (a large memfd has thousands). */
const LISTED_FOLIOS = 8;

function memfdLines(m: MemfdReport | AbiError): string[] {
  if (isErr(m)) return [`      memfd: ${abiLine(m)}`];
  const s = m.ser;
  const lines = [
    `      memfd-v2 record at ${hex(m.pa)}: size ${s.size}, pos ${s.pos}, seals ${hex(s.seals)} (${sealNames(s.seals)}), ${plural(s.nrFolios, 'folio')}`,
  ];
  if (isErr(m.folios)) return [...lines, `      folios: ${abiLine(m.folios)}`];
  const f = m.folios;
  lines.push(
    `      kho_vmalloc: ${plural(f.chunks.length, 'chunk')} (${f.chunks.map((c) => hex(c)).join(', ') || '-'}), record pages ${f.pages.map((p) => hex(p)).join(', ') || '-'}`,
  );
  for (const x of f.folios.slice(0, LISTED_FOLIOS))
    lines.push(`      folio index ${x.index}: pfn ${hex(x.pfn)}, flags ${hex(x.flags)}`);
  if (f.folios.length > LISTED_FOLIOS) lines.push(`      … ${f.folios.length - LISTED_FOLIOS} more folios`);
  return lines;
}

function luoLines(luo: LuoReport | AbiError): string[] {
  if (isErr(luo)) return [`LUO: ${abiLine(luo)}`];
  const lines = [
    `LUO "${luo.compatible}": liveupdate_num ${luo.liveupdateNum}, sessions_pa ${hex(luo.sessionsPa)}, flbs_pa ${hex(luo.flbsPa)}; ${plural(luo.sessions.length, 'session')}`,
    `  session kho_block chain: ${chain(luo.sessionBlocks)}`,
  ];
  for (const s of luo.sessions) {
    lines.push(
      `  session "${s.name}" at ${hex(s.pa)}: ${plural(s.fileCount, 'file')}, file kho_block chain: ${chain(s.fileBlocks)}`,
    );
    if (s.filesError) lines.push(`    files: ${abiLine(s.filesError)}`);
    for (const f of s.files) {
      lines.push(`    file token ${hex(f.token)} at ${hex(f.pa)}: handler "${f.compatible}", data ${hex(f.data)}`);
      if (f.memfd) lines.push(...memfdLines(f.memfd));
    }
  }
  if (isErr(luo.flbs)) lines.push(`  FLBs: ${abiLine(luo.flbs)}`);
  else {
    lines.push(`  FLBs: ${plural(luo.flbs.flbs.length, 'record')} in ${plural(luo.flbs.pgcnt, 'page')}`);
    for (const f of luo.flbs.flbs)
      lines.push(`    FLB "${f.name}" at ${hex(f.pa)}: data ${hex(f.data)}, ${plural(f.count, 'file')}`);
  }
  return lines;
}

function subBlobs7xLines(d: SubBlobs7x): string[] {
  const lines: string[] = [];
  const m = d.kexecMetadata;
  if (m)
    lines.push(
      isErr(m)
        ? `kexec-metadata: ${abiLine(m)}`
        : `kexec-metadata: version ${m.version}, previous release "${m.previousRelease}", kexec count ${m.kexecCount}`,
    );
  if (d.luo) lines.push(...luoLines(d.luo));
  if (d.budgetExhausted) lines.push(`LUO: ${d.budgetExhausted}`);
  return lines;
}

export function describeDump(r: DumpReport): string[] {
  const notes = new Map<string, number>();
  for (const n of r.dump.notes) notes.set(n.name, (notes.get(n.name) ?? 0) + 1);
  const lines = [
    `ELF core: ${r.dump.segments.length} PT_LOAD(s), ${formatBytes(r.dump.physBytes)} of physical memory; notes: ${[...notes].map(([n, c]) => `${n}×${c}`).join(', ') || 'none'}`,
  ];
  if (r.dump.vmcoreinfo?.OSRELEASE) lines.push(`VMCOREINFO: OSRELEASE=${r.dump.vmcoreinfo.OSRELEASE}`);
  const h = r.handover;
  lines.push(`handover: found via ${where(h)}`);
  if (h.khoData) {
    const d = h.khoData;
    lines.push(
      `  kho_data: fdt_addr ${hex(d.fdtAddr)}, fdt_size ${hex(d.fdtSize)}, scratch_addr ${hex(d.scratchAddr)}, scratch_size ${hex(d.scratchSize)}`,
    );
  }
  const map = r.fdt.preservedMemoryMap;
  lines.push(
    `root FDT at ${hex(r.fdt.phys)}: compatible "${r.fdt.compatible}" (${r.format.releases}), ${r.fdt.totalsize} bytes, preserved-memory-map ${map === null ? 'missing' : hex(map)}`,
  );
  const width = Math.max(0, ...r.subBlobs.map((s) => s.name.length));
  for (const s of r.subBlobs) {
    const what = s.error
      ? `error: ${s.error}`
      : s.kind === 'fdt'
        ? `FDT "${s.compatible}"`
        : s.leadingText
          ? `raw, starts "${s.leadingText}"`
          : 'raw';
    lines.push(
      `  ${s.name.padEnd(width)}  ${s.phys === null ? '-' : hex(s.phys)}  ${s.size === null ? '?' : s.size} bytes  ${what}`,
    );
  }
  if (r.decoded7x) lines.push(...subBlobs7xLines(r.decoded7x));
  if (r.scratch) {
    lines.push(
      `scratch array at ${hex(r.scratch.phys)}, ${r.scratch.size} bytes${r.scratch.note ? `: ${r.scratch.note}` : ':'}`,
    );
    r.scratch.areas.forEach((a, i) => lines.push(`  [${i}] ${hex(a.addr)} + ${hex(a.size)} (${formatBytes(a.size)})`));
  } else lines.push('scratch array: unknown (the handover was found by its FDT alone)');
  const t = r.tracker;
  if (!t.decoded) lines.push(`tracker: not decoded: ${t.reason}`);
  else {
    const orders = Object.entries(t.byOrder)
      .map(([o, n]) => `order ${o}: ${n}`)
      .join(', ');
    lines.push(
      `tracker (${t.kind}): ${t.count} preserved blocks, ${formatBytes(t.bytes)}${orders ? ` (${orders})` : ''}; ${t.metadataPages.length} tracker pages`,
    );
    if (t.error) lines.push(`  walk stopped: ${t.error}`);
  }
  for (const o of r.others) lines.push(`also found: "${o.compatible}" root FDT at ${hex(o.fdtPhys)} via ${where(o)}`);
  return lines;
}

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The report as JSON text: bytes and u64s (bigint: tokens, handler data) as hex strings. */
export function dumpReportJson(r: DumpReport): string {
  const replace = (_k: string, v: unknown): unknown =>
    v instanceof Uint8Array ? toHex(v) : typeof v === 'bigint' ? hex(v) : v;
  return JSON.stringify(r, replace, 2) + '\n';
}
