import { describe, expect, it } from 'vitest';
import { parseH2loadOutput } from '../../bench/lib/h2load.js';

// A real h2load 1.52 run (-t1 -c2 -m2 -D1) against nginx over TLS.
const OUTPUT = `starting benchmark...
spawning thread #0: 2 total client(s). Timing-based test with 0s of warm-up time and 1s of main duration for measurements.
Warm-up started for thread #0.
progress: 50% of clients started
progress: 100% of clients started
Warm-up phase is over for thread #0.
Main benchmark duration is started for thread #0.
TLS Protocol: TLSv1.3
Cipher: TLS_AES_128_GCM_SHA256
Server Temp Key: X25519 253 bits
Application protocol: h2
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 1.00s, 6222.00 req/s, 1.07MB/s
requests: 6222 total, 6226 started, 6222 done, 6222 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 6222 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 1.07MB (1126280) total, 382.80KB (391986) headers (space savings 44.25%), 607.62KB (622200) data
                     min         max         mean         sd        +/- sd
time for request:      208us      5.58ms       596us       818us    91.10%
time for connect:     5.15ms     12.92ms      9.03ms      5.49ms   100.00%
time to 1st byte:    13.02ms     13.63ms     13.32ms       434us   100.00%
req/s           :    3103.98     3115.60     3109.79        8.22   100.00%
`;

describe('parseH2loadOutput', () => {
  it('reads requests, status classes, DATA bytes, latency in ms and the TLS it negotiated', () => {
    expect(parseH2loadOutput(OUTPUT)).toEqual({
      tool: 'h2load',
      requests: 6222,
      succeeded: 6222,
      reqPerSec: 6222,
      seconds: 1,
      status2xx: 6222,
      non2xx: 0,
      errors: 0,
      dataBytes: 622200,
      headerBytes: 391986,
      minMs: 0.208,
      maxMs: 5.58,
      meanMs: 0.596,
      sdMs: 0.818,
      tlsProtocol: 'TLSv1.3',
      cipher: 'TLS_AES_128_GCM_SHA256',
      alpn: 'h2',
    });
  });

  it('counts failed, errored and timed-out requests as errors and 3xx-5xx as non-2xx', () => {
    const bad = OUTPUT.replace('6222 succeeded, 0 failed, 0 errored, 0 timeout', '6200 succeeded, 20 failed, 1 errored, 1 timeout').replace('6222 2xx, 0 3xx, 0 4xx, 0 5xx', '6200 2xx, 1 3xx, 2 4xx, 19 5xx');
    expect(parseH2loadOutput(bad)).toMatchObject({ errors: 22, non2xx: 22, status2xx: 6200 });
  });

  it('is null without a summary (h2load could not connect)', () => {
    expect(parseH2loadOutput('starting benchmark...\nclient could not connect to host\n')).toBeNull();
  });
});
