import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('npm run bench, shortest run', () => {
  it.skipIf(!fs.existsSync(path.join(ROOT, 'dist', 'cli.js')))(
    'checks, measures direct and tidegate, writes the table and exits 0',
    () => {
      const results = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
      const run = spawnSync(process.execPath, ['bench/run.js', 'proxy'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 25_000,
        env: { ...process.env, SCENARIOS: 'get-100c', CONNS: '10', DURATION: '1', WARMUP: '0', TOOLS: 'autocannon', LAYOUT: 'shared', RESULTS_DIR: results },
      });
      expect(run.status, run.stdout + run.stderr).toBe(0);
      const files = fs.readdirSync(results);
      expect(files.filter((f) => f.endsWith('-proxy.md'))).toHaveLength(1);
      expect(files.filter((f) => f.endsWith('-proxy.json'))).toHaveLength(1);
      const md = fs.readFileSync(path.join(results, files.find((f) => f.endsWith('.md'))!), 'utf8');
      expect(md).toMatch(/\| get-10c \| direct \| autocannon \| [\d,]+ \| 1\.00 \|/);
      expect(md).toMatch(/\| get-10c \| tidegate \| autocannon \| [\d,]+ \| \d\.\d\d \|/);
      expect(run.stdout).toMatch(/proxy get-10c: tidegate [\d,]+ req\/s = \d\.\d\d × direct/);
    },
    30_000,
  );
});
