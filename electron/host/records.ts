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
import { DECODERS_7X, type Ram7x, link7xFdt } from './records-7x';
import { PAGE_SIZE } from '../../shared/units';
import { setupDataRecord } from './setup-data-record';
import { radixNodeAtBoot } from './radix-view';

/** The machine's RAM as the 7.x decoders read it (they also read dumps). */
const ram7x = (m: Machine): Ram7x => {
  const end = m.layout.maxPfn * PAGE_SIZE;
  return { end, mem: { read: (p, n) => (p >= 0 && n >= 0 && p + n <= end ? m.ram.read(p, n) : null) } };
};

const DECODERS: Record<RecordKind, (m: Machine, req: RecordRequest) => Result<AnnotatedStruct>> = {
  'luo-session-block': (m, r) => luoSessionBlock(m, r.phys),
  'luo-file-array': (m, r) => luoFileArray(m, r.phys, r.count),
  'memfd-luo-ser': (m, r) => memfdLuoSer(m, r.phys),
  'kho-vmalloc-chunk': (m, r) => khoVmallocChunk(m, r.phys),
  'memfd-folio-array': (m, r) => memfdFolioArray(m, r.phys),
  'memfd-fdt': (m, r) => memfdFdtRecord(m, r.phys),
  'kho-array-page': (m, r) => khoArrayPage(m, r.phys),
  fdt: (m, r) => {
    const rec = fdtRecord(m, r.phys);
    return rec.ok ? { ok: true, value: link7xFdt(rec.value) } : rec;
  },
  'kho-mem-chunk': (m, r) => khoMemChunk(m, r.phys),
  'kho-radix-node': (m, r) => (r.readAtBoot ? radixNodeAtBoot(m, r) : DECODERS_7X['kho-radix-node'](ram7x(m), r)),
  'luo-ser': (m, r) => DECODERS_7X['luo-ser'](ram7x(m), r),
  'luo-session-blocks': (m, r) => DECODERS_7X['luo-session-blocks'](ram7x(m), r),
  'luo-file-blocks': (m, r) => DECODERS_7X['luo-file-blocks'](ram7x(m), r),
  'luo-flb-area': (m, r) => DECODERS_7X['luo-flb-area'](ram7x(m), r),
  'memfd-v2-ser': (m, r) => DECODERS_7X['memfd-v2-ser'](ram7x(m), r),
  'kexec-metadata': (m, r) => DECODERS_7X['kexec-metadata'](ram7x(m), r),
  'setup-data': (m, r) => setupDataRecord(m, r.phys),
};

/** The record decoded from RAM, or why it cannot be read. */
export function recordView(m: Machine, req: RecordRequest): Result<AnnotatedStruct> {
  return DECODERS[req.kind](m, req);
}
