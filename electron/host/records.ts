/**
 * DOC: record views
 *
 * The struct viewer's one entry point: a RecordRequest (kind, physical address, optional count)
 * goes to the decoder of that kind, which reads the bytes from RAM and annotates them. A format
 * module adds its kinds to RECORD_KINDS (shared/views.ts) and its decoders here.
 */
import type { AnnotatedStruct, RecordKind, RecordRequest } from '../../shared/views';
import type { Machine } from '../kernel/machine';
import { luoFileArray, luoSessionBlock } from './luo-views';

const DECODERS: Record<RecordKind, (m: Machine, req: RecordRequest) => AnnotatedStruct | string> = {
  'luo-session-block': (m, r) => luoSessionBlock(m, r.phys),
  'luo-file-array': (m, r) => luoFileArray(m, r.phys, r.count),
};

/** The record decoded from RAM, or why it cannot be read. */
export function recordView(m: Machine, req: RecordRequest): AnnotatedStruct | string {
  return DECODERS[req.kind](m, req);
}
