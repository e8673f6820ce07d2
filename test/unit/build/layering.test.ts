/**
 * The house rules that `npm run typecheck` runs after tsc bite: layering, lint and format.
 *
 * The layering rules of .dependency-cruiser.cjs: dependency-cruiser runs, with the project's own
 * config, over a throw-away tree laid out like the project, in which each forbidden import sits in its
 * own file next to the allowed imports that look like it. Every forbidden file must be reported under
 * its rule, and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(__dirname, '../../..');
const BIN = fileURLToPath(new URL('../../bin/dependency-cruise.mjs', import.meta.resolve('dependency-cruiser')));
const tmp = mkdtempSync(path.join(tmpdir(), 'kholab-layering-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The fixture tree: path → source. Files named `bad-*` hold exactly one forbidden import. */
const TREE: Record<string, string> = {
  'shared/units.ts': 'export const PAGE_SIZE = 4096;\n',
  'shared/views.ts': 'export interface View { n: number }\nexport const ViewSchema = { n: 0 };\n',
  'shared/bad-imports-host.ts': "import { host } from '../electron/host/h';\nexport const x = host;\n",

  'electron/kernel/k.ts':
    "import { PAGE_SIZE } from '../../shared/units';\nimport type { View } from '../../shared/views';\n" +
    'export const k = (v: View) => v.n * PAGE_SIZE;\n',
  'electron/kernel/bad-imports-host.ts': "import { host } from '../host/h';\nexport const x = host;\n",
  'electron/kernel/bad-value-from-views.ts':
    "import { ViewSchema } from '../../shared/views';\nexport const x = ViewSchema;\n",
  // The kernel's one package; node_modules is a symlink, as in a worktree that borrows another's.
  'electron/kernel/rng.ts': "import { seed } from 'pure-rand';\nexport const rng = seed;\n",
  'electron/kernel/bad-npm.ts': "import { pad } from 'left-pad';\nexport const x = pad;\n",
  'electron/kernel/bad-node.ts': "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",
  // A cycle closed by `import type` is allowed; one made of value imports only is not.
  'electron/kernel/typed-a.ts':
    "import type { B } from './typed-b';\nexport interface A { b?: B }\nexport const a = 1;\n",
  'electron/kernel/typed-b.ts':
    "import { a } from './typed-a';\nexport interface B { n: number }\nexport const b = a;\n",
  'electron/kernel/bad-cycle-a.ts': "import { d } from './cycle-b';\nexport const c = 1;\nexport const e = d;\n",
  'electron/kernel/cycle-b.ts': "import { c } from './bad-cycle-a';\nexport const d = c;\n",

  'electron/host/h.ts':
    "import { k } from '../kernel/k';\nimport { PAGE_SIZE } from '../../shared/units';\nexport const host = [k, PAGE_SIZE];\n",
  'electron/host/bad-imports-shell.ts': "import { main } from '../main';\nexport const x = main;\n",
  'electron/host/dump/bad-node.ts': "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",

  'electron/main.ts':
    "import { host } from './host/h';\nimport { readFileSync } from 'node:fs';\nexport const main = [host, readFileSync];\n",
  'electron/csp.ts': 'export const CSP = "default-src \'self\'";\n',
  'electron/bad-imports-renderer.ts': "import { app } from '../renderer/src/app';\nexport const x = app;\n",

  'renderer/vite.config.ts': "import { CSP } from '../electron/csp';\nexport default { CSP };\n",
  'renderer/src/app.ts': "import { PAGE_SIZE } from '../../shared/units';\nexport const app = PAGE_SIZE;\n",
  'renderer/src/bad-imports-host.ts': "import { host } from '../../electron/host/h';\nexport const x = host;\n",
  'renderer/src/bad-imports-csp.ts': "import { CSP } from '../../electron/csp';\nexport const x = CSP;\n",
  'renderer/src/preview/worker.ts':
    "import { host } from '../../../electron/host/h';\nimport { PAGE_SIZE } from '../../../shared/units';\n" +
    'export const w = [host, PAGE_SIZE];\n',
  'renderer/src/preview/bad-imports-kernel.ts':
    "import { k } from '../../../electron/kernel/k';\nexport const x = k;\n",
};

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}
let status: number | null = null;
let violations: Violation[] = [];

function depcruise(...args: string[]) {
  return spawnSync(
    process.execPath,
    [BIN, 'electron', 'shared', 'renderer', '--config', '.dependency-cruiser.cjs', ...args],
    {
      cwd: tmp,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
}

beforeAll(() => {
  for (const [file, text] of Object.entries(TREE)) {
    mkdirSync(path.dirname(path.join(tmp, file)), { recursive: true });
    writeFileSync(path.join(tmp, file), text);
  }
  for (const pkg of ['pure-rand', 'left-pad']) {
    mkdirSync(path.join(tmp, 'modules', pkg), { recursive: true });
    writeFileSync(path.join(tmp, 'modules', pkg, 'package.json'), JSON.stringify({ name: pkg, main: 'index.js' }));
    writeFileSync(path.join(tmp, 'modules', pkg, 'index.js'), 'exports.seed = exports.pad = 1;\n');
  }
  symlinkSync(path.join(tmp, 'modules'), path.join(tmp, 'node_modules'));
  copyFileSync(path.join(ROOT, '.dependency-cruiser.cjs'), path.join(tmp, '.dependency-cruiser.cjs'));
  writeFileSync(path.join(tmp, 'tsconfig.json'), JSON.stringify({ extends: path.join(ROOT, 'tsconfig.base.json') }));
  // As `npm run depcruise` runs it (the text reporter sets the exit status), then as JSON for the details.
  status = depcruise().status;
  const run = depcruise('--output-type', 'json');
  if (!run.stdout) throw new Error(`dependency-cruiser printed nothing: ${run.stderr}`);
  violations = (JSON.parse(run.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}, 120_000);

describe('.dependency-cruiser.cjs: the layering rules', () => {
  it('exits non-zero, so `npm run typecheck` fails on a forbidden import', () => {
    expect(status).not.toBe(0);
  });

  it('reports each forbidden import under its rule, and nothing else', () => {
    const found = violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
    expect(found).toEqual(
      [
        'shell-no-renderer: electron/bad-imports-renderer.ts -> renderer/src/app.ts',
        'engine-no-node-builtins: electron/host/dump/bad-node.ts -> fs',
        'engine-no-node-builtins: electron/kernel/bad-node.ts -> fs',
        'host-imports-kernel-and-shared: electron/host/bad-imports-shell.ts -> electron/main.ts',
        'kernel-imports-only-kernel: electron/kernel/bad-imports-host.ts -> electron/host/h.ts',
        'kernel-npm-only-pure-rand: electron/kernel/bad-npm.ts -> node_modules/left-pad/index.js',
        'kernel-shared-types-only: electron/kernel/bad-value-from-views.ts -> shared/views.ts',
        'no-cycles-except-type-only: electron/kernel/bad-cycle-a.ts -> electron/kernel/cycle-b.ts',
        'renderer-preview-only-host: renderer/src/preview/bad-imports-kernel.ts -> electron/kernel/k.ts',
        'renderer-imports-only-shared: renderer/src/bad-imports-csp.ts -> electron/csp.ts',
        'renderer-imports-only-shared: renderer/src/bad-imports-host.ts -> electron/host/h.ts',
        'shared-imports-only-shared: shared/bad-imports-host.ts -> electron/host/h.ts',
      ].sort(),
    );
  });

  it('every file named bad-* is caught', () => {
    const bad = Object.keys(TREE).filter((f) => path.basename(f).startsWith('bad-'));
    expect(bad.filter((f) => !violations.some((v) => v.from === f))).toEqual([]);
  });
});

describe('eslint.config.js and .prettierrc.json: lint and format errors fail the check', () => {
  it('eslint reports an error (prefer-const) in a TypeScript file of the engine', async () => {
    const { ESLint } = await import('eslint');
    const [result] = await new ESLint({ cwd: ROOT }).lintText('let page = 1;\nexport const next = page + 1;\n', {
      filePath: path.join(ROOT, 'electron/kernel/lint-fixture.ts'),
    });
    expect(result!.errorCount).toBeGreaterThan(0);
    expect(result!.messages.map((m) => m.ruleId)).toContain('prefer-const');
  }, 60_000);

  it('eslint accepts the underscore convention for unused parameters', async () => {
    const { ESLint } = await import('eslint');
    const [result] = await new ESLint({ cwd: ROOT }).lintText('export const f = (_unused: number): number => 1;\n', {
      filePath: path.join(ROOT, 'electron/kernel/lint-fixture.ts'),
    });
    expect(result!.messages).toEqual([]);
  }, 60_000);

  it('prettier finds a badly formatted file, and accepts it once formatted (printWidth 120)', async () => {
    const prettier = await import('prettier');
    const file = path.join(ROOT, 'electron/kernel/format-fixture.ts');
    const options = { ...(await prettier.resolveConfig(file)), filepath: file };
    expect(options.printWidth).toBe(120);
    const messy = 'export const  x = {a:1,\n b: "two"}\n';
    expect(await prettier.check(messy, options)).toBe(false);
    expect(await prettier.format(messy, options)).toBe("export const x = { a: 1, b: 'two' };\n");
  }, 60_000);

  it('prettier formats Svelte components through prettier-plugin-svelte', async () => {
    const prettier = await import('prettier');
    const file = path.join(ROOT, 'renderer/src/components/Fixture.svelte');
    const options = { ...(await prettier.resolveConfig(file)), filepath: file };
    expect(await prettier.check('<script lang="ts">let  a=1</script>\n<p>{a}</p>\n', options)).toBe(false);
  }, 60_000);
});
