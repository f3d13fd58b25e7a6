// ESLint (flat config): `npm run lint`. Type-aware rules over every TypeScript folder; the boundaries
// of the architecture (docs/ARCHITECTURE.md) as rules: no import cycles, and src/ir imports nothing
// from the lowering, the targets, the API or the runtime.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/build/**', 'examples/browser/dist/**', 'grammar/diagrams.html', '**/*.d.mts', 'docs/api/**', 'out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  importX.flatConfigs.typescript,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      // a switch over a union must name every member (a missing case is a compile-time error)
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false }],
      // every promise is awaited, returned or explicitly voided
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // errors re-thrown as one-line user messages (InputError, diagnostics) are not chains
      'preserve-caught-error': 'off',
      // unused names are the compiler's job (noUnusedLocals, noUnusedParameters in tsconfig.json)
      '@typescript-eslint/no-unused-vars': 'off',
    },
  },
  {
    files: ['src/ir/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)(lower|targets|api|runtime)/',
              message: 'src/ir is the bottom layer: it imports nothing from src/lower, src/targets, src/api or runtime/ (docs/ARCHITECTURE.md).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.{js,mjs}'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly', setTimeout: 'readonly', Buffer: 'readonly', performance: 'readonly' } },
  },
  {
    // the command line's loader: CommonJS (see its header)
    files: ['bin/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly', console: 'readonly', process: 'readonly', Buffer: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // the VS Code extension's client: plain CommonJS, run by VS Code's Node
    files: ['editors/vscode/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
