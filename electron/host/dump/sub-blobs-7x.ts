/**
 * DOC: what a 7.x handover's sub-blobs say
 *
 * The root FDT names the sub-blobs; their contents follow their own ABIs, read here with the 7.x
 * codecs of electron/kernel/abi in the order the next kernel reads them: `kexec-metadata`
 * (kernel/liveupdate/kexec_handover.c: kho_in_kexec_metadata()), then LUO's `luo_ser`, its
 * session and file kho_block chains (kernel/liveupdate/luo_core.c: luo_early_startup(),
 * luo_session.c: luo_session_deserialize(), luo_file.c: luo_file_deserialize()), the FLB
 * records (luo_flb.c), and each memfd-v2 file's record and folios (mm/memfd_luo.c:
 * memfd_luo_retrieve()). These are the steps of readHandover7x() (handover-7x.ts) without its
 * radix walk, which formats.ts has already done with a bound a hostile dump cannot exceed.
 *
 * Every decode failure stays an AbiError value beside what did decode; nothing here throws. A
 * hostile dump can chain structures the codecs each bound but together multiply (every session
 * naming the same 10000-block file chain), so all reads share one byte budget; past it they fail
 * as out of the dump and the report says the budget ran out.
 */
import { PAGE_SIZE } from '../../../shared/units';
import { AbiError } from '../../kernel/abi/abi-error';
import { KHO_METADATA_NODE_NAME, decodeKexecMetadata, type KexecMetadata } from '../../kernel/abi/kexec-metadata';
import type { BlockHeader } from '../../kernel/abi/kho-block';
import { decodeFlbArea, type DecodedFlbArea } from '../../kernel/abi/luo-flb';
import { LUO_KHO_ENTRY_NAME, decodeLuoV5, type DecodedLuoSession, type LuoFileSer } from '../../kernel/abi/luo-v5';
import {
  MEMFD_LUO_FH_COMPATIBLE_V2,
  MEMFD_LUO_SER_V2,
  decodeMemfdSerV2,
  readMemfdFoliosV2,
  type MemfdLuoSerV2,
} from '../../kernel/abi/memfd-v2';
import type { MemfdLuoFolioSer } from '../../kernel/abi/memfd-v1';
import type { PhysReader } from '../../kernel/abi/phys-reader';

/** A memfd-v2 file: its record, and its folios (or why they could not be read). */
export interface MemfdReport {
  pa: number;
  ser: MemfdLuoSerV2;
  folios: { chunks: number[]; pages: number[]; folios: MemfdLuoFolioSer[] } | AbiError;
}

interface LuoFileReport extends LuoFileSer {
  pa: number;
  /** Set for a memfd-v2 file; other handlers' data is opaque here. */
  memfd?: MemfdReport | AbiError;
}

interface LuoSessionReport extends Omit<DecodedLuoSession, 'files' | 'nameBytes'> {
  files: LuoFileReport[];
}

export interface LuoReport {
  compatible: string;
  liveupdateNum: number;
  sessionsPa: number;
  flbsPa: number;
  sessions: LuoSessionReport[];
  /** The sessions' kho_block chain. */
  sessionBlocks: BlockHeader[];
  flbs: DecodedFlbArea | AbiError;
}

export interface SubBlobs7x {
  /** Absent when the handover has no such sub-blob. */
  kexecMetadata?: KexecMetadata | AbiError;
  luo?: LuoReport | AbiError;
  /** Set when the reads ran past READ_BUDGET: what failed after that failed for it. */
  budgetExhausted?: string;
}

/**
 * Bytes all decoders together may read. Decoding costs per record, so this stays modest: 32 MiB is
 * 2M folio records (an 8 GiB memfd of 4 KiB folios, 4 TiB of 2 MiB ones) or 500k file records.
 */
const READ_BUDGET = 32 << 20;

/** `mem` until `budget` bytes have been read, then nothing. */
function budgeted(mem: PhysReader, budget: number): PhysReader & { exhausted: boolean } {
  let left = budget;
  const r = {
    exhausted: false,
    read: (phys: number, length: number) => {
      if (length > left) {
        r.exhausted = true;
        return null;
      }
      left -= length;
      return mem.read(phys, length);
    },
  };
  return r;
}

/** A sub-blob the root FDT names: where it is and, when it was read, its bytes. */
interface BlobRef {
  name: string;
  phys: number | null;
  size: number | null;
  kind: 'fdt' | 'raw' | 'unreadable';
  bytes?: Uint8Array;
  error?: string;
}

const unreadable = (b: BlobRef): AbiError =>
  new AbiError(
    'out-of-ram',
    `sub-blob "${b.name}" was not read: ${b.error ?? 'no bytes'}`,
    'EINVAL',
    b.phys ?? undefined,
  );

/** memfd_luo_retrieve()'s reads of the record at `pa`, bounded by what the dump can hold. */
function memfdReport(mem: PhysReader, pa: number, physEnd: number): MemfdReport | AbiError {
  const raw = mem.read(pa, MEMFD_LUO_SER_V2.bytes);
  if (!raw) return new AbiError('out-of-ram', `memfd_luo_ser at 0x${pa.toString(16)} is not in the dump`, 'EINVAL', pa);
  const ser = decodeMemfdSerV2(raw);
  if (ser instanceof AbiError) return ser;
  // Each folio is at least a page: more folios than the dump has pages is garbage, and following
  // it would walk a hostile chunk list for hours.
  if (ser.nrFolios > physEnd / PAGE_SIZE) {
    const err = new AbiError(
      'bad-count',
      `memfd_luo_ser says ${ser.nrFolios} folios, more than the dump's ${physEnd / PAGE_SIZE} pages`,
      'EINVAL',
      pa,
      undefined,
      false,
    );
    return { pa, ser, folios: err };
  }
  return { pa, ser, folios: readMemfdFoliosV2(mem, ser) };
}

function luoReport(mem: PhysReader, blob: BlobRef, physEnd: number): LuoReport | AbiError {
  if (blob.phys === null || !blob.bytes) return unreadable(blob);
  const luo = decodeLuoV5(mem, blob.phys, blob.bytes.length);
  if (luo instanceof AbiError) return luo;
  const sessions = luo.sessions.map(({ nameBytes: _n, files, ...s }): LuoSessionReport => ({
    ...s,
    files: files.map((f) => {
      const data = Number(f.data);
      return f.compatible === MEMFD_LUO_FH_COMPATIBLE_V2
        ? {
            ...f,
            memfd: Number.isSafeInteger(data)
              ? memfdReport(mem, data, physEnd)
              : new AbiError('bad-value', `memfd data ${f.data} is beyond any physical address`, 'EINVAL'),
          }
        : f;
    }),
  }));
  return {
    compatible: luo.compatible,
    liveupdateNum: luo.liveupdateNum,
    sessionsPa: luo.sessionsPa,
    flbsPa: luo.flbsPa,
    sessions,
    sessionBlocks: luo.sessionBlocks,
    flbs: decodeFlbArea(mem, luo.flbsPa),
  };
}

/**
 * Decodes the 7.x sub-blobs among `blobs` (kexec-metadata; LUO when it is a raw luo_ser blob, not
 * the sub-FDT of a 6.x LUO). `physEnd` is one past the dump's highest physical byte.
 */
export function decodeSubBlobs7x(
  dump: PhysReader,
  blobs: readonly BlobRef[],
  physEnd: number,
  budget = READ_BUDGET,
): SubBlobs7x {
  const out: SubBlobs7x = {};
  const mem = budgeted(dump, budget);
  const meta = blobs.find((b) => b.name === KHO_METADATA_NODE_NAME);
  if (meta) out.kexecMetadata = meta.bytes ? decodeKexecMetadata(meta.bytes) : unreadable(meta);
  const luo = blobs.find((b) => b.name === LUO_KHO_ENTRY_NAME);
  if (luo && luo.kind !== 'fdt') out.luo = luoReport(mem, luo, physEnd);
  if (mem.exhausted)
    out.budgetExhausted = `decoding stopped after reading ${budget} bytes of LUO structures: a hostile or looping dump`;
  return out;
}
