/**
 * Correctness before measurement: a target that answers fast but wrong
 * (an error page, a body of its own, a POST it did not forward) must not
 * produce a number. Returns a list of problems, empty when all is well.
 */
import { request } from './http.js';
import { BODY } from './backend-body.js';

export const POST_BYTES = 64 * 1024;

async function expect(problems, what, fn) {
  try {
    const msg = await fn();
    if (msg) problems.push(`${what}: ${msg}`);
  } catch (err) {
    problems.push(`${what}: ${err.message}`);
  }
}

/** Checks GET (the backend's exact body, several times so every pooled path is seen), POST 64 KiB, and ?sleep=. */
export async function checkTarget(target, { sleepMs = 150 } = {}) {
  const problems = [];
  const base = { port: target.port, host: target.host };
  await expect(problems, 'GET /', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await request({ ...base, path: `/?n=${i}` });
      if (r.status !== 200) return `status ${r.status}, want 200 (${r.headers['x-tidegate-error'] ?? ''} ${r.body.slice(0, 120)})`;
      if (r.body !== BODY) return `body ${JSON.stringify(r.body.slice(0, 120))} is not the backend's`;
    }
    return null;
  });
  await expect(problems, `POST ${POST_BYTES} bytes`, async () => {
    const r = await request({ ...base, method: 'POST', body: Buffer.alloc(POST_BYTES, 'x'), headers: { 'content-type': 'application/octet-stream' } });
    if (r.status !== 200) return `status ${r.status}, want 200`;
    if (r.body !== String(POST_BYTES)) return `backend saw ${r.body} bytes, want ${POST_BYTES}`;
    return null;
  });
  await expect(problems, `GET /?sleep=${sleepMs}`, async () => {
    const r = await request({ ...base, path: `/?sleep=${sleepMs}` });
    if (r.status !== 200 || r.body !== BODY) return `status ${r.status} / wrong body`;
    if (r.ms < sleepMs) return `answered in ${r.ms.toFixed(1)} ms, before the backend's ${sleepMs} ms sleep`;
    return null;
  });
  return problems;
}
