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
              // Pure helpers that workflows may run live in files named *.pure.ts (from any depth of workflows/).
              regex: '^(\\.\\./)+src/(?!temporal/searchAttributes$)(?!.*\\.pure$)',
              allowTypeImports: true,
              message: 'workflows import only types and pure helpers (*.pure.ts)',
            },
            { regex: '^(\\.\\./)+activities(/|$)', allowTypeImports: true, message: 'workflows import activity types only' },
            { regex: '^(\\.\\./)+lab(/|$)', message: 'the lab is a tool, not part of the product' },
          ],
        },
      ],
    },
  },
  {
    // The product never depends on the lab (a tool that runs it).
    files: ['activities/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(\\.\\./)+lab(/|$)', message: 'activities/ never import the lab: register an adapter from lab/ instead' },
          ],
        },
      ],
    },
  },
  {
    // The domain: it knows neither the lab nor its Temporal wrappers (the worker loads activities by path).
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(\\.\\./)+lab(/|$)', message: 'src/ never imports the lab: register an adapter from lab/ instead' },
            { regex: '^(\\.\\./)+(activities|workflows)(/|$)', allowTypeImports: true, message: 'src/ is the domain: it never imports activities/ or workflows/ (types only)' },
          ],
        },
      ],
    },
  },
);
