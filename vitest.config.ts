import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { playwright } from '@vitest/browser-playwright';

/** Debian's Chromium: tests never download a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * 1 TiB and 4 TiB machines (test/slow): minutes and gigabytes each, so only when KHO_LAB_SLOW is
 * set — CI runs them once, alone, after the other projects (.ci/run).
 */
const slow = {
  test: {
    name: 'slow',
    environment: 'node',
    include: ['test/slow/**/*.test.ts'],
    testTimeout: 1_800_000,
    fileParallelism: false,
  },
};

export default defineConfig({
  test: {
    projects: [
      ...(process.env.KHO_LAB_SLOW ? [slow] : []),
      {
        test: {
          name: 'unit',
          environment: 'node',
          include: ['test/unit/**/*.test.ts', 'test/abi/**/*.test.ts'],
          setupFiles: ['test/fast-check-seed.ts'],
          testTimeout: 60_000,
        },
      },
      {
        // Boots ../shared/realkernel in QEMU once (test/realkernel/harness.ts); skips without it.
        test: {
          name: 'realkernel',
          environment: 'node',
          include: ['test/realkernel/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
      {
        plugins: [svelte()],
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // Whole-app tests run the engine in the page; on a shared, loaded machine they take a while.
          testTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({ launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } }),
            instances: [{ browser: 'chromium' }],
            screenshotFailures: false,
          },
        },
      },
      {
        // The desktop app in a real Electron; skips, saying why, where the binary is missing.
        test: {
          name: 'electron',
          environment: 'node',
          include: ['test/electron/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 240_000,
        },
      },
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
