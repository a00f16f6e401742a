#!/usr/bin/env node
// The `notice-relay` command. tsx compiles the TypeScript sources as they load, so a fresh clone runs
// without a build step.
require('tsx/cjs');
const { run } = require('./main.ts');

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
