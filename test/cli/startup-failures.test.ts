/**
 * Finding 8 of issue 9: `serve` binds every port before it starts anything,
 * and a port it cannot bind ends it at once (one line naming the address and
 * port, exit 1, no pod started), also when another tidegate holds the port
 * (uWS sets SO_REUSEPORT, so without care the second one would share it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/serve.js';
import { CLI, runCli, type CliRun } from '../support/cli.js';

let dir: string;
let marks: string;
let podConfig: string;

/** A pod that leaves a file behind the moment it starts, so a test can tell whether any pod ran. */
const POD = `
const fs = require('node:fs');
const path = require('node:path');
fs.writeFileSync(path.join(process.env.MARKS, String(process.pid)), '');
require('node:http').createServer((req, res) => res.end('pod\\n')).listen(Number(process.env.PORT), '127.0.0.1');
`;

beforeAll(async () => {
  await fs.access(CLI); // npm test builds dist/ before running vitest
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-startup-'));
  marks = path.join(dir, 'marks');
  await fs.mkdir(marks);
  await fs.mkdir(path.join(dir, 'config'));
  await fs.writeFile(path.join(dir, 'pod.cjs'), POD);
  podConfig = path.join(dir, 'config', 'pods.yaml');
  await fs.writeFile(
    podConfig,
    `domain: example.com
services:
  - name: app
    revisions:
      - name: app-1
        command: [node, pod.cjs]
        env: { MARKS: "${marks}" }
        annotations:
          autoscaling.knative.dev/min-scale: "1"
          autoscaling.knative.dev/initial-scale: "1"
    traffic: [{ revisionName: app-1, percent: 100 }]
`,
  );
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** Holds a port the way any other program would (plain node:net, no SO_REUSEPORT). */
async function hold(host: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise((r) => server.close(() => r())) };
}

/** Exit code within `ms`, or null if the process was still running (then it is killed). */
async function exitWithin(p: CliRun, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
  const code = await Promise.race([p.exit, late]);
  clearTimeout(timer);
  if (code === 'late') {
    p.child.kill('SIGKILL');
    return null;
  }
  return code;
}

function errorLines(p: CliRun): string[] {
  return p
    .out()
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('{"level":30'));
}

async function podsStarted(): Promise<number> {
  return (await fs.readdir(marks)).length;
}

async function readyz(adminPort: number): Promise<boolean> {
  try {
    const r = await request(`http://127.0.0.1:${adminPort}/readyz`);
    await r.body.text();
    return r.statusCode === 200;
  } catch {
    return false;
  }
}

describe('serve refuses to half-start', () => {
  it('data port busy: one line naming the address and port, exit 1 within 5 s, no pod started', async () => {
    const busy = await hold('0.0.0.0');
    try {
      const before = await podsStarted();
      const p = runCli(['serve', '--config', podConfig, '--port', String(busy.port), '--admin-port', String(await freePort())]);
      expect(await exitWithin(p, 5000)).toBe(1);
      const lines = errorLines(p);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`0.0.0.0:${busy.port}`);
      // A pod started in spite of the failure would have marked by now.
      await new Promise((r) => setTimeout(r, 300));
      expect(await podsStarted()).toBe(before);
    } finally {
      await busy.close();
    }
  });

  it('admin port busy: exit 1 within 5 s naming 127.0.0.1:PORT, the data port is let go, no pod started', async () => {
    const busy = await hold('127.0.0.1');
    try {
      const before = await podsStarted();
      const port = await freePort();
      const p = runCli(['serve', '--config', podConfig, '--port', String(port), '--admin-port', String(busy.port)]);
      expect(await exitWithin(p, 5000)).toBe(1);
      const lines = errorLines(p);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`127.0.0.1:${busy.port}`);
      expect(lines[0]).toMatch(/admin/);
      await new Promise((r) => setTimeout(r, 300));
      expect(await podsStarted()).toBe(before);
      // The data port was not kept.
      const again = net.createServer();
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.listen(port, '0.0.0.0', resolve);
      });
      await new Promise((r) => again.close(r));
    } finally {
      await busy.close();
    }
  });

  it('a second serve on the ports one holds fails instead of sharing them (SO_REUSEPORT)', async () => {
    const file = path.join(dir, 'config', 'static.yaml');
    await fs.writeFile(file, `domain: example.com\nservices:\n  - name: s\n    revisions:\n      - name: s-1\n        endpoints: ["127.0.0.1:1"]\n    traffic: [{ revisionName: s-1, percent: 100 }]\n`);
    const [port, adminPort] = [await freePort(), await freePort()];
    const first = runCli(['serve', '--config', file, '--port', String(port), '--admin-port', String(adminPort)]);
    try {
      await waitFor(() => readyz(adminPort), 10_000, 'first serve ready');
      // Same data port, another admin port: only the data port is taken.
      const second = runCli(['serve', '--config', file, '--port', String(port), '--admin-port', String(await freePort())]);
      expect(await exitWithin(second, 5000)).toBe(1);
      expect(errorLines(second)).toEqual([expect.stringContaining(`0.0.0.0:${port}`)]);
      // Same admin port, another data port.
      const third = runCli(['serve', '--config', file, '--port', String(await freePort()), '--admin-port', String(adminPort)]);
      expect(await exitWithin(third, 5000)).toBe(1);
      expect(errorLines(third)).toEqual([expect.stringContaining(`127.0.0.1:${adminPort}`)]);
      expect(first.child.exitCode).toBeNull();
      expect(await readyz(adminPort)).toBe(true);
    } finally {
      first.child.kill('SIGTERM');
      await exitWithin(first, 5000);
    }
  });

  it('--port abc: exit 2 with a message naming the flag, nothing listens', async () => {
    const p = runCli(['serve', '--config', podConfig, '--port', 'abc', '--admin-port', String(await freePort())]);
    expect(await exitWithin(p, 5000)).toBe(2);
    expect(p.out()).toMatch(/--port/);
    expect(p.out()).toContain('abc');
  });

  it('a bad value in an environment variable is refused the same way, naming the variable', async () => {
    const p = runCli(['serve', '--config', podConfig], { PORT: '80a', ADMIN_PORT: String(await freePort()) });
    expect(await exitWithin(p, 5000)).toBe(2);
    expect(p.out()).toMatch(/PORT/);
    expect(p.out()).toContain('80a');
  });
});

describe('autoscaler refuses to half-start', () => {
  it('a --redis that is not a Redis URL: exit 2 naming the flag (ioredis read http://… as host "http" and kept trying)', async () => {
    const p = runCli(['autoscaler', '--config', podConfig, '--redis', 'http://127.0.0.1:6379']);
    expect(await exitWithin(p, 5000)).toBe(2);
    expect(p.out()).toMatch(/--redis must be a Redis URL/);
  });
});
