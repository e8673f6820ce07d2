/**
 * DOC: address input
 *
 * What the inspector's "go to" field accepts: a pfn in decimal or hex, or a physical address
 * written with the `phys:` prefix or as a 0x value of 16 hex digits (how the kernel prints one).
 */
import { type Result, failure, ok } from '../../../shared/result';
import { physToPfn } from '../../../shared/units';

/** The pfn the text names, or why it names none. */
export function parseAddress(text: string): Result<number> {
  const t = text.trim().toLowerCase().replace(/_/g, '');
  const phys = /^(?:phys:?\s*|pa\s*)?(0x[0-9a-f]{16})$/.exec(t) ?? /^(?:phys:?|pa)\s*(0x[0-9a-f]+|\d+)$/.exec(t);
  if (phys) return ok(physToPfn(Number(phys[1])));
  const pfn = /^(?:pfn:?\s*)?(0x[0-9a-f]+|\d+)$/.exec(t);
  if (pfn) return ok(Number(pfn[1]));
  return failure(`not a pfn or address: ${text.trim()}`);
}
