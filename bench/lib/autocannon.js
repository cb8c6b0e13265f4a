/**
 * Runs autocannon in this process. Latency percentiles come from our own
 * hdr-histogram-js histogram fed with each response's time in microseconds:
 * autocannon's built-in histogram stores whole milliseconds, too coarse for
 * sub-millisecond proxies.
 */
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';

/**
 * `load`: { url, host, method, path, bodyBytes, connections, durationSec | amount, timeoutSec }.
 * `errors` counts socket errors and timeouts; `non2xx` counts other statuses.
 */
export async function runAutocannon(load) {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  const statuses = new Map();
  const headers = load.host ? { host: load.host } : {};
  const body = load.bodyBytes ? Buffer.alloc(load.bodyBytes, 'x') : undefined;
  if (body) headers['content-type'] = 'application/octet-stream';
  const opts = {
    url: new URL(load.path ?? '/', load.url).href,
    connections: load.connections,
    pipelining: 1,
    timeout: load.timeoutSec ?? 5,
    method: load.method ?? 'GET',
    headers,
    ...(body ? { body } : {}),
    ...(load.amount ? { amount: load.amount } : { duration: load.durationSec }),
  };
  const started = process.hrtime.bigint();
  const result = await new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    instance.on('response', (_client, status, _bytes, ms) => {
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 200 && status < 300) histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
    });
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const ok = [...statuses].filter(([s]) => s >= 200 && s < 300).reduce((n, [, c]) => n + c, 0);
  const out = {
    tool: 'autocannon',
    requests: result.requests.total,
    reqPerSec: result.requests.total / (load.amount ? seconds : result.duration),
    // hdr reports the top of a value's bucket, which can exceed the exact max.
    p50Ms: Math.min(histogram.getValueAtPercentile(50), histogram.maxValue) / 1000,
    p99Ms: Math.min(histogram.getValueAtPercentile(99), histogram.maxValue) / 1000,
    maxMs: histogram.maxValue / 1000,
    errors: result.errors, // connection errors, timeouts included
    non2xx: result.non2xx,
    ok,
    statuses: Object.fromEntries(statuses),
    seconds: load.amount ? seconds : result.duration,
  };
  histogram.destroy();
  return out;
}
