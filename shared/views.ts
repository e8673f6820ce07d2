/**
 * The small views the host answers with. Nothing here is ever proportional to RAM size except a
 * map view, which is proportional to the number of cells the UI asked for.
 */
import type { Command } from './commands';
import type { MachineConfig } from './machine-config';
import type { PageCategory } from './palette';

export type Errno =
  | 'EPERM'
  | 'ENOENT'
  | 'ESRCH'
  | 'EIO'
  | 'EBADF'
  | 'EMFILE'
  | 'EAGAIN'
  | 'ENOMEM'
  | 'EBUSY'
  | 'EEXIST'
  | 'EINVAL'
  | 'EFBIG'
  | 'ENOSPC'
  | 'EOPNOTSUPP'
  | 'EADDRNOTAVAIL'
  | 'EACCES'
  | 'E2BIG'
  | 'ENOTTY'
  | 'ENODATA';

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
  /** This step's kernel panicked (boot of a kernel that found bad handover data): the panic's reason. */
  panicked?: string;
  /** The step's input was refused before it touched the machine (a bad poke): bad input, not a kernel answer. */
  invalid?: true;
  /** A failed check's culprit: the page it names (a folio test_kho could not restore) and what is there. */
  failedAt?: FailedAt;
  /** Not run yet (loading the scenario was cancelled before it): no outcome to show. */
  pending?: true;
}

/** One branch of the timeline: the steps from power-on to one of its ends. */
export interface BranchInfo {
  /** Pass to switchBranch(). */
  id: number;
  /** The branch the timeline shows now. */
  current: boolean;
  /** Steps from power-on to the branch's end. */
  steps: number;
  /** Steps it shares with the current branch (for the current one, all of them). */
  forkAt: number;
  /** Its first step after the fork (empty for the current branch). */
  firstStep: string;
  /** Its last step. */
  lastStep: string;
}

/**
 * Where a failed check points: the block it names (first pfn and size in pages: the map paints
 * it in the failure colour), the byte of the field it read when the culprit is a field, and what
 * the check found there.
 */
export interface FailedAt {
  pfn: number;
  pages: number;
  /** The physical address of the bad field (an FDT property, a record), when a field is to blame. */
  phys?: number;
  what: string;
}

/**
 * One hop of the chain a booting kernel follows to its handover, read from RAM with that kernel's
 * codecs: boot_params → setup_data → kho_data → root FDT and scratch array → tracker → blocks.
 */
export interface JumpHop {
  /** What is read here, in kernel terms: `boot_params`, `setup_data`, `struct kho_data`, `khoser_mem_chunk`… */
  label: string;
  /** The structure itself (its first byte and size in bytes). */
  phys: number;
  size: number;
  /** The field of an earlier hop that points here: `boot_params.hdr.setup_data`, `kho_data.fdt_addr`. */
  via: string;
  /** What the kernel finds there, decoded: `type 10 (SETUP_KEXEC_KHO), len 32`. */
  detail: string;
  /** What the map highlights for this hop: the structure's pages, or the areas or blocks it names. */
  ranges: Array<{ phys: number; size: number }>;
  /** Ranges beyond those listed (a long block list is cut short). */
  moreRanges?: number;
  /** An inspector that decodes it: the FDT viewer, the chunk list viewer. */
  opens?: { kind: 'fdt' | 'chunks'; phys: number };
  /** Why the chain stops here (a bad pointer, an unknown format). */
  error?: string;
}

/** A kernel panic: the step whose kernel panicked and the reason it printed after "Kernel panic - not syncing: ". */
export interface PanicInfo {
  step: number;
  reason: string;
}

export interface SessionState {
  config: MachineConfig;
  booted: boolean;
  /**
   * `uname -r` of the running kernel; with none running, of the kernel that boots next (the
   * loaded kexec image's after a jump, else the configured one).
   */
  kernelRelease: string;
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
  /** Set when the kernel at the cursor panicked: every further step is refused until a new machine or a step back. */
  panicked?: PanicInfo;
  /** Every branch of the timeline, the current one first; absent from hosts that keep none. */
  branches?: BranchInfo[];
  /** Set while a memory dump is open instead of a simulated machine: read-only, no timeline. */
  dump?: DumpInfo;
}

/** A memory dump opened as a read-only machine (File → Open Memory Dump…). */
export interface DumpInfo {
  /** The file's name (no directory). */
  name: string;
  fileBytes: number;
  /** RAM the dump holds: its segments less x86's firmware windows (QEMU's dump includes the BIOS ROM). */
  ramBytes: number;
  /** Physical address space the dump spans, from 0 to its highest segment's end. */
  extentBytes: number;
  /** How the handover was found, in words ("a scan for a page-aligned KHO root FDT at 0x189000"). */
  foundVia: string;
  compatible: string;
  /** The releases that write that compatible ("Linux 7.2–7.3"). */
  releases: string;
}

/** What a dump's handover says, for the dump inspectors: the report `inspect` prints, and links into it. */
export interface DumpView extends DumpInfo {
  rootFdtPhys: number;
  /** The sub-blobs the root names; `fdt` ones open in the FDT viewer, the others as records. */
  subBlobs: Array<{
    name: string;
    phys: number | null;
    size: number | null;
    kind: 'fdt' | 'raw' | 'unreadable';
    open?: RecordRequest;
    error?: string;
  }>;
  tracker: {
    kind: 'chunk-list' | 'radix-tree' | null;
    /** The record the walk starts at: the radix root or the first chunk. */
    root: RecordRequest | null;
    count: number;
    bytes: number;
    metadataPages: number;
    /** The first preserved blocks (at most a few thousand), for "click a block to see its path" (key: its radix key). */
    blocks: Array<PreservedBlock & { key?: number }>;
    error?: string;
  };
  /** luo_ser and its sessions with their files (7.2's LUO), when the handover has one. */
  luo: {
    ser: RecordRequest;
    sessions: Array<{ name: string; files: Array<{ compatible: string; token: string; open?: RecordRequest }> }>;
    error?: string;
  } | null;
  /** The report `npm run sim -- inspect` prints, line by line. */
  text: string[];
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
  /**
   * private holds union kho_page_info with the KHOP magic: the next kernel stamped the block's head
   * with its order when it read the tracker (kernel/liveupdate/kexec_handover.c: deserialize_bitmap()
   * on 6.19, kho_preserved_memory_reserve() on 7.1+), and no kho_restore_*() cleared it yet.
   */
  privateKho?: { order: number };
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
  /** SimApi.cancel() stops this operation (a replay at the next step, reading a dump at the next chunk). */
  cancelable?: boolean;
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
  /** The run ended in a kernel panic: which step, and why. */
  panicked?: PanicInfo;
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

/**
 * A KHO radix tree (Linux 7.1+ tracker) in walk order: each node with its level (5 = root … 1
 * tables, 0 = leaf bitmap), the lowest radix key under it and, for a leaf, the blocks it marks.
 */
export interface RadixTreeView {
  /** Physical address of the root node (`preserved-memory-map`). */
  root: number;
  nodes: Array<{ phys: number; level: number; keyStart: number; entries: number }>;
  /** Preserved blocks in the tree. */
  entries: number;
  /** The first preserved blocks in walk order (higher orders first), each with its radix key. */
  blocks: Array<PreservedBlock & { key: number }>;
  /** Where the walk stopped on a corrupt node, if it did. */
  error?: string;
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
  /** After `kexec -e`: the sub-FDTs that root FDT names (absent or empty: none). */
  entrySubtrees?: Array<{ name: string; phys: number }>;
  /** After `kexec -e` of a 7.1+ handover: the radix tree the next kernel will walk, as RAM holds it. */
  entryRadix?: RadixTreeView;
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
    /** 7.1+: the radix tree, live (chunkPhys is then empty and bitmapPages counts its pages). */
    radix?: RadixTreeView;
  } | null;
  incoming: {
    /** 0 when the handover was abandoned. */
    fdtPhys: number;
    scratchPhys: number;
    blocks: number;
    unrestoredBlocks: number;
    /** The unrestored blocks themselves, in address order (first pfn and order of each). */
    unrestored: Array<{ pfn: number; order: number }>;
    subtrees: Array<{ name: string; phys: number }>;
    /** 7.1+: the radix tree as it was walked at early boot. */
    radix?: RadixTreeView;
    /** 7.1+: the previous kernel's kexec-metadata ("exec from"), when it had one. */
    execFrom?: { release: string; count: number };
  } | null;
  /** After kexec -e, before the next boot: the pointers the next kernel will follow, in order (empty otherwise). */
  jumpChain?: JumpHop[];
  /** The loaded kexec image's segments, if any. */
  segments: Array<{ name: string; dest: number; size: number }>;
}

/** A flattened devicetree read from simulated RAM. */
export interface FdtView {
  phys: number;
  /** The blob as it is in RAM (totalsize bytes, or what could be read), for export; its annotation is the `fdt` record. */
  bytes: Uint8Array;
  /**
   * Every 8-byte property, read as KHO's native-endian u64 (a physical address: `fdt`,
   * `preserved-memory-map`, `luo-session-header`…), so the UI can follow links without parsing.
   */
  u64s: Array<{ path: string; name: string; value: number }>;
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
  /** Present when the chunk is shown as the running kernel read it at early boot, not as RAM holds it now. */
  readAtBoot?: ReadAtBoot;
}

/**
 * A chunk page of the incoming handover as kho_mem_deserialize() read it at early boot (a copy
 * the simulator kept). Nobody preserves chunk and bitmap pages: once memblock_free_all() has
 * released them (`released`: the page is no longer reserved) their RAM may hold anything, and
 * `overwritten` says it no longer holds what was read.
 */
export interface ReadAtBoot {
  released: boolean;
  overwritten: boolean;
}

/** The marker the chunk view shows for a chunk read at early boot, or null while its page still holds it. */
export function readAtBootMarker(r: ReadAtBoot | undefined): string | null {
  if (!r?.released) return null;
  return r.overwritten
    ? 'read at early boot; these pages have since been freed and overwritten'
    : 'read at early boot; these pages have since been freed (not yet overwritten)';
}

/** A process's fd, as `ls -l /proc/<pid>/fd` and fdinfo would tell a VMM developer. */
export interface FdRef {
  process: string;
  pid: number;
  fd: number;
}

/** The LUO session a memfd is preserved in (outgoing) or was retrieved from (incoming). */
export interface MemfdLuoRef {
  session: string;
  direction: 'outgoing' | 'incoming';
  /** The u64 token as the selftests print it: 0x1a. */
  token: string;
}

/**
 * Where an outgoing session stands, or an incoming one (kernel/liveupdate/luo_session.c:
 * luo_session_create(), luo_session_deserialize(), luo_session_retrieve(), luo_session_finish()).
 */
export type LuoSessionState = 'preserving' | 'deserialized' | 'retrieved' | 'finished';

/** One open fd: what readlink(/proc/<pid>/fd/N) prints, and what the kind of file adds. */
export type FdInfo =
  | {
      fd: number;
      kind: 'memfd';
      /** `/memfd:guest-ram (deleted)`. */
      path: string;
      name: string;
      ino: number;
      /** i_size in bytes. */
      size: number;
      /** Pages in the page cache (a hole has none). */
      pages: number;
      /** f_pos of this open file description (memfd-v1 records it at freeze). */
      pos: number;
      /** shmem_freeze(): preserved by LUO, the size can no longer change. */
      frozen: boolean;
      /** Open file descriptions of the inode, LUO's included. */
      refs: number;
      luo: MemfdLuoRef[];
    }
  | { fd: number; kind: 'liveupdate'; path: string }
  | {
      fd: number;
      kind: 'session';
      /** `anon_inode:[luo_session] <name>`. */
      path: string;
      session: string;
      direction: 'outgoing' | 'incoming';
      state: LuoSessionState;
      files: number;
    };

export interface ProcessView {
  pid: number;
  name: string;
  fds: FdInfo[];
}

/** The processes of the running kernel with their fds (none when no kernel runs). */
export interface UserspaceView {
  running: boolean;
  processes: ProcessView[];
}

/** One file of a LUO session (struct luo_file). */
export interface LuoFileView {
  /** The u64 token as the selftests print it: 0x1a. */
  token: string;
  /** The handler's compatible, as luo_file_ser records it. */
  compatible: string;
  /** serialized_data, the u64 in luo_file_ser.data (memfd-v1: phys of memfd_luo_ser); 0 until preserve set it. */
  data: number;
  /** Incoming only: RETRIEVE_FD ran the handler's retrieve. */
  retrieved: boolean;
  /** What the file is, when there is one: `memfd:guest-ram (ino 3), 4 GiB`. */
  file: string | null;
  /** Process fds that refer to the file. */
  heldBy: FdRef[];
}

export interface LuoSessionView {
  name: string;
  direction: 'outgoing' | 'incoming';
  state: LuoSessionState;
  /** The session's 2-page luo_file_ser array (0: none yet, or freed by FINISH). */
  filesPhys: number;
  files: LuoFileView[];
  /** The session fds that refer to it. */
  heldBy: FdRef[];
}

/** The Live Update Orchestrator of the running kernel (Linux 6.19 kernel/liveupdate/luo_core.c). */
export interface LuoView {
  /** liveupdate-number this kernel publishes (the incoming one + 1), as a decimal string (u64). */
  liveupdateNumber: string;
  /** /dev/liveupdate has one opener at a time. */
  devOpen: boolean;
  devHeldBy: FdRef[];
  /** luo_session_deserialize(): not run yet (first open runs it), fine, or failed (every open is EIO). */
  deserialized: 'no' | 'ok' | 'eio';
  /** Compatibles of the registered file handlers. */
  handlers: string[];
  /**
   * How this release hands LUO over: 'fdt-arrays' (6.19, 7.0: the LUO FDT, a session array and
   * file arrays — what the luo-session-block / luo-file-array records decode) or 'luo_ser-blocks'
   * (7.2: luo_ser with kho_block chains). Absent means 'fdt-arrays'.
   */
  storage?: 'fdt-arrays' | 'luo_ser-blocks';
  /** The outgoing LUO FDT page (KHO subtree "LUO"; 7.2: luo_ser) and the session block (7.2: chain head). */
  fdtPhys: number;
  sessionBlockPhys: number;
  outgoing: LuoSessionView[];
  incoming: LuoSessionView[];
  /** The previous kernel's LUO FDT (0: a cold start for LUO). */
  incomingFdtPhys: number;
  /** The previous kernel's session block, until deserialization frees it (0: none, or freed). */
  incomingHeaderPhys: number;
  /** Simulator fault injection armed for the next reboot(), or null. */
  failNextFreeze: string | null;
}

/**
 * Records the host decodes from RAM for the struct viewer. Each kind names a kernel layout;
 * formats added later (memfd_luo_ser, its folio array…) append their kinds here.
 */
export const RECORD_KINDS = [
  'luo-session-block',
  'luo-file-array',
  'memfd-luo-ser',
  'kho-vmalloc-chunk',
  'memfd-folio-array',
  'memfd-fdt',
  'kho-array-page',
  'fdt',
  'kho-mem-chunk',
  // 7.x (records-7x.ts): the radix tracker, kho_block chains and what LUO keeps in them.
  'kho-radix-node',
  'luo-ser',
  'luo-session-blocks',
  'luo-file-blocks',
  'luo-flb-area',
  'memfd-v2-ser',
  'kexec-metadata',
  // x86 boot: a setup_data node (SETUP_KEXEC_KHO carries struct kho_data), setup-data-record.ts.
  'setup-data',
] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export interface RecordRequest {
  kind: RecordKind;
  phys: number;
  /** Elements of an array without a count of its own (a luo_file_ser array: the session's count). */
  count?: number;
  /** A radix tree node's level (5 = root … 1 tables, 0 = the leaf bitmap) and the lowest key under it. */
  level?: number;
  keyStart?: number;
  /** The radix key of one preserved block: its entry or bit is highlighted, and links follow it. */
  pathKey?: number;
  /** A node of the incoming radix tree: decoded from the copy read at early boot, not from RAM now. */
  readAtBoot?: boolean;
}

/** One field of a packed structure, where it is in the bytes and what it says. */
export interface StructField {
  /** Byte offset from the start of the record (`AnnotatedStruct.phys`). */
  offset: number;
  size: number;
  /** The C field name: `name`, `files`, `count`. */
  name: string;
  /** The C type: `u64`, `char[64]`. */
  type: string;
  /** The value decoded from the bytes, as a kernel developer writes it. */
  value: string;
  /** The value is a physical address (the UI selects its page). */
  phys?: number;
  /** The value only leads to `phys` (a pfn, a folio descriptor): the UI shows the value, then the address as a link. */
  physBeside?: true;
  /** The value names another record the viewer can open. */
  opens?: RecordRequest;
  /** What is wrong with the value (a count past the limit, an address beyond RAM). */
  problem?: string;
  /** An FDT property's value: its path in the blob ("compatible", "luo-session/luo-session-header"), for a poke by name. */
  property?: string;
  /** The field on the way to what the user picked (a radix entry or leaf word on a block's path). */
  highlight?: boolean;
}

/** A run of fields that is neither the header nor an array element (an FDT's blocks). */
export interface StructSection {
  /** What the fields are: `structure block`, `strings block`. */
  type: string;
  fields: StructField[];
}

/** Packed structs of one type, back to back. */
interface StructArray {
  /** C type of one element: `luo_session_ser`. */
  type: string;
  /** Offset of element 0 from the record start, and the element size. */
  offset: number;
  stride: number;
  /** Elements the record has (its header's count, or the count asked for). */
  count: number;
  /** The decoded elements, each a list of fields; at most a cap, so `count` may be larger. */
  elements: StructField[][];
}

/**
 * A record decoded from the bytes in simulated RAM, never from the kernel's objects: a header
 * struct, an array of structs, or both. `bytes` are exactly the bytes the fields cover, from `phys`.
 */
export interface AnnotatedStruct {
  kind: RecordKind;
  /** What the bytes are, in kernel terms: `luo_session_header_ser + luo_session_ser[2]`. */
  title: string;
  phys: number;
  bytes: Uint8Array;
  header?: { type: string; fields: StructField[] };
  array?: StructArray;
  /** Further blocks after the header, each a table of its own. */
  sections?: StructSection[];
  /** What a kernel developer should know about these bytes (who writes them, when). */
  notes: string[];
  /** Why the record does not decode fully. */
  error?: string;
  /** The bytes are a copy of what the kernel read at early boot, not RAM now (a kho-mem-chunk of the incoming list). */
  readAtBoot?: ReadAtBoot;
}
