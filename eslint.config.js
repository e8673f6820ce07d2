// ESLint (flat config): JavaScript's and typescript-eslint's recommended rules, the Svelte plugin's for
// components, and a few house rules. Syntax-only (no type-aware rules): fast enough to run on every
// `npm run typecheck`, which already type-checks each layer with tsc and svelte-check.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

export default defineConfig(
  { ignores: ['node_modules/', 'dist/', 'dist-electron/', 'release/', 'test-results/', '.bench/', '.vite/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  // Prettier owns layout: the Svelte plugin's stylistic rules step aside (the others have none on).
  ...svelte.configs.prettier,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    // tsc and svelte-check resolve every name, types included (e.g. CanvasTextAlign); no-undef cannot.
    files: ['**/*.ts', '**/*.svelte'],
    rules: { 'no-undef': 'off' },
  },
  {
    // CommonJS files (electron-builder's config, a fake worker) load with require() by nature.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      // The same convention as tsc's noUnusedParameters: a leading underscore marks "unused on purpose".
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      // {' '} is how a Svelte template keeps a space that formatting would otherwise move or drop.
      'svelte/no-useless-mustaches': 'off',
    },
  },
);
