import { describe, expect, it } from 'vitest';
import { RequestStats } from '../../src/queue/request-stats.js';

const T0 = 1_700_000_000_000;

/** One scripted step: at ms after T0, a request in/out (p = proxied), or a report with its expected figures. */
type Step =
  | { at: number; in: boolean; p?: boolean }
  | { at: number; report: [concurrency: number, requests: number, proxiedConcurrency?: number, proxiedRequests?: number] };

interface Case {
  name: string;
  steps: Step[];
}

const cases: Case[] = [
  {
    name: 'two 500 ms requests inside one second → 1.0',
    steps: [{ at: 0, in: true }, { at: 500, in: false }, { at: 500, in: true }, { at: 1000, in: false }, { at: 1000, report: [1, 2] }],
  },
  {
    name: 'two overlapping 500 ms requests → 1.0, one 1 s request → 1.0',
    steps: [{ at: 0, in: true }, { at: 250, in: true }, { at: 500, in: false }, { at: 750, in: false }, { at: 1000, report: [1, 2] }, { at: 1000, in: true }, { at: 2000, in: false }, { at: 2000, report: [1, 1] }],
  },
  {
    name: 'periods with no events report zero',
    steps: [{ at: 1000, report: [0, 0] }, { at: 2000, report: [0, 0] }, { at: 2000, in: true }, { at: 2100, in: false }, { at: 3000, report: [0.1, 1] }, { at: 4000, report: [0, 0] }],
  },
  {
    name: 'a request spanning three periods counts 1.0 in each and arrives once',
    steps: [
      { at: 0, report: [0, 0] },
      { at: 500, in: true },
      { at: 1000, report: [0.5, 1] },
      { at: 2000, report: [1, 0] },
      { at: 2500, in: false },
      { at: 3000, report: [0.5, 0] },
      { at: 4000, report: [0, 0] },
    ],
  },
  {
    name: 'a request still open at a report carries over',
    steps: [{ at: 0, report: [0, 0] }, { at: 0, in: true }, { at: 0, in: true }, { at: 1000, report: [2, 2] }, { at: 1500, in: false }, { at: 2000, report: [1.5, 0] }, { at: 3000, report: [1, 0] }],
  },
  {
    name: 'proxied requests are counted apart (and within the totals)',
    steps: [
      { at: 0, report: [0, 0, 0, 0] },
      { at: 0, in: true, p: true },
      { at: 0, in: true },
      { at: 0, in: true },
      { at: 500, in: false, p: true },
      { at: 1000, in: false },
      { at: 1000, report: [2.5, 3, 0.5, 1] },
      { at: 1000, in: true, p: true },
      { at: 2000, report: [2, 1, 1, 1] },
    ],
  },
  {
    name: 'request counts are per second of the actual period',
    steps: [{ at: 0, report: [0, 0] }, { at: 100, in: true }, { at: 200, in: false }, { at: 300, in: true }, { at: 400, in: false }, { at: 2000, report: [0.1, 1] }],
  },
  {
    name: 'without a start time the first period is taken as 1 s long',
    steps: [{ at: 500, in: true }, { at: 1000, in: false }, { at: 1000, report: [0.5, 1] }],
  },
  {
    name: 'a stray out never makes in-flight negative',
    steps: [{ at: 0, report: [0, 0] }, { at: 100, in: false }, { at: 100, in: true }, { at: 600, in: false }, { at: 1000, report: [0.5, 1] }],
  },
];

describe('RequestStats: time-weighted concurrency per period', () => {
  for (const c of cases) {
    it(c.name, () => {
      const s = new RequestStats();
      for (const step of c.steps) {
        const now = T0 + step.at;
        if ('report' in step) {
          const [concurrency, requests, pc = 0, pr = 0] = step.report;
          const r = s.report(now);
          expect({ at: step.at, ...r }).toEqual({
            at: step.at,
            concurrency: expect.closeTo(concurrency, 9) as unknown,
            requests: expect.closeTo(requests, 9) as unknown,
            proxiedConcurrency: expect.closeTo(pc, 9) as unknown,
            proxiedRequests: expect.closeTo(pr, 9) as unknown,
          });
        } else if (step.in) s.requestIn(now, step.p === true);
        else s.requestOut(now, step.p === true);
      }
    });
  }

  it('uses the given start time for the first period', () => {
    const s = new RequestStats(T0);
    s.requestIn(T0 + 1500, false);
    s.requestOut(T0 + 2000, false);
    expect(s.report(T0 + 2000)).toEqual({ concurrency: 0.25, requests: 0.5, proxiedConcurrency: 0, proxiedRequests: 0 });
  });

  it('exposes the live in-flight counts', () => {
    const s = new RequestStats(T0);
    s.requestIn(T0, true);
    s.requestIn(T0, false);
    expect([s.inFlight, s.proxiedInFlight]).toEqual([2, 1]);
    s.requestOut(T0 + 1, true);
    expect([s.inFlight, s.proxiedInFlight]).toEqual([1, 0]);
  });

  it('a second report at the same instant gives the instantaneous in-flight and no arrivals', () => {
    const s = new RequestStats(T0);
    s.requestIn(T0 + 10, false);
    s.report(T0 + 1000);
    expect(s.report(T0 + 1000)).toEqual({ concurrency: 1, requests: 0, proxiedConcurrency: 0, proxiedRequests: 0 });
  });
});
