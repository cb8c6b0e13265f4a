#!/usr/bin/env node
// `npm test`: type-check and build (some tests run dist/cli.js as a real
// process), run vitest, then print one plain summary line
// ("tests: N passed, N failed, N skipped") that CI and humans can read.
// Extra arguments go to vitest: `npm test -- test/router`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const bin = (name) => path.join('node_modules', '.bin', name);
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit' }).status ?? 1;

const tsc = run(bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']) || run(bin('tsc'), ['-p', 'tsconfig.build.json']);
if (tsc !== 0) {
  console.log('tests: 0 passed, 1 failed (type check or build failed)');
  process.exit(tsc);
}

const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-vitest-')), 'results.json');
const status = run(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)]);
try {
  const r = JSON.parse(fs.readFileSync(out, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (r.numFailedTests === 0 && r.numFailedTestSuites > 0) console.log(`(${r.numFailedTestSuites} test files failed to load)`);
  else if (r.numFailedTests === 0 && status !== 0) console.log('(vitest failed outside the tests: see its "Unhandled Errors" above)');
} catch {
  console.log('tests: 0 passed, 1 failed (vitest wrote no results)');
  process.exit(status || 1);
}
process.exit(status);
