/**
 * DOC: state hash
 *
 * One hash over everything reachable from an object: every field of every object, in order,
 * typed arrays by their bytes, Maps and Sets by their entries, shared references and cycles by
 * where they were first seen. The machine's fingerprint is this hash of the Machine, so it covers
 * all kernel state (memblock, buddy, page flags and owners, page caches, processes and fds, the
 * KHO tracker, LUO sessions, the log) without a list of subsystems to keep up to date.
 *
 * Two kinds of field are left out: look-up caches (which a read, e.g. a view of the page cache,
 * may move without changing the state) and the host's progress callback. An object with a
 * `stateHash(h)` method hashes itself instead (RAM, whose representation a read may change).
 */
import type { Hasher } from './hash';

/** Fields that cache a look-up: reads move them, so they are not state. */
const CACHE_FIELDS = new Set([
  'lastPrivateKey', // mm/page-table.ts
  'lastPrivateChunk',
  'lastKey', // lib/sparse-index.ts
  'lastChunk',
  'last', // kho/tracker.ts: the bitmap written last
  'lastOwner', // kho/kho-in.ts
  'lastOwnerId',
  'lastZone',
  'lastPrefix', // abi/kho-radix-tree.ts
  'lastLeaf',
  'cache', // lib/fdt.ts StringsBlock
  'sink', // machine.ts ProgressRelay: the host's callback
]);

export interface SelfHashing {
  stateHash(h: Hasher): void;
}

const f64 = new Float64Array(1);
const f64Words = new Int32Array(f64.buffer);

/** Type tags, so that e.g. the number 1 and the string "1" hash differently. */
const enum Tag {
  Undefined = 1,
  Null,
  False,
  True,
  Number,
  String,
  BigInt,
  Ref,
  Object,
  Array,
  Map,
  Set,
  Bytes,
  Function,
  Self,
}

export function hashState(root: unknown, h: Hasher): Hasher {
  const seen = new Map<object, number>();
  const word = [0];
  const tag = (t: Tag | number) => {
    word[0] = t;
    h.words(word);
  };
  const str = (s: string) => {
    tag(s.length);
    const codes = new Array<number>(s.length);
    for (let i = 0; i < s.length; i++) codes[i] = s.charCodeAt(i);
    h.words(codes);
  };
  const walk = (v: unknown): void => {
    switch (typeof v) {
      case 'undefined':
        return tag(Tag.Undefined);
      case 'boolean':
        return tag(v ? Tag.True : Tag.False);
      case 'number':
        tag(Tag.Number);
        f64[0] = v;
        return void h.words(f64Words);
      case 'string':
        tag(Tag.String);
        return str(v);
      case 'bigint':
        tag(Tag.BigInt);
        return str(v.toString(16));
      case 'function':
        tag(Tag.Function);
        return str(v.name);
      case 'symbol':
        return str(String(v));
    }
    if (v === null) return tag(Tag.Null);
    const obj = v as object;
    const ref = seen.get(obj);
    if (ref !== undefined) {
      tag(Tag.Ref);
      return tag(ref);
    }
    seen.set(obj, seen.size);
    if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) {
      tag(Tag.Bytes);
      const b = obj instanceof ArrayBuffer ? new Uint8Array(obj) : obj;
      tag(b.byteLength);
      const words = b.byteLength >>> 2;
      if ((b.byteOffset & 3) === 0) h.words(new Int32Array(b.buffer, b.byteOffset, words));
      else h.words(new Uint8Array(b.buffer, b.byteOffset, words << 2));
      return void h.words(new Uint8Array(b.buffer, b.byteOffset + (words << 2), b.byteLength - (words << 2)));
    }
    if (Array.isArray(obj)) {
      tag(Tag.Array);
      tag(obj.length);
      for (const x of obj) walk(x);
      return;
    }
    if (obj instanceof Map) {
      tag(Tag.Map);
      tag(obj.size);
      for (const [k, x] of obj) {
        walk(k);
        walk(x);
      }
      return;
    }
    if (obj instanceof Set) {
      tag(Tag.Set);
      tag(obj.size);
      for (const x of obj) walk(x);
      return;
    }
    if (typeof (obj as Partial<SelfHashing>).stateHash === 'function') {
      tag(Tag.Self);
      return (obj as SelfHashing).stateHash(h);
    }
    tag(Tag.Object);
    for (const key of Object.keys(obj)) {
      if (CACHE_FIELDS.has(key)) continue;
      str(key);
      walk((obj as Record<string, unknown>)[key]);
    }
  };
  walk(root);
  return h;
}
