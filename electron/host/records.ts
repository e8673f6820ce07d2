/**
 * DOC: record views
 *
 * The struct viewer's one entry point: a RecordRequest (kind, physical address, optional count)
 * goes to the decoder of that kind, which reads the bytes from RAM and annotates them. A format
 * module adds its kinds to RECORD_KINDS (shared/views.ts) and its decoders here.
 */
import type { Result } from '../../shared/result';
import type { AnnotatedStruct, RecordKind, RecordRequest } from '../../shared/views';
import type { Machine } from '../kernel/machine';
import { fdtRecord, khoMemChunk } from './kho-records';
import { luoFileArray, luoSessionBlock } from './luo-views';
import { khoArrayPage, khoVmallocChunk, memfdFdtRecord, memfdFolioArray, memfdLuoSer } from './memfd-records';

const DECODERS: Record<RecordKind, (m: Machine, req: RecordRequest) => Result<AnnotatedStruct>> = {
  'luo-session-block': (m, r) => luoSessionBlock(m, r.phys),
  'luo-file-array': (m, r) => luoFileArray(m, r.phys, r.count),
  'memfd-luo-ser': (m, r) => memfdLuoSer(m, r.phys),
  'kho-vmalloc-chunk': (m, r) => khoVmallocChunk(m, r.phys),
  'memfd-folio-array': (m, r) => memfdFolioArray(m, r.phys),
  'memfd-fdt': (m, r) => memfdFdtRecord(m, r.phys),
  'kho-array-page': (m, r) => khoArrayPage(m, r.phys),
  fdt: (m, r) => fdtRecord(m, r.phys),
  'kho-mem-chunk': (m, r) => khoMemChunk(m, r.phys),
};

/** The record decoded from RAM, or why it cannot be read. */
export function recordView(m: Machine, req: RecordRequest): Result<AnnotatedStruct> {
  return DECODERS[req.kind](m, req);
}
