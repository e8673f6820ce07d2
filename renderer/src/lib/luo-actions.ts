/**
 * DOC: LUO actions
 *
 * The workload panel's LUO form acts as a VMM would (include/uapi/linux/liveupdate.h): open
 * /dev/liveupdate, CREATE_SESSION, PRESERVE_FD a memfd with a token, and after the kexec
 * RETRIEVE_SESSION, RETRIEVE_FD, FINISH, close. Which inputs an ioctl takes, what to suggest for
 * an input left empty (the process's /dev/liveupdate fd, its outgoing or incoming session fd, a
 * memfd not yet preserved, an unused token…), and the command the form runs. The kernel, not the
 * form, judges the arguments: a wrong fd or a reused token comes back as the errno a shell shows.
 */
import type { CommandInput } from '../../../shared/commands';
import type { FdInfo, LuoView, ProcessView, UserspaceView } from '../../../shared/views';
import { type Result, failure, ok } from '../../../shared/result';

export type LuoOp = 'open' | 'create' | 'retrieveSession' | 'preserve' | 'retrieveFd' | 'finish' | 'close';

/** The inputs an op takes besides the process. */
type LuoInput = 'dev' | 'session' | 'fd' | 'name' | 'token';

export interface LuoOpInfo {
  id: LuoOp;
  /** What the select shows: the ioctl's name as the uapi header spells it. */
  label: string;
  inputs: readonly LuoInput[];
  title: string;
}

export const LUO_OPS: readonly LuoOpInfo[] = [
  {
    id: 'open',
    label: 'open /dev/liveupdate',
    inputs: [],
    title: 'open("/dev/liveupdate", O_RDWR): one opener at a time; the first open deserializes the incoming sessions',
  },
  {
    id: 'create',
    label: 'CREATE_SESSION',
    inputs: ['dev', 'name'],
    title: 'LIVEUPDATE_IOCTL_CREATE_SESSION: a new outgoing session; returns its fd',
  },
  {
    id: 'preserve',
    label: 'PRESERVE_FD',
    inputs: ['session', 'fd', 'token'],
    title: 'LIVEUPDATE_SESSION_PRESERVE_FD: the handler preserves the file now, under the token',
  },
  {
    id: 'retrieveSession',
    label: 'RETRIEVE_SESSION',
    inputs: ['dev', 'name'],
    title: 'LIVEUPDATE_IOCTL_RETRIEVE_SESSION: an incoming session by name; returns its fd',
  },
  {
    id: 'retrieveFd',
    label: 'RETRIEVE_FD',
    inputs: ['session', 'token'],
    title: 'LIVEUPDATE_SESSION_RETRIEVE_FD: the file preserved under the token; returns a new fd',
  },
  {
    id: 'finish',
    label: 'FINISH',
    inputs: ['session'],
    title: 'LIVEUPDATE_SESSION_FINISH: LUO lets go of the incoming session; files never retrieved are discarded',
  },
  {
    id: 'close',
    label: 'close',
    inputs: ['fd'],
    title: 'close(fd): an outgoing session fd unpreserves its files; an incoming one finishes',
  },
];

export const LUO_OP_BY_ID: Readonly<Record<LuoOp, LuoOpInfo>> = Object.fromEntries(
  LUO_OPS.map((o) => [o.id, o]),
) as Record<LuoOp, LuoOpInfo>;

/** The form as typed; an empty input takes its suggestion. */
export interface LuoForm {
  op: LuoOp;
  process: string;
  dev: string;
  session: string;
  fd: string;
  name: string;
  token: string;
}

export type LuoSuggestions = Record<LuoInput, string>;

type Session = Extract<FdInfo, { kind: 'session' }>;

function processOf(us: UserspaceView | null, name: string): ProcessView | null {
  return us?.processes.find((p) => p.name === name.trim()) ?? null;
}

/** The session fd an op most likely means: outgoing to preserve into, incoming to retrieve from or finish. */
function sessionFd(p: ProcessView | null, op: LuoOp): Session | null {
  const sessions = (p?.fds ?? []).filter((f): f is Session => f.kind === 'session');
  const pick = (ok: (s: Session) => boolean) => sessions.find(ok) ?? null;
  if (op === 'preserve') return pick((s) => s.direction === 'outgoing');
  if (op === 'retrieveFd') return pick((s) => s.direction === 'incoming' && s.state === 'retrieved' && s.files > 0);
  if (op === 'finish') return pick((s) => s.direction === 'incoming' && s.state !== 'finished');
  return sessions[0] ?? null;
}

/** The first `0x<n>` the session does not use. */
function freeToken(used: ReadonlySet<string>): string {
  let n = 1;
  while (used.has(`0x${n.toString(16)}`)) n++;
  return `0x${n.toString(16)}`;
}

/** What each empty input stands for, given the process's fds and LUO's sessions. */
export function luoSuggestions(form: LuoForm, us: UserspaceView | null, luo: LuoView | null): LuoSuggestions {
  const p = processOf(us, form.process);
  const fds = p?.fds ?? [];
  const dev = fds.find((f) => f.kind === 'liveupdate');
  const typedSession = form.session.trim() === '' ? null : Number(form.session);
  const session =
    typedSession !== null
      ? (fds.find((f): f is Session => f.kind === 'session' && f.fd === typedSession) ?? null)
      : sessionFd(p, form.op);
  const lists = luo ? [...luo.outgoing, ...luo.incoming] : [];
  const named = session
    ? lists.find((s) => s.name === session.session && s.direction === session.direction)
    : undefined;
  let fd = '';
  if (form.op === 'preserve')
    fd = String(fds.find((f) => f.kind === 'memfd' && !f.frozen)?.fd ?? fds.find((f) => f.kind === 'memfd')?.fd ?? '');
  else if (form.op === 'close') fd = String(fds.at(-1)?.fd ?? '');
  let name = '';
  if (form.op === 'create') {
    const taken = new Set(luo?.outgoing.map((s) => s.name));
    let i = 1;
    while (taken.has(`session-${i}`)) i++;
    name = `session-${i}`;
  } else if (form.op === 'retrieveSession') name = luo?.incoming.find((s) => s.state === 'deserialized')?.name ?? '';
  let token = '';
  if (form.op === 'preserve') token = freeToken(new Set(named?.files.map((f) => f.token)));
  else if (form.op === 'retrieveFd')
    token = named?.files.find((f) => !f.retrieved)?.token ?? named?.files[0]?.token ?? '';
  return { dev: dev ? String(dev.fd) : '', session: session ? String(session.fd) : '', fd, name, token };
}

/** A token as the commands take it: a number, or a hex string for values past 2^53. */
export function parseToken(text: string): number | string | null {
  const t = text.trim();
  if (/^0x[0-9a-f]{1,16}$/i.test(t)) return t.toLowerCase();
  if (/^\d{1,16}$/.test(t) && Number(t) <= Number.MAX_SAFE_INTEGER) return Number(t);
  return null;
}

function parseFd(text: string): number | null {
  const t = text.trim();
  return /^\d{1,4}$/.test(t) && Number(t) <= 1023 ? Number(t) : null;
}

/** The command the form runs, or what is missing or malformed. */
export function luoCommand(form: LuoForm, suggest: LuoSuggestions): Result<CommandInput> {
  const process = form.process.trim();
  if (!process) return failure('name the process');
  const value = (k: LuoInput) => (form[k].trim() === '' ? suggest[k] : form[k]);
  const fdOf = (k: 'dev' | 'session' | 'fd', what: string): Result<number> => {
    const v = parseFd(value(k));
    return v === null
      ? failure(value(k) === '' ? `no ${what}: give its number` : `${what} must be a number 0–1023`)
      : ok(v);
  };
  const token = (): Result<number | string> => {
    const t = parseToken(value('token'));
    return t === null
      ? failure(value('token') === '' ? 'give a token' : 'a token is a u64: decimal, or hex with 0x')
      : ok(t);
  };
  switch (form.op) {
    case 'open':
      return ok({ op: 'luo_open', process });
    case 'create':
    case 'retrieveSession': {
      const fd = fdOf('dev', '/dev/liveupdate fd');
      if (!fd.ok) return fd;
      return ok({
        op: form.op === 'create' ? 'luo_create_session' : 'luo_retrieve_session',
        process,
        fd: fd.value,
        name: value('name'),
      });
    }
    case 'preserve': {
      const sfd = fdOf('session', 'session fd');
      if (!sfd.ok) return sfd;
      const fd = fdOf('fd', 'fd to preserve');
      if (!fd.ok) return fd;
      const t = token();
      if (!t.ok) return t;
      return ok({ op: 'luo_preserve_fd', process, session_fd: sfd.value, fd: fd.value, token: t.value });
    }
    case 'retrieveFd': {
      const sfd = fdOf('session', 'session fd');
      if (!sfd.ok) return sfd;
      const t = token();
      if (!t.ok) return t;
      return ok({ op: 'luo_retrieve_fd', process, session_fd: sfd.value, token: t.value });
    }
    case 'finish': {
      const sfd = fdOf('session', 'session fd');
      return sfd.ok ? ok({ op: 'luo_finish', process, session_fd: sfd.value }) : sfd;
    }
    case 'close': {
      const fd = fdOf('fd', 'fd to close');
      return fd.ok ? ok({ op: 'close', process, fd: fd.value }) : fd;
    }
  }
}

/** The fds of a process as `3 memfd:guest-ram`, for the inputs' suggestion lists. */
export function fdLabels(
  us: UserspaceView | null,
  process: string,
  kinds: ReadonlyArray<FdInfo['kind']>,
): Array<{ fd: number; label: string }> {
  return (processOf(us, process)?.fds ?? [])
    .filter((f) => kinds.includes(f.kind))
    .map((f) => ({
      fd: f.fd,
      label:
        f.kind === 'memfd'
          ? `memfd:${f.name}`
          : f.kind === 'session'
            ? `${f.direction} "${f.session}"`
            : '/dev/liveupdate',
    }));
}
