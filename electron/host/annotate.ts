/**
 * DOC: annotated records
 *
 * Builders for AnnotatedStruct (shared/views.ts): fields of a packed little-endian structure read
 * from bytes that came out of simulated RAM, each with its offset, C type and decoded value. The
 * format modules (luo-views.ts, memfd-records.ts, kho-records.ts) describe their layouts with
 * these, at the offsets the kernel's codecs give, so every record the struct viewer shows is
 * decoded the same way: from the bytes, never from the kernel's objects.
 */
import { hex } from '../../shared/units';
import type { RecordRequest, StructField } from '../../shared/views';
import { getU16, getU32, getU64 } from '../kernel/abi/bytes';
import { getCString } from '../kernel/abi/luo-v1';

/** Most elements of an array decoded for one view: the viewer shows every byte it gets. */
export const MAX_RECORD_ELEMENTS = 256;

/** Cursor over one structure: each call reads the next field and records where it was. */
export class FieldReader {
  readonly fields: StructField[] = [];

  /**
   * @param bytes the whole record as read from RAM
   * @param base offset of this structure within `bytes`
   * @param ramEnd first physical address past RAM, to flag addresses that point nowhere
   */
  constructor(
    private readonly bytes: Uint8Array,
    private base: number,
    private readonly ramEnd: number,
  ) {}

  private push(f: StructField): StructField {
    this.fields.push(f);
    this.base += f.size;
    return f;
  }

  /** A NUL-terminated char[len], read as the kernel's strscpy into a buffer of that size would. */
  cstring(name: string, len: number): string {
    const s = getCString(this.bytes, this.base, len);
    const terminated = this.bytes.subarray(this.base, this.base + len).includes(0);
    this.push({
      offset: this.base,
      size: len,
      name,
      type: `char[${len}]`,
      value: JSON.stringify(s),
      ...(terminated ? {} : { problem: `no NUL within ${len} bytes` }),
    });
    return s;
  }

  /** A u64 count or size; NaN (past 2^53) is flagged. */
  u64(name: string, opts: { max?: number; unit?: string } = {}): number {
    const v = getU64(this.bytes, this.base);
    const raw = this.rawU64();
    const value = Number.isFinite(v) ? `${v}${opts.unit ? ` ${opts.unit}` : ''}` : raw;
    const problem = !Number.isFinite(v)
      ? 'not a plausible count'
      : opts.max !== undefined && v > opts.max
        ? `exceeds the limit ${opts.max}`
        : undefined;
    this.push({ offset: this.base, size: 8, name, type: 'u64', value, ...(problem ? { problem } : {}) });
    return v;
  }

  /** A u64 shown in hex (a token, flags): the full 64 bits, exactly. */
  u64hex(name: string): bigint {
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).getBigUint64(
      this.base,
      true,
    );
    this.push({ offset: this.base, size: 8, name, type: 'u64', value: `0x${v.toString(16)}` });
    return v;
  }

  /**
   * A u64 physical address; 0 reads as NULL. `opens` names the record it points at, so the
   * viewer can open it; an address past RAM is flagged and opens nothing.
   */
  phys(name: string, opens?: (phys: number) => RecordRequest | undefined): number {
    const v = getU64(this.bytes, this.base);
    const f: StructField = {
      offset: this.base,
      size: 8,
      name,
      type: 'u64',
      value: v === 0 ? 'NULL' : Number.isFinite(v) ? hex(v) : this.rawU64(),
    };
    if (!Number.isFinite(v) || v >= this.ramEnd) f.problem = 'beyond the end of RAM';
    else if (v !== 0) {
      f.phys = v;
      const target = opens?.(v);
      if (target) f.opens = target;
    }
    this.push(f);
    return v;
  }

  /** A field this reader has no helper for: `value` is already decoded by the caller. */
  field(name: string, size: number, type: string, value: string, extra: Partial<StructField> = {}): void {
    this.push({ offset: this.base, size, name, type, value, ...extra });
  }

  /** A little-endian u32 or u16. */
  uint(name: string, size: 2 | 4, show: (v: number) => string = String): number {
    const v = size === 4 ? getU32(this.bytes, this.base) : getU16(this.bytes, this.base);
    this.push({ offset: this.base, size, name, type: size === 4 ? 'u32' : 'u16', value: show(v) });
    return v;
  }

  /** A big-endian u32, as every FDT header field and token is. */
  be32(name: string, show: (v: number) => string = String): number {
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).getUint32(this.base, false);
    this.push({ offset: this.base, size: 4, name, type: 'be32', value: show(v) });
    return v;
  }

  /** Moves to an absolute offset in the record (fields need not be back to back, as in an FDT). */
  seek(offset: number): void {
    this.base = offset;
  }

  private rawU64(): string {
    return `0x${new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).getBigUint64(this.base, true).toString(16)}`;
  }
}
