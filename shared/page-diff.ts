/**
 * DOC: a page's bytes and kernel N beside kernel N+1
 *
 * The contract for the page inspector's bytes section and the generation diff view: what the UI
 * asks (a pfn and what to diff it against) and what the host answers (the page's 4096 bytes, the
 * records KHO Lab decodes there, the same page at an earlier step; every block the previous
 * kernel handed over with what the next kernel made of it).
 */
import { z } from 'zod';
import type { AnnotatedStruct } from './views';

/** What the page is diffed against: the step before the cursor, the last kexec, or a step by index. */
export const PageBaseSchema = z.union([z.enum(['step', 'generation']), z.number().int().min(0).max(1_000_000)]);
export type PageBase = z.infer<typeof PageBaseSchema>;

export const PageBytesRequestSchema = z
  .object({
    pfn: z
      .number()
      .int()
      .min(0)
      .max(2 ** 40),
    base: PageBaseSchema.optional(),
  })
  .strict();
export type PageBytesRequest = z.infer<typeof PageBytesRequestSchema>;

/** The same page at an earlier step of the timeline, and how many of its bytes differ from now. */
export interface PageBaseBytes {
  /** Steps applied in that state (0: power-on). */
  step: number;
  /** What that state is, in words: `step 6 (kexec -e): the RAM the previous kernel handed over`. */
  label: string;
  bytes: Uint8Array;
  changed: number;
}

export interface PageBytesView {
  pfn: number;
  phys: number;
  /** The step at the cursor: whose bytes these are. */
  step: number;
  bytes: Uint8Array;
  /** Records KHO Lab decodes that cover part of the page (the struct overlay), in address order. */
  records: AnnotatedStruct[];
  /** The step `base: 'step'` and `base: 'generation'` stand for, null when there is none. */
  bases: { step: number | null; generation: number | null };
  /** The page at the base asked for. */
  base?: PageBaseBytes;
}

/** What the next kernel made of one block the previous kernel handed over. */
/** `freed`: restored, then freed by its owner (its bytes may since have been reused). */
export type BlockFate = 'restored' | 'freed' | 'leaked' | 'overwritten';

export interface GenerationBlock {
  pfn: number;
  order: number;
  fate: BlockFate;
  /** Content checksum of the block in the RAM the previous kernel handed over, and now (8 hex digits). */
  before: string;
  after: string;
  /** Pages of the block whose contents differ now. */
  changedPages: number;
  /** The block's state now, in kernel terms: `restored, owner test_kho folios`, `still reserved (KHOP stamp), nobody owns it`. */
  state: string;
  /** The tracker does not name it: a block a restore asked for (a failed check's culprit) that was never preserved. */
  notPreserved?: true;
  /**
   * The step that decided its fate: the last one after the jump that changed the state of one of
   * its pages (the next kernel's boot reserved or restored it, a retrieve restored it, a free gave
   * it back, an allocation reused it), with that step's label; absent when no step did.
   */
  decidedAt?: { step: number; label: string };
}

export interface GenerationDiff {
  /** The step after which the previous kernel's RAM is taken (its kexec -e) and the cursor. */
  beforeStep: number;
  afterStep: number;
  /** uname -r of the kernel that handed over and of the one that read it. */
  fromRelease: string;
  toRelease: string;
  /** How many blocks of each fate, over every block (the list below may be cut short). */
  counts: Record<BlockFate, number>;
  blocks: GenerationBlock[];
  /** Blocks beyond those listed. */
  more: number;
  /** Pages the listed blocks cover. */
  pages: number;
}
