/**
 * Suite `burst`: BURST_REQUESTS (10,000) requests over 1000 connections at
 * a revision with zero pods. Every one must get the app's 200: the activator
 * holds them while pods start. Reports the time, latencies, pods reached and
 * the peak RSS of tidegate with its pods.
 */
import { runAutocannon } from '../lib/autocannon.js';
import { Sampler, measure } from '../lib/proc-stats.js';
import { markdownTable, fmt, suiteSection } from '../lib/report.js';
import { revisionStatus, startColdTidegate, waitForZeroPods } from '../lib/cold-target.js';
import { request } from '../lib/http.js';
import { COLD_BODY } from '../lib/backend-body.js';

export async function run({ settings, dir, log }) {
  const correctness = [];
  const wanted = Number(process.env.CONNS) > 0 ? Number(process.env.CONNS) : 1000;
  const connections = Math.min(wanted, settings.burstRequests); // autocannon refuses more connections than requests
  const target = await startColdTidegate({ cpus: settings.serverCpus, dir, name: 'tidegate-burst' });
  let result;
  let usage;
  let pods;
  let edgeRss;
  try {
    await waitForZeroPods(target);
    edgeRss = measure(target.roots).rssBytes;
    const sampler = new Sampler(target.roots);
    try {
      result = await runAutocannon({
        url: `http://127.0.0.1:${target.port}`,
        host: target.host,
        connections,
        amount: settings.burstRequests,
        timeoutSec: 60,
      });
    } finally {
      usage = sampler.stop();
    }
    pods = (await revisionStatus(target))?.readyPods;
    const after = await request({ port: target.port, host: target.host });
    if (after.status !== 200 || after.body !== COLD_BODY) correctness.push(`after the burst: status ${after.status}, body ${JSON.stringify(after.body.slice(0, 100))}`);
  } finally {
    await target.stop();
  }
  const ok = result.statuses[200] ?? 0;
  const clean = result.errors === 0 && result.non2xx === 0 && ok === settings.burstRequests;
  if (!clean) correctness.push(`burst: ${ok}/${settings.burstRequests} answered 200; ${result.errors} socket errors/timeouts; statuses ${JSON.stringify(result.statuses)}`);
  log(`  burst: ${ok}/${settings.burstRequests} × 200 in ${result.seconds.toFixed(2)} s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, ${pods} pods, peak RSS ${(usage.rssPeakBytes / 2 ** 20).toFixed(1)} MiB`);
  const table = markdownTable(
    ['requests', 'connections', '200s', 'errors', 'other statuses', 'seconds', 'p50 ms', 'p99 ms', 'max ms', 'ready pods after', 'RSS idle → peak MiB (tidegate + pods)'],
    [
      [
        String(settings.burstRequests),
        String(connections),
        String(ok),
        String(result.errors),
        String(result.non2xx),
        fmt(result.seconds, 2),
        fmt(result.p50Ms, 1),
        fmt(result.p99Ms, 1),
        fmt(result.maxMs, 1),
        String(pods ?? '–'),
        `${fmt(edgeRss / 2 ** 20, 1)} → ${fmt(usage.rssPeakBytes / 2 ** 20, 1)}`,
      ],
    ],
    0,
  );
  const line = `burst from zero: ${ok}/${settings.burstRequests} × 200, ${result.errors} errors, ${result.non2xx} non-2xx, peak RSS ${fmt(usage.rssPeakBytes / 2 ** 20, 1)} MiB (tidegate + ${pods ?? '?'} pods) — target zero errors: ${clean ? 'PASS' : 'FAIL'}`;
  const markdown = suiteSection(
    'burst',
    `${settings.burstRequests} GETs (autocannon \`amount\`, ${connections} connections, 60 s timeout) at the cold revision of the \`cold\` suite while it has zero pods.`,
    table,
    line,
    correctness,
  );
  return { suite: 'burst', markdown, lines: [line], verdicts: [{ pass: clean }], correctness, data: { result, usage, pods, edgeRssBytes: edgeRss, correctness } };
}
