import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharedCapacity } from '../../src/activator/shared-capacity.js';

/**
 * SharedCapacity under real threads: worker_threads hammer take/give on one
 * pod while a "holders" counter (raised after a successful take, lowered
 * before the give) records whether more than `capacity` ever held it at
 * once. The workers load the real module, transpiled from its source (it
 * imports nothing), so the test needs no build.
 */
const OPTIONS = { maxPods: 4, maxRevisions: 2 };
const POD = 1;
const ITERATIONS = 200_000;
const TICKETS = 20_000;

// Stats cells: [holders now, most holders seen, threads started, go, threads past their ITERATIONS]
const HOLDERS = 0;
const MOST = 1;
const READY = 2;
const GO = 3;
const DONE = 4;

const WORKER = `
import { workerData, parentPort } from 'node:worker_threads';
import { SharedCapacity } from ${JSON.stringify('./shared-capacity.mjs')};
const { buffer, workers, worker, options, pod, capacity, iterations, stats, tickets, ticketCount } = workerData;
const cap = SharedCapacity.attach(buffer, workers, worker, options);
const s = new Int32Array(stats);
Atomics.add(s, ${READY}, 1);
Atomics.wait(s, ${GO}, 0);
let took = 0;
let i = 0;
// Each thread goes on until every one has made its tries: they all overlap,
// however the scheduler placed them.
for (; i < iterations || Atomics.load(s, ${DONE}) < workers; i++) {
  if (i + 1 === iterations) Atomics.add(s, ${DONE}, 1);
  if (!cap.take(pod, capacity)) continue;
  took++;
  const now = Atomics.add(s, ${HOLDERS}, 1) + 1;
  for (let seen = Atomics.load(s, ${MOST}); now > seen; seen = Atomics.load(s, ${MOST})) {
    if (Atomics.compareExchange(s, ${MOST}, seen, now) === seen) break;
  }
  // Hold it a moment, so a broken take would be caught overlapping.
  for (let k = 0; k < 8; k++) Atomics.load(s, ${HOLDERS});
  Atomics.sub(s, ${HOLDERS}, 1);
  cap.give(pod, capacity);
}
const mine = new Int32Array(tickets, worker * ticketCount * 4, ticketCount);
for (let i = 0; i < ticketCount; i++) mine[i] = cap.ticket(1);
parentPort.postMessage({ took, tries: i });
`;

let dir = '';
let workerFile = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-shared-capacity-'));
  const source = fs.readFileSync(path.resolve('src/activator/shared-capacity.ts'), 'utf8');
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  fs.writeFileSync(path.join(dir, 'shared-capacity.mjs'), js);
  workerFile = path.join(dir, 'hammer.mjs');
  fs.writeFileSync(workerFile, WORKER);
});

afterAll(() => {
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
});

interface Result {
  took: number;
  tries: number;
}

async function hammer(workers: number, capacity: number) {
  const main = SharedCapacity.create(workers, OPTIONS);
  const stats = new SharedArrayBuffer(20);
  const tickets = new SharedArrayBuffer(workers * TICKETS * 4);
  const s = new Int32Array(stats);
  const threads = Array.from(
    { length: workers },
    (_, worker) =>
      new Worker(pathToFileURL(workerFile), {
        workerData: { buffer: main.buffer, workers, worker, options: OPTIONS, pod: POD, capacity, iterations: ITERATIONS, stats, tickets, ticketCount: TICKETS },
      }),
  );
  const results = threads.map(
    (t) =>
      new Promise<Result>((resolve, reject) => {
        t.once('message', resolve);
        t.once('error', reject);
        t.once('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
      }),
  );
  // Start them together, so they really overlap.
  while (Atomics.load(s, READY) < workers) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(s, GO, 1);
  Atomics.notify(s, GO);
  const done = await Promise.all(results);
  await Promise.all(threads.map((t) => t.terminate()));
  return { main, done, most: Atomics.load(s, MOST), holders: Atomics.load(s, HOLDERS), tickets: new Int32Array(tickets) };
}

describe.each([
  { workers: 2, capacity: 1 },
  { workers: 4, capacity: 1 },
  { workers: 4, capacity: 3 },
])('SharedCapacity on $workers threads, capacity $capacity', ({ workers, capacity }) => {
  it(`never lets more than ${capacity} hold the pod in ${ITERATIONS}+ tries each, and ends at 0`, async () => {
    const { main, done, most, holders, tickets } = await hammer(workers, capacity);
    expect(most).toBe(capacity); // reached, never passed
    expect(holders).toBe(0);
    expect(main.inFlight(POD)).toBe(0);
    for (let w = 0; w < workers; w++) expect(main.heldBy(w, POD)).toBe(0);
    // Every thread got the pod, and they really competed for it.
    for (const r of done) expect(r.took).toBeGreaterThan(0);
    const refused = done.reduce((n, r) => n + r.tries - r.took, 0);
    expect(refused).toBeGreaterThan(0);
    // Tickets taken at the same time are all different: TICKETS per thread, 1 … N·TICKETS.
    const seen = new Set(tickets);
    expect(seen.size).toBe(workers * TICKETS);
    expect(Math.min(...seen)).toBe(1);
    expect(Math.max(...seen)).toBe(workers * TICKETS);
  });
});
