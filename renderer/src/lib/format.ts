/**
 * DOC: text formats kernel developers read
 *
 * dmesg lines, shell-style errno results and drgn-style page dumps, as plain functions so the
 * components stay thin and tests can check the exact text.
 */
import type { ApiError } from '../../../shared/api';
import { CommandSchema, describeCommand, type CommandInput } from '../../../shared/commands';
import { CATEGORY_STYLES } from '../../../shared/palette';
import { formatBytes, hex } from '../../../shared/units';
import type { DumpInfo, PageInfo, StepInfo, TraceEvent } from '../../../shared/views';

/** `[    0.123456] memblock: msg`, as printk stamps a line. */
export function dmesgLine(e: TraceEvent): string {
  const stamp = e.time.toFixed(6).padStart(12, ' ');
  return `[${stamp}] ${e.subsys ? e.subsys + ': ' : ''}${e.msg}`;
}

/** How a shell reports a refused call: `memfd_create: ENOMEM`. */
export function errnoLine(op: string, errno: string): string {
  return `${op}: ${errno}`;
}

/** One line for an API error that is not a kernel errno; a message that already names the call keeps its own name. */
export function apiErrorLine(context: string, e: ApiError): string {
  if (e.code === 'errno') return errnoLine(context, e.message);
  return e.message.startsWith(`${context}:`) || e.message.startsWith(`${context} `)
    ? e.message
    : `${context}: ${e.message}`;
}

/** A command as the timeline labels it (shared describeCommand), also before the host parsed it. */
export function commandLabel(c: CommandInput): string {
  const parsed = CommandSchema.safeParse(c);
  return parsed.success ? describeCommand(parsed.data) : c.op;
}

/** The result of a step as a shell prints it: `memfd_create: ENOMEM` for a refusal, else the kernel's message. */
export function stepResultLine(s: StepInfo): string {
  if (!s.ok) return s.errno ? errnoLine(s.command.op, s.errno) : s.message;
  return s.message;
}

/** The host's explanation of a refusal when it says more than the errno line, else null. */
export function stepDetail(s: StepInfo): string | null {
  const line = stepResultLine(s);
  return s.message && s.message !== line ? s.message : null;
}

/** KHO_PAGE_MAGIC, the high half of page->private on a preserved head page (union kho_page_info). */
const KHO_PAGE_MAGIC_TEXT = 0x4b484f50;

export interface DumpLine {
  key: string;
  value: string;
  /** Optional comment, drgn style. */
  note?: string;
}

/** A page as drgn's `page_dump`-ish view lists it: `*(struct page *)` fields a kernel dev knows. */
export function pageDump(p: PageInfo): DumpLine[] {
  const cat = CATEGORY_STYLES[p.category];
  return [
    { key: 'pfn', value: hex(p.pfn), note: String(p.pfn) },
    { key: 'phys', value: hex(p.phys, 16) },
    { key: 'nid', value: String(p.nid) },
    { key: 'flags', value: hex(p.flagsValue), note: p.flags.length ? p.flags.join('|') : '(none)' },
    { key: 'order', value: String(p.order) },
    p.compoundHead === null
      ? { key: 'compound_head', value: '(none)' }
      : { key: 'compound_head', value: `pfn ${hex(p.compoundHead)}`, note: hex(p.compoundHead * 4096, 16) },
    { key: '_refcount', value: String(p.refcount) },
    p.privateKho
      ? {
          key: 'private',
          value: p.private,
          note: `KHOP magic ${hex(KHO_PAGE_MAGIC_TEXT)} ("KHOP"), order ${p.privateKho.order}: preserved, not yet restored`,
        }
      : { key: 'private', value: p.private },
    { key: 'migratetype', value: p.migratetype ?? '(none)' },
    { key: 'owner', value: p.owner || '(none)' },
    { key: 'memblock', value: p.memblock ?? '(not reserved)' },
    { key: 'content', value: p.content.kind, note: `csum ${p.content.checksum}` },
    { key: 'category', value: cat?.label ?? String(p.category) },
  ];
}

/** `s` at most `max` characters: a longer one keeps its start and end around an ellipsis. */
export function elideMiddle(s: string, max: number): string {
  if (s.length <= max) return s;
  const tail = Math.floor((max - 1) / 2);
  return `${s.slice(0, max - 1 - tail)}…${s.slice(s.length - tail)}`;
}

/**
 * RAM a dump holds, as a person sizes a machine: a whole guest's RAM (QEMU's `-m 1G` less the VGA
 * window and firmware's reservations) rounded up to the MiB reads "1 GiB"; a dump cut to a few
 * pages is said exactly.
 */
export function ramText(bytes: number): string {
  const MiB = 2 ** 20;
  return formatBytes(bytes >= 64 * MiB ? Math.ceil(bytes / MiB) * MiB : bytes);
}

/** A dump's RAM (ramText) and its extent, the latter only when larger (QEMU's dump holds the BIOS ROM just below 4 GiB). */
export function dumpRam(d: DumpInfo): { ram: string; extent: string | null } {
  const MiB = 2 ** 20;
  return {
    ram: ramText(d.ramBytes),
    extent: d.extentBytes > Math.ceil(d.ramBytes / MiB) * MiB ? formatBytes(d.extentBytes) : null,
  };
}
