#!/usr/bin/env node
/**
 * The `websocket` suite's load client, run as a process of its own so it can
 * be pinned to the load generator's CPU as wrk is (autocannon has no
 * WebSocket mode). It opens --sockets WebSockets to --url (sending
 * `Host: --host` when given) and then, for --duration seconds:
 *   steady: each socket sends one --bytes binary message per second, the
 *           sockets' sends spread evenly over the second;
 *   echo:   each socket keeps one message in flight, sending the next as
 *           soon as the echo of the last arrives.
 * Every echo is checked (same socket, next sequence number, same length) and
 * its round trip recorded in µs into an hdr histogram.
 *
 * stdout: `WS_OPEN` once every socket is open or has failed (measuring
 * starts), `WS_DONE` when measuring ends and before the sockets close (so the
 * caller can sample the target with every socket still open), then
 * `WS_JSON {…}` with the figures.
 *
 * Usage: node bench/lib/ws-load.js --url ws://127.0.0.1:PORT/ws [--host H]
 *          --sockets N --mode steady|echo --duration S [--bytes 32]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import WebSocket from 'ws';

/** Connections opened at once: 1000 SYNs together overflow a listen backlog and cost 1 s retransmits. */
const OPEN_CONCURRENCY = 50;
/** After the last send, how long echoes still in flight may take before they count as lost. */
const DRAIN_MS = 5000;
/** How long the close handshakes at the end may take. */
const CLOSE_MS = 5000;

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    host: { type: 'string' },
    sockets: { type: 'string' },
    mode: { type: 'string' },
    duration: { type: 'string' },
    bytes: { type: 'string' },
  },
});
const opts = {
  url: values.url,
  host: values.host || undefined,
  sockets: Number(values.sockets),
  mode: values.mode,
  durationSec: Number(values.duration),
  // A message carries the socket's index and its sequence number: 8 bytes at least.
  bytes: Math.max(8, Number(values.bytes ?? 32)),
};
if (!opts.url || !(opts.sockets > 0) || !(opts.durationSec > 0) || !['steady', 'echo'].includes(opts.mode)) {
  process.stderr.write('usage: ws-load.js --url URL [--host H] --sockets N --mode steady|echo --duration S [--bytes B]\n');
  process.exit(2);
}

const counts = { connectErrors: 0, socketErrors: 0, unexpectedCloses: 0, badEchoes: 0, lost: 0, closeProblems: 0 };
let firstError = null;
const noteError = (what, err) => (firstError ??= `${what}: ${err?.message ?? err}`);
const rtt = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
const template = Buffer.alloc(opts.bytes, 'x');
let sending = false;
let sent = 0;
let echoed = 0;
let onDrained = null;

/** One WebSocket and what it has in flight; its echoes come back in the order it sent them. */
class Conn {
  constructor(index) {
    this.index = index;
    this.ws = null;
    this.nextSeq = 0;
    this.ackedSeq = 0;
    this.sentAt = [];
    this.closing = false;
    this.closed = false;
    this.timer = null;
    this.onClosed = null;
  }

  open() {
    return new Promise((resolve) => {
      const ws = new WebSocket(opts.url, { headers: opts.host ? { host: opts.host } : {}, perMessageDeflate: false, handshakeTimeout: 10_000 });
      this.ws = ws;
      let opened = false;
      ws.on('open', () => {
        opened = true;
        resolve();
      });
      ws.on('message', (data, isBinary) => this.echo(data, isBinary));
      ws.on('error', (err) => {
        if (opened) counts.socketErrors++;
        else counts.connectErrors++;
        noteError(opened ? 'socket error' : 'connect', err);
        if (!opened) resolve();
      });
      ws.on('close', (code) => {
        this.closed = true;
        if (!opened) return;
        if (!this.closing) {
          counts.unexpectedCloses++;
          noteError('closed by the server', code);
        } else if (code !== 1000) {
          counts.closeProblems++;
          noteError('close handshake', `code ${code}`);
        }
        this.onClosed?.();
      });
    });
  }

  send() {
    if (!sending || this.closed) return;
    const msg = Buffer.from(template);
    msg.writeUInt32LE(this.index, 0);
    msg.writeUInt32LE(this.nextSeq++, 4);
    this.sentAt.push(performance.now());
    sent++;
    this.ws.send(msg);
  }

  echo(data, isBinary) {
    const now = performance.now();
    const at = this.sentAt.shift();
    if (at === undefined || !isBinary || data.length !== opts.bytes || data.readUInt32LE(0) !== this.index || data.readUInt32LE(4) !== this.ackedSeq) {
      counts.badEchoes++;
      noteError('bad echo', `socket ${this.index}: ${data.length} bytes, expected sequence ${this.ackedSeq}`);
    } else {
      rtt.recordValue(Math.max(1, Math.round((now - at) * 1000)));
    }
    this.ackedSeq++;
    echoed++;
    if (opts.mode === 'echo') this.send();
    if (onDrained && echoed >= sent) onDrained();
  }
}

async function openAll(conns) {
  let next = 0;
  const worker = async () => {
    while (next < conns.length) await conns[next++].open();
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, conns.length) }, worker));
}

/** Steady: socket i sends at i/N of each second, so the load is even rather than one burst a second. */
function startSending(live) {
  sending = true;
  if (opts.mode === 'echo') {
    for (const c of live) c.send();
    return;
  }
  live.forEach((c, i) => {
    c.timer = setTimeout(() => {
      c.send();
      c.timer = setInterval(() => c.send(), 1000);
    }, (i * 1000) / live.length);
  });
}

function stopSending(live) {
  sending = false;
  for (const c of live) {
    clearTimeout(c.timer);
    clearInterval(c.timer);
  }
}

/** Resolves once every message sent has been echoed, or after `ms`. */
function drained(ms) {
  if (echoed >= sent) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    onDrained = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

function closeAll(live) {
  return new Promise((resolve) => {
    let open = live.filter((c) => !c.closed).length;
    if (open === 0) return resolve();
    const timer = setTimeout(() => {
      for (const c of live) {
        if (c.closed) continue;
        counts.closeProblems++;
        noteError('close handshake', 'no close frame back in time');
        c.ws.terminate();
      }
      resolve();
    }, CLOSE_MS);
    for (const c of live) {
      if (c.closed) continue;
      c.closing = true;
      c.onClosed = () => {
        if (--open === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      c.ws.close(1000);
    }
  });
}

/** hdr reports the top of a value's bucket, which can exceed the exact max. */
const atPercentile = (p) => (rtt.totalCount > 0 ? Math.min(rtt.getValueAtPercentile(p), rtt.maxValue) / 1000 : null);

async function main() {
  const conns = Array.from({ length: opts.sockets }, (_, i) => new Conn(i));
  const openStart = performance.now();
  await openAll(conns);
  const openMs = performance.now() - openStart;
  const live = conns.filter((c) => c.ws.readyState === WebSocket.OPEN);
  process.stdout.write('WS_OPEN\n');

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  startSending(live);
  await new Promise((resolve) => setTimeout(resolve, opts.durationSec * 1000));
  stopSending(live);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await drained(DRAIN_MS);
  counts.lost = sent - echoed;
  process.stdout.write('WS_DONE\n');

  await closeAll(live);
  const errors = Object.values(counts).reduce((a, b) => a + b, 0);
  const result = {
    mode: opts.mode,
    sockets: opts.sockets,
    opened: live.length,
    openMs,
    bytes: opts.bytes,
    seconds,
    sent,
    messages: rtt.totalCount,
    msgPerSec: rtt.totalCount / seconds,
    p50Ms: atPercentile(50),
    p99Ms: atPercentile(99),
    maxMs: rtt.totalCount > 0 ? rtt.maxValue / 1000 : null,
    errors,
    ...counts,
    firstError,
    // Near 100 %, the client itself is what limits the echo figures.
    clientCpuPct: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
  };
  rtt.destroy();
  process.stdout.write(`WS_JSON ${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`ws-load: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
