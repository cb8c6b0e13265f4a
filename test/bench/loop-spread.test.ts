import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { establishedInodes, LoopSpread } from '../../bench/lib/loop-spread.js';

const TCP = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 100 1 0 100 0 0 10 0', // listening on 8080
  '   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 101 1 0 20 4 30 10 -1', // server end
  '   2: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 102 1 0 20 4 30 10 -1', // client end
  '   3: 0100007F:1F90 0100007F:C351 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0', // TIME_WAIT
].join('\n');
const TCP6 = [
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:C352 01 00000000:00000000 00:00000000 00000000  1000        0 103 1 0 20 4 30 10 -1',
].join('\n');

describe('connections per process on a data port', () => {
  it('keeps only established sockets whose local port is the data port, IPv4 and IPv6', () => {
    expect([...establishedInodes([TCP, TCP6], 8080)].sort()).toEqual(['101', '103']);
    expect(establishedInodes([TCP], 8081).size).toBe(0);
  });

  let server: net.Server | undefined;
  const clients: net.Socket[] = [];
  afterEach(() => {
    for (const c of clients) c.destroy();
    server?.close();
  });

  it('counts the server ends a process holds, not its client ends, and its share of the CPU', async () => {
    server = net.createServer(() => undefined).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const spread = new LoopSpread([process.pid], port, 20);
    for (let i = 0; i < 3; i++) {
      const c = net.connect(port, '127.0.0.1');
      clients.push(c);
      await once(c, 'connect');
    }
    const until = Date.now() + 100;
    while (Date.now() < until) Math.sqrt(Math.random()); // CPU time for this process to own
    await sleep(100);
    const [only, ...others] = spread.stop();
    expect(others).toEqual([]); // no child processes here
    expect(only).toEqual({ pid: process.pid, conns: 3, cpuShare: 1 });
  });
});
