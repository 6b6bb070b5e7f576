import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'off',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node APIs, no clocks, no randomness.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'net', 'crypto'], message: 'workflow code must stay deterministic' },
            {
              // Pure helpers that workflows may run live in files named *.pure.ts.
              regex: '^\\.\\./src/(?!temporal/searchAttributes$)(?!.*\\.pure$)',
              allowTypeImports: true,
              message: 'workflows import only types and pure helpers (*.pure.ts)',
            },
            { group: ['../activities', '../activities/*'], allowTypeImports: true, message: 'workflows import activity types only' },
          ],
        },
      ],
    },
  },
);
