// Four suites (unit, integration, infra, browser), all offline; `npm test` runs every one.
const { availableParallelism } = require('node:os');

const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  setupFiles: ['<rootDir>/test/support/env.ts'],
};

/** @type {import('jest').Config} */
module.exports = {
  // The integration suites spend much of their time waiting on real timers (retry gaps, a rate limit's
  // minute, a give-up time), so a worker per core, and at least two, where Jest would leave one core idle.
  maxWorkers: Math.max(2, availableParallelism()),
  testSequencer: '<rootDir>/test/support/sequencer.cjs',
  // Real servers and second-scale retries on two busy workers: a test's own waits bound it, not Jest's
  // 5 s (a setting of the whole run: Jest does not take it per project).
  testTimeout: 30_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], slowTestThreshold: 30 },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'], slowTestThreshold: 60 },
    // The staff console in Debian's headless Chromium (test/support/browser.ts).
    { ...common, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'], slowTestThreshold: 60 },
  ],
};
