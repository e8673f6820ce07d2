/**
 * DOC: built-in scenarios
 *
 * Scenarios that ship with KHO Lab, runnable as `builtin:NAME` from the CLI and from the app.
 * Each is an ordinary scenario document, validated like a file.
 */
import type { CommandInput } from '../../shared/commands';
import type { ScenarioInput } from '../../shared/scenario';

/** test_kho in the running kernel, then finalize, `kexec -s -l`, `kexec -e` and boot the next kernel. */
function kexecCycle(params: { forget?: number; chain?: boolean }): CommandInput[] {
  return [
    { op: 'insmod', module: 'test_kho', params },
    { op: 'kho_finalize' },
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
    description: "lib/test_kho.c across a kexec: 8 MiB of random folios preserved, restored byte for byte; ends with 'KHO restore succeeded'.",
    machine: { ram: '1G', nodes: 1, seed: 1, cmdline: 'kho=on' },
    steps: [{ op: 'boot' }, ...kexecCycle({}), { op: 'insmod', module: 'test_kho' }],
  },
  'test-kho-forgot-one': {
    name: 'test-kho-forgot-one',
    description: 'test_kho with one folio never preserved: the next kernel cannot restore it and names the folio and its pfn.',
    machine: { ram: '1G', nodes: 1, seed: 1, cmdline: 'kho=on' },
    steps: [{ op: 'boot' }, ...kexecCycle({ forget: 3 }), { op: 'insmod', module: 'test_kho' }],
  },
  'luo-kexec-simple': {
    name: 'luo-kexec-simple',
    description:
      'The selftest luo_kexec_simple: a memfd holding "hello kexec world" preserved in session "test-session" with token 0x1A (memfd-v1), a kexec, then retrieved, compared and finished.',
    machine: { ram: '1G', nodes: 1, seed: 1, cmdline: 'kho=on' },
    steps: [
      { op: 'boot' },
      { op: 'spawn', name: 'luo-test' },
      { op: 'memfd_create', process: 'luo-test', name: 'test-memfd' },
      { op: 'write', process: 'luo-test', fd: 3, data: { text: 'hello kexec world' } },
      { op: 'luo_open', process: 'luo-test' },
      { op: 'luo_create_session', process: 'luo-test', fd: 4, name: 'test-session' },
      { op: 'luo_preserve_fd', process: 'luo-test', session_fd: 5, fd: 3, token: '0x1A' },
      { op: 'kexec_load' },
      { op: 'reboot' },
      { op: 'boot' },
      { op: 'spawn', name: 'luo-test' },
      { op: 'luo_open', process: 'luo-test' },
      { op: 'luo_retrieve_session', process: 'luo-test', fd: 3, name: 'test-session' },
      { op: 'luo_retrieve_fd', process: 'luo-test', session_fd: 4, token: '0x1A' },
      { op: 'expect_content', process: 'luo-test', fd: 5, text: 'hello kexec world' },
      { op: 'luo_finish', process: 'luo-test', session_fd: 4 },
    ],
  },
  'kho-chain': {
    name: 'kho-chain',
    description: 'Three kernels: test_kho data preserved by kernel 1, verified and preserved again by kernel 2, verified by kernel 3.',
    machine: { ram: '2G', nodes: 2, seed: 5, cmdline: 'kho=on kho_scratch=200%' },
    steps: [{ op: 'boot' }, ...kexecCycle({}), ...kexecCycle({ chain: true }), { op: 'insmod', module: 'test_kho' }],
  },
};
