/** One plain HTTP/1.1 request (fresh connection), for checks and probes. */
import http from 'node:http';

/** Resolves { status, headers, body, ms }; rejects on socket errors or after timeoutMs. */
export function request({ port, host, method = 'GET', path = '/', body, timeoutMs = 10_000, headers = {} }) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent: false, headers: { ...(host ? { host } : {}), ...headers }, timeout: timeoutMs },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: Number(process.hrtime.bigint() - started) / 1e6,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Retries `request` until `ok(response)` or `timeoutMs` passes; resolves the last response, rejects with the last problem. */
export async function waitFor(opts, ok, timeoutMs = 15_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const res = await request({ ...opts, timeoutMs: Math.min(5000, timeoutMs) });
      if (ok(res)) return res;
      last = `status ${res.status}: ${res.body.slice(0, 200)}`;
    } catch (err) {
      last = err.message;
    }
    if (Date.now() > deadline) throw new Error(`${opts.method ?? 'GET'} :${opts.port}${opts.path ?? '/'} not ready after ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
