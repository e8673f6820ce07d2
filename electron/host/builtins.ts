/**
 * DOC: built-in scenarios
 *
 * Scenarios that ship with KHO Lab, runnable as `builtin:NAME` from the CLI and from the app.
 * Each is an ordinary scenario document, validated like a file.
 */
import type { CommandInput } from '../../shared/commands';
import type { ScenarioInput } from '../../shared/scenario';
import {
  BUILTIN_SCENARIOS_7X,
  createAndPreserveMemfd,
  kexec,
  restoreAndVerifyMemfd,
  stage1Start,
  stage2Start,
  stage2End,
} from './builtins-7x';

/** The selftests' stage 1: "hello kexec world" in a memfd, preserved in "test-session" as token 0x1A. */
function helloPreserved(): CommandInput[] {
  return [
    { op: 'spawn', name: 'luo-test' },
    { op: 'memfd_create', process: 'luo-test', name: 'test-memfd' },
    { op: 'write', process: 'luo-test', fd: 3, data: { text: 'hello kexec world' } },
    { op: 'luo_open', process: 'luo-test' },
    { op: 'luo_create_session', process: 'luo-test', fd: 4, name: 'test-session' },
    { op: 'luo_preserve_fd', process: 'luo-test', session_fd: 5, fd: 3, token: '0x1A' },
  ];
}

/**
 * test_kho in the running kernel, then finalize (where the release has it: 7.1+ is stateless),
 * `kexec -s -l`, `kexec -e` and boot the next kernel.
 */
function kexecCycle(params: { forget?: number; chain?: boolean }): CommandInput[] {
  return [
    { op: 'insmod', module: 'test_kho', params },
    { op: 'kho_finalize', ifExists: true },
    { op: 'kexec_load' },
    { op: 'reboot' },
    { op: 'boot' },
  ];
}

export const BUILTIN_SCENARIOS: Record<string, ScenarioInput> = {
  boot: {
    name: 'boot',
    description: 'Boot a 1 GiB machine, create memfds and vmalloc areas, free some, and report memory statistics.',
    machine: { ram: '1G', nodes: 1, seed: 1 },
    steps: [
      { op: 'boot' },
      { op: 'expect_free', atLeast: '900M' },
      { op: 'spawn', name: 'vmm' },
      { op: 'memfd_create', process: 'vmm', name: 'guest-ram', size: '64M' },
      { op: 'write', process: 'vmm', fd: 3, data: { random: true } },
      { op: 'memfd_create', process: 'vmm', name: 'guest-huge', size: '32M' },
      { op: 'write', process: 'vmm', fd: 4, data: { random: true }, order: 9 },
      { op: 'fallocate', process: 'vmm', fd: 4, offset: '8M', length: '4M', punchHole: true },
      { op: 'vmalloc', name: 'ring-buffer', size: '3M' },
      { op: 'vmalloc', name: 'scratch-table', size: '1M' },
      { op: 'alloc_pages', tag: 'slab', order: 0, count: 2048 },
      { op: 'free_pages', tag: 'slab', every: 2 },
      { op: 'vfree', name: 'scratch-table' },
      { op: 'verify_memfd', process: 'vmm', fd: 3 },
      { op: 'verify_memfd', process: 'vmm', fd: 4 },
      { op: 'close', process: 'vmm', fd: 4 },
      { op: 'expect_free', atLeast: '800M' },
    ],
  },
  fragmentation: {
    name: 'fragmentation',
    description: 'Fill memory with order-0 pages, free every other one: plenty of free memory, yet no order-1 block.',
    machine: { ram: '128M', nodes: 1, seed: 7, initrd: '4M' },
    steps: [
      { op: 'boot' },
      { op: 'alloc_pages', tag: 'filler', order: 0, count: 1 << 24, expect: 'ENOMEM' },
      { op: 'free_pages', tag: 'filler', every: 2 },
      { op: 'expect_free', atLeast: '20M' },
      { op: 'alloc_pages', tag: 'order1', order: 1, count: 1, expect: 'ENOMEM' },
      { op: 'alloc_pages', tag: 'single', order: 0, count: 1 },
    ],
  },
  'memfd-enomem': {
    name: 'memfd-enomem',
    description: 'A memfd larger than free memory: fallocate fails with ENOMEM and nothing already built is lost.',
    machine: { ram: '256M', nodes: 2, seed: 3 },
    steps: [
      { op: 'boot' },
      { op: 'spawn', name: 'vmm' },
      { op: 'memfd_create', process: 'vmm', name: 'small', size: '16M' },
      { op: 'write', process: 'vmm', fd: 3, data: { text: 'hello kexec world' } },
      { op: 'memfd_create', process: 'vmm', name: 'too-big', size: '1G' },
      { op: 'fallocate', process: 'vmm', fd: 4, length: '1G', expect: 'ENOMEM' },
      { op: 'verify_memfd', process: 'vmm', fd: 3 },
    ],
  },
  'test-kho': {
    name: 'test-kho',
    description:
      "lib/test_kho.c across a kexec: 8 MiB of random folios preserved, restored byte for byte; ends with 'KHO restore succeeded'.",
    machine: { ram: '1G', nodes: 1, seed: 1, cmdline: 'kho=on' },
    steps: [{ op: 'boot' }, ...kexecCycle({}), { op: 'insmod', module: 'test_kho' }],
  },
  'test-kho-forgot-one': {
    name: 'test-kho-forgot-one',
    description:
      'test_kho with one folio never preserved: the next kernel cannot restore it and names the folio and its pfn.',
    machine: { ram: '1G', nodes: 1, seed: 1, cmdline: 'kho=on' },
    steps: [{ op: 'boot' }, ...kexecCycle({ forget: 3 }), { op: 'insmod', module: 'test_kho' }],
  },
  /**
   * tools/testing/selftests/liveupdate/luo_kexec_simple.c, both stages as luo_test() runs them
   * (luo_test_utils.c): stage 1 is create_state_file() ("kexec_simple_state", token 999, "2"),
   * then run_stage_1(): "test-session" with a one-page memfd holding "hello kexec world" (0x1A,
   * create_and_preserve_memfd()); stage 2 is restore_and_read_stage(), then run_stage_2():
   * retrieve, restore_and_verify_memfd(), finish the test session, then the state session.
   */
  'luo-kexec-simple': {
    name: 'luo-kexec-simple',
    description:
      'The selftest luo_kexec_simple: the state session "kexec_simple_state" (memfd "2", token 999), then a one-page memfd holding "hello kexec world" preserved in session "test-session" with token 0x1A; a kexec, then both retrieved, the stage and the data compared, and both sessions finished.',
    machine: { ram: '1G', nodes: 1, seed: 1, cmdline: 'kho=on liveupdate=on' },
    steps: [
      ...stage1Start('kexec_simple_state', 999), // /dev/liveupdate fd 3, state session fd 4
      { op: 'luo_create_session', process: 'luo-test', fd: 3, name: 'test-session' }, // fd 5
      ...createAndPreserveMemfd(5, 6, '0x1A', 'hello kexec world'),
      ...kexec,
      ...stage2Start('kexec_simple_state', 999),
      { op: 'luo_retrieve_session', process: 'luo-test', fd: 3, name: 'test-session' }, // fd 5
      ...restoreAndVerifyMemfd(5, 6, '0x1A', 'hello kexec world'),
      { op: 'luo_finish', process: 'luo-test', session_fd: 5 },
      { op: 'close', process: 'luo-test', fd: 5 },
      ...stage2End,
    ],
  },
  /**
   * tools/testing/selftests/liveupdate/luo_multi_session.c, both stages as luo_test() runs them:
   * create_state_file() ("kexec_multi_state", token 998), then run_stage_1(): two empty sessions,
   * "multi-test-files-1" with one one-page memfd (0x1001), "multi-test-files-2" with two (0x2002,
   * 0x3003); run_stage_2(): restore_and_read_stage(), the four sessions retrieved, the three
   * memfds verified, the four finished in order, the state session last.
   */
  'luo-multi-session': {
    name: 'luo-multi-session',
    description:
      'The selftest luo_multi_session: the state session "kexec_multi_state" (memfd "2", token 998), two empty sessions, one session with one one-page memfd (token 0x1001), one with two (0x2002, 0x3003); after a kexec all five are retrieved, the contents compared, and every session finished, the empty ones included.',
    machine: { ram: '1G', nodes: 1, seed: 1, cmdline: 'kho=on liveupdate=on' },
    steps: [
      ...stage1Start('kexec_multi_state', 998), // /dev/liveupdate fd 3, state session fd 4
      { op: 'luo_create_session', process: 'luo-test', fd: 3, name: 'multi-test-empty-1' }, // fd 5
      { op: 'luo_create_session', process: 'luo-test', fd: 3, name: 'multi-test-empty-2' }, // fd 6
      { op: 'luo_create_session', process: 'luo-test', fd: 3, name: 'multi-test-files-1' }, // fd 7
      ...createAndPreserveMemfd(7, 8, '0x1001', 'Data for session files 1'),
      { op: 'luo_create_session', process: 'luo-test', fd: 3, name: 'multi-test-files-2' }, // fd 8
      ...createAndPreserveMemfd(8, 9, '0x2002', 'First file for session files 2'),
      ...createAndPreserveMemfd(8, 9, '0x3003', 'Second file for session files 2'),
      ...kexec,
      ...stage2Start('kexec_multi_state', 998),
      { op: 'luo_retrieve_session', process: 'luo-test', fd: 3, name: 'multi-test-empty-1' }, // fd 5
      { op: 'luo_retrieve_session', process: 'luo-test', fd: 3, name: 'multi-test-empty-2' }, // fd 6
      { op: 'luo_retrieve_session', process: 'luo-test', fd: 3, name: 'multi-test-files-1' }, // fd 7
      { op: 'luo_retrieve_session', process: 'luo-test', fd: 3, name: 'multi-test-files-2' }, // fd 8
      ...restoreAndVerifyMemfd(7, 9, '0x1001', 'Data for session files 1'),
      ...restoreAndVerifyMemfd(8, 9, '0x2002', 'First file for session files 2'),
      ...restoreAndVerifyMemfd(8, 9, '0x3003', 'Second file for session files 2'),
      ...[5, 6, 7, 8].flatMap((fd): CommandInput[] => [
        { op: 'luo_finish', process: 'luo-test', session_fd: fd },
        { op: 'close', process: 'luo-test', fd },
      ]),
      ...stage2End,
    ],
  },
  'luo-vm': {
    name: 'luo-vm',
    description:
      'A VMM live-updates the kernel under a 4 GiB guest: its memfd (random data, order-9 folios) and a small state memfd holding the page checksums are preserved; the next kernel retrieves both and checks the guest memory against the checksums it read from RAM.',
    machine: { ram: '16G', nodes: 1, seed: 11, cmdline: 'kho=on liveupdate=on kho_scratch=256M,1G,256M' },
    steps: [
      { op: 'boot' },
      { op: 'spawn', name: 'vmm' },
      { op: 'memfd_create', process: 'vmm', name: 'guest-ram', size: '4G' }, // fd 3
      { op: 'write', process: 'vmm', fd: 3, data: { random: true }, order: 9 },
      { op: 'memfd_create', process: 'vmm', name: 'vmm-state' }, // fd 4
      { op: 'save_checksums', process: 'vmm', fd: 3, into_fd: 4 },
      { op: 'luo_open', process: 'vmm' }, // fd 5
      { op: 'luo_create_session', process: 'vmm', fd: 5, name: 'vmm-state' }, // fd 6
      { op: 'luo_preserve_fd', process: 'vmm', session_fd: 6, fd: 4, token: 1 },
      { op: 'luo_create_session', process: 'vmm', fd: 5, name: 'guest' }, // fd 7
      { op: 'luo_preserve_fd', process: 'vmm', session_fd: 7, fd: 3, token: '0x100' },
      { op: 'kexec_load' },
      { op: 'reboot' },
      { op: 'boot' },
      { op: 'spawn', name: 'vmm' },
      { op: 'luo_open', process: 'vmm' }, // fd 3
      { op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'vmm-state' }, // fd 4
      { op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 }, // fd 5
      { op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'guest' }, // fd 6
      { op: 'luo_retrieve_fd', process: 'vmm', session_fd: 6, token: '0x100' }, // fd 7
      { op: 'luo_finish', process: 'vmm', session_fd: 6 },
      { op: 'luo_finish', process: 'vmm', session_fd: 4 },
      { op: 'expect_checksums', process: 'vmm', fd: 7, from_fd: 5 },
    ],
  },
  'luo-vmm-memfd': {
    name: 'luo-vmm-memfd',
    description:
      'A VMM keeps its guest across a kernel live update: 8 MiB of guest memory (random data) and a state memfd holding the checksum of each of its pages, both preserved in one session "vmm"; the next kernel retrieves both and checks the guest memory against the checksums. The default scenario of `matrix`: with `kexec_load` naming another release it shows what crosses between releases.',
    machine: { ram: '1G', nodes: 1, seed: 1, cmdline: 'kho=on liveupdate=on' },
    steps: [
      { op: 'boot' },
      { op: 'spawn', name: 'vmm' },
      { op: 'memfd_create', process: 'vmm', name: 'guest-ram', size: '8M' }, // fd 3
      { op: 'write', process: 'vmm', fd: 3, data: { random: true } },
      { op: 'memfd_create', process: 'vmm', name: 'vmm-state' }, // fd 4
      { op: 'save_checksums', process: 'vmm', fd: 3, into_fd: 4 },
      { op: 'luo_open', process: 'vmm' }, // fd 5
      { op: 'luo_create_session', process: 'vmm', fd: 5, name: 'vmm' }, // fd 6
      { op: 'luo_preserve_fd', process: 'vmm', session_fd: 6, fd: 3, token: '0x100' },
      { op: 'luo_preserve_fd', process: 'vmm', session_fd: 6, fd: 4, token: 1 },
      { op: 'kexec_load' },
      { op: 'reboot' },
      { op: 'boot' },
      { op: 'spawn', name: 'vmm' },
      { op: 'luo_open', process: 'vmm' }, // fd 3
      { op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'vmm' }, // fd 4
      { op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: '0x100' }, // fd 5
      { op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 1 }, // fd 6
      { op: 'expect_checksums', process: 'vmm', fd: 5, from_fd: 6 },
      { op: 'luo_finish', process: 'vmm', session_fd: 4 },
    ],
  },
  'luo-freeze-fails': {
    name: 'luo-freeze-fails',
    description:
      'A freeze fails inside reboot() (simulator fault injection: luo_fail_next_freeze): kexec -e reports the errno and the machine keeps running, but as in Linux 6.19 the rollback cleared the serialized data of the file frozen before, so a second kexec -e fails with EINVAL (memfd_luo_freeze warns), and closing the session leaks that file: its folios stay pinned and preserved.',
    machine: { ram: '1G', nodes: 1, seed: 1, cmdline: 'kho=on liveupdate=on' },
    steps: [
      { op: 'boot' },
      { op: 'spawn', name: 'vmm' },
      { op: 'memfd_create', process: 'vmm', name: 'first' }, // fd 3
      { op: 'write', process: 'vmm', fd: 3, data: { text: 'frozen, then unfrozen' } },
      { op: 'memfd_create', process: 'vmm', name: 'second' }, // fd 4
      { op: 'write', process: 'vmm', fd: 4, data: { text: 'its freeze fails' } },
      { op: 'luo_open', process: 'vmm' }, // fd 5
      { op: 'luo_create_session', process: 'vmm', fd: 5, name: 'test-session' }, // fd 6
      { op: 'luo_preserve_fd', process: 'vmm', session_fd: 6, fd: 3, token: 1 },
      { op: 'luo_preserve_fd', process: 'vmm', session_fd: 6, fd: 4, token: 2 },
      { op: 'kexec_load' },
      { op: 'luo_fail_next_freeze', errno: 'EIO', token: 2 },
      { op: 'reboot', expect: 'EIO' },
      { op: 'expect_content', process: 'vmm', fd: 3, text: 'frozen, then unfrozen' },
      { op: 'luo_preserve_fd', process: 'vmm', session_fd: 6, fd: 4, token: 2, expect: 'EEXIST' },
      { op: 'reboot', expect: 'EINVAL' },
      { op: 'close', process: 'vmm', fd: 6 },
    ],
  },
  'luo-unknown-format': {
    name: 'luo-unknown-format',
    description:
      "The next kernel lacks the memfd-v1 handler (luo.disable_handler=memfd-v1 on its command line). Linux 6.19.0 ignores the failed file deserialization: /dev/liveupdate opens, the session is retrieved, but the memfd is missing (RETRIEVE_FD is ENOENT) and closing the session warns; the memfd's pages stay reserved, leaked. On 7.0 (--kernel 7.0) luo_session_deserialize() returns the -ENOENT instead, and every open of /dev/liveupdate is EIO.",
    machine: { ram: '1G', nodes: 1, seed: 1, cmdline: 'kho=on liveupdate=on' },
    steps: [
      { op: 'boot' },
      ...helloPreserved(),
      { op: 'kexec_load', cmdline: 'kho=on liveupdate=on luo.disable_handler=memfd-v1' },
      { op: 'reboot' },
      { op: 'boot' },
      { op: 'spawn', name: 'luo-test' },
      { op: 'luo_open', process: 'luo-test' }, // fd 3
      { op: 'luo_retrieve_session', process: 'luo-test', fd: 3, name: 'test-session' }, // fd 4
      { op: 'luo_retrieve_fd', process: 'luo-test', session_fd: 4, token: '0x1A', expect: 'ENOENT' },
      { op: 'close', process: 'luo-test', fd: 4 },
    ],
  },
  'luo-memfd-formats': {
    name: 'luo-memfd-formats',
    description:
      'The memfd debate on one machine: a kernel writing the v3 per-file FDT (luo.memfd_format=memfd-fdt-v1) refuses a 1 GiB memfd of 4 KiB folios (ENOMEM: the FDT would exceed MAX_PAGE_ORDER) but carries a small one; the next kernel, which writes KHO arrays, retrieves it by its compatible and preserves it again as memfd-karr-v1; a third kernel, built without the v3 handler, still reads it back, because the file now carries memfd-karr-v1.',
    machine: {
      ram: '4G',
      nodes: 1,
      seed: 3,
      cmdline: 'kho=on liveupdate=on kho_scratch=256M,512M,256M luo.memfd_format=memfd-fdt-v1',
    },
    steps: [
      { op: 'boot' },
      { op: 'spawn', name: 'vmm' },
      { op: 'memfd_create', process: 'vmm', name: 'big-guest' }, // fd 3
      { op: 'fallocate', process: 'vmm', fd: 3, length: '1G' },
      { op: 'memfd_create', process: 'vmm', name: 'guest' }, // fd 4
      { op: 'write', process: 'vmm', fd: 4, data: { text: 'carried in three formats' } },
      { op: 'luo_open', process: 'vmm' }, // fd 5
      { op: 'luo_create_session', process: 'vmm', fd: 5, name: 'vm' }, // fd 6
      { op: 'luo_preserve_fd', process: 'vmm', session_fd: 6, fd: 3, token: 1, expect: 'ENOMEM' },
      { op: 'luo_preserve_fd', process: 'vmm', session_fd: 6, fd: 4, token: 2 },
      { op: 'kexec_load', cmdline: 'kho=on liveupdate=on kho_scratch=256M,512M,256M luo.memfd_format=memfd-karr-v1' },
      { op: 'reboot' },
      { op: 'boot' },
      { op: 'spawn', name: 'vmm' },
      { op: 'luo_open', process: 'vmm' }, // fd 3
      { op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'vm' }, // fd 4
      { op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 2 }, // fd 5
      { op: 'expect_content', process: 'vmm', fd: 5, text: 'carried in three formats' },
      { op: 'luo_finish', process: 'vmm', session_fd: 4 },
      { op: 'luo_create_session', process: 'vmm', fd: 3, name: 'vm' }, // fd 6
      { op: 'luo_preserve_fd', process: 'vmm', session_fd: 6, fd: 5, token: 2 },
      { op: 'kexec_load', cmdline: 'kho=on liveupdate=on kho_scratch=256M,512M,256M luo.disable_handler=memfd-fdt-v1' },
      { op: 'reboot' },
      { op: 'boot' },
      { op: 'spawn', name: 'vmm' },
      { op: 'luo_open', process: 'vmm' }, // fd 3
      { op: 'luo_retrieve_session', process: 'vmm', fd: 3, name: 'vm' }, // fd 4
      { op: 'luo_retrieve_fd', process: 'vmm', session_fd: 4, token: 2 }, // fd 5
      { op: 'expect_content', process: 'vmm', fd: 5, text: 'carried in three formats' },
      { op: 'luo_finish', process: 'vmm', session_fd: 4 },
    ],
  },
  'kho-chain': {
    name: 'kho-chain',
    description:
      'Three kernels: test_kho data preserved by kernel 1, verified and preserved again by kernel 2, verified by kernel 3.',
    machine: { ram: '2G', nodes: 2, seed: 5, cmdline: 'kho=on kho_scratch=200%' },
    steps: [{ op: 'boot' }, ...kexecCycle({}), ...kexecCycle({ chain: true }), { op: 'insmod', module: 'test_kho' }],
  },
  ...BUILTIN_SCENARIOS_7X,
};
