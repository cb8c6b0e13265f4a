import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { realClock } from '../../src/shared/clock.js';
import { OtlpExporter, SPAN_KIND_SERVER, tracesUrl, type SpanRecord } from '../../src/observe/otlp-exporter.js';
import { captureLogger } from '../actuators/support/capture-logger.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/serve.js';

let rx: OtlpReceiver;
beforeAll(async () => {
  rx = await startOtlpReceiver();
});
afterAll(async () => {
  await rx?.close();
});

let n = 0;
function span(): SpanRecord {
  n++;
  return {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: n.toString(16).padStart(16, '0'),
    parentSpanId: '',
    traceState: '',
    name: 'GET',
    kind: SPAN_KIND_SERVER,
    startMs: 1_700_000_000_000,
    endMs: 1_700_000_000_005,
    attributes: ['http.response.status_code', 200, 'server.address', 'h.example.com'],
    statusCode: 0,
    statusMessage: '',
  };
}

function exporter(endpoint: string, extra: { maxQueue?: number; batchSize?: number; delayMs?: number } = {}) {
  const { logger, entries } = captureLogger();
  const registry = new Registry();
  const ex = new OtlpExporter({ endpoint, clock: realClock, logger, registry, resource: { 'service.name': 'tidegate' }, delayMs: 60_000, timeoutMs: 2000, ...extra });
  const metric = async (name: string) => (await registry.getSingleMetricAsString(name)).split('\n').filter((l) => !l.startsWith('#'));
  return { ex, entries, metric };
}

describe('OtlpExporter', () => {
  it('builds the signal URL from the base endpoint', () => {
    expect(tracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(tracesUrl('http://collector:4318/')).toBe('http://collector:4318/v1/traces');
    expect(tracesUrl('https://x.example.com/otlp')).toBe('https://x.example.com/otlp/v1/traces');
  });

  it('encodes spans as OTLP JSON: hex ids, nanosecond strings, integer attributes as intValue', async () => {
    const { ex } = exporter(rx.endpoint);
    const s = span();
    ex.add(s);
    await ex.flush();
    const got = rx.spans.find((x) => x.spanId === s.spanId)!;
    expect(got).toMatchObject({ traceId: s.traceId, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000005000000', kind: 2, name: 'GET' });
    expect(got.attributes).toEqual({ 'http.response.status_code': 200, 'server.address': 'h.example.com' });
    await ex.close();
  });

  it('logs a failing collector once per outage, counts failures and dropped spans, and says when it works again', async () => {
    const { ex, entries, metric } = exporter(rx.endpoint);
    rx.status = 503;
    for (let i = 0; i < 3; i++) {
      ex.add(span());
      await ex.flush();
    }
    expect(await metric('tidegate_trace_export_failures_total')).toContain('tidegate_trace_export_failures_total 3');
    expect(await metric('tidegate_trace_spans_dropped_total')).toContain('tidegate_trace_spans_dropped_total{reason="export-failed"} 3');
    expect(entries.filter((e) => String(e['msg']).startsWith('trace export failed'))).toHaveLength(1);
    rx.status = 200;
    ex.add(span());
    await ex.flush();
    expect(entries.filter((e) => e['msg'] === 'trace export works again')).toHaveLength(1);
    rx.status = 503;
    ex.add(span());
    await ex.flush();
    expect(entries.filter((e) => String(e['msg']).startsWith('trace export failed'))).toHaveLength(2);
    rx.status = 200;
    await ex.close();
  });

  it('sends batches of at most batchSize spans, on its own, within delayMs', async () => {
    const { ex } = exporter(rx.endpoint, { batchSize: 3, delayMs: 20 });
    const before = rx.requests.length;
    const ids = Array.from({ length: 7 }, () => {
      const s = span();
      ex.add(s);
      return s.spanId;
    });
    await waitFor(() => ids.every((id) => rx.spans.some((x) => x.spanId === id)), 5000, 'every span exported without a flush');
    expect(rx.requests.length - before).toBe(3); // 3 + 3 + 1
    await ex.close();
  });

  it('does not hold shutdown on a collector that never answers', async () => {
    const sockets: net.Socket[] = [];
    const hung = net.createServer((s) => void sockets.push(s)); // accepts, never answers
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    try {
      const { ex } = exporter(`http://127.0.0.1:${(hung.address() as AddressInfo).port}`);
      ex.add(span());
      const t0 = Date.now();
      await ex.close(300);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => hung.close(() => r()));
    }
  });

  it('fails fast against a closed port and bounds its queue', async () => {
    const { ex, metric } = exporter(`http://127.0.0.1:${await freePort()}`, { maxQueue: 2 });
    for (let i = 0; i < 5; i++) ex.add(span());
    expect(await metric('tidegate_trace_spans_dropped_total')).toContain('tidegate_trace_spans_dropped_total{reason="queue-full"} 3');
    await ex.flush();
    expect(await metric('tidegate_trace_export_failures_total')).toContain('tidegate_trace_export_failures_total 1');
    await ex.close();
  });
});
