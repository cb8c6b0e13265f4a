/**
 * Suite `tls`: the protocols beyond cleartext HTTP/1.1, side by side in one
 * run, every target with the same certificate (self-signed, made with
 * openssl at suite start) and the same backends:
 *   https-get   wrk, HTTPS/1.1 GET of the 100-byte body: tidegate's TLS port,
 *               tidegate-uws (a second serve whose `tls:` has `http2: false`:
 *               uWS's own TLS, HTTP/1.1 only, no node:tls bridge), nginx `ssl`,
 *               and direct (the backend over plain HTTP) as reference;
 *   h2-tls      h2load, HTTP/2 over TLS (ALPN h2): tidegate's TLS port, nginx `ssl http2`;
 *   h2c         h2load, cleartext HTTP/2 with prior knowledge: tidegate `--h2c-port`,
 *               nginx `listen … http2` without ssl;
 *               in both, node-h2 as reference: bench/h2-floor.js, a bare
 *               node:http2 server answering the body itself, no proxy work
 *               (the CPU floor of node:http2, beside nginx's whole proxy cost);
 *   grpc-unary  h2load posting one pre-encoded gRPC frame to Echo/Unary
 *               (test/fixtures/grpc-app.mjs): direct, tidegate `--h2c-port` to a
 *               `protocol: h2c` revision, nginx `grpc_pass`.
 * Each target is checked before it is measured (bench/lib/tls-check.js);
 * after an h2load run, its DATA bytes must be whole answers of the checked
 * size (h2load sees HTTP statuses, not grpc-status). tidegate and
 * tidegate-uws rows whose flags or config keys serve rejects are skipped
 * with serve's own message.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from '../lib/http.js';
import { BODY } from '../lib/backend-body.js';
import { BENCH_HOST } from '../lib/configs.js';
import { H2LOAD, hasH2load, runH2load } from '../lib/h2load.js';
import { ForeignLoad, Sampler } from '../lib/proc-stats.js';
import { fmt, markdownTable } from '../lib/report.js';
import { median } from '../lib/stats.js';
import { NGINX, freePort, startBackend, startNginx } from '../lib/targets.js';
import { GRPC_PATH, checkGrpc, checkH2, checkHttps, grpcRequestFrame } from '../lib/tls-check.js';
import { GRPC_HOST, makeCertificate, nginxTlsExtra } from '../lib/tls-configs.js';
import { startGrpcApp, startH2Floor, startTidegateFeatures, startTidegateUws } from '../lib/tls-targets.js';
import { hasWrk, runWrk } from '../lib/wrk.js';

/** Every target, in the order they are checked and measured. */
const TARGETS = ['direct', 'nginx', 'tidegate', 'tidegate-uws', 'node-h2'];
/** The scenario kinds a target is measured in when not all of them. */
const ONLY_IN = { 'tidegate-uws': ['https'], 'node-h2': ['h2-tls', 'h2c'] };

/** 100 requests in flight everywhere: wrk 100 connections; h2load 10 connections × 10 streams. */
const SCENARIOS = [
  { name: 'https-get', kind: 'https', tool: 'wrk', what: 'HTTPS/1.1 GET / (100-byte body), wrk, 100 connections; direct is the backend over plain HTTP' },
  { name: 'h2-tls', kind: 'h2-tls', tool: 'h2load', what: 'HTTP/2 over TLS (ALPN h2) GET /, h2load, 10 connections × 10 streams' },
  { name: 'h2c', kind: 'h2c', tool: 'h2load', what: 'cleartext HTTP/2, prior knowledge, GET /, h2load, 10 connections × 10 streams' },
  { name: 'grpc-unary', kind: 'grpc', tool: 'h2load', what: `gRPC Echo/Unary over h2c (one ${grpcRequestFrame().length}-byte frame posted, te: trailers), h2load, 10 connections × 10 streams` },
];

/** CONNS=N: wrk N connections; h2load about √N connections × the streams to make N. */
function inFlight() {
  const n = Number(process.env.CONNS);
  const total = Number.isInteger(n) && n > 0 ? n : 100;
  const clients = Math.max(1, Math.round(Math.sqrt(total)));
  return { connections: total, clients, streams: Math.max(1, Math.round(total / clients)) };
}

/** Which server a scenario's target is, how to load it, how to check it; or { skipped }. */
function endpoint(scenario, targetName, servers, ca, dataFile) {
  const { backend, grpcApp, tidegate } = servers;
  if (ONLY_IN[targetName] && !ONLY_IN[targetName].includes(scenario.kind)) return null;
  const need = { https: 'tls', 'h2-tls': 'tls', h2c: 'h2c', grpc: 'grpc' }[scenario.kind];
  if (targetName === 'tidegate') {
    if (!tidegate.features.has(need) || (need === 'grpc' && !tidegate.features.has('h2c'))) return { skipped: `tidegate ${need === 'tls' ? '--tls-port with a tls: section' : need === 'h2c' ? '--h2c-port' : '--h2c-port with a `protocol: h2c` revision'} — ${tidegate.refused.get(need) ?? tidegate.refused.get('h2c')}` };
  }
  const server =
    targetName === 'direct' ? (scenario.kind === 'grpc' ? grpcApp : backend) : targetName === 'node-h2' ? (scenario.kind === 'h2-tls' ? servers.nodeH2Tls : servers.nodeH2c) : servers[targetName];
  if (server.skipped) return { skipped: server.skipped };
  const authority = targetName.startsWith('tidegate') ? (scenario.kind === 'grpc' ? GRPC_HOST : BENCH_HOST) : undefined;
  const backendRoots = scenario.kind === 'grpc' ? grpcApp.roots : backend.roots;
  const base = { target: targetName, roots: server.roots, serverRoots: [...new Set([...server.roots, ...backendRoots])] };
  if (scenario.kind === 'https') {
    if (targetName === 'direct') {
      return {
        ...base,
        load: { url: `http://127.0.0.1:${backend.port}` },
        check: async () => {
          const r = await request({ port: backend.port });
          return { problems: r.status === 200 && r.body === BODY ? [] : [`GET /: status ${r.status}, not the backend's body`], tls: null };
        },
      };
    }
    return { ...base, load: { url: `https://127.0.0.1:${server.tlsPort}`, host: authority }, check: () => checkHttps({ port: server.tlsPort, host: authority, ca }) };
  }
  if (scenario.kind === 'h2-tls') {
    if (targetName === 'direct') return null;
    const url = `https://127.0.0.1:${server.tlsPort}`;
    return { ...base, load: { url: `${url}/`, authority }, check: () => checkH2({ url, authority, ca }) };
  }
  if (scenario.kind === 'h2c') {
    if (targetName === 'direct') return null;
    const url = `http://127.0.0.1:${server.h2cPort}`;
    return { ...base, load: { url: `${url}/`, authority }, check: () => checkH2({ url, authority }) };
  }
  const url = `http://127.0.0.1:${targetName === 'direct' ? grpcApp.port : server.h2cPort}`;
  return {
    ...base,
    load: { url: `${url}${GRPC_PATH}`, authority, dataFile, headers: ['content-type: application/grpc', 'te: trailers'] },
    check: () => checkGrpc({ url, authority }),
  };
}

async function runLoad(scenario, ep, settings, durationSec) {
  const f = inFlight();
  if (scenario.tool === 'wrk') return runWrk({ url: ep.load.url, host: ep.load.host, connections: f.connections, durationSec, cpus: settings.loadCpus });
  return runH2load({ ...ep.load, clients: f.clients, streams: f.streams, durationSec, cpus: settings.loadCpus });
}

/**
 * What went wrong in a run, or null. h2load: every 2xx must have carried a
 * whole answer of the checked size; with -D, up to the streams in flight
 * when the clock stopped may have their headers counted and their DATA not.
 */
function runProblem(r, ep) {
  const parts = [];
  if (r.errors > 0) parts.push(`${r.errors} socket/stream errors`);
  if (r.non2xx > 0) parts.push(`${r.non2xx} non-2xx`);
  if (r.tool === 'h2load') {
    const f = inFlight();
    const answers = r.dataBytes / ep.dataBytesPerAnswer;
    if (!(answers <= r.status2xx && answers >= r.status2xx - f.clients * f.streams)) parts.push(`${r.dataBytes} DATA bytes for ${r.status2xx} 2xx answers of ${ep.dataBytesPerAnswer} bytes`);
  }
  return parts.length ? parts.join(', ') : null;
}

async function measureOnce(scenario, ep, settings) {
  const sampler = new Sampler(ep.roots);
  const foreign = settings.serverCpus !== undefined ? new ForeignLoad(settings.serverCpus, ep.serverRoots) : null;
  let r;
  try {
    r = await runLoad(scenario, ep, settings, settings.durationSec);
  } catch (err) {
    sampler.stop();
    foreign?.stop();
    throw err;
  }
  const usage = sampler.stop();
  return { ...r, ...usage, cpuUsPerReq: r.requests > 0 ? (usage.cpuSeconds * 1e6) / r.requests : NaN, foreignPct: foreign ? foreign.stop() : NaN };
}

function summarise(runs) {
  const groups = new Map();
  for (const r of runs) {
    if (r.failed) continue;
    const key = `${r.scenario}\u0000${r.target}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows = [...groups.values()].map((list) => {
    const m = (f) => median(list.map(f));
    return {
      scenario: list[0].scenario,
      target: list[0].target,
      tool: list[0].tool,
      reps: list.length,
      reqPerSec: m((r) => r.reqPerSec),
      p50Ms: m((r) => r.p50Ms ?? NaN),
      p99Ms: m((r) => r.p99Ms ?? NaN),
      meanMs: m((r) => r.meanMs ?? NaN),
      maxMs: Math.max(...list.map((r) => r.maxMs ?? NaN)),
      errors: list.reduce((n, r) => n + r.errors + r.non2xx, 0),
      rssPeakMiB: Math.max(...list.map((r) => r.rssPeakBytes)) / 2 ** 20,
      cpuUsPerReq: m((r) => r.cpuUsPerReq),
      foreignPct: m((r) => r.foreignPct),
      tls: list[0].tlsProtocol ? `${list[0].tlsProtocol} ${list[0].cipher}` : (list[0].checkedTls ?? null),
      allReqPerSec: list.map((r) => r.reqPerSec),
    };
  });
  for (const row of rows) {
    const of = (t) => rows.find((r) => r.scenario === row.scenario && r.target === t);
    row.ratioDirect = of('direct') ? row.reqPerSec / of('direct').reqPerSec : NaN;
    row.ratioNginx = of('nginx') ? row.reqPerSec / of('nginx').reqPerSec : NaN;
  }
  return rows;
}

const latency = (r) => (r.tool === 'wrk' ? `p50 ${fmt(r.p50Ms, 2)} / p99 ${fmt(r.p99Ms, 2)}` : `mean ${fmt(r.meanMs, 2)} / max ${fmt(r.maxMs, 1)}`);

function fullTable(rows) {
  const header = ['scenario', 'target', 'tool', 'req/s', '× direct', '× nginx', 'latency ms', 'errors + non-2xx', 'RSS peak MiB', 'CPU µs/req', 'other load on server cpu %', 'TLS'];
  return markdownTable(
    header,
    rows.map((r) => [r.scenario, r.target, r.tool, fmt(r.reqPerSec), fmt(r.ratioDirect, 2), fmt(r.ratioNginx, 2), latency(r), String(r.errors), fmt(r.rssPeakMiB, 1), fmt(r.cpuUsPerReq, 1), fmt(r.foreignPct, 0), r.tls ?? '–']),
  );
}

/**
 * One line per scenario: req/s of each target beside the others, with the
 * ratios of tidegate, tidegate-uws (https-get only) and node-h2 (h2-tls and
 * h2c only); n/a where a target is not measured in that scenario.
 */
function sideBySide(rows, scenarios, skips) {
  const row = (s, t) => rows.find((x) => x.scenario === s.name && x.target === t);
  const cell = (s, t) => {
    const r = row(s, t);
    if (r) return fmt(r.reqPerSec);
    return skips.some((k) => k.scenario === s.name && k.target === t) ? 'skipped' : 'n/a';
  };
  const ratio = (s, t, key) => fmt(row(s, t)?.[key], 2);
  return markdownTable(
    ['scenario', 'direct req/s', 'nginx req/s', 'tidegate req/s', 'tidegate × nginx', 'tidegate × direct', 'tidegate (http2: false) req/s', '(http2: false) × nginx', '(http2: false) × direct', 'node-h2 floor req/s', 'node-h2 × nginx'],
    scenarios.map((s) => [
      s.name,
      cell(s, 'direct'),
      cell(s, 'nginx'),
      cell(s, 'tidegate'),
      ratio(s, 'tidegate', 'ratioNginx'),
      ratio(s, 'tidegate', 'ratioDirect'),
      cell(s, 'tidegate-uws'),
      ratio(s, 'tidegate-uws', 'ratioNginx'),
      ratio(s, 'tidegate-uws', 'ratioDirect'),
      cell(s, 'node-h2'),
      ratio(s, 'node-h2', 'ratioNginx'),
    ]),
    1,
  );
}

/** Where node-h2 ran: its CPU per request (all of it: it has no backend) beside nginx's and tidegate's own (their backend not counted). */
function floorLines(rows, scenarios) {
  const out = [];
  for (const s of scenarios) {
    const of = (t) => rows.find((x) => x.scenario === s.name && x.target === t);
    const floor = of('node-h2');
    if (!floor) continue;
    const beside = ['nginx', 'tidegate'].filter(of).map((t) => `${t} ${fmt(of(t).cpuUsPerReq, 1)} µs (its whole proxy work, the backend not counted)`);
    out.push(`${s.name}: CPU per request, node-h2 ${fmt(floor.cpuUsPerReq, 1)} µs (node:http2 answering by itself: the floor of any node:http2 server)${beside.length ? `; ${beside.join('; ')}` : ''}`);
  }
  return out;
}

function verdictLines(rows, scenarios) {
  const out = [];
  for (const s of scenarios) {
    for (const r of rows.filter((x) => x.scenario === s.name && x.target !== 'direct')) {
      const ratios = [Number.isFinite(r.ratioDirect) ? `${fmt(r.ratioDirect, 2)} × direct` : null, r.target !== 'nginx' && Number.isFinite(r.ratioNginx) ? `${fmt(r.ratioNginx, 2)} × nginx` : null].filter(Boolean);
      out.push(`${s.name}: ${r.target} ${fmt(r.reqPerSec)} req/s${ratios.length ? ` = ${ratios.join(', ')}` : ''} (${r.tool}; latency ${latency(r)} ms; CPU ${fmt(r.cpuUsPerReq, 1)} µs/req; ${r.errors} errors)`);
    }
  }
  return out;
}

export async function run({ settings, dir, log }) {
  const only = (process.env.SCENARIOS ?? '').split(/[\s,]+/).filter(Boolean);
  const missingTool = (s) => (s.tool === 'wrk' && !hasWrk() ? 'wrk is not installed' : s.tool === 'h2load' && !hasH2load() ? `${H2LOAD} is not installed (nghttp2-client)` : null);
  const asked = SCENARIOS.filter((s) => only.length === 0 || only.includes(s.name));
  const toolSkips = asked.filter(missingTool).map((s) => ({ scenario: s.name, target: '*', reason: missingTool(s) }));
  const scenarios = asked.filter((s) => !missingTool(s));
  for (const k of toolSkips) log(`${k.scenario}: skipped — ${k.reason}`);
  const correctness = [];
  const skips = [...toolSkips];
  const stops = [];
  const f = inFlight();
  try {
    const certDir = fs.mkdtempSync(path.join(dir, 'tls-certs-'));
    const { cert, key } = makeCertificate(certDir);
    const ca = fs.readFileSync(cert);
    const dataFile = path.join(certDir, 'grpc-unary.bin');
    fs.writeFileSync(dataFile, grpcRequestFrame());
    const backend = await startBackend({ cpus: settings.serverCpus, dir });
    stops.push(backend);
    const grpcApp = await startGrpcApp({ cpus: settings.serverCpus, dir });
    stops.push(grpcApp);
    let nginx;
    const [tlsPort, h2cPort] = [await freePort(), await freePort()];
    try {
      nginx = await startNginx({ cpus: settings.serverCpus, dir, backendPort: backend.port, connections: 1024, extra: nginxTlsExtra({ tlsPort, h2cPort, grpcPort: grpcApp.port, cert, key }) });
      if (!nginx.skipped) Object.assign(nginx, { tlsPort, h2cPort });
    } catch (err) {
      nginx = { name: 'nginx', skipped: `did not start: ${err.message}` };
      correctness.push(`tls: nginx did not start: ${err.message}`);
    }
    if (nginx.stop) stops.push(nginx);
    if (nginx.skipped) log(`nginx: skipped — ${nginx.skipped}`);
    const tidegate = await startTidegateFeatures({ settings, dir, backend, grpcApp, cert, key, log });
    if (tidegate.stop) stops.push(tidegate);
    const asks = (kind) => scenarios.some((s) => s.kind === kind);
    const notAsked = { skipped: 'its scenarios were not asked for' };
    const tidegateUws = asks('https') ? await startTidegateUws({ settings, dir, backend, cert, key, log }) : notAsked;
    const nodeH2Tls = asks('h2-tls') ? await startH2Floor({ cpus: settings.serverCpus, dir, cert, key }) : notAsked;
    const nodeH2c = asks('h2c') ? await startH2Floor({ cpus: settings.serverCpus, dir }) : notAsked;
    for (const t of [tidegateUws, nodeH2Tls, nodeH2c]) if (t.stop) stops.push(t);
    const servers = { backend, grpcApp, nginx, tidegate, 'tidegate-uws': tidegateUws, nodeH2Tls, nodeH2c };

    // Correctness first: a target that answers wrong gets no number.
    const plan = [];
    for (const s of scenarios) {
      for (const t of TARGETS) {
        const ep = endpoint(s, t, servers, ca, dataFile);
        if (!ep) continue;
        if (ep.skipped) {
          skips.push({ scenario: s.name, target: t, reason: ep.skipped });
          log(`${s.name} ${t}: skipped — ${ep.skipped}`);
          continue;
        }
        const checked = await ep.check();
        if (checked.problems.length) {
          for (const p of checked.problems) correctness.push(`${s.name} ${t}: ${p}`);
          skips.push({ scenario: s.name, target: t, reason: `correctness check failed: ${checked.problems.join('; ')}` });
          log(`${s.name} ${t}: NOT measured — ${checked.problems.join('; ')}`);
          continue;
        }
        Object.assign(ep, { dataBytesPerAnswer: checked.dataBytesPerAnswer, checkedTls: checked.tls ?? null });
        log(`${s.name} ${t}: correctness check passed${checked.tls ? ` (${checked.tls})` : ''}`);
        plan.push({ scenario: s, ep });
      }
    }

    const runs = [];
    for (const s of scenarios) {
      const eps = plan.filter((p) => p.scenario === s).map((p) => p.ep);
      for (let rep = 0; rep < settings.reps; rep++) {
        for (const ep of eps.map((_, i) => eps[(i + rep) % eps.length])) {
          if (settings.warmupSec > 0) await runLoad(s, ep, settings, settings.warmupSec).catch(() => undefined);
          await sleep(500);
          try {
            const r = await measureOnce(s, ep, settings);
            runs.push({ scenario: s.name, target: ep.target, rep, ...r, checkedTls: ep.checkedTls });
            const problem = runProblem(r, ep);
            if (problem) correctness.push(`${s.name} ${ep.target} rep ${rep + 1}: ${problem}`);
            log(`  ${s.name} ${ep.target} ${r.tool} rep ${rep + 1}: ${fmt(r.reqPerSec)} req/s, ${r.tool === 'wrk' ? `p50 ${fmt(r.p50Ms, 2)} ms, p99 ${fmt(r.p99Ms, 2)} ms` : `mean ${fmt(r.meanMs, 2)} ms, max ${fmt(r.maxMs, 1)} ms`}, errors ${r.errors}, non-2xx ${r.non2xx}${problem ? ` — ${problem}` : ''}, other load on server cpu ${fmt(r.foreignPct, 0)} %`);
          } catch (err) {
            runs.push({ scenario: s.name, target: ep.target, rep, failed: err.message });
            correctness.push(`${s.name} ${ep.target} rep ${rep + 1}: ${err.message}`);
            log(`  ${s.name} ${ep.target} rep ${rep + 1}: FAILED ${err.message}`);
          }
        }
      }
    }

    const rows = summarise(runs);
    const lines = [...verdictLines(rows, scenarios), ...floorLines(rows, scenarios)];
    const markdown = [
      '## Suite `tls`',
      '',
      `Targets: \`direct\` (the uWS backend over plain HTTP; for gRPC, test/fixtures/grpc-app.mjs on @grpc/grpc-js), \`nginx\` (1 worker; one \`listen … ssl http2\` port with \`ssl_protocols TLSv1.2 TLSv1.3\`, one cleartext \`listen … http2\` port, \`grpc_pass\` with upstream keepalive for the gRPC path), \`tidegate\` (\`serve --tls-port --h2c-port\`, a \`tls:\` section with the same certificate, service \`bench\` at the backend, service \`grpc\` with a \`protocol: h2c\` revision at the gRPC app), \`tidegate-uws\` (https-get only: a second \`serve --tls-port\` at the same backend with the same certificate whose \`tls:\` section has \`http2: false\`, so its TLS port is uWebSockets.js's own TLS, HTTP/1.1 only, with no node:tls bridge; the summary's "tidegate (http2: false)" columns), \`node-h2\` (h2-tls and h2c only: bench/h2-floor.js, a bare node:http2 server with tidegate's HTTP/2 session settings that answers every stream itself with the same 100-byte body and proxies nowhere: the CPU floor of node:http2, to set beside nginx's whole proxy cost; its CPU µs/req is all of its work, as it has no backend). Certificate: self-signed ECDSA P-256 made with openssl at suite start. ${f.connections} requests in flight: wrk ${f.connections} connections, h2load ${f.clients} connections × ${f.streams} streams, one thread each, pinned like every load generator. h2load gives no percentiles: its latency is the mean and max per request. After each h2load run its DATA bytes must be whole answers of the size the check saw (a gRPC error is a 200 with grpc-status in trailers, which h2load counts as success). CPU µs/req is the target's process tree only (not the backend's). TLS: the version and cipher the load generator (h2load) or the check's Node client (wrk rows) negotiated.`,
      '',
      ...scenarios.map((s) => `- \`${s.name}\`: ${s.what}`),
      '',
      sideBySide(rows, scenarios, skips),
      '',
      fullTable(rows),
      '',
      ...lines.map((l) => `- ${l}`),
      ...(skips.length ? ['', ...skips.map((k) => `- ${k.scenario}${k.target === '*' ? '' : ` ${k.target}`} not measured: ${k.reason}`)] : []),
      ...(correctness.length ? ['', '**Correctness failures:**', ...correctness.map((c) => `- ${c}`)] : []),
      '',
    ].join('\n');
    const data = { scenarios, inFlight: f, rows, runs, skips, correctness, nginx: fs.existsSync(NGINX) };
    return { suite: 'tls', markdown, lines, verdicts: [], correctness, data };
  } finally {
    for (const t of stops.reverse()) await t.stop();
  }
}
