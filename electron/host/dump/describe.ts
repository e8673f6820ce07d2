/**
 * DOC: a dump's handover, as text and as JSON
 *
 * What `inspect` prints: where the handover was found, the root FDT and its sub-blobs, the
 * scratch array and the tracker — addresses in hex as the kernel logs them. The JSON form is the
 * same report with byte arrays as hex strings.
 */
import { formatBytes, hex } from '../../../shared/units';
import type { HandoverCandidate } from './find-handover';
import type { DumpReport } from './inspect';

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

/** The report as JSON text: bytes as hex strings. */
export function dumpReportJson(r: DumpReport): string {
  return JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v), 2) + '\n';
}
