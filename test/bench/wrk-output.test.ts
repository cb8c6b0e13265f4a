import { describe, expect, it } from 'vitest';
import { parseWrkOutput } from '../../bench/lib/wrk.js';

const OUTPUT = `Running 10s test @ http://127.0.0.1:8080
  1 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
BENCH_JSON {"requests":250000,"durationUs":10000000,"bytes":1,"connectErrors":1,"readErrors":2,"writeErrors":3,"statusErrors":7,"timeouts":4,"p50Us":410,"p90Us":800,"p99Us":1380,"maxUs":9000,"meanUs":450.5}
`;

describe('wrk output', () => {
  it('turns the lua report line into req/s, ms percentiles, socket errors and non-2xx', () => {
    expect(parseWrkOutput(OUTPUT)).toEqual({
      tool: 'wrk',
      requests: 250_000,
      reqPerSec: 25_000,
      p50Ms: 0.41,
      p99Ms: 1.38,
      maxMs: 9,
      errors: 10,
      non2xx: 7,
      seconds: 10,
    });
  });

  it('gives null when wrk printed no report (so the run counts as failed, not as 0 req/s)', () => {
    expect(parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n')).toBeNull();
  });
});
