import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TOOLS = ['/usr/sbin/nginx', '/usr/bin/h2load', '/usr/bin/wrk'];
const missing = [path.join(ROOT, 'dist', 'cli.js'), ...TOOLS].filter((f) => !fs.existsSync(f));

interface Row {
  scenario: string;
  target: string;
  reqPerSec: number;
  errors: number;
  tls: string | null;
}
interface Skip {
  scenario: string;
  target: string;
  reason: string;
}

describe('node bench/run.js tls, shortest run', () => {
  it.skipIf(missing.length > 0)(
    'measures direct and nginx in every scenario, and tidegate in each or says why not',
    () => {
      const results = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tls-smoke-'));
      const run = spawnSync(process.execPath, ['bench/run.js', 'tls'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 50_000,
        env: { ...process.env, CONNS: '4', DURATION: '1', WARMUP: '0', LAYOUT: 'shared', RESULTS_DIR: results },
      });
      expect(run.status, run.stdout + run.stderr).toBe(0);
      const json = fs.readdirSync(results).find((f) => f.endsWith('-tls.json'))!;
      const data = JSON.parse(fs.readFileSync(path.join(results, json), 'utf8')) as { rows: Row[]; skips: Skip[]; correctness: string[] };
      expect(data.correctness).toEqual([]);
      const row = (s: string, t: string): Row | undefined => data.rows.find((r) => r.scenario === s && r.target === t);
      const expected: [string, string[]][] = [
        ['https-get', ['direct', 'nginx', 'tidegate']],
        ['h2-tls', ['nginx', 'tidegate']],
        ['h2c', ['nginx', 'tidegate']],
        ['grpc-unary', ['direct', 'nginx', 'tidegate']],
      ];
      for (const [scenario, targets] of expected) {
        for (const target of targets) {
          const r = row(scenario, target);
          // tidegate's TLS / h2c / h2c-upstream may not be in this build: then a skip with serve's reason.
          if (!r && target === 'tidegate') {
            expect(data.skips.find((k) => k.scenario === scenario && k.target === target)?.reason, `${scenario} tidegate`).toMatch(/serve|tidegate/);
            continue;
          }
          expect(r, `${scenario} ${target}`).toBeDefined();
          expect(r!.reqPerSec).toBeGreaterThan(0);
          expect(r!.errors).toBe(0);
        }
      }
      expect(row('h2-tls', 'nginx')!.tls).toMatch(/^TLSv1\.3 /);
      expect(row('https-get', 'nginx')!.tls).toMatch(/^TLSv1\.3 /);
      expect(run.stdout).toMatch(/tls grpc-unary: nginx [\d,]+ req\/s = \d\.\d\d × direct/);
    },
    60_000,
  );
});
