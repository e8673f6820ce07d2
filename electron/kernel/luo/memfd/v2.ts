/**
 * DOC: memfd-v2, the memfd format of Linux 7.2 (mm/memfd_luo.c; bytes in abi/memfd-v2.ts)
 *
 * The same folio array as memfd-v1, preserved the same way (v1.ts), behind a 48-byte
 * memfd_luo_ser that adds the file's seals and a flags word with no bits defined. A file whose
 * seals memfd-v2 does not carry is refused at preserve (-EOPNOTSUPP), a record with unknown seals
 * or non-zero flags at retrieve; the retrieved file gets its seals back.
 */
import { MEMFD_LUO_FH_COMPATIBLE_V2, MEMFD_LUO_SER_V2, decodeMemfdSerV2, encodeMemfdSerV2 } from '../../abi/memfd-v2';
import { MEMFD_LUO_ALL_SEALS } from '../../abi/memfd-v2';
import { getU16, getU32, getU64 } from '../../abi/bytes';
import { AbiError } from '../../abi/abi-error';
import { kerr } from '../../lib/errno';
import { vmallocRecordFormat } from './v1';

const V = MEMFD_LUO_SER_V2.folios;

export const memfdV2 = vmallocRecordFormat({
  compatible: MEMFD_LUO_FH_COMPATIBLE_V2,
  origin: 'Linux 7.2',
  serSize: MEMFD_LUO_SER_V2.bytes,
  // memfd_luo_preserve(): seals outside MEMFD_LUO_ALL_SEALS need a new version.
  precheck: (_size, seals) =>
    seals & ~MEMFD_LUO_ALL_SEALS
      ? kerr('EOPNOTSUPP', `seals 0x${seals.toString(16)} include bits memfd-v2 does not carry`)
      : null,
  encode: (file, nrFolios, folios) =>
    encodeMemfdSerV2({
      pos: file.pos,
      size: file.inode.size,
      seals: file.inode.seals,
      flags: 0,
      nrFolios,
      folios: {
        first: getU64(folios, 0),
        totalPages: getU32(folios, 8),
        flags: getU16(folios, 12),
        order: getU16(folios, 14),
      },
    }),
  decode: (b) => {
    const s = decodeMemfdSerV2(b);
    if (s instanceof AbiError) return kerr(s.errno, `memfd-v2 record: ${s.message}`);
    return { pos: s.pos, size: s.size, nrFolios: s.nrFolios, folios: b.slice(V, V + 16), seals: s.seals };
  },
});
