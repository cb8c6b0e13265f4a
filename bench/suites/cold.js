/**
 * Suite `cold`: cold-start overhead. For each of COLD_STARTS (20) cold
 * starts: wait until the revision is at zero pods, send one request, and
 * take (time to first response through tidegate) − (the app's own time from
 * process start to listening). What is left is tidegate's part: deciding to
 * scale, spawning, noticing readiness, releasing the buffered request.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { request } from '../lib/http.js';
import { markdownTable, fmt, suiteSection } from '../lib/report.js';
import { median, percentile } from '../lib/stats.js';
import { readyLines, startColdTidegate, waitForZeroPods } from '../lib/cold-target.js';
import { COLD_BODY } from '../lib/backend-body.js';

const GOAL_MS = 30;
const now = () => performance.timeOrigin + performance.now();

export async function run({ settings, dir, log }) {
  const correctness = [];
  const samples = [];
  const target = await startColdTidegate({ cpus: settings.serverCpus, dir });
  try {
    for (let i = 0; i < settings.coldStarts; i++) {
      await waitForZeroPods(target);
      const offset = fs.statSync(target.readyFile).size;
      const sentAt = now();
      const res = await request({ port: target.port, host: target.host, timeoutMs: 30_000 });
      const answeredAt = now();
      if (res.status !== 200 || res.body !== COLD_BODY) {
        correctness.push(`cold start ${i + 1}: status ${res.status} ${res.headers['x-tidegate-error'] ?? ''}, body ${JSON.stringify(res.body.slice(0, 100))}`);
        continue;
      }
      const [ready] = readyLines(target.readyFile, offset);
      if (!ready) {
        correctness.push(`cold start ${i + 1}: answered, but no new app process reported ready (was it really cold?)`);
        continue;
      }
      const s = {
        totalMs: answeredAt - sentAt,
        appBootMs: ready.readyAt - ready.startedAt,
        afterReadyMs: answeredAt - ready.readyAt,
        beforeSpawnMs: ready.startedAt - sentAt,
      };
      s.overheadMs = s.totalMs - s.appBootMs;
      samples.push(s);
      log(`  cold start ${i + 1}: first response ${s.totalMs.toFixed(1)} ms, app boot ${s.appBootMs.toFixed(1)} ms → overhead ${s.overheadMs.toFixed(1)} ms (request → spawn ${s.beforeSpawnMs.toFixed(1)} ms, ready → response ${s.afterReadyMs.toFixed(1)} ms)`);
    }
  } finally {
    await target.stop();
  }
  const col = (f) => samples.map(f);
  const stat = (name, f) => [name, fmt(median(col(f)), 1), fmt(percentile(col(f), 99), 1), fmt(Math.min(...col(f)), 1), fmt(Math.max(...col(f)), 1)];
  const table = markdownTable(
    ['measure', 'median ms', 'p99 ms', 'min ms', 'max ms'],
    [
      stat('time to first response through tidegate', (s) => s.totalMs),
      stat("app's own boot (process start → listening)", (s) => s.appBootMs),
      stat('**overhead** (first response − app boot)', (s) => s.overheadMs),
      stat('request sent → app process started', (s) => s.beforeSpawnMs),
      stat('app ready → response received', (s) => s.afterReadyMs),
    ],
    1,
  );
  const med = median(col((s) => s.overheadMs));
  const p99 = percentile(col((s) => s.overheadMs), 99);
  const pass = samples.length > 0 ? med < GOAL_MS : null;
  const line = `cold-start overhead over ${samples.length} cold starts: median ${fmt(med, 1)} ms, p99 ${fmt(p99, 1)} ms — target median < ${GOAL_MS} ms: ${pass === null ? 'SKIP' : pass ? 'PASS' : 'FAIL'}`;
  const markdown = suiteSection(
    'cold',
    `A \`command\` revision (bench/cold-app.js, node:http) with scale to zero (stable-window 6s, scale-to-zero-grace-period 1s, initial-scale 0). ${settings.coldStarts} times: wait for 0 pods in \`/status\`, send one GET, subtract the app's own boot time (its \`performance.timeOrigin\` → listening) from the time to first response.`,
    table,
    line,
    correctness,
  );
  return { suite: 'cold', markdown, lines: [line], verdicts: [{ pass, median: med, p99 }], correctness, data: { samples, correctness, goalMs: GOAL_MS } };
}
