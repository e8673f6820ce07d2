/**
 * The small views the host answers with. Nothing here is ever proportional to RAM size except a
 * map view, which is proportional to the number of cells the UI asked for.
 */
import type { Command } from './commands';
import type { MachineConfig } from './machine-config';
import type { PageCategory } from './palette';

export type Errno =
  | 'EPERM' | 'ENOENT' | 'ESRCH' | 'EIO' | 'EBADF' | 'EMFILE' | 'EAGAIN' | 'ENOMEM' | 'EBUSY' | 'EEXIST'
  | 'EINVAL' | 'EFBIG' | 'ENOSPC' | 'EOPNOTSUPP' | 'EADDRNOTAVAIL'
  | 'E2BIG' | 'ENOTTY';

export type MigrateType = 'UNMOVABLE' | 'MOVABLE' | 'CMA';
export const MIGRATE_TYPES: readonly MigrateType[] = ['UNMOVABLE', 'MOVABLE', 'CMA'];

/** One dmesg-style line. `seq` orders all events of a session; `time` is virtual seconds since boot. */
export interface TraceEvent {
  seq: number;
  step: number;
  time: number;
  level: 'err' | 'warn' | 'info' | 'debug';
  /** Subsystem prefix as the kernel prints it ("memblock", "Memory", "kho", "shmem"). */
  subsys: string;
  msg: string;
}

export interface E820Entry {
  start: number;
  end: number;
  type: 'usable' | 'reserved' | 'ACPI data';
}

export interface NodeInfo {
  nid: number;
  startPfn: number;
  endPfn: number;
  presentPages: number;
}

export interface MemblockRegionView {
  base: number;
  size: number;
  nid: number;
  flags: string[];
  /** Who reserved it, for reserved regions (the kernel keeps no such name; we do, for the UI). */
  owner?: string;
}

export interface MemorySummary {
  totalPages: number;
  /** Pages the buddy allocator manages (managed_pages). */
  managedPages: number;
  freePages: Record<MigrateType, number>;
  /** nr_free per order, summed over migratetypes and nodes (like /proc/buddyinfo). */
  freeBlocksByOrder: number[];
  /** Pages per map category. */
  categoryPages: number[];
  memblock: { memoryRegions: number; reservedRegions: number; reservedBytes: number };
}

export interface StepInfo {
  index: number;
  label: string;
  command: Command;
  ok: boolean;
  /** The errno the kernel answered with, if any. */
  errno?: Errno;
  /** What the call returned, where it returns something a later step needs (memfd_create's fd, spawn's pid). */
  returned?: number;
  message: string;
}

export interface SessionState {
  config: MachineConfig;
  booted: boolean;
  /** Steps applied so far, oldest first; `cursor` of them are in effect (the rest is redo history). */
  steps: StepInfo[];
  cursor: number;
  maxPfn: number;
  nodes: NodeInfo[];
  e820: E820Entry[];
  summary: MemorySummary | null;
  lastEventSeq: number;
  /** Bumped whenever the history is replayed from the start: event seqs restart, refetch them. */
  epoch: number;
}

export interface StepOutcome {
  step: StepInfo;
  state: SessionState;
  events: TraceEvent[];
}

export interface MapViewRequest {
  firstPfn: number;
  pagesPerCell: number;
  cells: number;
}

export interface MapView {
  firstPfn: number;
  pagesPerCell: number;
  /** One PageCategory byte per cell: the highest category among the cell's pages. */
  cells: Uint8Array;
}

export interface PageInfo {
  pfn: number;
  phys: number;
  nid: number;
  category: PageCategory;
  /** Names of the PG_ flags set, as drgn prints them (PG_head, PG_buddy, PG_reserved…). */
  flags: string[];
  flagsValue: number;
  order: number;
  compoundHead: number | null;
  refcount: number;
  /** page->private, as a hex string (it is a 64-bit value). */
  private: string;
  migratetype: MigrateType | null;
  owner: string;
  /** The memblock region covering the page: its reserved region if any, else its memory region. */
  memblock: string | null;
  content: { kind: 'zero' | 'pattern' | 'bytes'; checksum: string };
}

export interface Progress {
  label: string;
  done: number;
  total: number;
}

export interface BuiltinScenario {
  name: string;
  description: string;
}

export interface Report {
  tool: 'kho-lab';
  version: string;
  scenario: string;
  config: MachineConfig;
  ok: boolean;
  steps: StepInfo[];
  events: TraceEvent[];
  summary: MemorySummary | null;
  /** Hash of all RAM contents and page state; equal hashes mean identical machines. */
  ramHash: string;
  /** KHO at the final state, when KHO is on or a handoff is pending: what a dump can be checked against. */
  kho?: KhoReport;
}

/** One KHO handoff: the root FDT and the scratch array (struct kho_data's four fields). */
export interface KhoHandoff {
  fdtPhys: number;
  fdtSize: number;
  /** 0 (and size 0) for an outgoing handoff before `kexec_load` placed the array. */
  scratchPhys: number;
  scratchSize: number;
}

/** A preserved block: 2^order pages at a physical address. */
export interface PreservedBlock {
  phys: number;
  order: number;
}

export interface KhoReport {
  /** Kernels started since power-on. */
  generation: number;
  /** After `kexec -e`, before the next boot: the handoff the boot parameters carry. */
  pending: KhoHandoff | null;
  /** The running kernel's outgoing handoff and the blocks it preserves, in address order. */
  outgoing: (KhoHandoff & { finalized: boolean; blocks: PreservedBlock[] }) | null;
  /** The handoff the running kernel was booted with and the blocks it deserialized. */
  incoming: (KhoHandoff & { blocks: PreservedBlock[] }) | null;
}

/** KHO as the running kernel sees it, and what is pending across a jump. */
export interface KhoView {
  /** Kernels started since power-on (1 = the cold-booted one). */
  generation: number;
  running: boolean;
  /** After `kexec -e`, before the next kernel boots: where its boot parameters are. */
  entry: number | null;
  /** After `kexec -e`: the root FDT address the boot parameters' kho_data names, read from RAM. */
  entryFdtPhys: number | null;
  /** The scratch areas this kernel would hand on (its own, or the ones it was given). */
  scratch: Array<{ label: string; addr: number; size: number }>;
  outgoing: {
    fdtPhys: number;
    finalized: boolean;
    /** The chunk list of the last finalize: physical addresses, in list order. */
    chunkPhys: number[];
    bitmapPages: number;
    preservedPages: number;
    subtrees: Array<{ name: string; phys: number }>;
  } | null;
  incoming: {
    /** 0 when the handover was abandoned. */
    fdtPhys: number;
    scratchPhys: number;
    blocks: number;
    unrestoredBlocks: number;
    subtrees: Array<{ name: string; phys: number }>;
  } | null;
  /** The loaded kexec image's segments, if any. */
  segments: Array<{ name: string; dest: number; size: number }>;
}

/** A flattened devicetree read from simulated RAM. */
export interface FdtView {
  phys: number;
  /** The blob as it is in RAM (totalsize bytes, or what could be read). */
  bytes: Uint8Array;
  /** DTS text as dtc prints it; empty when the blob does not decode. */
  dts: string;
  /** A tree listing with KHO's native-endian properties decoded. */
  lines: string[];
  error?: string;
}

/** One page of the kho-v1 chunk list, decoded from RAM. */
export interface ChunkView {
  phys: number;
  next: number;
  order: number;
  entries: Array<{ physStart: number; bitmap: number; bitsSet: number }>;
  error?: string;
}
