/** Issue 9, finding 14: --help, COMMAND --help and --version as a newcomer runs them, and a startup line that says where to look. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/serve.js';
import { CLI, runCli } from '../support/cli.js';

let dir: string;

beforeAll(async () => {
  await fs.access(CLI); // npm test builds dist/ before running vitest
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-help-'));
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number | null; out: string }> {
  const p = runCli(args);
  const code = await p.exit;
  return { code, out: p.out() };
}

describe('tidegate --help / --version', () => {
  it('tidegate --help lists the commands and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['serve', 'queue-proxy', 'autoscaler', 'validate', 'simulate']) expect(r.out).toContain(`  ${c} `);
  });

  it('tidegate serve --help lists its flags and exits 0 without starting anything', async () => {
    const r = await run(['serve', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--config FILE', '--port', '--address', '--admin-port', '--admin-address', '--redis URL']) expect(r.out).toContain(flag);
    expect(r.out).not.toContain('tidegate serving');
  });

  it("--version prints package.json's version", async () => {
    const pkg = JSON.parse(await fs.readFile('package.json', 'utf8')) as { version: string };
    expect(await run(['--version'])).toEqual({ code: 0, out: `tidegate ${pkg.version}\n` });
  });

  it('no command: the overview and exit 2', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.out).toContain('usage: tidegate COMMAND');
  });
});

describe('the startup line', () => {
  it('names the data URL, the dashboard and the metrics', async () => {
    const file = path.join(dir, 'static.yaml');
    await fs.writeFile(file, `domain: example.com\nservices:\n  - name: s\n    revisions:\n      - name: s-1\n        endpoints: ["127.0.0.1:1"]\n    traffic: [{ revisionName: s-1, percent: 100 }]\n`);
    const [port, adminPort] = [await freePort(), await freePort()];
    const p = runCli(['serve', '--config', file, '--port', String(port), '--admin-port', String(adminPort)]);
    try {
      await waitFor(() => p.out().includes('tidegate serving') || p.child.exitCode !== null, 10_000, 'the startup line');
      const line = p.out().split('\n').find((l) => l.includes('tidegate serving')) ?? '';
      const msg = (JSON.parse(line) as { msg: string }).msg;
      expect(msg).toContain(`http://127.0.0.1:${port}/`);
      expect(msg).toContain(`dashboard http://127.0.0.1:${adminPort}/`);
      expect(msg).toContain(`metrics http://127.0.0.1:${adminPort}/metrics`);
    } finally {
      p.child.kill('SIGTERM');
      await p.exit;
    }
  });
});
