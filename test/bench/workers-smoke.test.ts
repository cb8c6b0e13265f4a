import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NGINX = fs.existsSync('/usr/sbin/nginx');

interface LoopRow {
  target: string;
  reqPerSec: number;
  rssPeakMiB: number;
  processes: { pid: number; conns: number; cpuShare: number }[];
}

describe('node bench/run.js workers, shortest run', () => {
  it.skipIf(!fs.existsSync(path.join(ROOT, 'dist', 'bin', 'edge-worker.js')))(
    'measures tidegate with 1 and 2 loops (and nginx with 1 and 2 workers), counting every process of each',
    () => {
      const results = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-workers-smoke-'));
      const run = spawnSync(process.execPath, ['bench/run.js', 'workers'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 25_000,
        env: { ...process.env, SCENARIOS: 'get-100c', CONNS: '10', DURATION: '1', WARMUP: '0', TOOLS: 'autocannon', LAYOUT: 'shared', RESULTS_DIR: results },
      });
      expect(run.status, run.stdout + run.stderr).toBe(0);
      const json = fs.readdirSync(results).find((f) => f.endsWith('-workers.json'))!;
      const rows = (JSON.parse(fs.readFileSync(path.join(results, json), 'utf8')) as { loops: LoopRow[] }).loops;
      const row = (t: string): LoopRow => rows.find((r) => r.target === t)!;
      expect(rows.map((r) => r.target)).toEqual(['direct', 'tidegate-1', 'tidegate-2', ...(NGINX ? ['nginx-1', 'nginx-2'] : [])]);
      for (const r of rows) expect(r.reqPerSec).toBeGreaterThan(0);
      // Every client connection is found in some process of the target's tree.
      expect(row('tidegate-1').processes.map((p) => p.conns)).toEqual([10]);
      expect(row('tidegate-2').processes).toHaveLength(2);
      expect(row('tidegate-2').processes.reduce((n, p) => n + p.conns, 0)).toBe(10);
      // Two node processes: the memory of both is counted.
      expect(row('tidegate-2').rssPeakMiB).toBeGreaterThan(1.5 * row('tidegate-1').rssPeakMiB);
      if (NGINX) expect(row('nginx-2').processes).toHaveLength(3); // master and two workers
      const md = fs.readFileSync(path.join(results, json.replace(/json$/, 'md')), 'utf8');
      expect(md).toMatch(/\| get-10c \| autocannon \| tidegate-2 \| [\d,]+ \| \d\.\d\d \| \d\.\d\d \|/);
      expect(run.stdout).toMatch(/workers get-10c: tidegate-2 [\d,]+ req\/s = \d\.\d\d × tidegate-1/);
    },
    30_000,
  );
});
