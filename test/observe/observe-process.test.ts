import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { CLI, runCli } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/serve.js';

let app: Upstream;
let rx: OtlpReceiver;
let dir: string;
let configFile: string;

beforeAll(async () => {
  [app, rx] = await Promise.all([startUpstream('app'), startOtlpReceiver()]);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-observe-'));
  configFile = path.join(dir, 'tidegate.yaml');
  await fs.writeFile(configFile, `domain: example.com\nservices:\n  - name: web\n    revisions:\n      - name: web-00001\n        endpoints: ["${app.address}"]\n`);
});

afterAll(async () => {
  await Promise.all([app?.close(), rx?.close()]);
  await fs.rm(dir, { recursive: true, force: true });
});

describe('tidegate serve --access-log --otlp-endpoint (a real process)', () => {
  it('writes access-log lines on stdout only (logs stay on stderr), exports spans, and flushes on SIGTERM', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile, '--port', String(port), '--admin-port', String(adminPort), '--address', '127.0.0.1', '--access-log', '--trace-sample', '1'], {
      env: { ...process.env, LOG_LEVEL: 'info', OTEL_EXPORTER_OTLP_ENDPOINT: rx.endpoint },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor(() => stderr.includes('tidegate serving'), 15_000, 'the startup line');
      const start = JSON.parse(stderr.split('\n').find((l) => l.includes('tidegate serving'))!) as Record<string, unknown>;
      expect(start).toMatchObject({ accessLog: true, traces: `${rx.endpoint}/v1/traces` });
      let status = 0;
      await waitFor(async () => {
        const res = await request(`http://127.0.0.1:${port}/p1`, { headers: { host: 'web.example.com' } });
        await res.body.text();
        status = res.statusCode;
        return status === 200;
      }, 10_000, 'a routed request');
      const res = await request(`http://127.0.0.1:${port}/last`, { headers: { host: 'web.example.com' } });
      await res.body.text();
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      const lines = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.every((l) => 'trace_id' in l && 'bytes_out' in l)).toBe(true);
      const last = lines.find((l) => l['path'] === '/last')!;
      expect(last).toMatchObject({ status: 200, revision: 'web-00001' });
      expect(stderr).not.toContain('"bytes_out"');
      // Sampled (rate 1) and exported before the process exited.
      expect(rx.spans.some((s) => s.traceId === last['trace_id'])).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);

  it('refuses bad values for the new flags (exit 2, naming the flag)', async () => {
    const sample = runCli(['serve', '--config', configFile, '--trace-sample', '1.5']);
    expect(await sample.exit).toBe(2);
    expect(sample.out()).toContain('--trace-sample must be a number from 0 to 1');
    const url = runCli(['serve', '--config', configFile], { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' });
    expect(await url.exit).toBe(2);
    expect(url.out()).toContain('OTEL_EXPORTER_OTLP_ENDPOINT (for --otlp-endpoint) must be an http:// or https:// URL');
    const sw = runCli(['serve', '--config', configFile], { TIDEGATE_ACCESS_LOG: 'maybe' });
    expect(await sw.exit).toBe(2);
    expect(sw.out()).toContain('TIDEGATE_ACCESS_LOG (for --access-log) must be on or off');
  }, 30_000);
});
