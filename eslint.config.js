// Lint, run by `npm test` (`npm run lint`). The layer rules keep the pure
// stages pure: they import no I/O module, no logger and no agent wiring.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const io = [
  'node:fs',
  'node:fs/promises',
  'node:net',
  'node:http',
  'node:https',
  'node:dgram',
  'node:child_process',
  'raw-socket',
  'cloudflare',
  '@aws-sdk/client-route-53',
  'libp2p',
  'pino',
];
const wiring = ['**/agent.js', '**/log.js', '**/cli/*', '**/status/server.js'];

export default tseslint.config(
  { ignores: ['dist/**', 'bench/dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        performance: 'readonly',
        fetch: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Pure cores: time is passed in, nothing is read or written, nothing is logged.
    files: [
      'src/model.ts',
      'src/detect/**/*.ts',
      'src/quorum/**/*.ts',
      'src/dns/plan.ts',
      'src/dns/policies.ts',
      'src/dns/batch.ts',
      'src/dns/route53-sets.ts',
      'src/backoff.ts',
      'src/gossip/codec.ts',
      'src/gossip/validate.ts',
      'src/gossip/gate.ts',
      'src/config/validate.ts',
      'src/config/fields.ts',
      'src/config/redefinition.ts',
      'src/notify/channels.ts',
      'src/audit/chain.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: io.map((name) => ({ name, message: 'a pure stage does no I/O: pass the result in' })),
          patterns: [{ group: wiring, message: 'a pure stage imports no logger, CLI or agent wiring' }],
        },
      ],
    },
  },
);
