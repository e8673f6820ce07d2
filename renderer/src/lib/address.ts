/**
 * DOC: address input
 *
 * What the inspector's "go to" field accepts: a pfn in decimal or hex, or a physical address
 * written with the `phys:` prefix or as a 0x value of 16 hex digits (how the kernel prints one).
 */
import { physToPfn } from '../../../shared/units';

export function parseAddress(text: string): { pfn: number } | { error: string } {
  const t = text.trim().toLowerCase().replace(/_/g, '');
  const phys = /^(?:phys:?\s*|pa\s*)?(0x[0-9a-f]{16})$/.exec(t) ?? /^(?:phys:?|pa)\s*(0x[0-9a-f]+|\d+)$/.exec(t);
  if (phys) return { pfn: physToPfn(Number(phys[1])) };
  const pfn = /^(?:pfn:?\s*)?(0x[0-9a-f]+|\d+)$/.exec(t);
  if (pfn) return { pfn: Number(pfn[1]) };
  return { error: `not a pfn or address: ${text.trim()}` };
}
