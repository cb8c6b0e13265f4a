import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../../src/actuators/free-port.js';

const canListen = (port: number, host: string) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });

describe('freePorts', () => {
  it('gives one distinct, bindable port per host, none of those to avoid', async () => {
    const first = await freePorts(['127.0.0.1']);
    const avoid = new Set(first);
    const ports = await freePorts(['127.0.0.1', '127.0.0.1', '127.0.0.1'], avoid);
    expect(ports).toHaveLength(3);
    expect(new Set(ports).size).toBe(3);
    for (const p of ports) {
      expect(avoid.has(p)).toBe(false);
      expect(await canListen(p, '127.0.0.1')).toBe(true);
    }
  });

  it('rejects when a host cannot be listened on, and leaves nothing listening', async () => {
    await expect(freePorts(['127.0.0.1', '203.0.113.1'])).rejects.toThrow();
  });
});
