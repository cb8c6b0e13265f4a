/**
 * The tls suite's servers beyond the shared backend and nginx: the gRPC app,
 * tidegate with as many of the suite's features as serve accepts,
 * tidegate-uws (a second serve whose TLS port is uWS's own, `tls.http2:
 * false`) and node-h2 (bench/h2-floor.js, node:http2 answering by itself).
 * Each on the server CPUs; a serve that refuses what it is asked for is a
 * { skipped } with serve's own message, not an error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startListening, startProcess, stopProcess } from './procs.js';
import { ROOT, freePort, startTidegate } from './targets.js';
import { tidegateTlsConfig } from './tls-configs.js';

const GRPC_APP = path.join(ROOT, 'test', 'fixtures', 'grpc-app.mjs');
const H2_FLOOR = path.join(ROOT, 'bench', 'h2-floor.js');

/** The gRPC app as a process of its own on the server CPUs, once it says it listens. */
export async function startGrpcApp({ cpus, dir }) {
  const port = await freePort();
  let onReady;
  const ready = new Promise((resolve) => (onReady = resolve));
  const proc = await startProcess({
    name: 'grpc-app',
    cmd: process.execPath,
    args: [GRPC_APP],
    cpus,
    env: { PORT: String(port), REVISION_NAME: 'grpc-00001' },
    logFile: path.join(dir, 'grpc-app.log'),
    onLine: (line) => (line.includes('listening on') ? onReady(true) : undefined),
  });
  const ok = await Promise.race([ready, proc.exited.then(() => false), sleep(10_000).then(() => false)]);
  if (!ok) {
    await stopProcess(proc);
    throw new Error(`grpc-app.mjs did not listen; see ${proc.logFile}`);
  }
  return { name: 'direct', port, roots: [proc.pid], stop: () => stopProcess(proc) };
}

/** Why serve gave up, from its log: the first line naming a problem (a pino line's msg), else its first line. */
function whyInLog(file) {
  if (!fs.existsSync(file)) return '';
  const lines = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  const text = (l) => {
    try {
      const j = JSON.parse(l);
      return String(j.err?.message ?? j.msg ?? l);
    } catch {
      return l;
    }
  };
  const line = lines.find((l) => /unknown|invalid|error|refus|cannot|must|not allowed/i.test(text(l))) ?? lines[0] ?? '';
  return text(line);
}

/**
 * tidegate with every feature this suite uses; when serve refuses that
 * (the Round 2 flags and keys are new), fewer features, down to none; the
 * rows of a feature it refused are skipped with its message.
 */
export async function startTidegateFeatures({ settings, dir, backend, grpcApp, cert, key, log }) {
  const all = ['tls', 'h2c', 'grpc'];
  const attempts = [all, ['tls', 'h2c'], ['tls'], ['h2c', 'grpc'], ['h2c']];
  const refused = new Map();
  for (const features of attempts) {
    const has = new Set(features);
    const [tlsPort, h2cPort] = [await freePort(), await freePort()];
    const name = `tidegate-${features.join('-')}`;
    try {
      const target = await startTidegate({
        cpus: settings.serverCpus,
        dir,
        name,
        configText: tidegateTlsConfig({ backendEndpoint: `127.0.0.1:${backend.port}`, ...(has.has('grpc') ? { grpcEndpoint: `127.0.0.1:${grpcApp.port}` } : {}), ...(has.has('tls') ? { cert, key } : {}) }),
        args: [...(has.has('tls') ? ['--tls-port', String(tlsPort)] : []), ...(has.has('h2c') ? ['--h2c-port', String(h2cPort)] : [])],
      });
      const without = all.filter((f) => !has.has(f));
      log(`tidegate: serve started with ${features.join(', ')}${without.length ? `; without ${without.join(', ')}` : ''}`);
      return { ...target, name: 'tidegate', tlsPort: has.has('tls') ? tlsPort : null, h2cPort: has.has('h2c') ? h2cPort : null, features: has, refused };
    } catch (err) {
      const why = whyInLog(path.join(dir, `${name}.log`)) || err.message;
      log(`tidegate: serve refused ${features.join(' + ')}: ${why}`);
      // The last refusal with a feature is the most telling: fewer others were asked with it.
      for (const f of features) refused.set(f, `serve refused it: ${why}`);
    }
  }
  return { name: 'tidegate', skipped: 'serve refused every feature of this suite', features: new Set(), refused };
}

/**
 * tidegate-uws: a second serve at the same backend with the same
 * certificate, only a `tls:` section with `http2: false` and `--tls-port`
 * (uWS's own TLS, HTTP/1.1 only, no node:tls bridge). An older serve
 * refuses the key: then { skipped } with its message.
 */
export async function startTidegateUws({ settings, dir, backend, cert, key, log }) {
  const name = 'tidegate-uws';
  const tlsPort = await freePort();
  try {
    const target = await startTidegate({
      cpus: settings.serverCpus,
      dir,
      name,
      configText: tidegateTlsConfig({ backendEndpoint: `127.0.0.1:${backend.port}`, cert, key, http2: false }),
      args: ['--tls-port', String(tlsPort)],
    });
    log(`${name}: serve started with tls.http2: false`);
    return { ...target, tlsPort };
  } catch (err) {
    const why = whyInLog(path.join(dir, `${name}.log`)) || err.message;
    log(`${name}: serve refused tls.http2: false: ${why}`);
    return { name, skipped: `tidegate --tls-port with \`tls.http2: false\` — serve refused it: ${why}` };
  }
}

/**
 * node-h2: bench/h2-floor.js, HTTP/2 over TLS with `cert`/`key` (the port
 * as `tlsPort`), else h2c (`h2cPort`); { skipped } when it does not listen.
 */
export async function startH2Floor({ cpus, dir, cert, key }) {
  const name = cert ? 'node-h2-tls' : 'node-h2c';
  try {
    const { proc, port } = await startListening({ name, cmd: process.execPath, args: [H2_FLOOR, '--port', '0', ...(cert ? ['--tls', cert, key] : [])], cpus, logFile: path.join(dir, `${name}.log`) });
    return { name: 'node-h2', ...(cert ? { tlsPort: port } : { h2cPort: port }), roots: [proc.pid], stop: () => stopProcess(proc) };
  } catch (err) {
    return { name: 'node-h2', skipped: `bench/h2-floor.js did not start: ${err.message}` };
  }
}
