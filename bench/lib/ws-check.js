/**
 * The `websocket` suite's correctness check, before any load: through the
 * target, one WebSocket must echo a text message, a small binary one and a
 * 64 KiB binary one exactly (type, bytes, order), and answer a close 1000
 * with 1000. A target that fails is not measured.
 */
import crypto from 'node:crypto';
import WebSocket from 'ws';

export const WS_PATH = '/ws';
export const WS_CHECK_BIG_BYTES = 64 * 1024;
const TIMEOUT_MS = 5000;

/** Resolves with a list of problems, empty when the target echoes every message and closes cleanly. */
export function checkWsEcho(target) {
  const sends = [
    { data: 'hello through the relay', binary: false },
    { data: crypto.randomBytes(16), binary: true },
    { data: crypto.randomBytes(WS_CHECK_BIG_BYTES), binary: true },
  ];
  return new Promise((resolve) => {
    const problems = [];
    const ws = new WebSocket(`ws://127.0.0.1:${target.port}${WS_PATH}`, { headers: target.host ? { host: target.host } : {}, perMessageDeflate: false, handshakeTimeout: TIMEOUT_MS });
    let got = 0;
    let done = false;
    const finish = (problem) => {
      if (done) return; // an error is followed by a close: the first word counts
      done = true;
      clearTimeout(timer);
      if (problem) problems.push(problem);
      ws.terminate();
      resolve(problems);
    };
    const timer = setTimeout(() => finish(`WebSocket echo: ${got}/${sends.length} echoes, then nothing for ${TIMEOUT_MS} ms`), TIMEOUT_MS);
    ws.on('unexpected-response', (_req, res) => finish(`WebSocket upgrade: status ${res.statusCode}, want 101`));
    ws.on('error', (err) => finish(`WebSocket: ${err.message}`));
    ws.on('open', () => {
      for (const s of sends) ws.send(s.data, { binary: s.binary });
    });
    ws.on('message', (data, isBinary) => {
      const want = sends[got++];
      const same = want && isBinary === want.binary && Buffer.compare(data, Buffer.from(want.data)) === 0;
      if (!same) return finish(`WebSocket echo ${got}: ${isBinary ? 'binary' : 'text'} of ${data.length} bytes is not the message sent`);
      if (got === sends.length) ws.close(1000);
    });
    ws.on('close', (code) => finish(got === sends.length && code === 1000 ? null : `WebSocket closed with ${code} after ${got}/${sends.length} echoes, want 1000 after all`));
  });
}
