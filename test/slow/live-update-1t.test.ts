/**
 * Issue 13: a 1 TiB live update — a VMM's 768 GiB memfd of 2 MiB folios and 16 GiB of 4 KiB folios,
 * preserved with LUO (kernel/liveupdate/luo_file.c: luo_preserve_file(), mm/memfd_luo.c:
 * memfd_luo_preserve()), carried across kexec and retrieved by the next kernel, whose page
 * checksums must equal the ones the VMM saved before. Skips, saying why, on a host without the
 * memory (shared/machine-config.ts: hostMemoryFor()).
 */
import { describe, expect, it } from 'vitest';
import type { ScenarioInput } from '../../shared/scenario';
import { hostTooSmall, runScenario } from './big-machine';

const P = 'vmm';
const LIVE_UPDATE_1T: ScenarioInput = {
  name: 'live-update-1t',
  description: '768 GiB of 2 MiB folios and 16 GiB of 4 KiB folios carried across a live update on 1 TiB.',
  machine: { ram: '1T', cmdline: 'kho=on liveupdate=on' },
  steps: [
    { op: 'boot' },
    { op: 'spawn', name: P },
    { op: 'memfd_create', process: P, name: 'guest-huge' }, // fd 3
    { op: 'write', process: P, fd: 3, data: { random: true }, length: '768G', order: 9 },
    { op: 'memfd_create', process: P, name: 'guest-small' }, // fd 4
    { op: 'write', process: P, fd: 4, data: { random: true }, length: '16G' },
    { op: 'memfd_create', process: P, name: 'sums-huge' }, // fd 5
    { op: 'save_checksums', process: P, fd: 3, into_fd: 5 },
    { op: 'memfd_create', process: P, name: 'sums-small' }, // fd 6
    { op: 'save_checksums', process: P, fd: 4, into_fd: 6 },
    { op: 'luo_open', process: P }, // fd 7
    { op: 'luo_create_session', process: P, fd: 7, name: 'vm' }, // fd 8
    { op: 'luo_preserve_fd', process: P, session_fd: 8, fd: 3, token: 1 },
    { op: 'luo_preserve_fd', process: P, session_fd: 8, fd: 4, token: 2 },
    { op: 'luo_preserve_fd', process: P, session_fd: 8, fd: 5, token: 3 },
    { op: 'luo_preserve_fd', process: P, session_fd: 8, fd: 6, token: 4 },
    { op: 'kexec_load' },
    { op: 'reboot' },
    { op: 'boot' },
    { op: 'spawn', name: P },
    { op: 'luo_open', process: P }, // fd 3
    { op: 'luo_retrieve_session', process: P, fd: 3, name: 'vm' }, // fd 4
    { op: 'luo_retrieve_fd', process: P, session_fd: 4, token: 1 }, // fd 5
    { op: 'luo_retrieve_fd', process: P, session_fd: 4, token: 2 }, // fd 6
    { op: 'luo_retrieve_fd', process: P, session_fd: 4, token: 3 }, // fd 7
    { op: 'luo_retrieve_fd', process: P, session_fd: 4, token: 4 }, // fd 8
    { op: 'expect_checksums', process: P, fd: 5, from_fd: 7 },
    { op: 'expect_checksums', process: P, fd: 6, from_fd: 8 },
    { op: 'luo_finish', process: P, session_fd: 4 },
  ],
};

describe('1 TiB live update', () => {
  const why = hostTooSmall(LIVE_UPDATE_1T);
  it.skipIf(why !== null)(
    `memfd_luo_retrieve(): 768 GiB of 2 MiB folios + 16 GiB of 4 KiB folios keep their checksums${why ? ` (skipped: ${why})` : ''}`,
    () => {
      const steps: string[] = [];
      let peak = 0;
      const { m, failed } = runScenario(LIVE_UPDATE_1T, (c, ms) => {
        peak = Math.max(peak, process.memoryUsage().rss);
        steps.push(`${c.op} ${ms.toFixed(0)} ms`);
      });
      // maxRSS: the process's high-water mark, inside steps too (the samples see only between them).
      const hwm = process.resourceUsage().maxRSS * 1024;
      console.log(
        `1 TiB live update: ${steps.join(', ')}; peak RSS seen ${(peak / 2 ** 30).toFixed(1)} GiB, high-water mark ${(hwm / 2 ** 30).toFixed(2)} GiB`,
      );
      expect(failed).toBeNull();
      expect(m.kernel?.panicked ?? null).toBeNull();
    },
  );
});
