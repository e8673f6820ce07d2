/**
 * DOC: LUO and user-space views
 *
 * What a VMM developer looks at during a live update (Linux 6.19 kernel/liveupdate/
 * luo_session.c, luo_file.c; records per include/linux/kho/abi/luo.h): the processes and their
 * fds (memfds with size, pages and f_pos; /dev/liveupdate; session fds), LUO's sessions and files
 * as the running kernel holds them, and LUO's records decoded from the bytes in RAM — the session block (luo_session_header_ser + luo_session_ser[]) and a session's
 * luo_file_ser array. The kernel's objects are used only to find addresses and to say which fd
 * holds what; every record value comes from RAM, as the next kernel will read it.
 */
import { PAGE_SIZE, formatBytes, hex } from '../../shared/units';
import type {
  AnnotatedStruct,
  FdInfo,
  FdRef,
  LuoFileView,
  LuoSessionState,
  LuoSessionView,
  LuoView,
  MemfdLuoRef,
  UserspaceView,
} from '../../shared/views';
import {
  LIVEUPDATE_HNDL_COMPAT_LENGTH,
  LIVEUPDATE_SESSION_NAME_LENGTH,
  LUO_FDT_KHO_ENTRY_NAME,
  LUO_FILE_MAX,
  LUO_FILE_PGCNT,
  LUO_FILE_SER_SIZE,
  LUO_SESSION_HEADER_SER_SIZE,
  LUO_SESSION_MAX,
  LUO_SESSION_SER_SIZE,
} from '../kernel/abi/luo-v1';
import { getU64 } from '../kernel/abi/bytes';
import { isErr } from '../kernel/lib/errno';
import type { Kernel } from '../kernel/kernel';
import type { LuoSession } from '../kernel/luo/session';
import { tokenHex } from '../kernel/luo/session';
import type { Machine } from '../kernel/machine';
import type { MemfdFile, OpenFile } from '../kernel/proc';
import type { ShmemInode } from '../kernel/mm/shmem';
import { FieldReader, MAX_RECORD_ELEMENTS } from './annotate';
import { memfdDataRecord } from './memfd-records';
import { type Result, failure, ok } from '../../shared/result';

const ramEnd = (m: Machine): number => m.layout.maxPfn * PAGE_SIZE;

function sessionState(s: LuoSession): LuoSessionState {
  if (!s.incoming) return 'preserving';
  return s.finished ? 'finished' : s.retrieved ? 'retrieved' : 'deserialized';
}

/** Which process fds refer to each memfd inode, session and /dev/liveupdate. */
interface FdIndex {
  memfd: Map<ShmemInode, FdRef[]>;
  session: Map<LuoSession, FdRef[]>;
  liveupdate: FdRef[];
}

function fdIndex(k: Kernel): FdIndex {
  const ix: FdIndex = { memfd: new Map(), session: new Map(), liveupdate: [] };
  const add = <K>(map: Map<K, FdRef[]>, key: K, ref: FdRef) => {
    const list = map.get(key);
    if (list) list.push(ref);
    else map.set(key, [ref]);
  };
  for (const p of k.processes.byName.values()) {
    for (const [fd, f] of p.fds) {
      const ref = { process: p.name, pid: p.pid, fd };
      if (f.kind === 'memfd') add(ix.memfd, f.inode, ref);
      else if (f.kind === 'session') add(ix.session, f.session, ref);
      else ix.liveupdate.push(ref);
    }
  }
  return ix;
}

/** The sessions a memfd is preserved in or was retrieved from, with its tokens. */
function memfdLuoRefs(k: Kernel, inode: ShmemInode): MemfdLuoRef[] {
  const out: MemfdLuoRef[] = [];
  for (const s of [...(k.luo?.outgoing ?? []), ...(k.luo?.incoming ?? [])]) {
    for (const f of s.files) {
      if (f.args.file?.kind === 'memfd' && f.args.file.inode === inode)
        out.push({ session: s.name, direction: s.incoming ? 'incoming' : 'outgoing', token: tokenHex(f.token) });
    }
  }
  return out;
}

function memfdInfo(k: Kernel, fd: number, f: MemfdFile): FdInfo {
  const i = f.inode;
  return {
    fd,
    kind: 'memfd',
    path: `/memfd:${i.name} (deleted)`,
    name: i.name,
    ino: i.ino,
    size: i.size,
    pages: i.nrPages,
    pos: f.pos,
    frozen: i.frozen,
    refs: i.refs,
    luo: memfdLuoRefs(k, i),
  };
}

function fdInfo(k: Kernel, fd: number, f: OpenFile): FdInfo {
  switch (f.kind) {
    case 'memfd':
      return memfdInfo(k, fd, f);
    case 'liveupdate':
      return { fd, kind: 'liveupdate', path: '/dev/liveupdate' };
    case 'session': {
      const s = f.session;
      return {
        fd,
        kind: 'session',
        path: `anon_inode:[luo_session] ${s.name}`,
        session: s.name,
        direction: s.incoming ? 'incoming' : 'outgoing',
        state: sessionState(s),
        files: s.files.length,
      };
    }
  }
}

/** Every process of the running kernel with its fds in fd order. */
export function userspaceView(m: Machine): UserspaceView {
  const k = m.kernel;
  if (!k) return { running: false, processes: [] };
  const processes = [...k.processes.byName.values()]
    .sort((a, b) => a.pid - b.pid)
    .map((p) => ({
      pid: p.pid,
      name: p.name,
      fds: [...p.fds.entries()].sort((a, b) => a[0] - b[0]).map(([fd, f]) => fdInfo(k, fd, f)),
    }));
  return { running: true, processes };
}

function describeFile(f: OpenFile | null): string | null {
  if (!f) return null;
  if (f.kind !== 'memfd') return f.kind;
  return `memfd:${f.inode.name || '(no name)'} (ino ${f.inode.ino}), ${formatBytes(f.inode.size)}`;
}

function sessionView(s: LuoSession, ix: FdIndex): LuoSessionView {
  return {
    name: s.name,
    direction: s.incoming ? 'incoming' : 'outgoing',
    state: sessionState(s),
    filesPhys: s.filesPhys,
    files: s.files.map((f): LuoFileView => {
      const file = f.args.file;
      return {
        token: tokenHex(f.token),
        compatible: f.compatible,
        data: f.args.serializedData,
        retrieved: f.args.retrieved,
        file: describeFile(file),
        heldBy: file?.kind === 'memfd' ? (ix.memfd.get(file.inode) ?? []) : [],
      };
    }),
    heldBy: ix.session.get(s) ?? [],
  };
}

/** LUO as the running kernel holds it; null when no kernel runs or LUO is off. */
export function luoView(m: Machine): LuoView | null {
  const k = m.kernel;
  const luo = k?.luo;
  if (!k || !luo) return null;
  const ix = fdIndex(k);
  const inFdt = k.khoIn?.retrieveSubtree(LUO_FDT_KHO_ENTRY_NAME);
  const armed = luo.failNextFreeze;
  return {
    liveupdateNumber: luo.liveupdateNumber.toString(),
    devOpen: luo.devOpen,
    devHeldBy: ix.liveupdate,
    deserialized: luo.deserialized,
    handlers: [...luo.handlers.keys()],
    storage: luo.store.storage,
    fdtPhys: luo.fdtPhys,
    sessionBlockPhys: luo.sessionBlockPhys,
    outgoing: luo.outgoing.map((s) => sessionView(s, ix)),
    incoming: luo.incoming.map((s) => sessionView(s, ix)),
    incomingFdtPhys: inFdt === undefined || isErr(inFdt) ? 0 : inFdt,
    // Private kernel state, read without changing it: the header is freed by deserialization.
    incomingHeaderPhys: luo['incomingHeaderPhys'],
    failNextFreeze: armed
      ? `${armed.errno} at the freeze of ${armed.token === null ? 'the first file' : `token ${tokenHex(armed.token)}`}`
      : null,
  };
}

/** Whether `phys` is where the running kernel's outgoing records live (for the notes only). */
function outgoingAt(m: Machine, phys: number): { block: boolean; session: LuoSession | null } {
  const luo = m.kernel?.luo;
  return {
    block: !!luo && luo.sessionBlockPhys === phys,
    session: luo?.outgoing.find((s) => s.filesPhys === phys) ?? null,
  };
}

const allZero = (b: Uint8Array) => b.every((x) => x === 0);

/**
 * The session block at `phys`: luo_session_header_ser {count} and `count` packed luo_session_ser
 * {name[64], files, count}; each `files` opens that session's luo_file_ser array.
 */
export function luoSessionBlock(m: Machine, phys: number): Result<AnnotatedStruct> {
  const end = ramEnd(m);
  if (phys + LUO_SESSION_HEADER_SER_SIZE > end)
    return failure(`luo-session-block: ${hex(phys)} is beyond the end of RAM (${hex(end)})`);
  const count = getU64(m.ram.read(phys, LUO_SESSION_HEADER_SER_SIZE), 0);
  const valid = Number.isFinite(count) && count <= LUO_SESSION_MAX;
  const shown = valid
    ? Math.min(
        count,
        MAX_RECORD_ELEMENTS,
        Math.floor((end - phys - LUO_SESSION_HEADER_SER_SIZE) / LUO_SESSION_SER_SIZE),
      )
    : 0;
  const bytes = m.ram.read(phys, LUO_SESSION_HEADER_SER_SIZE + shown * LUO_SESSION_SER_SIZE);
  const head = new FieldReader(bytes, 0, end);
  head.u64('count', { max: LUO_SESSION_MAX, unit: count === 1 ? 'session' : 'sessions' });
  const elements = [];
  for (let i = 0; i < shown; i++) {
    const off = LUO_SESSION_HEADER_SER_SIZE + i * LUO_SESSION_SER_SIZE;
    const files = getU64(bytes, off + LIVEUPDATE_SESSION_NAME_LENGTH + 8);
    const r = new FieldReader(bytes, off, end);
    r.cstring('name', LIVEUPDATE_SESSION_NAME_LENGTH);
    r.phys('files', (p) => ({
      kind: 'luo-file-array',
      phys: p,
      ...(Number.isFinite(files) && files <= LUO_FILE_MAX ? { count: files } : {}),
    }));
    r.u64('count', { max: LUO_FILE_MAX, unit: files === 1 ? 'file' : 'files' });
    elements.push(r.fields);
  }
  const notes = [
    `16 pages preserved at boot (luo_session_setup_outgoing); liveupdate_reboot() writes one luo_session_ser per outgoing session; the next kernel reads them at the first open of /dev/liveupdate and frees the block.`,
  ];
  const here = outgoingAt(m, phys);
  if (here.block && allZero(bytes) && (m.kernel?.luo?.outgoing.length ?? 0) > 0)
    notes.push('Not written yet: this kernel serializes its sessions at kexec -e (liveupdate_reboot).');
  if (valid && count > shown) notes.push(`${count - shown} more luo_session_ser not shown.`);
  return ok({
    kind: 'luo-session-block',
    title: `luo_session_header_ser + luo_session_ser[${valid ? count : '?'}]`,
    phys,
    bytes,
    header: { type: 'luo_session_header_ser', fields: head.fields },
    array: {
      type: 'luo_session_ser',
      offset: LUO_SESSION_HEADER_SER_SIZE,
      stride: LUO_SESSION_SER_SIZE,
      count: valid ? count : 0,
      elements,
    },
    notes,
    ...(valid
      ? {}
      : {
          error: `session header count ${Number.isFinite(count) ? count : head.fields[0]!.value} exceeds ${LUO_SESSION_MAX}: luo_session_deserialize() would refuse it (EINVAL)`,
        }),
  });
}

/**
 * A session's luo_file_ser array at `phys`: `count` packed {compatible[48], data, token}. Without
 * a count (the array has none of its own: it is in the session's luo_session_ser), the entries
 * up to the last non-zero one in the 2-page array.
 */
export function luoFileArray(m: Machine, phys: number, count?: number): Result<AnnotatedStruct> {
  const end = ramEnd(m);
  if (phys + LUO_FILE_SER_SIZE > end)
    return failure(`luo-file-array: ${hex(phys)} is beyond the end of RAM (${hex(end)})`);
  const capacity = Math.min(LUO_FILE_MAX, Math.floor((end - phys) / LUO_FILE_SER_SIZE));
  let n = count ?? 0;
  if (count === undefined) {
    const all = m.ram.read(phys, capacity * LUO_FILE_SER_SIZE);
    for (let i = capacity - 1; i >= 0 && n === 0; i--)
      if (!allZero(all.subarray(i * LUO_FILE_SER_SIZE, (i + 1) * LUO_FILE_SER_SIZE))) n = i + 1;
  }
  const shown = Math.min(n, capacity);
  const bytes = m.ram.read(phys, shown * LUO_FILE_SER_SIZE);
  const elements = [];
  for (let i = 0; i < shown; i++) {
    const r = new FieldReader(bytes, i * LUO_FILE_SER_SIZE, end);
    const compatible = r.cstring('compatible', LIVEUPDATE_HNDL_COMPAT_LENGTH);
    r.phys('data', (p) => memfdDataRecord(compatible, p));
    r.u64hex('token');
    elements.push(r.fields);
  }
  const notes = [
    `${LUO_FILE_PGCNT} pages preserved at the session's first PRESERVE_FD (kho_alloc_preserve); liveupdate_reboot() writes one luo_file_ser per file in preserve order; FINISH in the next kernel frees it.`,
  ];
  if (count === undefined)
    notes.push(`No count given: entries up to the last non-zero one of the ${capacity}-entry array.`);
  const here = outgoingAt(m, phys);
  if (here.session && allZero(bytes) && here.session.files.length > 0)
    notes.push(
      `Not written yet: the ${here.session.files.length} file(s) of "${here.session.name}" are serialized at kexec -e (liveupdate_reboot).`,
    );
  return ok({
    kind: 'luo-file-array',
    title: `luo_file_ser[${n}]`,
    phys,
    bytes,
    array: { type: 'luo_file_ser', offset: 0, stride: LUO_FILE_SER_SIZE, count: n, elements },
    notes,
    ...(n > LUO_FILE_MAX
      ? {
          error: `${n} files: a session's array holds at most ${LUO_FILE_MAX} (luo_session_deserialize() refuses more with EINVAL)`,
        }
      : {}),
  });
}
