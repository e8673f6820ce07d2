import { describe, expect, it } from 'vitest';
import type { CommandInput } from '../../../shared/commands';
import type { StepInfo } from '../../../shared/views';
import {
  createFilledMemfd,
  fdFromStep,
  liveProcesses,
  liveTags,
  liveVmallocs,
} from '../../../renderer/src/lib/workload';

const step = (command: Record<string, unknown>, ok = true, message = '', errno?: string, returned?: number): StepInfo =>
  ({
    index: 0,
    label: String(command.op),
    command,
    ok,
    message,
    ...(errno ? { errno } : {}),
    ...(returned !== undefined ? { returned } : {}),
  }) as unknown as StepInfo;

describe('workload state from the timeline', () => {
  const steps = [
    step({ op: 'boot' }),
    step({ op: 'spawn', name: 'vmm' }),
    step({ op: 'spawn', name: 'qemu' }),
    step({ op: 'alloc_pages', tag: 'a', order: 0, count: 4, gfp: 'GFP_KERNEL' }),
    step({ op: 'alloc_pages', tag: 'b', order: 0, count: 4, gfp: 'GFP_KERNEL' }),
    step({ op: 'free_pages', tag: 'a', every: 2 }),
    step({ op: 'free_pages', tag: 'b', every: 1 }),
    step({ op: 'vmalloc', name: 'x', size: 4096 }),
    step({ op: 'vmalloc', name: 'y', size: 4096 }, false, '', 'ENOMEM'),
    step({ op: 'exit', process: 'qemu' }),
  ];

  it('follows spawn/exit, alloc/free and vmalloc/vfree up to the cursor only', () => {
    expect([...liveProcesses(steps, steps.length)]).toEqual(['vmm']);
    expect([...liveProcesses(steps, 3)].sort()).toEqual(['qemu', 'vmm']);
    expect(liveTags(steps, steps.length)).toEqual(['a']);
    expect(liveTags(steps, 5)).toEqual(['a', 'b']);
    expect(liveVmallocs(steps, steps.length)).toEqual(['x']);
  });

  it('reads the fd a memfd_create step returned', () => {
    expect(
      fdFromStep(step({ op: 'memfd_create', process: 'vmm', name: 'r' }, true, 'fd 3 → memfd:r', undefined, 3)),
    ).toBe(3);
    expect(
      fdFromStep(step({ op: 'memfd_create', process: 'vmm', name: 'r' }, true, 'fd 5 → memfd:r', undefined, 5)),
    ).toBe(5);
    expect(fdFromStep(step({ op: 'memfd_create', process: 'vmm', name: 'r' }, true, 'no value'))).toBeNull();
    expect(fdFromStep(step({ op: 'memfd_create', process: 'vmm', name: 'r' }, false, '', 'ENOMEM'))).toBeNull();
    expect(fdFromStep(step({ op: 'spawn', name: 'vmm' }, true, 'vmm is pid 1000', undefined, 1000))).toBeNull();
  });
});

describe('createFilledMemfd', () => {
  function fakeRun(answers: Record<string, StepInfo>) {
    const sent: CommandInput[] = [];
    const run = async (c: CommandInput) => {
      sent.push(c);
      return { ok: true as const, value: { step: answers[c.op] ?? step(c as unknown as Record<string, unknown>) } };
    };
    return { sent, run };
  }

  it('spawns when the process is absent, then creates and fills the memfd', async () => {
    const { sent, run } = fakeRun({
      memfd_create: step({ op: 'memfd_create' }, true, 'fd 4 → memfd:ram', undefined, 4),
    });
    const fd = await createFilledMemfd(run, [], 0, { process: 'vmm', name: 'ram', size: 64 << 20 });
    expect(fd).toBe(4);
    expect(sent.map((c) => c.op)).toEqual(['spawn', 'memfd_create', 'write']);
    expect(sent[2]).toMatchObject({ process: 'vmm', fd: 4, length: 64 << 20, data: { random: true } });
  });

  it('does not spawn a live process, and stops at a refused memfd_create', async () => {
    const { sent, run } = fakeRun({ memfd_create: step({ op: 'memfd_create' }, false, '', 'ENOMEM') });
    const fd = await createFilledMemfd(run, [step({ op: 'spawn', name: 'vmm' })], 1, {
      process: 'vmm',
      name: 'ram',
      size: 1 << 20,
    });
    expect(fd).toBeNull();
    expect(sent.map((c) => c.op)).toEqual(['memfd_create']);
  });
});

describe('fd table replay', () => {
  it('hands out the lowest free fd from 3, honours close and exit', async () => {
    const { openFds } = await import('../../../renderer/src/lib/workload');
    const steps = [
      step({ op: 'spawn', name: 'vmm' }),
      step({ op: 'memfd_create', process: 'vmm', name: 'a' }, true, 'created'),
      step({ op: 'memfd_create', process: 'vmm', name: 'b' }, true, 'created'),
      step({ op: 'memfd_create', process: 'vmm', name: 'c' }, false, '', 'EMFILE'),
      step({ op: 'close', process: 'vmm', fd: 3 }),
      step({ op: 'memfd_create', process: 'other', name: 'x' }, true, 'created'),
    ];
    expect([...openFds(steps, steps.length, 'vmm')]).toEqual([4]);
    expect([...openFds(steps, 3, 'vmm')]).toEqual([3, 4]);
    expect([...openFds(steps, steps.length, 'other')]).toEqual([3]);
    expect([...openFds([...steps, step({ op: 'exit', process: 'vmm' })], 7, 'vmm')]).toEqual([]);
  });

  it('createFilledMemfd writes to the replayed fd when the step does not return one', async () => {
    const sent: CommandInput[] = [];
    const run = async (c: CommandInput) => {
      sent.push(c);
      return { ok: true as const, value: { step: step(c as unknown as Record<string, unknown>, true, 'ok') } };
    };
    const history = [
      step({ op: 'spawn', name: 'vmm' }),
      step({ op: 'memfd_create', process: 'vmm', name: 'a' }, true, 'ok'),
    ];
    expect(await createFilledMemfd(run, history, 2, { process: 'vmm', name: 'b', size: 4096 })).toBe(4);
    expect(sent.at(-1)).toMatchObject({ op: 'write', fd: 4 });
  });
});
