/**
 * The layering rules, checked by `npm run depcruise` (part of `npm run typecheck`).
 *
 *   shared/          contracts (schemas, view types, units): imports nothing of ours but itself
 *   electron/kernel  the simulated kernel: itself, pure-rand, and the few shared/ modules listed below
 *   electron/host    the engine around the kernel: kernel + shared
 *   electron/*.ts    the desktop shell: anything under electron/ + shared
 *   renderer/        draws: shared/ only, with the exceptions listed in RENDERER_EXCEPTIONS
 *
 * Cycles are allowed only when some edge of the cycle is `import type` (erased at build time).
 * The per-layer tsconfigs cannot enforce any of this: a relative import pulls the imported file
 * into the program whatever `include` says.
 */

/** shared/ modules the kernel may import by value: constants and pure helpers, no zod. */
const KERNEL_SHARED_VALUES = ['shared/units\\.ts$'];
/** shared/ modules the kernel may import as types only (their values are zod schemas). */
const KERNEL_SHARED_TYPES = ['shared/views\\.ts$', 'shared/machine-config\\.ts$', 'shared/commands\\.ts$'];

/** The renderer's only ways out of shared/, each for one reason. */
const RENDERER_EXCEPTIONS = [
  // The Vite config sets the one CSP, defined for main and dev server alike.
  { name: 'renderer-vite-config-only-csp', from: '^renderer/vite\\.config\\.ts$', to: '^electron/csp\\.ts$' },
  // `npm run preview` runs the engine in a web worker instead of Electron's utility process.
  {
    name: 'renderer-preview-only-host',
    from: '^renderer/src/preview/',
    to: '^electron/host/',
  },
];

const ours = '^(shared|electron|renderer)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'shared-imports-only-shared',
      comment: 'shared/ is the contract both sides read; it must not depend on either side.',
      severity: 'error',
      from: { path: '^shared/' },
      to: { path: ours, pathNot: '^shared/' },
    },
    {
      name: 'kernel-imports-only-kernel',
      comment: 'The kernel sees only itself and the shared/ modules listed in KERNEL_SHARED_*.',
      severity: 'error',
      from: { path: '^electron/kernel/' },
      to: { path: ours, pathNot: ['^electron/kernel/', ...KERNEL_SHARED_VALUES, ...KERNEL_SHARED_TYPES] },
    },
    {
      name: 'kernel-does-not-paint',
      comment:
        'The kernel reports page-state changes as range events (mm/page-trace.ts); the host owns the map ' +
        'and its palette. Nothing in electron/kernel knows a colour or a map category.',
      severity: 'error',
      from: { path: '^electron/kernel/' },
      to: { path: ['^shared/palette\\.ts$', '^renderer/', '^electron/host/category-map\\.ts$'] },
    },
    {
      name: 'kernel-shared-types-only',
      comment: 'These shared/ modules hold zod schemas; the kernel takes only their types.',
      severity: 'error',
      from: { path: '^electron/kernel/' },
      to: { path: KERNEL_SHARED_TYPES, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'kernel-npm-only-pure-rand',
      comment: 'The kernel depends on no package but its RNG.',
      severity: 'error',
      from: { path: '^electron/kernel/' },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
        pathNot: '(^|/)node_modules/pure-rand/',
      },
    },
    {
      name: 'host-imports-kernel-and-shared',
      comment: 'The host drives the kernel and speaks shared/; it knows nothing of the shell or the renderer.',
      severity: 'error',
      from: { path: '^electron/host/' },
      to: { path: ours, pathNot: ['^electron/host/', '^electron/kernel/', '^shared/'] },
    },
    {
      name: 'engine-no-node-builtins',
      comment:
        'kernel, host (electron/host/dump/ included: it must run in the preview worker too), shared and the ' +
        'renderer app run outside Node; node:* belongs to the shell (electron/*.ts), build/ and test/.',
      severity: 'error',
      from: { path: ['^electron/kernel/', '^electron/host/', '^shared/', '^renderer/src/'] },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'shell-no-renderer',
      comment: 'The Electron shell loads the renderer as files, never as imports.',
      severity: 'error',
      from: { path: '^electron/' },
      to: { path: '^renderer/' },
    },
    {
      name: 'renderer-imports-only-shared',
      comment: 'The renderer draws what the host sends over shared/ contracts.',
      severity: 'error',
      from: { path: '^renderer/', pathNot: RENDERER_EXCEPTIONS.map((e) => e.from) },
      to: { path: ours, pathNot: ['^renderer/', '^shared/'] },
    },
    ...RENDERER_EXCEPTIONS.map((e) => ({
      name: e.name,
      comment: 'A listed exception to renderer-imports-only-shared reaches its one target and no other.',
      severity: 'error',
      from: { path: e.from },
      to: { path: ours, pathNot: ['^renderer/', '^shared/', e.to] },
    })),
    {
      name: 'no-cycles-except-type-only',
      comment: 'A cycle is tolerated only when one of its edges is `import type`, erased at build time.',
      severity: 'error',
      from: {},
      to: { circular: true, dependencyTypesNot: ['type-only'], viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing is a typo or a missing package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Worktrees often link node_modules to another checkout: keep its paths as `node_modules/...`.
    preserveSymlinks: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^dist', '^\\.bench/', '^test-results/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.svelte', '.json', '.d.ts'],
    },
    skipAnalysisNotInRules: false,
  },
};
