import { describe, expect, it } from 'vitest';
import { EDGE_RETRY, mayRetry, QUEUE_PROXY_RETRY, type FailedTry, type RetryPolicy } from '../../src/proxy/retry.js';

// Whether a try that failed before any response byte goes to a pod again.
// Each row names what differs from a first try of a body-less GET that was
// reset, with nothing lost (replayable) and the client still there.

const BASE: FailedTry = { code: 'TG_ERR_UPSTREAM_RESET', method: 'GET', hasBody: false, replayable: true, attempts: 1, aborted: false };

type Row = { name: string; t: Partial<FailedTry>; retry: boolean };

function table(policy: RetryPolicy, rows: Row[]): void {
  it.each(rows)('$name → retry: $retry', ({ t, retry }) => {
    expect(mayRetry(policy, { ...BASE, ...t })).toBe(retry);
  });
}

const IDEMPOTENT = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'];
const NOT_IDEMPOTENT = ['POST', 'PATCH'];

describe('mayRetry, EDGE_RETRY (3 tries, any failure before a response byte)', () => {
  describe('a refused connection reached no app: any method goes again if its body is still at hand', () => {
    table(EDGE_RETRY, [
      ...[...IDEMPOTENT, ...NOT_IDEMPOTENT].map((method) => ({ name: `refused ${method} with a body, replayable`, t: { code: 'TG_ERR_UPSTREAM_REFUSED' as const, method, hasBody: true }, retry: true })),
      { name: 'refused POST without a body', t: { code: 'TG_ERR_UPSTREAM_REFUSED', method: 'POST' }, retry: true },
      { name: 'refused POST whose body is no longer at hand', t: { code: 'TG_ERR_UPSTREAM_REFUSED', method: 'POST', hasBody: true, replayable: false }, retry: false },
      { name: 'refused PUT whose body is no longer at hand', t: { code: 'TG_ERR_UPSTREAM_REFUSED', method: 'PUT', hasBody: true, replayable: false }, retry: false },
      // Replayable is the whole rule for a refusal, whatever the method says.
      { name: 'refused GET, not replayable', t: { code: 'TG_ERR_UPSTREAM_REFUSED', replayable: false }, retry: false },
    ]);
  });

  for (const code of ['TG_ERR_UPSTREAM_RESET', 'TG_ERR_UPSTREAM_PROTOCOL'] as const) {
    describe(`${code} may have reached the app: only idempotent requests without a body go again`, () => {
      table(EDGE_RETRY, [
        ...IDEMPOTENT.map((method) => ({ name: `${method} without a body`, t: { code, method }, retry: true })),
        ...IDEMPOTENT.map((method) => ({ name: `${method} with a body`, t: { code, method, hasBody: true }, retry: false })),
        ...NOT_IDEMPOTENT.map((method) => ({ name: `${method} without a body`, t: { code, method }, retry: false })),
        ...NOT_IDEMPOTENT.map((method) => ({ name: `${method} with a body`, t: { code, method, hasBody: true }, retry: false })),
        // Being replayable does not make a reset harmless, nor does losing the body matter to a GET that has none.
        { name: 'POST with a body, replayable', t: { code, method: 'POST', hasBody: true, replayable: true }, retry: false },
        { name: 'GET, not replayable', t: { code, replayable: false }, retry: true },
        // Methods are case-sensitive (RFC 9110 §9.1): "get" is some other method.
        { name: 'lower-case "get"', t: { code, method: 'get' }, retry: false },
      ]);
    });
  }

  describe('the limit of 3 tries and the client going away', () => {
    table(EDGE_RETRY, [
      { name: 'reset GET, try 1', t: { attempts: 1 }, retry: true },
      { name: 'reset GET, try 2', t: { attempts: 2 }, retry: true },
      { name: 'reset GET, try 3', t: { attempts: 3 }, retry: false },
      { name: 'refused POST, try 2', t: { code: 'TG_ERR_UPSTREAM_REFUSED', method: 'POST', hasBody: true, attempts: 2 }, retry: true },
      { name: 'refused POST, try 3', t: { code: 'TG_ERR_UPSTREAM_REFUSED', method: 'POST', hasBody: true, attempts: 3 }, retry: false },
      { name: 'reset GET, client gone', t: { aborted: true }, retry: false },
      { name: 'refused GET, client gone', t: { code: 'TG_ERR_UPSTREAM_REFUSED', aborted: true }, retry: false },
    ]);
  });
});

describe('mayRetry, QUEUE_PROXY_RETRY (2 tries, a reset only: the app closing a reused connection)', () => {
  table(QUEUE_PROXY_RETRY, [
    ...IDEMPOTENT.map((method) => ({ name: `reset ${method} without a body`, t: { method }, retry: true })),
    ...IDEMPOTENT.map((method) => ({ name: `reset ${method} with a body`, t: { method, hasBody: true }, retry: false })),
    ...NOT_IDEMPOTENT.map((method) => ({ name: `reset ${method} without a body`, t: { method }, retry: false })),
    ...NOT_IDEMPOTENT.map((method) => ({ name: `reset ${method} with a body`, t: { method, hasBody: true }, retry: false })),
    // The app is the only pod: a refusal or nonsense from it will not go better on a second try.
    { name: 'refused GET, replayable', t: { code: 'TG_ERR_UPSTREAM_REFUSED' }, retry: false },
    { name: 'refused POST, replayable', t: { code: 'TG_ERR_UPSTREAM_REFUSED', method: 'POST', hasBody: true }, retry: false },
    { name: 'protocol error on a GET', t: { code: 'TG_ERR_UPSTREAM_PROTOCOL' }, retry: false },
    { name: 'reset GET, try 2', t: { attempts: 2 }, retry: false },
    { name: 'reset GET, try 3', t: { attempts: 3 }, retry: false },
    { name: 'reset GET, client gone', t: { aborted: true }, retry: false },
  ]);
});
