import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/serve.js';
import { CLI } from '../support/cli.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
let app: Upstream;
let serve: ChildProcess;
let port: number;
let dir: string;

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Samples the serve process's RSS while `work` runs; returns the growth over the start. */
async function rssGrowth(work: () => Promise<void>): Promise<number> {
  const start = rssOf(serve.pid!);
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(serve.pid!))), 25);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return peak - start;
}

beforeAll(async () => {
  await fs.access(CLI);
  app = await startUpstream('app');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-mem-'));
  const file = path.join(dir, 'tg.yaml');
  await fs.writeFile(file, `services:\n  - name: app\n    revisions:\n      - name: app-1\n        endpoints: ["${app.address}"]\n    traffic: [{ revisionName: app-1, percent: 100 }]\n`);
  port = await freePort();
  serve = spawn(process.execPath, [CLI, 'serve', '--config', file, '--port', String(port), '--admin-port', String(await freePort())], { stdio: 'ignore' });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        http.get({ port, host: '127.0.0.1', headers: { host: 'app.example.com' } }, (res) => resolve(res.statusCode === 200)).on('error', () => resolve(false));
      }),
    10_000,
    'serve routing',
  );
  // Warm up both directions: connections, JIT, buffer pools.
  for (let i = 0; i < 3; i++) await download(8 * MiB);
  for (let i = 0; i < 3; i++) await upload(8 * MiB);
});

afterAll(async () => {
  serve?.kill('SIGKILL');
  await app?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

function download(bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get({ port, host: '127.0.0.1', path: `/?bytes=${bytes}`, headers: { host: 'app.example.com' } }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => (got += c.length));
        res.on('end', () => (got === bytes ? resolve() : reject(new Error(`got ${got} of ${bytes} bytes`))));
      })
      .on('error', reject);
  });
}

function upload(bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // Chunked: uWS refuses a Content-Length of 10 digits or more (≥ 10^9 bytes).
    const req = http.request({ port, host: '127.0.0.1', method: 'POST', headers: { host: 'app.example.com' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => ((JSON.parse(body) as { bytes: number }).bytes === bytes ? resolve() : reject(new Error(body))));
    });
    req.on('error', reject);
    const block = Buffer.alloc(MiB, 3);
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        sent += block.length;
        if (!req.write(block)) return req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('memory while streaming through a serve process', () => {
  it('downloads 1 GiB with the edge growing by only a few MiB', async () => {
    const growth = await rssGrowth(() => download(GiB));
    expect(growth / MiB).toBeLessThan(16);
  });

  it('uploads 1 GiB (chunked) with the edge growing by only a few MiB', async () => {
    const growth = await rssGrowth(() => upload(GiB));
    expect(growth / MiB).toBeLessThan(16);
  });
});
