import { describe, expect, it } from 'vitest';
import { IdSource, parseTraceparent } from '../../src/observe/trace-context.js';
import { Tracer } from '../../src/observe/spans.js';
import type { SpanRecord } from '../../src/observe/otlp-exporter.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const P = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  it.each([
    [`00-${T}-${P}-01`, { traceId: T, spanId: P, sampled: true }],
    [`00-${T}-${P}-00`, { traceId: T, spanId: P, sampled: false }],
    [`00-${T}-${P}-03`, { traceId: T, spanId: P, sampled: true }],
    [`01-${T}-${P}-01-future`, { traceId: T, spanId: P, sampled: true }],
    [`01-${T}-${P}-01`, { traceId: T, spanId: P, sampled: true }],
  ])('accepts %s', (value, parent) => {
    expect(parseTraceparent(value)).toEqual(parent);
  });

  it.each([
    ['', 'absent'],
    [`00-${T}-${P}-01-extra`, 'version 00 with more fields'],
    [`ff-${T}-${P}-01`, 'version ff'],
    [`00-${T.toUpperCase()}-${P}-01`, 'upper-case hex'],
    [`00-${'0'.repeat(32)}-${P}-01`, 'all-zero trace id'],
    [`00-${T}-${'0'.repeat(16)}-01`, 'all-zero span id'],
    [`00-${T}-${P}-0g`, 'bad flags'],
    [`00_${T}_${P}_01`, 'bad separators'],
    [`00-${T}-${P}-01, 00-${T}-${P}-01`, 'two headers'],
    [`01-${T}-${P}-01x`, 'a later version without a dash after the flags'],
  ])('refuses %s (%s)', (value) => {
    expect(parseTraceparent(value)).toBeNull();
  });
});

describe('IdSource', () => {
  it('gives distinct lower-case hex ids of the right length', () => {
    const ids = new IdSource();
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const t = ids.traceId();
      const s = ids.spanId();
      expect(t).toMatch(/^[0-9a-f]{32}$/);
      expect(s).toMatch(/^[0-9a-f]{16}$/);
      seen.add(t);
    }
    expect(seen.size).toBe(1000);
  });
});

describe('Tracer sampling', () => {
  const spans: SpanRecord[] = [];
  const sink = { add: (s: SpanRecord) => void spans.push(s) };
  const end = { startMs: 1, endMs: 2, method: 'GET', host: 'h', status: 200, service: 's', revision: 'r', pod: 'p', errorHop: null };

  it("follows the parent's flag whatever the sample rate", () => {
    const never = new Tracer({ sink, sample: 0 });
    const always = new Tracer({ sink, sample: 1 });
    expect(never.start(`00-${T}-${P}-01`, '').sampled).toBe(true);
    expect(always.start(`00-${T}-${P}-00`, '').sampled).toBe(false);
  });

  it('samples root requests at the rate (an injected random)', () => {
    const rolls = [0.005, 0.5];
    const tracer = new Tracer({ sink, sample: 0.01, random: () => rolls.shift()! });
    const a = tracer.start('', '');
    const b = tracer.start('', '');
    expect([a.sampled, b.sampled]).toEqual([true, false]);
    expect(a.parentSpanId).toBe('');
    expect(a.traceId).not.toBe(b.traceId);
    spans.length = 0;
    tracer.end(a, end);
    tracer.end(b, end);
    expect(spans.map((s) => s.traceId)).toEqual([a.traceId]);
  });

  it("hands the pod a traceparent whose parent is the server span, with the client's tracestate", () => {
    const t = new Tracer({ sink, sample: 0 }).start(`00-${T}-${P}-01`, 'k=v');
    expect(t.headerLines()).toBe(`traceparent: 00-${T}-${t.spanId}-01\r\ntracestate: k=v\r\n`);
    expect(t.spanId).not.toBe(P);
  });
});
