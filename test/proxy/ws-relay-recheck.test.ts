import { describe, expect, it } from 'vitest';
import { WsRelay, type RelayData } from '../../src/proxy/ws-relay.js';
import type { Tunnel } from '../../src/upstream/dispatcher.js';
import type { WebSocket } from '../../src/shared/uws.js';

// uWS calls a WebSocket's drain only from a writable event that finds
// backpressure to write. A relay whose pod is paused must not depend on that
// one event: here the client's buffer empties with no drain call at all (a
// stand-in WebSocket, since a real uWS socket cannot be made to skip it), and
// the pod must still be read again.

function relayWithClient() {
  let buffered = 0;
  const calls: string[] = [];
  const tunnel: Tunnel = {
    write: () => true,
    pause: () => calls.push('pause'),
    resume: () => calls.push('resume'),
    queued: 0,
    end: () => undefined,
    destroy: () => undefined,
  };
  const relay = new WsRelay({ relayed: () => undefined, relayEnded: () => undefined }, tunnel);
  const ws = {
    getBufferedAmount: () => buffered,
    send: (m: Uint8Array) => {
      buffered += m.length;
      return 1;
    },
  } as unknown as WebSocket<RelayData>;
  relay.open(ws);
  return { relay, calls, flush: () => (buffered = 0) };
}

describe('a paused pod, when the client drains without a drain event', () => {
  it('is read again within the recheck period', async () => {
    const { relay, calls, flush } = relayWithClient();
    relay.onMessagePart(Buffer.alloc(2 * 1024 * 1024), true, true, true);
    expect(calls).toEqual(['pause']);
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toEqual(['pause']); // still behind: stays paused
    flush();
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toEqual(['pause', 'resume']);
  });
});
