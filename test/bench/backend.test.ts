import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY } from '../../bench/lib/backend-body.js';

const BACKEND = path.resolve(import.meta.dirname, '../../bench/backend.js');

async function start(flavour: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BACKEND, '--port', '0', '--flavour', flavour], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`backend exited ${code}`)));
  });
  return { child, port };
}

describe.each(['uws', 'node'])('bench backend (%s)', (flavour) => {
  let b: { child: ChildProcess; port: number };
  beforeAll(async () => {
    b = await start(flavour);
  });
  afterAll(() => {
    b?.child.kill('SIGKILL');
  });

  it('answers GET with the fixed 100-byte body', async () => {
    const res = await fetch(`http://127.0.0.1:${b.port}/anything`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(BODY);
    expect(Buffer.byteLength(BODY)).toBe(100);
  });

  it('answers POST with the byte count it consumed', async () => {
    const res = await fetch(`http://127.0.0.1:${b.port}/`, { method: 'POST', body: Buffer.alloc(65_536, 7) });
    expect(await res.text()).toBe('65536');
  });

  it('waits ?sleep=MS before answering', async () => {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${b.port}/?sleep=150`);
    expect(await res.text()).toBe(BODY);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(149);
  });
});
