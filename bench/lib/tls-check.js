/**
 * The tls suite's correctness checks, run against each target before it is
 * measured: HTTPS/1.1 and HTTP/2 (TLS by ALPN, or h2c) GETs must bring the
 * backend's exact body, and the gRPC request the load generator will send
 * must come back as a whole Echo reply with grpc-status 0. Each resolves a
 * list of problems (empty when all is well) and what a run is checked
 * against afterwards (the DATA bytes of one answer).
 */
import http2 from 'node:http2';
import https from 'node:https';
import { BODY } from './backend-body.js';
import { decodeMessage, encodeMessage } from '../../test/fixtures/grpc-service.mjs';

export const GRPC_PATH = '/tidegate.test.Echo/Unary';
export const GRPC_TEXT = 'tidegate bench';

/** The request h2load posts: one gRPC frame (flag 0, 4-byte length, the Echo message). */
export function grpcRequestFrame() {
  const message = encodeMessage({ text: GRPC_TEXT });
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

async function attempt(problems, what, fn) {
  try {
    const msg = await fn();
    if (msg) problems.push(`${what}: ${msg}`);
  } catch (err) {
    problems.push(`${what}: ${err.message}`);
  }
}

/** GET / over HTTPS/1.1 (ALPN http/1.1), trusting `ca`; also says which TLS version and cipher were used. */
export async function checkHttps({ port, host, ca }) {
  const problems = [];
  let tls = null;
  await attempt(problems, 'HTTPS/1.1 GET /', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await new Promise((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port, path: `/?n=${i}`, servername: host ?? 'bench.example.com', ca, ALPNProtocols: ['http/1.1'], agent: false, headers: host ? { host } : {}, timeout: 10_000 }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), socket: res.socket }));
          res.on('error', reject);
        });
        req.on('socket', (s) => s.once('secureConnect', () => (tls = `${s.getProtocol()} ${s.getCipher().standardName}`)));
        req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
        req.on('error', reject);
        req.end();
      });
      if (r.status !== 200) return `status ${r.status}, want 200 (${r.body.slice(0, 120)})`;
      if (r.body !== BODY) return `body ${JSON.stringify(r.body.slice(0, 120))} is not the backend's`;
    }
    return null;
  });
  return { problems, tls };
}

/** One HTTP/2 session to `url` (https: ALPN must pick h2; http: prior knowledge). */
function session(url, ca, servername) {
  return new Promise((resolve, reject) => {
    const s = http2.connect(url, url.startsWith('https:') ? { ca, servername, ALPNProtocols: ['h2'] } : {});
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** One request on `s`: resolves { headers, trailers, data }. */
function exchange(s, headers, body) {
  return new Promise((resolve, reject) => {
    const req = s.request(headers, { endStream: body === undefined, waitForTrailers: false });
    const chunks = [];
    let head = {};
    let trailers = {};
    req.on('response', (h) => (head = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve({ headers: head, trailers, data: Buffer.concat(chunks) }));
    req.on('error', reject);
    req.setTimeout(10_000, () => req.close(http2.constants.NGHTTP2_CANCEL));
    if (body !== undefined) req.end(body);
  });
}

/** GET / over HTTP/2, 3 streams on one session: the backend's body each time. */
export async function checkH2({ url, authority, ca }) {
  const problems = [];
  await attempt(problems, `HTTP/2 GET / (${url.startsWith('https:') ? 'TLS, ALPN h2' : 'h2c'})`, async () => {
    const s = await session(url, ca, authority ?? 'bench.example.com');
    try {
      if (url.startsWith('https:') && s.alpnProtocol !== 'h2') return `ALPN chose ${s.alpnProtocol}, want h2`;
      for (let i = 0; i < 3; i++) {
        const r = await exchange(s, { ':method': 'GET', ':path': `/?n=${i}`, ...(authority ? { ':authority': authority } : {}) });
        if (r.headers[':status'] !== 200) return `status ${r.headers[':status']}, want 200 (${r.data.toString('utf8', 0, 120)})`;
        if (r.data.toString('utf8') !== BODY) return `body ${JSON.stringify(r.data.toString('utf8', 0, 120))} is not the backend's`;
      }
      return null;
    } finally {
      s.close();
    }
  });
  return { problems, dataBytesPerAnswer: Buffer.byteLength(BODY) };
}

/** The gRPC Unary call h2load will make, made here: a whole Echo reply, grpc-status 0; its DATA size. */
export async function checkGrpc({ url, authority }) {
  const problems = [];
  let dataBytesPerAnswer = NaN;
  await attempt(problems, `gRPC Unary (h2c POST ${GRPC_PATH})`, async () => {
    const s = await session(url);
    try {
      const headers = { ':method': 'POST', ':path': GRPC_PATH, 'content-type': 'application/grpc', te: 'trailers', ...(authority ? { ':authority': authority } : {}) };
      const sizes = new Set();
      for (let i = 0; i < 3; i++) {
        const r = await exchange(s, headers, grpcRequestFrame());
        const status = r.trailers['grpc-status'] ?? r.headers['grpc-status'];
        if (r.headers[':status'] !== 200) return `HTTP status ${r.headers[':status']}, want 200`;
        if (status !== '0') return `grpc-status ${status} (${r.trailers['grpc-message'] ?? r.headers['grpc-message'] ?? ''}), want 0`;
        if (r.data.length < 5 || r.data.readUInt32BE(1) !== r.data.length - 5) return `reply of ${r.data.length} bytes is not one whole gRPC frame`;
        const reply = decodeMessage(r.data.subarray(5));
        if (reply.text !== GRPC_TEXT) return `reply text ${JSON.stringify(reply.text)}, want ${JSON.stringify(GRPC_TEXT)}`;
        sizes.add(r.data.length);
      }
      if (sizes.size !== 1) return `replies of ${[...sizes].join(', ')} bytes: the load check needs one size`;
      dataBytesPerAnswer = [...sizes][0];
      return null;
    } finally {
      s.close();
    }
  });
  return { problems, dataBytesPerAnswer };
}
