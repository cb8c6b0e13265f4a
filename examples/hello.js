// The demo app tidegate runs in config/example.yaml: a small, realistic HTTP
// service with no dependencies. It starts slowly on purpose (STARTUP_DELAY_MS)
// so a cold start through the activator is visible.
//
//   GET  /             200 "hello from <K_REVISION>: <GREETING>"
//   any  ?sleep=MS     answers after MS milliseconds (simulated work)
//   any  ?status=CODE  answers with that status
//   POST/PUT           reads the body, answers {"bytes": N, "sha256": "..."}
import { createHash } from 'node:crypto';
import http from 'node:http';

const port = Number(process.env.PORT ?? 8080);
// tidegate's local pods set HOST=127.0.0.1 (and PORT); run by hand it stays on loopback too.
const host = process.env.HOST || '127.0.0.1';
const startupDelayMs = Number(process.env.STARTUP_DELAY_MS ?? 500);
const revision = process.env.K_REVISION || 'hello';
const greeting = process.env.GREETING || 'hi';

function answer(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const sleepMs = Math.max(0, Number(url.searchParams.get('sleep') ?? 0) || 0);
  const requested = Number(url.searchParams.get('status'));
  const status = Number.isInteger(requested) && requested >= 200 && requested <= 599 ? requested : 200;

  const respond = (type, body) => setTimeout(() => answer(res, status, type, body), sleepMs);

  if (req.method === 'POST' || req.method === 'PUT') {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => respond('application/json', JSON.stringify({ bytes, sha256: hash.digest('hex') }) + '\n'));
    req.on('error', () => res.destroy());
    return;
  }
  req.resume();
  respond('text/plain; charset=utf-8', `hello from ${revision}: ${greeting}\n`);
});

// Keep-alive connections from the proxy must outlive its idle timeout, not the reverse.
server.keepAliveTimeout = 65_000;

setTimeout(() => {
  server.listen(port, host, () => {
    console.log(`hello (${revision}) listening on ${host}:${port}`);
  });
}, startupDelayMs);

process.on('SIGTERM', () => {
  // Finish in-flight requests, then exit; idle keep-alive sockets must not hold us.
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
});
