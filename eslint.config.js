import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'results/', 'test-artifacts/', 'probe*.ts'] },
  { languageOptions: { globals: globals.node } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // src/sim and src/stats stay pure: no file system, no printing (STYLE habit 2).
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['src/sim/**/*.ts', 'src/stats/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...['fs', 'node:fs', 'fs/promises', 'node:fs/promises'],
            // Experiments reach the model format through src/engine/onnx/proto.ts.
            { name: 'onnx-proto', message: 'reach engines through src/engine/' },
          ],
        },
      ],
      'no-console': 'error',
    },
  },
);
