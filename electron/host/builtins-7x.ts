/**
 * DOC: the LUO selftests that the 7.x tree added, as built-in scenarios
 *
 * tools/testing/selftests/liveupdate/liveupdate.c (prevent_double_preservation,
 * create_session_no_null_termination, create_session_empty_name, get_session_name,
 * get_session_name_max_length, preserve_many_sessions, preserve_many_files),
 * luo_stress_sessions.c and luo_stress_files.c, step by step: the same names, tokens, counts and
 * expected errnos, the fds a real process would get (lowest free first, 0–2 taken), and the
 * helpers of luo_test_utils.c spelled out — luo_ensure_nofile_limit() is a setrlimit when the soft
 * limit is below count + 32; create_and_preserve_memfd() is memfd_create("test_mfd") +
 * ftruncate(page) + the string written at 0 + PRESERVE_FD + close; restore_and_verify_memfd() is
 * RETRIEVE_FD + strcmp() on the page; luo_test()'s stage detection is a RETRIEVE_SESSION of the
 * state session that must be ENOENT before the kexec. The daemon of daemonize_and_wait() that
 * holds the session fds is the process itself, alive until `kexec -e`. They run on `--kernel 7.2`;
 * on an older kernel each stops where that release differs (see test/unit/luo/selftests7x.test.ts).
 */
import type { CommandInput } from '../../shared/commands';
import type { ScenarioInput } from '../../shared/scenario';

const P = 'luo-test';
const MACHINE = { kernel: '7.2', ram: '1G', nodes: 1, seed: 1, cmdline: 'kho=on liveupdate=on' } as const;
/** A step or a repeat of steps (shared/scenario-repeat.ts). */
type Step = NonNullable<ScenarioInput['steps']>[number];

/** luo_create_session() from the fixture's /dev/liveupdate (fd 3). */
const create = (name: string, expect?: 'EINVAL' | 'EBUSY'): CommandInput => ({
  op: 'luo_create_session',
  process: P,
  fd: 3,
  name,
  ...(expect ? { expect } : {}),
});

/** create_and_preserve_memfd(session_fd, token, data): the memfd gets fd `fd` and is closed after. */
export function createAndPreserveMemfd(
  sessionFd: number,
  fd: number,
  token: number | string,
  data: string,
): CommandInput[] {
  return [
    { op: 'memfd_create', process: P, name: 'test_mfd', size: '4K' },
    { op: 'write', process: P, fd, data: { text: data } },
    { op: 'luo_preserve_fd', process: P, session_fd: sessionFd, fd, token },
    { op: 'close', process: P, fd },
  ];
}

/** restore_and_verify_memfd(session_fd, token, expected) into fd `fd`, then the caller's close(). */
export function restoreAndVerifyMemfd(
  sessionFd: number,
  fd: number,
  token: number | string,
  expected: string,
): CommandInput[] {
  return [
    { op: 'luo_retrieve_fd', process: P, session_fd: sessionFd, token },
    { op: 'expect_content', process: P, fd, text: expected, cstring: true },
    { op: 'close', process: P, fd },
  ];
}

/**
 * luo_test() stage 1 up to create_state_file(): /dev/liveupdate is fd 3, the state session fd 4
 * (kept open), its memfd holding "2" preserved under `token`.
 */
export function stage1Start(stateSession: string, token: number): CommandInput[] {
  return [
    { op: 'boot' },
    { op: 'spawn', name: P },
    { op: 'luo_open', process: P }, // fd 3
    { op: 'luo_retrieve_session', process: P, fd: 3, name: stateSession, expect: 'ENOENT' },
    create(stateSession), // fd 4
    ...createAndPreserveMemfd(4, 5, token, '2'),
  ];
}

/** close(luo_fd), daemonize_and_wait(), then init.c: kexec_file_load, reboot(RB_KEXEC) and the next kernel's boot. */
export const kexec: CommandInput[] = [
  { op: 'close', process: P, fd: 3 },
  { op: 'kexec_load' },
  { op: 'reboot' },
  { op: 'boot' },
];

/** luo_test() stage 2 up to restore_and_read_stage(): the state session is fd 4 and says 2. */
export function stage2Start(stateSession: string, token: number): CommandInput[] {
  return [
    { op: 'spawn', name: P },
    { op: 'luo_open', process: P }, // fd 3
    { op: 'luo_retrieve_session', process: P, fd: 3, name: stateSession }, // fd 4
    ...restoreAndVerifyMemfd(4, 5, token, '2'),
  ];
}

/** Stage 2's end: FINISH and close the state session. */
export const stage2End: CommandInput[] = [
  { op: 'luo_finish', process: P, session_fd: 4 },
  { op: 'close', process: P, fd: 4 },
];

function scenario(name: string, description: string, steps: Step[]): ScenarioInput {
  return { name, description, machine: { ...MACHINE }, steps };
}

export const BUILTIN_SCENARIOS_7X: Record<string, ScenarioInput> = {
  'luo-fallocate-memfd': {
    name: 'luo-fallocate-memfd',
    description:
      'After the selftest fallocate_memfd (luo_memfd.c, mm tree 2026), on Linux 7.0: 1 MiB fallocated (folios dirty but not uptodate), preserved, and only then written with random data; the page checksums go into a second preserved memfd. 7.0 preserves every folio DIRTY|UPTODATE (zero-filled first), so the next kernel reads the data back. On --kernel 6.19 the records keep "not uptodate", the next kernel reads those folios as zeroes and expect_checksums fails.',
    machine: { ...MACHINE, kernel: '7.0' },
    steps: [
      { op: 'boot' },
      { op: 'spawn', name: P },
      { op: 'memfd_create', process: P, name: 'guest' }, // fd 3
      { op: 'fallocate', process: P, fd: 3, length: '1M' },
      { op: 'memfd_create', process: P, name: 'checksums' }, // fd 4
      { op: 'luo_open', process: P }, // fd 5
      { op: 'luo_create_session', process: P, fd: 5, name: 'fallocate' }, // fd 6
      { op: 'luo_preserve_fd', process: P, session_fd: 6, fd: 3, token: 1 },
      { op: 'write', process: P, fd: 3, data: { random: true } },
      { op: 'save_checksums', process: P, fd: 3, into_fd: 4 },
      { op: 'luo_preserve_fd', process: P, session_fd: 6, fd: 4, token: 2 },
      { op: 'kexec_load' },
      { op: 'reboot' },
      { op: 'boot' },
      { op: 'spawn', name: P },
      { op: 'luo_open', process: P }, // fd 3
      { op: 'luo_retrieve_session', process: P, fd: 3, name: 'fallocate' }, // fd 4
      { op: 'luo_retrieve_fd', process: P, session_fd: 4, token: 1 }, // fd 5
      { op: 'luo_retrieve_fd', process: P, session_fd: 4, token: 2 }, // fd 6
      { op: 'expect_checksums', process: P, fd: 5, from_fd: 6 },
      { op: 'luo_finish', process: P, session_fd: 4 },
    ],
  },
  'luo-prevent-double-preservation': scenario(
    'luo-prevent-double-preservation',
    'The selftest prevent_double_preservation (liveupdate.c, Linux 7.1+): one memfd preserved in "double-preserve-session-1" as 0x1111; preserving it again in "double-preserve-session-2" (0x2222) or in the same session under another token (0x3333) is EBUSY — luo_preserved_files holds it.',
    [
      { op: 'boot' },
      { op: 'spawn', name: P },
      { op: 'luo_open', process: P }, // fd 3
      create('double-preserve-session-1'), // fd 4
      create('double-preserve-session-2'), // fd 5
      { op: 'memfd_create', process: P, name: 'test-memfd' }, // fd 6
      { op: 'luo_preserve_fd', process: P, session_fd: 4, fd: 6, token: '0x1111' },
      { op: 'luo_preserve_fd', process: P, session_fd: 5, fd: 6, token: '0x2222', expect: 'EBUSY' },
      { op: 'luo_preserve_fd', process: P, session_fd: 4, fd: 6, token: '0x3333', expect: 'EBUSY' },
      { op: 'close', process: P, fd: 6 },
      { op: 'close', process: P, fd: 4 },
      { op: 'close', process: P, fd: 5 },
    ],
  ),
  'luo-session-names': scenario(
    'luo-session-names',
    'The session-name selftests of liveupdate.c (Linux 7.2): create_session_no_null_termination (64 × "X", no NUL: EINVAL), create_session_empty_name ("": EINVAL), get_session_name (LIVEUPDATE_SESSION_GET_NAME answers "get-name-test-session") and get_session_name_max_length (63 × "A" comes back whole). Each test opens /dev/liveupdate and its fixture closes it.',
    [
      { op: 'boot' },
      { op: 'spawn', name: P },
      { op: 'luo_open', process: P }, // fd 3
      create('X'.repeat(64), 'EINVAL'),
      { op: 'close', process: P, fd: 3 },
      { op: 'luo_open', process: P },
      create('', 'EINVAL'),
      { op: 'close', process: P, fd: 3 },
      { op: 'luo_open', process: P },
      create('get-name-test-session'), // fd 4
      { op: 'luo_get_name', process: P, session_fd: 4, name: 'get-name-test-session' },
      { op: 'close', process: P, fd: 4 },
      { op: 'close', process: P, fd: 3 },
      { op: 'luo_open', process: P },
      create('A'.repeat(63)), // fd 4
      { op: 'luo_get_name', process: P, session_fd: 4, name: 'A'.repeat(63) },
      { op: 'close', process: P, fd: 4 },
      { op: 'close', process: P, fd: 3 },
    ],
  ),
  'luo-preserve-many-sessions': scenario(
    'luo-preserve-many-sessions',
    'The selftest preserve_many_sessions (liveupdate.c, Linux 7.2): RLIMIT_NOFILE raised to 2032, then 2000 sessions "many-session-N" created (fds 4–2003) and closed again — no session limit (6.19–7.1 stop at the 16-page session block, ENOMEM).',
    [
      { op: 'boot' },
      { op: 'spawn', name: P },
      { op: 'luo_open', process: P }, // fd 3
      { op: 'setrlimit', process: P, resource: 'RLIMIT_NOFILE', soft: 2032 },
      { op: 'repeat', count: 2000, steps: [create('many-session-{i}')] },
      { op: 'repeat', count: 2000, steps: [{ op: 'close', process: P, fd: '{i+4}' }] },
      { op: 'close', process: P, fd: 3 },
    ],
  ),
  'luo-preserve-many-files': scenario(
    'luo-preserve-many-files',
    'The selftest preserve_many_files (liveupdate.c, Linux 7.2): 500 memfds preserved in one session "many-files-test" with tokens 0–499, then closed (RLIMIT_NOFILE 1024 already covers 510 + 32, so luo_ensure_nofile_limit() changes nothing) — no per-session file limit (6.19–7.1 stop at 128, ENOSPC).',
    [
      { op: 'boot' },
      { op: 'spawn', name: P },
      { op: 'luo_open', process: P }, // fd 3
      create('many-files-test'), // fd 4
      {
        op: 'repeat',
        count: 500,
        steps: [
          { op: 'memfd_create', process: P, name: 'test-memfd' }, // fd i + 5
          { op: 'luo_preserve_fd', process: P, session_fd: 4, fd: '{i+5}', token: '{i}' },
        ],
      },
      { op: 'repeat', count: 500, steps: [{ op: 'close', process: P, fd: '{i+5}' }] },
      { op: 'close', process: P, fd: 4 },
      { op: 'close', process: P, fd: 3 },
    ],
  ),
  'luo-stress-sessions': scenario(
    'luo-stress-sessions',
    'The selftest luo_stress_sessions (Linux 7.2): stage 1 raises RLIMIT_NOFILE to 2032, preserves the state memfd ("2", token 999) in "kexec_many_state" and creates 2000 empty sessions "many-test-N"; after the kexec stage 2 reads stage 2 back, retrieves, FINISHes and closes every one of the 2000 sessions, then finishes the state session.',
    [
      { op: 'boot' },
      { op: 'spawn', name: P },
      { op: 'luo_open', process: P }, // fd 3
      { op: 'luo_retrieve_session', process: P, fd: 3, name: 'kexec_many_state', expect: 'ENOENT' },
      { op: 'setrlimit', process: P, resource: 'RLIMIT_NOFILE', soft: 2032 },
      create('kexec_many_state'), // fd 4
      ...createAndPreserveMemfd(4, 5, 999, '2'),
      { op: 'repeat', count: 2000, steps: [create('many-test-{i}')] }, // fds 5–2004
      ...kexec,
      ...stage2Start('kexec_many_state', 999),
      {
        op: 'repeat',
        count: 2000,
        steps: [
          { op: 'luo_retrieve_session', process: P, fd: 3, name: 'many-test-{i}' }, // fd 5
          { op: 'luo_finish', process: P, session_fd: 5 },
          { op: 'close', process: P, fd: 5 },
        ],
      },
      ...stage2End,
    ],
  ),
  'luo-stress-files': scenario(
    'luo-stress-files',
    'The selftest luo_stress_files (Linux 7.2): stage 1 preserves the state memfd ("2", token 9999) in "kexec_many_files_state" and 500 one-page memfds holding "file-data-N" (tokens 0–499) in "many_files_session"; after the kexec stage 2 retrieves all 500 and strcmp()s each, then FINISHes both sessions.',
    [
      ...stage1Start('kexec_many_files_state', 9999),
      create('many_files_session'), // fd 5
      { op: 'repeat', count: 500, steps: createAndPreserveMemfd(5, 6, '{i}', 'file-data-{i}') },
      ...kexec,
      ...stage2Start('kexec_many_files_state', 9999),
      { op: 'luo_retrieve_session', process: P, fd: 3, name: 'many_files_session' }, // fd 5
      { op: 'repeat', count: 500, steps: restoreAndVerifyMemfd(5, 6, '{i}', 'file-data-{i}') },
      { op: 'luo_finish', process: P, session_fd: 5 },
      { op: 'close', process: P, fd: 5 },
      ...stage2End,
    ],
  ),
};
