/**
 * DOC: records of an opened dump, for the dump inspectors
 *
 * Names for the breadcrumbs of a record chain, and a preserved block's radix path: the host marks
 * the entry (and, in the leaf, the bit) on a block's way when a node is asked for with the block's
 * key (RecordRequest.pathKey) and carries the key on in that entry's link, so the path is the
 * root's request followed through highlighted links down to the leaf. No decoding happens here.
 */
import type { Result, SimApi } from '../../../shared/api';
import type { AnnotatedStruct, RecordRequest, StructField } from '../../../shared/views';

const SHORT: Record<RecordRequest['kind'], string> = {
  'luo-session-block': 'luo_session_ser block',
  'luo-file-array': 'luo_file_ser[]',
  'memfd-luo-ser': 'memfd_luo_ser',
  'kho-vmalloc-chunk': 'kho_vmalloc_chunk',
  'memfd-folio-array': 'folio records',
  'memfd-fdt': 'memfd FDT',
  'kho-array-page': 'kho_array_page',
  fdt: 'FDT',
  'kho-mem-chunk': 'khoser_mem_chunk',
  'kho-radix-node': 'radix',
  'luo-ser': 'luo_ser',
  'luo-session-blocks': 'session block',
  'luo-file-blocks': 'file block',
  'luo-flb-area': 'FLB area',
  'memfd-v2-ser': 'memfd-v2',
  'kexec-metadata': 'kexec-metadata',
  'setup-data': 'setup_data',
};

/** A breadcrumb: `radix L5`, `leaf`, `session block 0x23d7000`. */
export function recordLabel(req: RecordRequest): string {
  if (req.kind === 'kho-radix-node') return req.level === 0 ? 'leaf' : `L${req.level ?? 5} table`;
  return `${SHORT[req.kind]} 0x${req.phys.toString(16)}`;
}

/** Every field of a record, in table order. */
export const recordFields = (rec: AnnotatedStruct): StructField[] => [
  ...(rec.header?.fields ?? []),
  ...(rec.sections ?? []).flatMap((s) => s.fields),
  ...(rec.array?.elements.flat() ?? []),
];

/** At most the tree's depth (levels 5 … 0): a loop in hostile links cannot run on. */
const MAX_DEPTH = 6;

/**
 * The radix path of the block with radix key `key`, from the tree's root request: each node's
 * request with the key, down to the leaf. Stops where a node cannot be read or has no way on
 * (the block is not in the tree); `error` says why.
 */
export async function radixPath(
  api: Pick<SimApi, 'records'>,
  root: RecordRequest,
  key: number,
): Promise<{ path: RecordRequest[]; error?: string }> {
  const path: RecordRequest[] = [];
  let req: RecordRequest | undefined = { ...root, pathKey: key };
  while (req && path.length < MAX_DEPTH) {
    path.push(req);
    const r: Result<AnnotatedStruct> = await api.records(req);
    if (!r.ok) return { path, error: r.error.message };
    const on = recordFields(r.value).find((f) => f.highlight);
    if (!on) return { path, error: 'the block is not in this tree: no entry on its way' };
    req = on.opens;
  }
  return { path };
}
