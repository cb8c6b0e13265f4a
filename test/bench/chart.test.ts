/**
 * bench/chart.js, as a user runs it: a proxy-suite results JSON in, a PNG
 * next to it out (Debian's chromium renders the SVG); a file that is not
 * a results JSON gets a message and no PNG.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const inCI = process.env['CI'] === 'true' || process.env['CI'] === '1';
if (!haveChromium && !inCI) console.log(`bench chart test skipped: ${CHROMIUM} not found (apt-get install -y --no-install-recommends chromium)`);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const row = (scenario: string, target: string, reqPerSec: number, p99Ms: number) => ({ scenario, target, tool: 'wrk', reps: 3, reqPerSec, p50Ms: p99Ms / 2, p99Ms });
const RESULTS = {
  suite: 'proxy',
  stamp: '2026-12-03T14-28-11-018',
  settings: { reps: 3, durationSec: 10, layout: 'pinned' },
  machine: { commit: 'abc1234' },
  scenarios: [{ name: 'get-100c' }, { name: 'slow-1000c' }],
  rows: [
    row('get-100c', 'direct', 100_000, 2.5),
    row('get-100c', 'tidegate', 26_000, 8.4),
    row('get-100c', 'nginx', 25_000, 6.8),
    row('get-100c', 'haproxy', 27_000, 6.6),
    row('slow-1000c', 'direct', 4_365, 207),
    row('slow-1000c', 'tidegate', 4_380, 298),
    row('slow-1000c', 'nginx', 4_353, 270),
    row('slow-1000c', 'haproxy', 4_346, 240),
  ],
  skipped: [],
};

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const chart = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bench', 'chart.js'), ...args], { encoding: 'utf8', timeout: 40_000 });

describe.skipIf(!haveChromium && !inCI)('node bench/chart.js', () => {
  it('writes a PNG next to the JSON, wide enough for two scenarios of four bars and both panels', () => {
    expect(haveChromium, `${CHROMIUM} is required under CI`).toBe(true);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-chart-'));
    const json = path.join(dir, '2026-12-03T14-28-11-018-proxy.json');
    fs.writeFileSync(json, JSON.stringify(RESULTS));
    const run = chart(json);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const png = fs.readFileSync(path.join(dir, '2026-12-03T14-28-11-018-proxy.png'));
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    // The first chunk is IHDR: length (4 bytes), "IHDR", width and height (big-endian).
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    expect(width).toBeGreaterThanOrEqual(600);
    expect(width).toBeLessThanOrEqual(2000);
    expect(height).toBeGreaterThanOrEqual(400);
    expect(height).toBeLessThanOrEqual(1200);
    expect(png.length).toBeGreaterThan(5000); // bars and labels, not a blank page
  }, 45_000);

  it('refuses a file without result rows and writes nothing', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-chart-'));
    const json = path.join(dir, 'tls.json');
    fs.writeFileSync(json, JSON.stringify({ suite: 'tls', table: [] }));
    const run = chart(json, path.join(dir, 'out.png'));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/no "rows" in this file/);
    expect(fs.existsSync(path.join(dir, 'out.png'))).toBe(false);
  });
});
