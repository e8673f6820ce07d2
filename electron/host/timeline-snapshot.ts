/**
 * DOC: machine snapshots for the timeline's checkpoints
 *
 * A checkpoint copies the whole machine generically, so no subsystem needs its own save/restore:
 * the object graph reachable from the Machine is walked once, class instances keep their
 * prototype (methods work after a restore), shared references and cycles stay shared, and Maps,
 * Sets, arrays and typed arrays are copied. Buffers are kept as 16 KiB blocks; a block equal to
 * the same block of the previous snapshot of that buffer is shared with it, and an all-zero block
 * is not stored at all. A checkpoint therefore costs the blocks that changed since the last one,
 * which keeps the page-state arrays of a 16 GiB machine from being copied whole at every
 * checkpoint.
 *
 * Code is not state: an object whose members are functions and constants (a format's codec table,
 * a kernel profile with its codecs) is kept by reference, so its identity survives a restore. Any
 * other function found in the state cannot be copied (a closure would still point into the machine
 * it was made for): unless the caller marks it transient, the walk stops with a SnapshotError
 * naming where it is, and the timeline then goes without checkpoints rather than restore a wrong
 * machine.
 */

/** Buffer blocks compared and shared as a unit. */
export const SNAPSHOT_BLOCK = 16 * 1024;

/** A buffer's bytes as blocks; null stands for a block of zeroes. Blocks are never written after. */
class FrozenBuffer {
  constructor(
    readonly byteLength: number,
    readonly blocks: readonly (Uint8Array | null)[],
  ) {}
}

type ViewKind =
  | 'Int8Array'
  | 'Uint8Array'
  | 'Uint8ClampedArray'
  | 'Int16Array'
  | 'Uint16Array'
  | 'Int32Array'
  | 'Uint32Array'
  | 'Float32Array'
  | 'Float64Array'
  | 'BigInt64Array'
  | 'BigUint64Array'
  | 'DataView';

const VIEW_CTORS: Record<ViewKind, new (b: ArrayBuffer, offset: number, length: number) => ArrayBufferView> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
};

class FrozenView {
  constructor(
    readonly kind: ViewKind,
    readonly buffer: FrozenBuffer,
    readonly byteOffset: number,
    /** Elements for a typed array, bytes for a DataView. */
    readonly length: number,
  ) {}
}

class FrozenObject {
  constructor(
    readonly proto: object | null,
    readonly keys: readonly string[],
    readonly values: readonly unknown[],
    readonly frozen: boolean,
  ) {}
}

class FrozenArray {
  constructor(readonly items: readonly unknown[]) {}
}

class FrozenMap {
  constructor(
    readonly keys: readonly unknown[],
    readonly values: readonly unknown[],
  ) {}
}

class FrozenSet {
  constructor(readonly items: readonly unknown[]) {}
}

/** A code table kept by reference. */
class SharedCode {
  constructor(readonly value: object) {}
}

export class SnapshotError extends Error {}

const codeCache = new WeakMap<object, boolean>();

/**
 * Whether `v` is code rather than state: a plain object or array whose members are functions,
 * primitives and more such objects, with at least one function among them. Computed once per
 * object: tables of code are module constants.
 */
function isCode(v: object): boolean {
  const known = codeCache.get(v);
  if (known !== undefined) return known;
  codeCache.set(v, false); // a cycle does not make code
  let fn = false;
  let pure = true;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== Array.prototype) pure = false;
  else
    for (const x of Object.values(v)) {
      if (typeof x === 'function') fn = true;
      else if (typeof x === 'object' && x !== null) {
        if (isCode(x)) fn = true;
        else if (!isConstantData(x)) pure = false;
      }
      if (!pure) break;
    }
  const code = fn && pure;
  codeCache.set(v, code);
  return code;
}

/** Plain objects and arrays of primitives only (a profile's nested facts). */
function isConstantData(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== Array.prototype) return false;
  return Object.values(v).every((x) => typeof x !== 'object' || x === null || isConstantData(x));
}

/** Says which properties are not state (a host callback): left out of a snapshot, absent after a restore. */
export type TransientRule = (owner: object, key: string) => boolean;

/** One frozen copy of an object graph. */
export class Snapshot<T extends object> {
  constructor(
    /** The frozen root (opaque). */
    readonly root: unknown,
    /** Every buffer of the snapshot, for the memory account. */
    readonly buffers: readonly FrozenBuffer[],
    /** Objects frozen (buffers and views included), for the memory account. */
    readonly objects: number,
  ) {}

  /** Declares T without storing it. */
  declare readonly _type?: T;
}

function viewKind(v: ArrayBufferView): ViewKind {
  const name = (v.constructor as { name?: string }).name as ViewKind;
  if (!(name in VIEW_CTORS)) throw new SnapshotError(`unsupported buffer view ${String(name)}`);
  return name;
}

function isZero(bytes: Uint8Array): boolean {
  const words = bytes.byteLength >>> 2;
  const w = new Int32Array(bytes.buffer, bytes.byteOffset, words);
  for (let i = 0; i < words; i++) if (w[i] !== 0) return false;
  for (let i = words << 2; i < bytes.byteLength; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Bytes equal, compared a word at a time (both start 4-aligned: blocks sit at multiples of 16 KiB). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const words = a.byteLength >>> 2;
  const wa = new Int32Array(a.buffer, a.byteOffset, words);
  const wb = new Int32Array(b.buffer, b.byteOffset, words);
  for (let i = 0; i < words; i++) if (wa[i] !== wb[i]) return false;
  for (let i = words << 2; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Takes and restores snapshots. One Snapshotter per timeline: it remembers, for each live buffer,
 * the frozen copy it was last taken from or restored to, which is what the next snapshot diffs
 * against.
 */
export class Snapshotter {
  private lastFrozen = new WeakMap<ArrayBuffer, FrozenBuffer>();

  constructor(private readonly transient: TransientRule = () => false) {}

  private freezeBuffer(buf: ArrayBuffer, out: FrozenBuffer[]): FrozenBuffer {
    const prev = this.lastFrozen.get(buf);
    const n = buf.byteLength;
    const usable = prev !== undefined && prev.byteLength === n ? prev : undefined;
    const blocks: (Uint8Array | null)[] = new Array<Uint8Array | null>(Math.ceil(n / SNAPSHOT_BLOCK));
    let changed = usable === undefined;
    for (let b = 0; b < blocks.length; b++) {
      const start = b * SNAPSHOT_BLOCK;
      const live = new Uint8Array(buf, start, Math.min(SNAPSHOT_BLOCK, n - start));
      if (usable) {
        const old = usable.blocks[b]!;
        if (old === null ? isZero(live) : same(live, old)) {
          blocks[b] = old;
          continue;
        }
        changed = true;
      }
      blocks[b] = isZero(live) ? null : live.slice();
    }
    const frozen = changed ? new FrozenBuffer(n, blocks) : usable!;
    this.lastFrozen.set(buf, frozen);
    out.push(frozen);
    return frozen;
  }

  /** Freezes the graph reachable from `root`. Throws SnapshotError on state it cannot copy. */
  take<T extends object>(root: T): Snapshot<T> {
    const memo = new Map<object, unknown>();
    const buffers: FrozenBuffer[] = [];
    // Keys down to the value being frozen, formatted only for an error message.
    const path: unknown[] = [];
    const where = () => path.map(String).join('.') || '(root)';

    const freeze = (v: unknown): unknown => {
      if (typeof v === 'function') throw new SnapshotError(`the state holds a function at ${where()}`);
      if (typeof v !== 'object' || v === null) return v;
      const seen = memo.get(v);
      if (seen !== undefined) return seen;
      let out: unknown;
      if (isCode(v)) out = new SharedCode(v);
      else if (v instanceof ArrayBuffer) out = this.freezeBuffer(v, buffers);
      else if (ArrayBuffer.isView(v)) {
        if (!(v.buffer instanceof ArrayBuffer)) throw new SnapshotError(`a shared buffer at ${where()}`);
        const kind = viewKind(v);
        const length = kind === 'DataView' ? v.byteLength : (v as unknown as { length: number }).length;
        out = new FrozenView(kind, freeze(v.buffer) as FrozenBuffer, v.byteOffset, length);
      } else if (Array.isArray(v)) {
        const items: unknown[] = new Array<unknown>(v.length);
        out = new FrozenArray(items);
        memo.set(v, out);
        for (let i = 0; i < v.length; i++) {
          path.push(i);
          items[i] = freeze(v[i]);
          path.pop();
        }
      } else if (v instanceof Map) {
        const keys: unknown[] = [];
        const values: unknown[] = [];
        out = new FrozenMap(keys, values);
        memo.set(v, out);
        for (const [k, x] of v) {
          path.push(k);
          keys.push(freeze(k));
          values.push(freeze(x));
          path.pop();
        }
      } else if (v instanceof Set) {
        const items: unknown[] = [];
        out = new FrozenSet(items);
        memo.set(v, out);
        for (const x of v) items.push(freeze(x));
      } else {
        const proto = Object.getPrototypeOf(v) as object | null;
        if (proto !== Object.prototype && proto !== null && isBuiltin(proto))
          throw new SnapshotError(`cannot copy a ${proto.constructor.name} at ${where()}`);
        const keys: string[] = [];
        const values: unknown[] = [];
        out = new FrozenObject(proto, keys, values, Object.isFrozen(v));
        memo.set(v, out);
        for (const key of Object.keys(v)) {
          if (this.transient(v, key)) continue;
          path.push(key);
          keys.push(key);
          values.push(freeze((v as Record<string, unknown>)[key]));
          path.pop();
        }
      }
      memo.set(v, out);
      return out;
    };
    const frozenRoot = freeze(root);
    return new Snapshot<T>(frozenRoot, buffers, memo.size);
  }

  /**
   * A new live copy of the snapshot's graph; nothing of it is shared with the snapshot. The
   * buffers of `discard`, a graph the caller drops (the machine being replaced), are reused for
   * it: writing into memory already mapped costs a few ms where fresh memory for a 16 GiB
   * machine's arrays costs a page fault per 4 KiB. Nothing may use `discard` afterwards.
   */
  restore<T extends object>(snap: Snapshot<T>, discard?: object): T {
    const memo = new Map<object, unknown>();
    const pool = discard ? collectBuffers(discard) : new Map<number, ArrayBuffer[]>();
    const thaw = (v: unknown): unknown => {
      if (typeof v !== 'object' || v === null) return v;
      const seen = memo.get(v);
      if (seen !== undefined) return seen;
      if (v instanceof SharedCode) return v.value;
      if (v instanceof FrozenBuffer) {
        const reused = pool.get(v.byteLength)?.pop();
        const buf = reused ?? new ArrayBuffer(v.byteLength);
        const bytes = new Uint8Array(buf);
        for (let i = 0; i < v.blocks.length; i++) {
          const b = v.blocks[i]!;
          const at = i * SNAPSHOT_BLOCK;
          if (b) bytes.set(b, at);
          else if (reused) bytes.fill(0, at, Math.min(at + SNAPSHOT_BLOCK, v.byteLength));
        }
        this.lastFrozen.set(buf, v);
        memo.set(v, buf);
        return buf;
      }
      if (v instanceof FrozenView) {
        const view = new VIEW_CTORS[v.kind](thaw(v.buffer) as ArrayBuffer, v.byteOffset, v.length);
        memo.set(v, view);
        return view;
      }
      if (v instanceof FrozenArray) {
        const a: unknown[] = new Array<unknown>(v.items.length);
        memo.set(v, a);
        for (let i = 0; i < a.length; i++) a[i] = thaw(v.items[i]);
        return a;
      }
      if (v instanceof FrozenMap) {
        const m = new Map<unknown, unknown>();
        memo.set(v, m);
        for (let i = 0; i < v.keys.length; i++) m.set(thaw(v.keys[i]), thaw(v.values[i]));
        return m;
      }
      if (v instanceof FrozenSet) {
        const s = new Set<unknown>();
        memo.set(v, s);
        for (const x of v.items) s.add(thaw(x));
        return s;
      }
      const f = v as FrozenObject;
      const o = Object.create(f.proto) as Record<string, unknown>;
      memo.set(v, o);
      // Assignment is what a constructor does and is fast; but where the prototype has a setter
      // (or a read-only property) of that name, assigning would not make an own field.
      const guarded = guardedKeys(f.proto);
      for (let i = 0; i < f.keys.length; i++) {
        const key = f.keys[i]!;
        if (!guarded.has(key)) o[key] = thaw(f.values[i]);
        else
          Object.defineProperty(o, key, {
            value: thaw(f.values[i]),
            writable: true,
            enumerable: true,
            configurable: true,
          });
      }
      if (f.frozen) Object.freeze(o);
      return o;
    };
    return thaw(snap.root) as T;
  }
}

const guardCache = new WeakMap<object, ReadonlySet<string>>();
const NO_KEYS: ReadonlySet<string> = new Set();

/** Names on `proto`'s chain that an assignment would not define as an own data field. */
function guardedKeys(proto: object | null): ReadonlySet<string> {
  if (proto === null) return NO_KEYS;
  let keys = guardCache.get(proto);
  if (keys) return keys;
  const out = new Set<string>();
  for (let p: object | null = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null)
    for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(p)))
      if (d.get || d.set || d.writable === false) out.add(name);
  // Object.prototype's own accessor (__proto__) would swallow an assignment too.
  out.add('__proto__');
  keys = out;
  guardCache.set(proto, keys);
  return keys;
}

/** Every ArrayBuffer reachable from `root`, by size. */
function collectBuffers(root: object): Map<number, ArrayBuffer[]> {
  const pool = new Map<number, ArrayBuffer[]>();
  const seen = new Set<object>();
  const add = (b: ArrayBuffer) => {
    if (seen.has(b)) return;
    seen.add(b);
    const list = pool.get(b.byteLength);
    if (list) list.push(b);
    else pool.set(b.byteLength, [b]);
  };
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    if (v instanceof ArrayBuffer) return add(v);
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) add(v.buffer);
    } else if (v instanceof Map)
      for (const [k, x] of v) {
        walk(k);
        walk(x);
      }
    else if (v instanceof Set) for (const x of v) walk(x);
    else if (Array.isArray(v)) for (const x of v) walk(x);
    else if (!isCode(v)) for (const x of Object.values(v)) walk(x);
  };
  walk(root);
  return pool;
}

/** Built-in prototypes whose objects carry internal slots a property copy would lose. */
function isBuiltin(proto: object): boolean {
  return (
    proto === Date.prototype ||
    proto === RegExp.prototype ||
    proto === Promise.prototype ||
    proto === WeakMap.prototype ||
    proto === WeakSet.prototype ||
    proto === Error.prototype
  );
}

/** A rough size of one frozen object with its key and value arrays. */
export const SNAPSHOT_OBJECT_BYTES = 96;

/** Host bytes the snapshots hold: each shared block counted once, plus their objects. */
export function snapshotBytes(snaps: Iterable<Snapshot<object>>): number {
  const blocks = new Set<Uint8Array>();
  let bytes = 0;
  for (const s of snaps) {
    bytes += s.objects * SNAPSHOT_OBJECT_BYTES;
    for (const b of s.buffers)
      for (const block of b.blocks)
        if (block && !blocks.has(block)) {
          blocks.add(block);
          bytes += block.byteLength;
        }
  }
  return bytes;
}
