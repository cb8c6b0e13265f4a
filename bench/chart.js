#!/usr/bin/env node
/**
 * `node bench/chart.js bench/results/<stamp>-proxy.json [out.png]`: the
 * proxy suite's req/s and p99 per scenario and target as a PNG (default:
 * next to the JSON, same name, .png). The chart is an SVG built by
 * lib/chart-svg.js; Debian's chromium (CHROMIUM=path to use another),
 * driven by playwright-core, turns it into pixels.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { chartSvg } from './lib/chart-svg.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

async function main() {
  const [input, outArg] = process.argv.slice(2);
  if (!input) throw new Error('usage: node bench/chart.js bench/results/<stamp>-proxy.json [out.png]');
  const out = path.resolve(outArg ?? input.replace(/\.json$/, '') + '.png');
  const data = JSON.parse(fs.readFileSync(input, 'utf8'));
  const { svg, width, height } = chartSvg(data);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install -y --no-install-recommends chromium, or CHROMIUM=path)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path: out });
  } finally {
    await browser.close();
  }
  process.stdout.write(`written: ${out} (${width} × ${height})\n`);
}

main().catch((err) => {
  process.stderr.write(`chart: ${err.message}\n`);
  process.exit(1);
});
