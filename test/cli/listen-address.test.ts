/**
 * Issue 9, finding 11 (edge half): --address / TIDEGATE_ADDRESS binds the
 * data port (default 0.0.0.0), --admin-address / TIDEGATE_ADMIN_ADDRESS the
 * admin port (default 127.0.0.1). 127.0.0.2 is loopback on Linux but not
 * 127.0.0.1, so a listener bound to one refuses connects to the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/serve.js';
import { connects } from '../support/listen-address.js';
import { CLI, runCli, type CliRun } from '../support/cli.js';

let dir: string;
let file: string;

beforeAll(async () => {
  await fs.access(CLI); // npm test builds dist/ before running vitest
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-address-'));
  file = path.join(dir, 'static.yaml');
  await fs.writeFile(file, `domain: example.com\nservices:\n  - name: s\n    revisions:\n      - name: s-1\n        endpoints: ["127.0.0.1:1"]\n    traffic: [{ revisionName: s-1, percent: 100 }]\n`);
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

async function serve(args: string[], env: Record<string, string> = {}): Promise<{ p: CliRun; port: number; adminPort: number }> {
  // A port found free on 127.0.0.1 can be taken by another test's process, or be in use on another address: try again.
  for (let attempt = 1; ; attempt++) {
    const [port, adminPort] = [await freePort(), await freePort()];
    const p = runCli(['serve', '--config', file, '--port', String(port), '--admin-port', String(adminPort), ...args], env);
    await waitFor(() => p.out().includes('tidegate serving') || p.child.exitCode !== null, 10_000, 'serve started');
    if (p.child.exitCode === null) return { p, port, adminPort };
    if (attempt === 3 || !p.out().includes('cannot listen')) throw new Error(`serve exited ${p.child.exitCode}:\n${p.out()}`);
  }
}

async function stop(p: CliRun): Promise<void> {
  p.child.kill('SIGTERM');
  await p.exit;
}

const ipv6 = await new Promise<boolean>((resolve) => {
  const s = net.createServer();
  s.once('error', () => resolve(false));
  s.listen(0, '::1', () => s.close(() => resolve(true)));
});

describe('listen addresses', () => {
  it('defaults: the data port on every address, the admin port on 127.0.0.1 only', async () => {
    const { p, port, adminPort } = await serve([]);
    try {
      expect(await connects('127.0.0.2', port)).toBe(true);
      expect(await connects('127.0.0.1', adminPort)).toBe(true);
      expect(await connects('127.0.0.2', adminPort)).toBe(false);
    } finally {
      await stop(p);
    }
  });

  it('--address and --admin-address bind each port to the address given', async () => {
    const { p, port, adminPort } = await serve(['--address', '127.0.0.2', '--admin-address', '127.0.0.2']);
    try {
      expect(await connects('127.0.0.2', port)).toBe(true);
      expect(await connects('127.0.0.1', port)).toBe(false);
      expect(await connects('127.0.0.2', adminPort)).toBe(true);
      expect(await connects('127.0.0.1', adminPort)).toBe(false);
      // The startup line points at the address it bound.
      expect(p.out()).toContain(`http://127.0.0.2:${adminPort}/`);
    } finally {
      await stop(p);
    }
  });

  it('TIDEGATE_ADMIN_ADDRESS=0.0.0.0 (what the container image sets) makes the admin port reachable on every address', async () => {
    expect(await fs.readFile('Dockerfile', 'utf8')).toMatch(/^ENV TIDEGATE_ADMIN_ADDRESS=0\.0\.0\.0$/m);
    const { p, adminPort } = await serve([], { TIDEGATE_ADMIN_ADDRESS: '0.0.0.0', TIDEGATE_ADDRESS: '127.0.0.1' });
    try {
      expect(await connects('127.0.0.2', adminPort)).toBe(true);
    } finally {
      await stop(p);
    }
  });

  it.skipIf(!ipv6)('--address :: serves IPv6 and IPv4 (dual stack)', async () => {
    const { p, port } = await serve(['--address', '::']);
    try {
      expect(await connects('::1', port)).toBe(true);
      expect(await connects('127.0.0.1', port)).toBe(true);
    } finally {
      await stop(p);
    }
  });
});
