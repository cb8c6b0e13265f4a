/**
 * serving.knative.dev/rollout-duration through a real edge on a fake clock:
 * a reload adds a revision, it becomes Ready, and the counts of requests per
 * revision follow Knative's steps (1 % at once, then equal steps >= 1 s apart).
 */
import http from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { EdgeMetrics } from '../../src/admin/metrics.js';
import { buildStatus } from '../../src/admin/status.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { UpstreamRuntime } from '../../src/upstream/runtime.js';
import { Edge } from '../../src/router/edge.js';
import { EdgeServer } from '../../src/router/edge-server.js';
import { silentLogger } from '../../src/shared/log.js';
import { FakeClock } from '../support/fake-clock.js';
import { startUpstream, type Upstream } from '../support/upstream.js';

function config(revisions: { name: string; address: string }[], annotations: string): Config {
  // containerConcurrency 1 picks pods without a random draw, so the edge's random feeds the split alone.
  const text = `domain: example.com
services:
  - name: svc
${annotations}    revisions:
${revisions.map((r) => `      - name: ${r.name}\n        containerConcurrency: 1\n        endpoints: ["${r.address}"]\n`).join('')}    traffic:
      - latestRevision: true
        percent: 100
`;
  const r = parseConfig(text, 'rollout.yaml');
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.col}: ${p.message}`).join('\n'));
  return r.config;
}

const ROLLOUT_10S = '    annotations:\n      serving.knative.dev/rollout-duration: "10s"\n';

interface Rig {
  clock: FakeClock;
  edge: Edge;
  port: number;
  ups: Upstream[];
  close(): Promise<void>;
}

let rig: Rig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

async function start(): Promise<Rig> {
  const ups = [await startUpstream('v1'), await startUpstream('v2'), await startUpstream('v3')];
  const clock = new FakeClock();
  // Each call walks 100 evenly spaced points: 100 requests split exactly by percent.
  let k = 0;
  const random = () => ((k++ % 100) + 0.5) / 100;
  const edge = new Edge({ clock, logger: silentLogger, metrics: new EdgeMetrics(), upstream: new UpstreamRuntime({ clock }), poke: () => undefined, random });
  const server = new EdgeServer(edge);
  const port = await server.listen('127.0.0.1', 0);
  return {
    clock,
    edge,
    port,
    ups,
    async close() {
      server.stopListening();
      edge.close();
      edge.closePools();
      await Promise.all(ups.map((u) => u.close()));
    },
  };
}

function ready(edge: Edge, revision: string, address: string): void {
  edge.updateRevision(revision, [{ id: `${revision}-0`, revision, address, ready: true }], null);
}

/** 100 GETs one after another on one keep-alive connection: how many each revision answered. */
async function counts(port: number): Promise<Record<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out: Record<string, number> = {};
  try {
    for (let i = 0; i < 100; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/', agent, headers: { host: 'svc.example.com' } }, (res) => {
          let b = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (b += c));
          res.on('end', () => (res.statusCode === 200 ? resolve(b.trim()) : reject(new Error(`status ${res.statusCode}: ${b}`))));
        });
        req.on('error', reject);
      });
      out[body] = (out[body] ?? 0) + 1;
    }
  } finally {
    agent.destroy();
  }
  return out;
}

const v2Share = (c: Record<string, number>) => c.v2 ?? 0;

describe('rollout-duration through the edge', () => {
  test('10 s: v2 gets 1 % when it is Ready, then 11 % more every second, 100 % after 9 s; /status shows each split', async () => {
    rig = await start();
    const [u1, u2] = rig.ups as [Upstream, Upstream];
    const one = [{ name: 'v1', address: u1.address }];
    const two = [...one, { name: 'v2', address: u2.address }];
    rig.edge.setConfig(config(one, ROLLOUT_10S));
    ready(rig.edge, 'v1', u1.address);
    expect(await counts(rig.port)).toEqual({ v1: 100 });

    // The reload that adds v2: no traffic moves until v2 has been Ready.
    const cfg2 = config(two, ROLLOUT_10S);
    rig.edge.setConfig(cfg2);
    expect(await counts(rig.port)).toEqual({ v1: 100 });
    ready(rig.edge, 'v2', u2.address);

    const seen: number[] = [];
    const status: number[] = [];
    for (let step = 0; step < 10; step++) {
      const c = await counts(rig.port);
      expect((c.v1 ?? 0) + v2Share(c)).toBe(100);
      seen.push(v2Share(c));
      const doc = buildStatus({ config: cfg2, pods: () => [], status: () => null, buffered: () => 0, inFlight: () => 0, activatorInPath: () => false, effectiveTraffic: (s) => rig!.edge.effectiveTraffic(s) });
      status.push(doc.services[0]!.effectiveTraffic!.find((t) => t.revisionName === 'v2')?.percent ?? 0);
      // Just short of the step changes nothing; the step itself does.
      rig.clock.advance(999);
      if (step < 9) expect(v2Share(await counts(rig.port))).toBe(seen[step]);
      rig.clock.advance(1);
    }
    expect(seen).toEqual([1, 12, 23, 34, 45, 56, 67, 78, 89, 100]);
    expect(status).toEqual(seen);
    // Done: the split is the revision alone and no step is scheduled any more.
    rig.clock.advance(60_000);
    expect(await counts(rig.port)).toEqual({ v2: 100 });
    expect(rig.edge.effectiveTraffic('svc')).toEqual([{ revisionName: 'v2', percent: 100, tag: null }]);
  });

  test('a third revision Ready mid-rollout: it takes 1 % from v2 and the steps drain v2 before v1', async () => {
    rig = await start();
    const [u1, u2, u3] = rig.ups as [Upstream, Upstream, Upstream];
    const one = [{ name: 'v1', address: u1.address }];
    rig.edge.setConfig(config(one, ROLLOUT_10S));
    ready(rig.edge, 'v1', u1.address);
    const three = [...one, { name: 'v2', address: u2.address }, { name: 'v3', address: u3.address }];
    rig.edge.setConfig(config(three, ROLLOUT_10S));
    ready(rig.edge, 'v2', u2.address);
    rig.clock.advance(1000);
    expect(await counts(rig.port)).toEqual({ v1: 88, v2: 12 });
    rig.clock.advance(500);
    ready(rig.edge, 'v3', u3.address);
    expect(await counts(rig.port)).toEqual({ v1: 88, v2: 11, v3: 1 });
    rig.clock.advance(1000);
    expect(await counts(rig.port)).toEqual({ v1: 88, v3: 12 });
    rig.clock.advance(1000);
    expect(await counts(rig.port)).toEqual({ v1: 77, v3: 23 });
    rig.clock.advance(7000);
    expect(await counts(rig.port)).toEqual({ v3: 100 });
  });

  test('without rollout-duration the new revision takes all traffic as soon as it is Ready, as before', async () => {
    rig = await start();
    const [u1, u2] = rig.ups as [Upstream, Upstream];
    const one = [{ name: 'v1', address: u1.address }];
    rig.edge.setConfig(config(one, ''));
    ready(rig.edge, 'v1', u1.address);
    rig.edge.setConfig(config([...one, { name: 'v2', address: u2.address }], ''));
    expect(await counts(rig.port)).toEqual({ v1: 100 });
    ready(rig.edge, 'v2', u2.address);
    expect(await counts(rig.port)).toEqual({ v2: 100 });
  });

  test('revisions in the config the edge started with do not roll (a restart does not redo a rollout)', async () => {
    rig = await start();
    const [u1, u2] = rig.ups as [Upstream, Upstream];
    rig.edge.setConfig(config([{ name: 'v1', address: u1.address }, { name: 'v2', address: u2.address }], ROLLOUT_10S));
    ready(rig.edge, 'v1', u1.address);
    expect(await counts(rig.port)).toEqual({ v1: 100 });
    ready(rig.edge, 'v2', u2.address);
    expect(await counts(rig.port)).toEqual({ v2: 100 });
  });
});
