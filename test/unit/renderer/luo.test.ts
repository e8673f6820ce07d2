/**
 * The LUO form's plain logic (renderer/src/lib/luo-actions.ts) and the struct viewer's model
 * (lib/struct-hex.ts): what an empty input stands for, the command each op runs, what the form
 * refuses before the kernel sees it; field spans and hex cells of an annotated record.
 */
import { describe, expect, it } from 'vitest';
import { CommandSchema } from '../../../shared/commands';
import type { AnnotatedStruct, LuoView, StepInfo, UserspaceView } from '../../../shared/views';
import { BUILTIN_SCENARIOS } from '../../../electron/host/builtins';
import { stepPhases } from '../../../renderer/src/lib/phases';
import { type LuoForm, LUO_OPS, luoCommand, luoSuggestions, parseToken } from '../../../renderer/src/lib/luo-actions';
import { fieldSpans, structLines } from '../../../renderer/src/lib/struct-hex';
import { luoTargets, pickLuoTarget, targetFor } from '../../../renderer/src/lib/luo-targets';

const US: UserspaceView = {
  running: true,
  processes: [
    {
      pid: 1000,
      name: 'vmm',
      fds: [
        {
          fd: 3,
          kind: 'memfd',
          path: '/memfd:guest (deleted)',
          name: 'guest',
          ino: 1,
          size: 4096,
          pages: 1,
          pos: 0,
          frozen: true,
          refs: 2,
          luo: [{ session: 'a', direction: 'outgoing', token: '0x1' }],
        },
        {
          fd: 4,
          kind: 'memfd',
          path: '/memfd:state (deleted)',
          name: 'state',
          ino: 2,
          size: 4096,
          pages: 1,
          pos: 0,
          frozen: false,
          refs: 1,
          luo: [],
        },
        { fd: 5, kind: 'liveupdate', path: '/dev/liveupdate' },
        {
          fd: 6,
          kind: 'session',
          path: 'anon_inode:[luo_session] old',
          session: 'old',
          direction: 'incoming',
          state: 'retrieved',
          files: 2,
        },
        {
          fd: 7,
          kind: 'session',
          path: 'anon_inode:[luo_session] a',
          session: 'a',
          direction: 'outgoing',
          state: 'preserving',
          files: 1,
        },
      ],
    },
  ],
};

const file = (token: string, retrieved = false) => ({
  token,
  compatible: 'memfd-v1',
  data: 0x1000,
  retrieved,
  file: null,
  heldBy: [],
});
const LUO: LuoView = {
  liveupdateNumber: '2',
  devOpen: true,
  devHeldBy: [{ process: 'vmm', pid: 1000, fd: 5 }],
  deserialized: 'ok',
  handlers: ['memfd-v1'],
  fdtPhys: 0x1000,
  sessionBlockPhys: 0x10000,
  outgoing: [
    {
      name: 'a',
      direction: 'outgoing',
      state: 'preserving',
      filesPhys: 0x20000,
      files: [file('0x1'), file('0x2')],
      heldBy: [],
    },
  ],
  incoming: [
    {
      name: 'old',
      direction: 'incoming',
      state: 'retrieved',
      filesPhys: 0x30000,
      files: [file('0x10', true), file('0x11')],
      heldBy: [],
    },
    { name: 'later', direction: 'incoming', state: 'deserialized', filesPhys: 0, files: [], heldBy: [] },
  ],
  incomingFdtPhys: 0x2000,
  incomingHeaderPhys: 0,
  failNextFreeze: null,
};

const form = (over: Partial<LuoForm>): LuoForm => ({
  op: 'open',
  process: 'vmm',
  dev: '',
  session: '',
  fd: '',
  name: '',
  token: '',
  ...over,
});

describe('LUO form', () => {
  it('suggests the fds and names a VMM would use for each op', () => {
    expect(luoSuggestions(form({ op: 'create' }), US, LUO)).toMatchObject({ dev: '5', name: 'session-1' });
    // Preserve: the outgoing session, the memfd not preserved yet, the first token the session does not use.
    expect(luoSuggestions(form({ op: 'preserve' }), US, LUO)).toMatchObject({ session: '7', fd: '4', token: '0x3' });
    expect(luoSuggestions(form({ op: 'retrieveSession' }), US, LUO)).toMatchObject({ dev: '5', name: 'later' });
    // Retrieve: the incoming session's first file not retrieved yet.
    expect(luoSuggestions(form({ op: 'retrieveFd' }), US, LUO)).toMatchObject({ session: '6', token: '0x11' });
    expect(luoSuggestions(form({ op: 'finish' }), US, LUO).session).toBe('6');
    expect(luoSuggestions(form({ op: 'close' }), US, LUO).fd).toBe('7');
    // A typed session fd steers the token suggestion to that session.
    expect(luoSuggestions(form({ op: 'retrieveFd', session: '7' }), US, LUO).token).toBe('0x1');
    // An unknown process: nothing to suggest.
    expect(luoSuggestions(form({ op: 'preserve', process: 'nobody' }), US, LUO)).toMatchObject({ session: '', fd: '' });
  });

  it('builds the command each op runs, with the suggestion for an input left empty; every command fits the schema', () => {
    const cmd = (f: Partial<LuoForm>) => {
      const r = luoCommand(form(f), luoSuggestions(form(f), US, LUO));
      return r.ok ? r.value : r.error;
    };
    expect(cmd({ op: 'open' })).toEqual({ op: 'luo_open', process: 'vmm' });
    expect(cmd({ op: 'create', name: 'vm-1' })).toEqual({
      op: 'luo_create_session',
      process: 'vmm',
      fd: 5,
      name: 'vm-1',
    });
    expect(cmd({ op: 'preserve', token: '0x1A' })).toEqual({
      op: 'luo_preserve_fd',
      process: 'vmm',
      session_fd: 7,
      fd: 4,
      token: '0x1a',
    });
    expect(cmd({ op: 'preserve', fd: '3', token: '26' })).toEqual({
      op: 'luo_preserve_fd',
      process: 'vmm',
      session_fd: 7,
      fd: 3,
      token: 26,
    });
    expect(cmd({ op: 'retrieveSession' })).toEqual({
      op: 'luo_retrieve_session',
      process: 'vmm',
      fd: 5,
      name: 'later',
    });
    expect(cmd({ op: 'retrieveFd' })).toEqual({ op: 'luo_retrieve_fd', process: 'vmm', session_fd: 6, token: '0x11' });
    expect(cmd({ op: 'finish' })).toEqual({ op: 'luo_finish', process: 'vmm', session_fd: 6 });
    expect(cmd({ op: 'close', fd: '4' })).toEqual({ op: 'close', process: 'vmm', fd: 4 });
    for (const o of LUO_OPS) {
      const c = cmd({ op: o.id });
      expect(CommandSchema.safeParse(c).success, o.id).toBe(true);
    }
  });

  it('refuses what is no fd or no token before the kernel sees it; a wrong but well-formed fd goes to the kernel', () => {
    const none = { dev: '', session: '', fd: '', name: '', token: '' };
    expect(luoCommand(form({ op: 'create' }), none)).toEqual({
      ok: false,
      error: { message: 'no /dev/liveupdate fd: give its number' },
    });
    expect(luoCommand(form({ op: 'preserve', session: 'x', fd: '3', token: '1' }), none)).toEqual({
      ok: false,
      error: { message: 'session fd must be a number 0–1023' },
    });
    expect(luoCommand(form({ op: 'retrieveFd', session: '6', token: '0xZZ' }), none)).toEqual({
      ok: false,
      error: { message: 'a token is a u64: decimal, or hex with 0x' },
    });
    expect(luoCommand(form({ op: 'open', process: ' ' }), none)).toEqual({
      ok: false,
      error: { message: 'name the process' },
    });
    expect(luoCommand(form({ op: 'finish', session: '99' }), none)).toEqual({
      ok: true,
      value: { op: 'luo_finish', process: 'vmm', session_fd: 99 },
    });
  });

  it('parseToken: decimal up to 2^53, hex up to 64 bits', () => {
    expect(parseToken('0xFFFFFFFFFFFFFFFF')).toBe('0xffffffffffffffff');
    expect(parseToken('9007199254740991')).toBe(9007199254740991);
    expect(parseToken('9007199254740992')).toBeNull();
    expect(parseToken('0x10000000000000000')).toBeNull();
    expect(parseToken('-1')).toBeNull();
  });
});

describe('LUO steps on the timeline', () => {
  it('luo-kexec-simple: PRESERVE_FD preserves; RETRIEVE_* and FINISH in the next kernel restore', () => {
    const steps = BUILTIN_SCENARIOS['luo-kexec-simple']!.steps.map(
      (command) => ({ index: 0, label: '', command, ok: true, message: '' }) as unknown as StepInfo,
    );
    const labelled = stepPhases(steps).map((p, i) => `${steps[i]!.command.op}:${p.phase}@${p.generation}`);
    expect(labelled.filter((l) => /luo_preserve_fd|luo_retrieve|luo_finish|expect_content|write/.test(l))).toEqual([
      // luo_test()'s stage detection: the state session is looked up (ENOENT) before anything is made.
      'luo_retrieve_session:restore@1',
      ...['write:workload@1', 'luo_preserve_fd:preserve@1'],
      ...['write:workload@1', 'luo_preserve_fd:preserve@1'],
      ...['luo_retrieve_session:restore@2', 'luo_retrieve_fd:restore@2', 'expect_content:workload@2'],
      ...['luo_retrieve_session:restore@2', 'luo_retrieve_fd:restore@2', 'expect_content:workload@2'],
      ...['luo_finish:restore@2', 'luo_finish:restore@2'],
    ]);
  });
});

describe('LUO inspector targets', () => {
  it('lists the outgoing block and arrays, the incoming block while present and the incoming arrays; after kexec -e the handed-over block', () => {
    const keys = luoTargets({ ...LUO, incomingHeaderPhys: 0x40000 }, null).map((t) => [t.key, t.req.phys, t.req.count]);
    expect(keys).toEqual([
      ['out:block', 0x10000, undefined],
      ['out:files:a', 0x20000, 2],
      ['in:block', 0x40000, undefined],
      ['in:files:old', 0x30000, 2],
    ]);
    expect(pickLuoTarget(luoTargets({ ...LUO, incomingHeaderPhys: 0x40000 }, null), null)!.key).toBe('in:block');
    expect(pickLuoTarget(luoTargets(LUO, null), 'out:files:a')!.key).toBe('out:files:a');
    expect(pickLuoTarget(luoTargets(LUO, null), 'gone')!.key).toBe('out:block');
    expect(luoTargets(null, 0x50000)).toEqual([
      {
        key: 'in:block',
        label: 'handed-over session block',
        side: 'incoming',
        req: { kind: 'luo-session-block', phys: 0x50000 },
      },
    ]);
    expect(luoTargets(null, null)).toEqual([]);
    const t = luoTargets(LUO, null);
    expect(targetFor(t, { kind: 'luo-file-array', phys: 0x30000, count: 2 }).key).toBe('in:files:old');
    expect(targetFor(t, { kind: 'luo-file-array', phys: 0x70000, count: 1 })).toMatchObject({
      key: 'at:luo-file-array:458752',
      label: 'luo_file_ser[] at 0x70000',
    });
  });
});

describe('struct viewer model', () => {
  const REC: AnnotatedStruct = {
    kind: 'luo-session-block',
    title: 't',
    phys: 0x1000,
    bytes: Uint8Array.from({ length: 8 + 80 }, (_, i) => (i === 0 ? 1 : i === 8 ? 0x41 : 0)),
    header: {
      type: 'luo_session_header_ser',
      fields: [{ offset: 0, size: 8, name: 'count', type: 'u64', value: '1' }],
    },
    array: {
      type: 'luo_session_ser',
      offset: 8,
      stride: 80,
      count: 1,
      elements: [
        [
          { offset: 8, size: 64, name: 'name', type: 'char[64]', value: '"A"' },
          { offset: 72, size: 8, name: 'files', type: 'u64', value: 'NULL' },
          { offset: 80, size: 8, name: 'count', type: 'u64', value: '0' },
        ],
      ],
    },
    notes: [],
  };

  it('one span per field, colours by field position (the header first), keys by element', () => {
    const spans = fieldSpans(REC);
    expect(spans.map((s) => [s.key, s.element, s.color])).toEqual([
      ['h.count', null, 0],
      ['0.name', 0, 1],
      ['0.files', 0, 2],
      ['0.count', 0, 3],
    ]);
  });

  it('hex lines of 16 bytes: each byte knows its field, groups of four, where an element starts', () => {
    const spans = fieldSpans(REC);
    const lines = structLines(REC, spans);
    expect(lines.map((l) => l.offset)).toEqual([0, 16, 32, 48, 64, 80]);
    const first = lines[0]!;
    expect(first.cells.map((c) => c.text).join('')).toBe('01000000000000004100000000000000');
    expect(first.cells.map((c) => c.span)).toEqual([...Array(8).fill(0), ...Array(8).fill(1)]);
    expect(first.cells.filter((c) => c.groupStart).length).toBe(3);
    expect(first.cells.findIndex((c) => c.elementStart)).toBe(8);
    expect(first.ascii).toBe('........A.......');
    expect(lines[4]!.cells.map((c) => c.span)).toEqual([...Array(8).fill(1), ...Array(8).fill(2)]);
    expect(lines[5]!.cells).toHaveLength(8);
  });
});
