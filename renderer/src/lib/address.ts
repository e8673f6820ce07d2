/**
 * DOC: address input
 *
 * What the inspector's "go to" field accepts, as a kernel developer writes it:
 *  - `0x…` is a physical address (as %pa prints one), the page it lies in is meant;
 *  - `pfn:N` (or `pfn N`) is a page frame number, N decimal or `0x` hex;
 *  - a bare decimal number is a pfn, as it always was;
 *  - `phys:`/`pa` before a decimal or hex number is a physical address too.
 * Anything else gets a message naming what was wrong with it.
 */
import { type Result, failure, ok } from '../../../shared/result';
import { physToPfn } from '../../../shared/units';

/** What the text names: the pfn, and the physical address when one was given. */
export interface AddressTarget {
  pfn: number;
  phys?: number;
}

const HELP = 'a pfn (1234, pfn:0x4d2) or a physical address (0x4d2000)';

/** A decimal or 0x-hex number, or why not. */
function number(text: string, what: string): Result<number> {
  if (!/^(?:0x[0-9a-f]+|\d+)$/.test(text)) {
    if (/^0x/.test(text)) return failure(`${what} "${text}" is not a hex number`);
    return failure(`${what} "${text}" is not a number (decimal, or hex with 0x)`);
  }
  const v = Number(text);
  return Number.isSafeInteger(v) ? ok(v) : failure(`${what} ${text} is too large`);
}

/** The page the text names, or why it names none. */
export function parseAddress(text: string): Result<AddressTarget> {
  const t = text.trim().toLowerCase().replace(/_/g, '');
  if (t === '') return failure(`enter ${HELP}`);
  const pfn = /^pfn\s*[:=]?\s*(.*)$/.exec(t);
  if (pfn) {
    if (pfn[1] === '') return failure('pfn: needs a number after it (pfn:1234 or pfn:0x4d2)');
    const n = number(pfn[1]!, 'pfn');
    return n.ok ? ok({ pfn: n.value }) : n;
  }
  const phys = /^(?:phys\s*:?|pa)\s*(.+)$/.exec(t);
  const addr = phys ? phys[1]! : /^0x/.test(t) ? t : null;
  if (addr !== null) {
    const n = number(addr, 'physical address');
    return n.ok ? ok({ pfn: physToPfn(n.value), phys: n.value }) : n;
  }
  if (/^\d+$/.test(t)) {
    const n = number(t, 'pfn');
    return n.ok ? ok({ pfn: n.value }) : n;
  }
  return failure(`"${text.trim()}" is neither ${HELP}`);
}
