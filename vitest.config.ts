import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'topology/**/*.test.ts',
      'operators/**/*.test.ts',
      'state/**/*.test.ts',
      'src/**/*.test.ts',
      'test/**/*.test.ts',
      'k8s/**/*.test.ts',
    ],
    setupFiles: ['test/setup-domains.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
