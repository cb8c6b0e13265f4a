import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startRedis } from '../support/redis-server.js';

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

describe('test support: startRedis', () => {
  it('starts on a free port, dies on kill, comes back on the same port, and stops', async () => {
    const r = await startRedis();
    expect(r.url).toBe(`redis://127.0.0.1:${r.port}`);
    expect(await connects(r.port)).toBe(true);
    await r.kill();
    expect(await connects(r.port)).toBe(false);
    await r.restart();
    expect(await connects(r.port)).toBe(true);
    await r.stop();
    expect(await connects(r.port)).toBe(false);
  });
});
