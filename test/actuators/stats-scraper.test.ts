import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StatsScraper, parseStats, type ScrapeTarget } from '../../src/actuators/stats-scraper.js';
import type { QueueProxyHandle } from '../../src/queue/sidecar.js';
import { realClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import type { PodStat } from '../../src/store/store.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { freePort } from '../support/ports.js';
import { startTestQueueProxy } from '../support/queue-proxy.js';

// Issue 9, finding 10 (the scraping half): without Redis, the local actuator
// takes each queue-proxy's per-period stats from its admin port into the
// store, each period exactly once. Rounds are driven by hand (tick()).
let app: Upstream;
let qp: QueueProxyHandle | null = null;
let scraper: StatsScraper | null = null;

beforeAll(async () => {
  app = await startUpstream('app');
});
afterEach(async () => {
  scraper?.stop();
  scraper = null;
  await qp?.shutdown();
  qp = null;
});
afterAll(async () => {
  await app?.close();
});

function recorder(): { written: PodStat[]; store: { reportStats(s: readonly PodStat[]): Promise<void> } } {
  const written: PodStat[] = [];
  return { written, store: { reportStats: (s) => (written.push(...s), Promise.resolve()) } };
}

async function sidecar(podId: string): Promise<QueueProxyHandle> {
  qp = await startTestQueueProxy(app.address, { podId, periodMs: 100 });
  return qp;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('StatsScraper', () => {
  it('writes each of the queue-proxy’s periods once, with its own figures, however often it asks', async () => {
    const q = await sidecar('pod-a');
    const { written, store } = recorder();
    const targets: ScrapeTarget[] = [{ id: 'pod-a', adminAddress: `127.0.0.1:${q.adminPort}` }];
    scraper = new StatsScraper({ store, clock: realClock, logger: silentLogger, targets: () => targets });
    await sleep(150);
    await scraper.tick();
    const from = written.length;
    expect(from).toBeGreaterThan(0);
    // Two 300 ms requests at once: 0.6 request-seconds, over periods of 100 ms.
    const hits = Promise.all([0, 1].map(() => fetch(`http://127.0.0.1:${q.port}/?sleep=300`).then((r) => r.text())));
    for (let i = 0; i < 12; i++) {
      await scraper.tick();
      await sleep(40); // several asks per period
    }
    await hits;
    await sleep(250);
    await scraper.tick();
    const mine = written.slice(from);
    expect(mine.length).toBeGreaterThanOrEqual(5);
    expect(mine.every((s) => s.pod === 'pod-a' && s.revision === 'rev-1')).toBe(true);
    const times = mine.map((s) => s.time);
    expect(new Set(times).size).toBe(times.length); // no period twice
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // Per-second figures over each period: weight them by the period's real length.
    const total = (f: (s: PodStat) => number) => mine.reduce((sum, s, i) => sum + (f(s) * (s.time - written[from + i - 1]!.time)) / 1000, 0);
    // 0.6 request-seconds in the app, a little more at the queue-proxy; a period taken twice would give 1.2 or more.
    expect(total((s) => s.concurrency)).toBeGreaterThan(0.55);
    expect(total((s) => s.concurrency)).toBeLessThan(0.95);
    expect(total((s) => s.requests)).toBeCloseTo(2, 6);
  });

  it('skips pods without a queue-proxy, and shrugs off one that is not listening', async () => {
    const { written, store } = recorder();
    const targets: ScrapeTarget[] = [
      { id: 'no-qp', adminAddress: null },
      { id: 'gone', adminAddress: `127.0.0.1:${await freePort()}` },
    ];
    scraper = new StatsScraper({ store, clock: realClock, logger: silentLogger, targets: () => targets });
    await expect(scraper.tick()).resolves.toBeUndefined();
    expect(written).toEqual([]);
  });

  it('writes nothing that another pod id reports at that address', async () => {
    const q = await sidecar('pod-b');
    const { written, store } = recorder();
    scraper = new StatsScraper({ store, clock: realClock, logger: silentLogger, targets: () => [{ id: 'pod-x', adminAddress: `127.0.0.1:${q.adminPort}` }] });
    await sleep(250);
    await scraper.tick();
    expect(written).toEqual([]);
  });

  it('parseStats takes only well-formed documents', () => {
    const ok = { seq: 2, stats: [{ seq: 2, revision: 'r', pod: 'p', time: 5, concurrency: 1, requests: 2, proxiedConcurrency: 0, proxiedRequests: 0 }] };
    expect(parseStats(JSON.stringify(ok))).toEqual({ seq: 2, stats: [{ revision: 'r', pod: 'p', time: 5, concurrency: 1, requests: 2, proxiedConcurrency: 0, proxiedRequests: 0 }] });
    expect(() => parseStats('{"stats":[]}')).toThrow(/not a stats document/);
    expect(() => parseStats(JSON.stringify({ seq: 1, stats: [{ ...ok.stats[0], concurrency: 'x' }] }))).toThrow(/malformed/);
    expect(() => parseStats('nope')).toThrow();
  });
});
