#!/usr/bin/env node
/**
 * The tls suite's `node-h2` reference: a bare node:http2 server that answers
 * every stream itself with the backend's 100-byte body, proxying nowhere.
 * What node:http2 costs per request with no proxy work at all: the floor
 * under tidegate's HTTP/2 ports (which are node:http2), to set beside
 * nginx's whole proxy cost. Same session settings as tidegate's H2Server
 * (src/router/h2-server.ts), so the floor is the same HTTP/2 machinery.
 * With --tls, HTTP/2 over TLS (ALPN h2 only, TLSv1.2 and up), else h2c.
 *
 * Usage: node bench/h2-floor.js [--port 0] [--host 127.0.0.1] [--tls CERT KEY]
 * Prints `listening PORT` on stdout once it accepts connections.
 */
import fs from 'node:fs';
import http2 from 'node:http2';
import { parseArgs } from 'node:util';
import { BODY } from './lib/backend-body.js';

const { values, positionals } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string' }, tls: { type: 'boolean' } },
  allowPositionals: true,
});
if (values.tls ? positionals.length !== 2 : positionals.length !== 0) {
  process.stderr.write('usage: node bench/h2-floor.js [--port 0] [--host 127.0.0.1] [--tls CERT KEY]\n');
  process.exit(2);
}
const port = Number(values.port ?? 0);
const host = values.host ?? '127.0.0.1';

const SESSION = { maxSessionMemory: 64, settings: { maxConcurrentStreams: 1000 } };
const server = values.tls ? http2.createSecureServer({ ...SESSION, cert: fs.readFileSync(positionals[0]), key: fs.readFileSync(positionals[1]), minVersion: 'TLSv1.2' }) : http2.createServer(SESSION);

// Built once: the stream API with a constant body, no compat layer, no per-request work beyond node:http2's own.
const BODY_BYTES = Buffer.from(BODY);
const HEAD = { ':status': 200, 'content-type': 'text/plain', 'content-length': BODY_BYTES.length };
const ignore = () => undefined; // a stream reset as the load generator stops is no error here
server.on('stream', (stream) => {
  stream.on('error', ignore);
  stream.respond(HEAD);
  stream.end(BODY_BYTES);
});
server.on('sessionError', ignore);
server.listen(port, host, () => process.stdout.write(`listening ${server.address().port}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
