/**
 * DOC: a page's bytes, and kernel N beside kernel N+1
 *
 * Two answers built on two machines of the same timeline, the one at the cursor and an earlier
 * one (Timeline.machineAt()):
 *  - a page's 4096 bytes, the same page at an earlier step and how many bytes differ;
 *  - the generation diff: every block the previous kernel handed over, as the next kernel read it
 *    (its KhoIn block list: kernel/liveupdate/kexec_handover.c, kho_mem_deserialize() on 6.19 /
 *    kho_mem_retrieve() on 7.1+; when it took no handover, the tracker read from the RAM of the
 *    jump), beside what that kernel made of it: restored (kho_restore_folio()/kho_restore_pages()
 *    cleared the KHOP stamp, and the bytes are those handed over), restored and since freed by
 *    its owner (LUO frees what it has read; the allocator may reuse the bytes, no loss), leaked
 *    (the stamp is still there: reserved, nobody owns it), or overwritten (the bytes differ,
 *    whoever wrote them).
 *
 * Contents are compared as RAM holds them: two bulk pages by their content identity, a page
 * holding bytes by a checksum of its bytes — the same one shown for the block, so "restored"
 * means the checksums shown match.
 */
import type { BlockFate, GenerationBlock, GenerationDiff } from '../../shared/page-diff';
import { PAGE_SIZE, hex } from '../../shared/units';
import type { StepInfo } from '../../shared/views';
import { KHO_PAGE_MAGIC } from '../kernel/abi/kho-v1';
import { fnv1a, mix32 } from '../kernel/lib/hash';
import type { Machine } from '../kernel/machine';
import { kernelProfile } from '../kernel/profile';
import type { KernelRelease } from '../../shared/machine-config';
import { PG } from '../kernel/mm/page-flags';
import { PhysicalMemory, ZERO_CHECKSUM } from '../kernel/ram';
import { pendingHandoverPages } from './handover-pages';
import { type Result, failure, ok } from '../../shared/result';

/** Blocks listed at most (the counts cover them all). */
const MAX_LISTED = 2000;

/** One page of RAM as its bytes (a copy). */
export function pageBytes(m: Machine, pfn: number): Uint8Array {
  return m.ram.read(pfn * PAGE_SIZE, PAGE_SIZE);
}

/** Bytes that differ between two pages. */
export function changedBytes(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

const scratch = new Uint8Array(PAGE_SIZE);

/**
 * A checksum of the page's contents that does not depend on how RAM stores it: a byte page that
 * still holds what its content identity stands for (a structure page only read) sums as that
 * identity, as PhysicalMemory.hash() treats it.
 */
function pageSum(m: Machine, pfn: number): number {
  const ram = m.ram;
  if (ram.kind(pfn) !== 'bytes') return ram.checksum(pfn);
  const bytes = ram.page(pfn);
  PhysicalMemory.expand(ram.identity.get(pfn), scratch);
  return changedBytes(bytes, scratch) === 0 ? identitySum(ram.identity.get(pfn)) : fnv1a(bytes);
}

interface BlockSums {
  before: number;
  after: number;
  changedPages: number;
}

function blockSums(before: Machine, after: Machine, pfn: number, pages: number): BlockSums {
  let a = 0x811c9dc5;
  let b = 0x811c9dc5;
  let changedPages = 0;
  const ra = before.ram;
  const rb = after.ram;
  for (let p = pfn; p < pfn + pages; p++) {
    // A bulk page sums as its identity (PhysicalMemory.checksum()), inline: a 16 GiB memfd is
    // millions of them. Only pages holding bytes take the byte path.
    const x = ra.kind(p) === 'bytes' ? pageSum(before, p) : identitySum(ra.identity.get(p));
    const y = rb.kind(p) === 'bytes' ? pageSum(after, p) : identitySum(rb.identity.get(p));
    a = mix32(a ^ x);
    b = mix32(b ^ y);
    if (x !== y) changedPages++;
  }
  return { before: a, after: b, changedPages };
}

/** Whether any page of the block differs: equal identities of two bulk pages settle it without a sum. */
function anyPageDiffers(before: Machine, after: Machine, pfn: number, pages: number): boolean {
  const ra = before.ram;
  const rb = after.ram;
  for (let p = pfn; p < pfn + pages; p++) {
    const bulk = ra.kind(p) !== 'bytes' && rb.kind(p) !== 'bytes';
    if (bulk ? ra.identity.get(p) !== rb.identity.get(p) : pageSum(before, p) !== pageSum(after, p)) return true;
  }
  return false;
}

/** PhysicalMemory.checksum() of a page stored as its content identity. */
function identitySum(id: number): number {
  return id === 0 ? ZERO_CHECKSUM : mix32(id ^ 0x5bd1e995);
}

/**
 * The block's head page now, in kernel terms. With the stamp gone in a kernel that took the
 * handover, a kho_restore_*() call took the block: a free page then was restored and freed again.
 */
function stateNow(m: Machine, pfn: number, tookHandover: boolean): { stamped: boolean; freed: boolean; text: string } {
  const k = m.kernel!;
  const p = k.pages;
  const flags = p.flags.get(pfn);
  const stamped = p.privateHi(pfn) === KHO_PAGE_MAGIC;
  const owner = p.owner.get(pfn) ? (k.owners.get(p.owner.get(pfn))?.name ?? '?') : null;
  const free = (flags & PG.buddy) !== 0 || (!owner && !(flags & (PG.reserved | PG.noinit)));
  let text: string;
  if (stamped) text = `still reserved (KHOP stamp, order ${p.privateLo(pfn)}), nobody owns it`;
  else if (free) text = tookHandover ? 'restored, then freed (buddy allocator)' : 'free (buddy allocator)';
  else if (flags & PG.kho_restored) text = `restored, owner ${owner ?? '(none)'}`;
  else if (owner) text = `in use by ${owner}`;
  else text = 'reserved, nobody owns it';
  return { stamped, freed: free && tookHandover && !stamped, text };
}

/** The blocks the previous kernel handed over, as the next kernel read them (see the DOC). */
function handedOver(before: Machine, now: Machine): Array<{ pfn: number; order: number }> {
  const inc = now.kernel?.khoIn;
  if (inc && inc.blockCount > 0) return inc.blocks;
  const out: Array<{ pfn: number; order: number }> = [];
  pendingHandoverPages(before, (phys, order) => out.push({ pfn: phys / PAGE_SIZE, order }));
  return out;
}

/**
 * A block its owner restored and then gave back (test_kho and LUO free what they have read) is no
 * loss: once the buddy allocator reuses its bytes they differ, and that is `freed`, not overwritten.
 */
function fateOf(changedPages: number, st: { stamped: boolean; freed: boolean }, tookHandover: boolean): BlockFate {
  if (changedPages > 0) return st.freed ? 'freed' : 'overwritten';
  return st.stamped || !tookHandover ? 'leaked' : 'restored';
}

/** The last step in (beforeStep, afterStep] that changed a page of [pfn, pfn + pages) (Timeline.lastChange()). */
export type LastChange = (pfn: number, pages: number) => number | null;

/**
 * Every block handed over at the jump after step `beforeStep` (machine `before`), beside what the
 * kernel at step `afterStep` (machine `now`) made of it; `steps` are the steps in effect, whose
 * failed checks may name blocks that were never preserved. `lastChange` says which step decided
 * each listed block's fate.
 */
export function generationDiff(
  before: Machine,
  now: Machine,
  beforeStep: number,
  afterStep: number,
  steps: readonly StepInfo[],
  fromRelease: string,
  lastChange?: LastChange,
): Result<GenerationDiff> {
  if (!before.entry) return failure(`step ${beforeStep} is not a kexec -e: no handover to compare`);
  if (!now.kernel)
    return failure('no kernel has read the handover yet: step forward to the next kernel’s boot to compare');
  const tookHandover = !!now.kernel.khoIn;
  const counts: Record<BlockFate, number> = { restored: 0, freed: 0, leaked: 0, overwritten: 0 };
  const blocks: GenerationBlock[] = [];
  let pages = 0;
  const covered: Array<[number, number]> = [];
  const failedAt = steps.slice(beforeStep, afterStep).flatMap((s) => (s.failedAt ? [s.failedAt] : []));
  const checkFailed = failedAt.length > 0;
  const add = (pfn: number, order: number, notPreserved: boolean) => {
    const n = 2 ** order;
    // Past the listed blocks only the fate counts: whether any page differs, not the sums.
    const sums =
      blocks.length >= MAX_LISTED
        ? { before: 0, after: 0, changedPages: anyPageDiffers(before, now, pfn, n) ? 1 : 0 }
        : blockSums(before, now, pfn, n);
    const st = stateNow(now, pfn, tookHandover && !notPreserved);
    // Two snapshots cannot tell bytes changed before the restore from bytes reused after the free;
    // the kernel's own checks can. In a generation where a restore check failed (test_kho's
    // checksum covers all its folios at once), a changed block counts as overwritten.
    const fate = fateOf(sums.changedPages, { ...st, freed: st.freed && !checkFailed }, tookHandover && !notPreserved);
    counts[fate]++;
    if (blocks.length >= MAX_LISTED) return;
    pages += n;
    const decided = lastChange?.(pfn, n) ?? null;
    blocks.push({
      pfn,
      order,
      fate,
      before: hex(sums.before, 8),
      after: hex(sums.after, 8),
      changedPages: sums.changedPages,
      state:
        (notPreserved ? 'never preserved (not in the handover), ' : '') +
        (tookHandover ? st.text : `${st.text}; the next kernel did not take the handover`) +
        (sums.changedPages ? `; ${sums.changedPages} of ${n} page(s) differ` : ''),
      ...(notPreserved ? { notPreserved: true as const } : {}),
      ...(decided !== null && steps[decided - 1]
        ? { decidedAt: { step: decided, label: steps[decided - 1]!.label } }
        : {}),
    });
  };
  const list = handedOver(before, now).sort((a, b) => a.pfn - b.pfn);
  for (const b of list) {
    add(b.pfn, b.order, false);
    covered.push([b.pfn, b.pfn + 2 ** b.order]);
  }
  // A failed restore that names a block the tracker never listed (test_kho forget=N).
  for (const at of failedAt) {
    if (covered.some(([lo, hi]) => at.pfn < hi && at.pfn + at.pages > lo)) continue;
    const order = Math.max(0, Math.round(Math.log2(at.pages)));
    add(at.pfn, order, true);
    covered.push([at.pfn, at.pfn + at.pages]);
  }
  blocks.sort((a, b) => a.pfn - b.pfn);
  const total = counts.restored + counts.freed + counts.leaked + counts.overwritten;
  return ok({
    beforeStep,
    afterStep,
    fromRelease,
    toRelease: now.kernel.ctx.profile.release,
    counts,
    blocks,
    more: total - blocks.length,
    pages,
  });
}

/**
 * The step whose state is the RAM the previous kernel handed over: after the last kexec -e (an ok
 * `reboot`) at or before the cursor; at the jump itself, the step before it. Null before any jump.
 */
export function generationStep(steps: readonly StepInfo[], cursor: number): number | null {
  for (let i = Math.min(cursor, steps.length) - 1; i >= 0; i--) {
    const s = steps[i]!;
    if (s.command.op === 'reboot' && s.ok) return s.index < cursor ? s.index : s.index - 1;
  }
  return null;
}

/** uname -r of the kernel that ran up to step `step`: the configured one, then each kexec'd image. */
export function releaseAt(steps: readonly StepInfo[], step: number, coldBoot: KernelRelease): string {
  let running = coldBoot;
  let loaded = coldBoot;
  for (const s of steps.slice(0, step)) {
    if (!s.ok) continue;
    if (s.command.op === 'kexec_load') loaded = s.command.kernel ?? running;
    else if (s.command.op === 'boot') running = loaded;
  }
  return kernelProfile(running).release;
}
