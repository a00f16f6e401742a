// Runs the longest suites first, so that on two workers neither waits alone at the end. Jest orders by
// the durations it cached on an earlier run; a fresh clone (CI) has none and would order by file size,
// which puts the short soak file, the longest suite, last.
const Sequencer = require('@jest/test-sequencer').default;
const { basename } = require('node:path');

/** Milliseconds each long suite took on two cores, for a run with no cached durations. */
const EXPECTED_MS = {
  'reliability-soak.test.ts': 135_000,
  'relay-friendly.test.ts': 120_000,
  'delivery.test.ts': 90_000,
  'smtp-door.test.ts': 40_000,
  'local-runtime.test.ts': 32_000,
  'openapi-contract.test.ts': 30_000,
  'reliability-faults.test.ts': 23_000,
  'bundles.test.ts': 21_000,
  'console.test.ts': 25_000,
  'stack.test.ts': 18_000,
  'delivery-crash.test.ts': 16_000,
};

class LongestFirst extends Sequencer {
  time(test) {
    return super.time(test) ?? EXPECTED_MS[basename(test.path)] ?? 0;
  }
}

module.exports = LongestFirst;
