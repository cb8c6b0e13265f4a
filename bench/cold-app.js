#!/usr/bin/env node
/**
 * The app the cold-start suites scale from zero: node:http on $PORT that
 * reports when it became ready, so the bench can subtract the app's own
 * start-up time from the time to first response through tidegate.
 *
 * Once listening it writes `ready <epoch_ms> <process_start_epoch_ms> <pid>`
 * (fractional ms, same clock as the bench) as one line appended to
 * $READY_FILE, or to stdout when READY_FILE is unset.
 */
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { COLD_BODY } from './lib/backend-body.js';

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(COLD_BODY));
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  // timeOrigin is when this process started (before Node's own bootstrap), so
  // ready − origin is everything the app itself needs to become ready.
  const line = `ready ${(performance.timeOrigin + performance.now()).toFixed(3)} ${performance.timeOrigin.toFixed(3)} ${process.pid}\n`;
  if (process.env.READY_FILE) fs.appendFileSync(process.env.READY_FILE, line);
  else process.stdout.write(line);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
