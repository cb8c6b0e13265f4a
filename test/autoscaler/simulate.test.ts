/**
 * `tidegate simulate` on a step trace: 0 → 100 concurrent at t=6 s, back
 * to 0 at t=30 s, with docs/examples/autoscale.yaml (target 10 per pod,
 * stable window 20 s so the panic window is 2 s, grace 10 s, TBC 20).
 * The expected rows were worked out by hand from Knative's rules; the
 * comments say why each interesting row is what it is.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/bin/simulate.js';
import { simulate, CSV_HEADER, formatRow } from '../../src/autoscaler/simulate.js';
import { parseTrace, type TraceRow } from '../../src/autoscaler/trace.js';
import { loadConfigFile } from '../../src/config/load.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CONFIG = path.join(ROOT, 'docs/examples/autoscale.yaml');
const TRACE = path.join(ROOT, 'docs/examples/step-trace.csv');

const step = (): TraceRow[] => Array.from({ length: 70 }, (_, t) => ({ t, concurrency: t >= 6 && t < 30 ? 100 : 0, rps: null }));

const EXPECTED = [
  CSV_HEADER,
  '0,0,0,1,1,stable,true', // initial scale 1; EBC = 1×10 − 20 − 0 < 0: the activator stays in the path
  '2,0,0,1,1,stable,true',
  '4,0,0,1,1,stable,true', // idle but active for less than a stable window: keep 1
  '6,14.285714,50,5,5,panic,true', // young window 100/7; panic window (2 s) 50 → 5 pods, 5/1 ≥ 2: panic
  '8,33.333333,100,10,10,panic,true', // 10/5 ≥ 2: still hot
  '10,45.454545,100,10,10,panic,true', // 10/10 < 2: not hot, but panic lasts 20 s past t=8
  '12,53.846153,100,10,10,panic,true', // 700/13, truncated to 6 decimals as Knative's roundToNDigits does
  '14,60,100,10,10,panic,true',
  '16,64.705882,100,10,10,panic,true',
  '18,68.421052,100,10,10,panic,true',
  '20,75,100,10,10,panic,true', // the window is full: (5 zeros + 15×100)/20
  '22,85,100,10,10,panic,true',
  '24,95,100,10,10,panic,true',
  '26,100,100,10,10,panic,true',
  '28,100,100,10,10,panic,true', // 8 + 20 is not before 28: still panic
  '30,95,50,10,10,stable,false', // panic over; EBC = 10×10 − 20 − 50 = 30 ≥ 0: activator out of the path
  '32,85,0,9,9,stable,false', // the stable average drains second by second
  '34,75,0,8,8,stable,false',
  '36,65,0,7,7,stable,false',
  '38,55,0,6,6,stable,false',
  '40,45,0,5,5,stable,false',
  '42,35,0,4,4,stable,false',
  '44,25,0,3,3,stable,false',
  '46,15,0,2,2,stable,false',
  '48,5,0,1,1,stable,false',
  '50,0,0,1,1,stable,true', // recommendation 0: inactive, no replica change, activator back in the path
  '52,0,0,1,1,stable,true',
  '54,0,0,1,1,stable,true',
  '56,0,0,1,1,stable,true',
  '58,0,0,1,1,stable,true',
  '60,0,0,0,0,stable,true', // inactive for the grace period (10 s): zero
  '62,0,0,0,0,stable,true',
  '64,0,0,0,0,stable,true',
  '66,0,0,0,0,stable,true',
  '68,0,0,0,0,stable,true',
];

async function exampleConfig() {
  const loaded = await loadConfigFile(CONFIG);
  if (!loaded.ok) throw new Error('example config is invalid');
  const revision = loaded.config.revisions.get('hello-00001');
  if (!revision) throw new Error('no hello-00001');
  return { config: loaded.config, revision };
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, output: { out: (t: string) => out.push(t), err: (l: string) => err.push(l) } };
}

describe('simulate (pure)', () => {
  it('a step trace gives the hand-checked rows', async () => {
    const { config, revision } = await exampleConfig();
    const rows = simulate({ config, revision, trace: step(), podStartDelayMs: 0 });
    expect([CSV_HEADER, ...rows.map(formatRow)]).toEqual(EXPECTED);
  });

  it('ready pods follow the actuated count after the pod start delay', async () => {
    const { config, revision } = await exampleConfig();
    const rows = simulate({ config, revision, trace: step(), podStartDelayMs: 3000 });
    const at = (t: number) => rows.find((r) => r.t === t);
    expect(at(0)).toMatchObject({ desired: 1, ready: 0 });
    expect(at(4)).toMatchObject({ desired: 1, ready: 1 });
    expect(at(6)).toMatchObject({ desired: 5, ready: 1 });
    expect(at(8)).toMatchObject({ desired: 10, ready: 1, mode: 'panic' }); // 10 pods / 1 ready ≥ 2: still hot
    expect(at(10)).toMatchObject({ desired: 10, ready: 5 });
    expect(at(12)).toMatchObject({ desired: 10, ready: 10 });
  });

  it('a gap longer than the stable window is no data: no change, not a scale-down', async () => {
    const { config, revision } = await exampleConfig();
    const trace: TraceRow[] = [
      ...Array.from({ length: 20 }, (_, t) => ({ t, concurrency: 50, rps: null })),
      { t: 60, concurrency: 0, rps: null },
    ];
    const rows = simulate({ config, revision, trace, podStartDelayMs: 0 });
    const gap = rows.filter((r) => r.t >= 40 && r.t < 60);
    expect(gap.length).toBeGreaterThan(0);
    for (const r of gap) expect(r).toMatchObject({ observedStable: null, desired: 5 });
  });
});

describe('trace parsing', () => {
  it('reports FILE-relative line and column for each problem', () => {
    const r = parseTrace('t,concurrency\n0,1\n1,x\n0,2\n2, -3\n3\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      { line: 3, col: 3, message: 'concurrency must be a number ≥ 0, got "x"' },
      { line: 4, col: 1, message: 't must increase from row to row: 0 after 0' },
      { line: 5, col: 4, message: 'concurrency must be a number ≥ 0, got "-3"' },
      { line: 6, col: 1, message: 'expected 2 fields (t,concurrency), got 1' },
    ]);
  });

  it('needs the header; reads an optional rps column; skips blank and # lines', () => {
    expect(parseTrace('time,load\n0,1\n')).toMatchObject({ ok: false, problems: [{ line: 1, col: 1 }] });
    expect(parseTrace('# load\nt,concurrency,rps\r\n\r\n0,1,2\r\n')).toEqual({ ok: true, hasRps: true, rows: [{ t: 0, concurrency: 1, rps: 2 }] });
  });
});

describe('tidegate simulate (main)', () => {
  it('prints the CSV of the worked example and exits 0', async () => {
    const c = capture();
    const code = await main({ config: CONFIG, revision: 'hello-00001', trace: TRACE }, c.output);
    expect(code).toBe(0);
    expect(c.err).toEqual([]);
    expect(c.out.join('')).toBe(EXPECTED.join('\n') + '\n');
  });

  it('usage errors exit 2', async () => {
    const c = capture();
    expect(await main({ config: CONFIG, trace: TRACE }, c.output)).toBe(2);
    expect(c.err[0]).toContain('--revision');
    expect(await main({ config: CONFIG, revision: 'hello-00001', trace: TRACE, 'pod-start-delay': '5' }, c.output)).toBe(2);
    expect(c.err.at(-1)).toContain('--pod-start-delay');
  });

  it('file problems exit 1 with FILE:LINE:COL or a clear message', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-sim-'));
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, 't,concurrency\n0,1\n1,oops\n');
    let c = capture();
    expect(await main({ config: CONFIG, revision: 'hello-00001', trace: bad }, c.output)).toBe(1);
    expect(c.err).toEqual([`${bad}:3:3: concurrency must be a number ≥ 0, got "oops"`]);

    c = capture();
    expect(await main({ config: CONFIG, revision: 'nope', trace: TRACE }, c.output)).toBe(1);
    expect(c.err[0]).toContain('no revision named "nope"');

    c = capture();
    expect(await main({ config: CONFIG, revision: 'hello-00001', trace: path.join(dir, 'missing.csv') }, c.output)).toBe(1);
    expect(c.err[0]).toMatch(/missing\.csv:1:1: cannot read the trace: no such file/);

    const badConfig = path.join(dir, 'bad.yaml');
    writeFileSync(badConfig, 'autoscaler:\n  stable-window: 2s\n');
    c = capture();
    expect(await main({ config: badConfig, revision: 'x', trace: TRACE }, c.output)).toBe(1);
    expect(c.err.some((l) => l.startsWith(`${badConfig}:2:`) && l.includes('stable-window'))).toBe(true);

    const rpsConfig = path.join(dir, 'rps.yaml');
    writeFileSync(rpsConfig, `services:\n  - name: a\n    revisions:\n      - name: a-1\n        command: [x]\n        annotations:\n          autoscaling.knative.dev/metric: rps\n    traffic:\n      - revisionName: a-1\n        percent: 100\n`);
    c = capture();
    expect(await main({ config: rpsConfig, revision: 'a-1', trace: TRACE }, c.output)).toBe(1);
    expect(c.err[0]).toContain('t,concurrency,rps');
  });
});
