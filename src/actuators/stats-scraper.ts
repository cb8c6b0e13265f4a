import http from 'node:http';
import type { Clock, Timer } from '../shared/clock.js';
import type { Logger } from '../shared/log.js';
import { splitAddress } from '../shared/probe.js';
import type { PodStat, Store } from '../store/store.js';

/** A queue-proxy to scrape: its pod id and admin "host:port". */
export interface ScrapeTarget {
  readonly id: string;
  readonly adminAddress: string | null;
}

export interface StatsScraperOptions {
  readonly store: Pick<Store, 'reportStats'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The queue-proxies running now. */
  readonly targets: () => Iterable<ScrapeTarget>;
  /**
   * How often each queue-proxy is asked (default 250 ms). Each period is
   * written once however often it is asked, so asking a few times per 1 s
   * period only shortens the lag: a period reaches the store about as soon
   * as a queue-proxy with Redis would have written it itself.
   */
  readonly intervalMs?: number;
  /** A scrape unanswered after this long is given up (default 1 s). */
  readonly timeoutMs?: number;
}

interface Scraped {
  seq: number;
  stats: PodStat[];
}

/**
 * Knative's autoscaler scrapes each queue-proxy's stats; this does the same
 * for the queue-proxies the local actuator started when they have no Redis
 * to report to (one process, memory store). It asks each admin port for
 * the periods after the last one it took (GET
 * /stats?after=SEQ, see queue/stat-log.ts) and writes them to the store as
 * the queue-proxy itself would have: each period once, with the queue-proxy's
 * own time. The edge does not report pods that have a queue-proxy, so nothing
 * is counted twice. A scrape still running when the next is due is skipped.
 * Knative's autoscaler scrapes once a second; a quarter of that here keeps
 * the panic window as fresh as with Redis, for one loopback GET per pod.
 */
export class StatsScraper {
  private readonly seqs = new Map<string, number>();
  private readonly pending = new Set<string>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private timer: Timer | null = null;

  constructor(private readonly o: StatsScraperOptions) {
    this.intervalMs = o.intervalMs ?? 250;
    this.timeoutMs = o.timeoutMs ?? 1000;
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = this.o.clock.setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== null) this.o.clock.clearInterval(this.timer);
    this.timer = null;
    this.agent.destroy();
  }

  /** One round over every target (the interval calls it; tests may too). */
  tick(): Promise<void> {
    const live = new Set<string>();
    const rounds: Promise<void>[] = [];
    for (const t of this.o.targets()) {
      if (t.adminAddress === null) continue;
      live.add(t.id);
      if (this.pending.has(t.id)) continue;
      rounds.push(this.scrape(t.id, t.adminAddress));
    }
    for (const id of this.seqs.keys()) if (!live.has(id)) this.seqs.delete(id);
    return Promise.all(rounds).then(() => undefined);
  }

  private async scrape(id: string, address: string): Promise<void> {
    this.pending.add(id);
    try {
      const after = this.seqs.get(id) ?? 0;
      const doc = await this.fetch(address, after);
      // A lower number than we hold: a new queue-proxy process behind the same id.
      this.seqs.set(id, doc.seq);
      // Only this pod's own figures (a port reused by another process must not speak for it).
      const mine = doc.stats.filter((st) => st.pod === id);
      if (mine.length > 0) await this.o.store.reportStats(mine);
    } catch (err) {
      // Not listening yet, or gone: its stats simply are not there this period.
      this.o.logger.debug({ err: String(err), pod: id }, 'queue-proxy stats scrape failed');
    } finally {
      this.pending.delete(id);
    }
  }

  private fetch(address: string, after: number): Promise<Scraped> {
    const { host, port } = splitAddress(address);
    return new Promise((resolve, reject) => {
      const req = http.get({ host, port, path: `/stats?after=${after}`, agent: this.agent, timeout: this.timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`GET /stats: ${res.statusCode ?? 0}`));
          try {
            resolve(parseStats(body));
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET /stats: no answer in ${this.timeoutMs} ms`)));
      req.on('error', reject);
    });
  }
}

const FIELDS = ['time', 'concurrency', 'requests', 'proxiedConcurrency', 'proxiedRequests'] as const;

/** The /stats document, checked field by field: only well-formed PodStats reach the store. */
export function parseStats(text: string): Scraped {
  const doc = JSON.parse(text) as { seq?: unknown; stats?: unknown };
  if (typeof doc.seq !== 'number' || !Array.isArray(doc.stats)) throw new Error('GET /stats: not a stats document');
  const stats: PodStat[] = [];
  for (const raw of doc.stats as Record<string, unknown>[]) {
    if (typeof raw.revision !== 'string' || typeof raw.pod !== 'string' || !FIELDS.every((f) => typeof raw[f] === 'number' && Number.isFinite(raw[f]))) {
      throw new Error('GET /stats: malformed stat');
    }
    const n = raw as unknown as PodStat;
    stats.push({ revision: n.revision, pod: n.pod, time: n.time, concurrency: n.concurrency, requests: n.requests, proxiedConcurrency: n.proxiedConcurrency, proxiedRequests: n.proxiedRequests });
  }
  return { seq: doc.seq, stats };
}
