/**
 * What the end-to-end tests share: a config builder around the fixture app
 * (test/fixtures/app.js, run as real child processes by the local
 * actuator), readers for the admin endpoints and the fixture's own stats,
 * and a closed-loop load generator that records every outcome.
 */
import path from 'node:path';
import { Agent, request } from 'undici';
import type { StatusDoc } from '../../src/admin/status.js';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { startRedis } from '../support/redis-server.js';

export const APP = path.resolve('test/fixtures/app.js');
export { CLI } from '../support/cli.js';
export { getMetrics } from '../support/serve.js';
export const HOST = 'app.example.com';

export interface RevisionOptions {
  name?: string;
  containerConcurrency?: number;
  minScale?: number;
  maxScale?: number;
  target?: number;
  initialScale?: number;
  queueProxy?: boolean;
  env?: Record<string, string>;
  /** Defaults to the fixture app. */
  command?: string[];
  timeoutSeconds?: number;
}

export interface ConfigOptions {
  /** Overrides of the short test windows below. */
  autoscaler?: Record<string, string | number | boolean>;
  activator?: Record<string, string | number>;
}

/**
 * One service `app` (host app.example.com) with one revision running the
 * fixture app. Windows are short so scaling shows within seconds. The YAML
 * is JSON (a YAML subset) so nothing needs quoting rules.
 */
export function appConfig(rev: RevisionOptions = {}, opts: ConfigOptions = {}): string {
  const name = rev.name ?? 'app-1';
  const annotations: Record<string, string> = {
    'autoscaling.knative.dev/target': String(rev.target ?? 10),
    'autoscaling.knative.dev/min-scale': String(rev.minScale ?? 0),
    'autoscaling.knative.dev/max-scale': String(rev.maxScale ?? 5),
  };
  if (rev.initialScale !== undefined) annotations['autoscaling.knative.dev/initial-scale'] = String(rev.initialScale);
  const doc = {
    domain: 'example.com',
    autoscaler: {
      'stable-window': '6s',
      'scale-to-zero-grace-period': '1s',
      'allow-zero-initial-scale': true,
      'initial-scale': 0,
      ...opts.autoscaler,
    },
    activator: { 'max-buffered-requests': 1000, 'buffer-timeout': '20s', ...opts.activator },
    services: [
      {
        name: 'app',
        revisions: [
          {
            name,
            command: rev.command ?? [process.execPath, APP],
            env: { STARTUP_DELAY_MS: '0', ...rev.env },
            readinessPath: '/',
            containerConcurrency: rev.containerConcurrency ?? 0,
            timeoutSeconds: rev.timeoutSeconds ?? 30,
            queueProxy: rev.queueProxy ?? false,
            annotations,
          },
        ],
        traffic: [{ revisionName: name, percent: 100 }],
      },
    ],
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

export interface FixtureStats {
  max: number;
  current: number;
  total: number;
  pid: number;
}

/** The fixture app's own record of one pod (straight to the pod, not through the edge). */
export async function fixtureStats(address: string): Promise<FixtureStats> {
  const res = await request(`http://${address}/__fixture/stats`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`fixture stats at ${address}: ${res.statusCode} ${text}`);
  return JSON.parse(text) as FixtureStats;
}

export async function getStatus(adminPort: number): Promise<StatusDoc> {
  const res = await request(`http://127.0.0.1:${adminPort}/status`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`/status: ${res.statusCode} ${text}`);
  return JSON.parse(text) as StatusDoc;
}


/** /status of one revision (throws when absent so tests fail loudly). */
export async function revisionStatus(adminPort: number, name = 'app-1'): Promise<StatusDoc['revisions'][number]> {
  const doc = await getStatus(adminPort);
  const rev = doc.revisions.find((r) => r.name === name);
  if (!rev) throw new Error(`/status has no revision ${name}: ${JSON.stringify(doc)}`);
  return rev;
}

/** Is a process with this pid still alive? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Outcome {
  status: number; // 0 = transport error
  error?: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One GET through the edge; transport errors become status 0 rather than throwing. */
export async function hit(port: number, urlPath: string, opts: { host?: string; dispatcher?: Agent; signal?: AbortSignal } = {}): Promise<Outcome> {
  try {
    const res = await request(`http://127.0.0.1:${port}${urlPath}`, {
      headers: { host: opts.host ?? HOST },
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const body = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body };
  } catch (err) {
    return { status: 0, error: String(err), headers: {}, body: '' };
  }
}

/**
 * Closed-loop load: `workers` loops each sending GETs back to back until
 * stop() is called. Every outcome is kept so a test can assert that none
 * failed.
 */
export function load(port: number, urlPath: string, workers: number): { outcomes: Outcome[]; stop(): Promise<Outcome[]> } {
  const dispatcher = new Agent({ connections: workers });
  const outcomes: Outcome[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) outcomes.push(await hit(port, urlPath, { dispatcher }));
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      await dispatcher.close();
      return outcomes;
    },
  };
}

/** Statuses with their counts, e.g. { "200": 57 }: failures show up readably in an assertion diff. */
export function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.status === 0 ? `error: ${o.error ?? ''}` : `${o.status}${o.status === 200 ? '' : ` ${String(o.headers['x-tidegate-error'] ?? '')}`}`;
    t[key] = (t[key] ?? 0) + 1;
  }
  return t;
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A redis-server and two `serve --redis` edges sharing it, ready once both see `pods` ready pods of app-1. */
export interface TwoEdges {
  a: TestEdge;
  b: TestEdge;
  close(): Promise<void>;
}

export async function startTwoEdges(yaml: string, pods: number): Promise<TwoEdges> {
  const redis = await startRedis();
  const a = await startEdge(yaml, { redisUrl: redis.url });
  const b = await startEdge(yaml, { redisUrl: redis.url });
  const close = async () => {
    await Promise.all([a.close(), b.close()]);
    await redis.stop();
  };
  try {
    await waitFor(async () => (await revisionStatus(a.adminPort)).readyPods === pods && (await revisionStatus(b.adminPort)).readyPods === pods, 15_000, `${pods} ready pods at both edges`);
  } catch (err) {
    await close();
    throw err;
  }
  return { a, b, close };
}
