/**
 * What one new upstream connection costs tidegate's process: N connects to
 * the bench backend (bench/backend.js, started here on the same CPU, as in
 * the pinned layout), through node's net.connect (what the upstream pool
 * uses) and through a bare libuv TCP handle (process.binding('tcp_wrap'),
 * what a connect under net.Socket would cost). Prints CPU µs per connect
 * and the wall time of the whole wave for each.
 *
 * Usage: taskset -c 1 node bench/connect-cost.js [N=1000]
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const N = Number(process.argv[2] ?? 1000);
const here = path.dirname(fileURLToPath(import.meta.url));

const backend = spawn(process.execPath, [path.join(here, 'backend.js'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve) => backend.stdout.on('data', (c) => /listening (\d+)/.test(String(c)) && resolve(Number(/listening (\d+)/.exec(String(c))[1]))));

/** Runs `open` N times at once; `open(done)` calls done() once connected; returns [µs of CPU per connect, wall ms]. */
async function wave(open) {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const closers = [];
  await new Promise((resolve) => {
    let left = N;
    for (let i = 0; i < N; i++) closers.push(open(() => --left === 0 && resolve()));
  });
  const used = process.cpuUsage(cpu);
  const wall = performance.now() - t0;
  for (const close of closers) close();
  return [(used.user + used.system) / N, wall];
}

const viaNet = (done) => {
  const s = net.connect({ host: '127.0.0.1', port, noDelay: true }, done);
  return () => s.destroy();
};

const { TCP, TCPConnectWrap, constants } = process.binding('tcp_wrap');
const viaHandle = (done) => {
  const h = new TCP(constants.SOCKET);
  const req = new TCPConnectWrap();
  req.oncomplete = done;
  h.connect(req, '127.0.0.1', port);
  h.setNoDelay(true);
  return () => h.close();
};

for (const [name, open] of [['net.connect', viaNet], ['libuv TCP handle', viaHandle], ['net.connect', viaNet], ['libuv TCP handle', viaHandle]]) {
  const [us, wall] = await wave(open);
  console.log(`${name.padEnd(18)} ${N} connects: ${us.toFixed(1)} µs of CPU each, wave ${wall.toFixed(0)} ms`);
  await new Promise((r) => setTimeout(r, 300));
}
backend.kill();
