import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Row {
  scenario: string;
  target: string;
  msgPerSec: number;
  ratioDirect: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  rssOpenMiB: number;
}
interface Run {
  scenario: string;
  target: string;
  mode: string;
  opened: number;
  sent: number;
  messages: number;
}

describe('node bench/run.js websocket, shortest run', () => {
  it.skipIf(!fs.existsSync(path.join(ROOT, 'dist', 'cli.js')))(
    'echoes through direct and tidegate in both modes, with every figure in the result JSON',
    () => {
      const once = () => {
        const results = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ws-smoke-'));
        const run = spawnSync(process.execPath, ['bench/run.js', 'websocket'], {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: 25_000,
          env: { ...process.env, CONNS: '5', DURATION: '1', WARMUP: '0', LAYOUT: 'shared', RESULTS_DIR: results },
        });
        return { results, run };
      };
      // One more run when the first lost an echo: on 2026-12-02, on a machine loaded far past its
      // cores, one run in about ten saw tidegate close one of five sockets without a close frame
      // (1006) mid-echo. Not yet explained (docs/benchmarks.md, "WebSockets"); a second loss fails.
      let { results, run } = once();
      if (run.status !== 0 && /closed by the server: 1006/.test(run.stdout)) {
        console.warn(`websocket smoke: first run lost a socket (1006), running again:\n${run.stdout.split('\n').filter((l) => l.includes('1006')).join('\n')}`);
        ({ results, run } = once());
      }
      expect(run.status, run.stdout + run.stderr).toBe(0);
      const json = fs.readdirSync(results).filter((f) => f.endsWith('-websocket.json'));
      expect(json).toHaveLength(1);
      const data = JSON.parse(fs.readFileSync(path.join(results, json[0]!), 'utf8')) as { rows: Row[]; runs: Run[]; correctness: string[] };
      expect(data.correctness).toEqual([]);
      for (const scenario of ['ws-steady-5', 'ws-echo-5']) {
        for (const target of ['direct', 'tidegate']) {
          const row = data.rows.find((r) => r.scenario === scenario && r.target === target);
          expect(row, `${scenario} ${target}`).toBeDefined();
          expect(row!.errors).toBe(0);
          expect(row!.msgPerSec).toBeGreaterThan(0);
          expect(row!.p50Ms).toBeGreaterThan(0);
          expect(row!.p99Ms).toBeGreaterThanOrEqual(row!.p50Ms);
          expect(row!.rssOpenMiB).toBeGreaterThan(1);
          expect(Number.isFinite(row!.ratioDirect)).toBe(true);
          if (target === 'direct') expect(row!.ratioDirect).toBe(1);
        }
      }
      // Steady: one message a second per socket, every one echoed; echo: as fast as the echoes come back.
      for (const r of data.runs.filter((x) => x.mode === 'steady')) {
        expect(r.opened).toBe(5);
        expect(r.sent).toBeGreaterThanOrEqual(5);
        expect(r.sent).toBeLessThanOrEqual(10);
        expect(r.messages).toBe(r.sent);
      }
      for (const r of data.runs.filter((x) => x.mode === 'echo')) expect(r.messages).toBeGreaterThan(100);
      expect(run.stdout).toMatch(/websocket ws-echo-5: tidegate [\d,]+ msg\/s = \d\.\d\d × direct; RTT p50 \/ p99 [\d.]+ \/ [\d.]+ ms/);
    },
    60_000,
  );
});
