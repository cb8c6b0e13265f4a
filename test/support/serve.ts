import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { startServe, type ServeHandle, type ServeOptions } from '../../src/bin/serve.js';
import { silentLogger } from '../../src/shared/log.js';

export interface TestEdge extends ServeHandle {
  configFile: string;
  dir: string;
  /** Rewrites the config file (hot reload picks it up). */
  rewrite(yaml: string): Promise<void>;
  get(host: string, urlPath?: string, headers?: Record<string, string>): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }>;
}

/** Starts `serve` in this process on free ports with the given YAML config. */
export async function startEdge(yaml: string, opts: Partial<ServeOptions> = {}): Promise<TestEdge> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-test-'));
  const configFile = path.join(dir, 'config', 'tidegate.yaml');
  await fs.mkdir(path.dirname(configFile));
  await fs.writeFile(configFile, yaml);
  const handle = await startServe({ configFile, port: 0, adminPort: 0, host: '127.0.0.1', logger: silentLogger, drainTimeoutMs: 5000, ...opts });
  const edge: TestEdge = {
    ...handle,
    configFile,
    dir,
    rewrite: async (text) => {
      const tmp = `${configFile}.tmp`;
      await fs.writeFile(tmp, text);
      await fs.rename(tmp, configFile);
    },
    get: async (host, urlPath = '/', headers = {}) => {
      const res = await request(`http://127.0.0.1:${handle.port}${urlPath}`, { headers: { host, ...headers } });
      const body = await res.body.text();
      return { status: res.statusCode, body, headers: res.headers };
    },
    close: async () => {
      await handle.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  return edge;
}

import { waitFor } from './wait.js';

export { waitFor };

/** The admin server's /metrics text. */
export async function getMetrics(adminPort: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${adminPort}/metrics`);
  return res.body.text();
}

/**
 * The config of one service `app` (host app.example.com) with one static
 * revision `app-1` at `address`; `limits` and `revision` are extra YAML lines
 * (e.g. "max-body-size: 1Ki", "containerConcurrency: 1").
 */
export function staticAppConfig(address: string, extra: { limits?: string[]; revision?: string[] } = {}): string {
  const limits = extra.limits?.length ? `limits:\n${extra.limits.map((l) => `  ${l}\n`).join('')}` : '';
  const revision = (extra.revision ?? []).map((l) => `        ${l}\n`).join('');
  return `domain: example.com
${limits}services:
  - name: app
    revisions:
      - name: app-1
${revision}        endpoints: ["${address}"]
    traffic: [{ revisionName: app-1, percent: 100 }]
`;
}

/** startEdge on staticAppConfig, once its pod is ready. */
export async function startStaticEdge(address: string, extra: Parameters<typeof staticAppConfig>[1] = {}, opts: Partial<ServeOptions> = {}): Promise<TestEdge> {
  const edge = await startEdge(staticAppConfig(address, extra), opts);
  await waitFor(() => edge.edge.revision('app-1')?.readyPods === 1, 5000, 'static pod');
  return edge;
}

/** The sum of the samples on the lines of a Prometheus text that match `line`. */
export function metricValue(text: string, line: RegExp): number {
  let sum = 0;
  for (const l of text.split('\n')) if (line.test(l)) sum += Number(l.slice(l.lastIndexOf(' ') + 1));
  return sum;
}
