/**
 * Issue 15, dashboard v2 in a real browser: Debian's chromium (driven by
 * playwright-core) opens the admin page of a real serve while load runs on a
 * scale-to-zero revision, and the charts must draw and follow the load. The
 * page's screenshot goes to test/artifacts/dashboard.png (not committed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startEdge, waitFor, type TestEdge } from '../support/serve.js';
import { appConfig, load } from '../e2e/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const inCI = process.env['CI'] === 'true' || process.env['CI'] === '1';
const ARTIFACTS = path.resolve('test/artifacts');

if (!haveChromium && !inCI) console.log(`dashboard browser test skipped: ${CHROMIUM} not found (apt-get install -y --no-install-recommends chromium; .ci/run installs it)`);

describe.skipIf(!haveChromium && !inCI)('dashboard in chromium', () => {
  let edge: TestEdge;
  let context: BrowserContext;
  let page: Page;
  let profile: string;

  beforeAll(async () => {
    if (!haveChromium) return; // under CI: the test below fails saying so
    edge = await startEdge(appConfig({ target: 10, maxScale: 5 }));
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1400, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await edge?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  /** The legend's value of one series in one chart of the revision's card (the last sample unless hovered). */
  const legend = (chart: string, series: string) =>
    page
      .locator('[data-revision="app-1"] .chart')
      .filter({ has: page.locator('h3', { hasText: chart }) })
      .locator('.u-legend .u-series')
      .filter({ has: page.locator('.u-label', { hasText: new RegExp(`^${series}$`) }) })
      .locator('.u-value')
      .textContent({ timeout: 5000 });
  const samples = async () => Number((await page.locator('body').getAttribute('data-samples')) ?? '0');

  it('draws every chart of a revision, its traffic split, and follows a load from zero pods up and back', async () => {
    expect(haveChromium, `${CHROMIUM} is required under CI (apt-get install -y --no-install-recommends chromium)`).toBe(true);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${edge.adminPort}/`);
    await page.waitForSelector('[data-revision="app-1"] .uplot', { timeout: 15_000 });
    // Pods, concurrency, requests/buffer, latency, per-pod in-flight; and the service's requests by revision.
    expect(await page.locator('[data-revision="app-1"] .uplot canvas').count()).toBeGreaterThanOrEqual(5);
    expect(await page.locator('[data-service="app"] .uplot').count()).toBe(1);
    expect(await page.locator('[data-service="app"] .split').textContent()).toContain('app-1 100%');
    const before = await samples();
    await waitFor(async () => (await legend('Pods', 'ready')) === '0', 10_000, 'the Pods chart to show zero ready pods before the load');

    const run = load(edge.port, '/?sleep=50', 30);
    try {
      await waitFor(async () => Number((await legend('Pods', 'ready')) ?? 0) >= 1, 30_000, 'the Pods chart to show a ready pod');
      await waitFor(async () => Number(((await legend('Requests/s', 'requests/s')) ?? '0').replace(/,/g, '')) > 0, 15_000, 'the request rate to show the load');
      await waitFor(async () => (await page.locator('[data-revision="app-1"] .chart', { hasText: 'In flight per pod' }).locator('.u-series').count()) >= 2, 15_000, 'a per-pod series');
      expect(await samples()).toBeGreaterThan(before);
    } finally {
      await run.stop();
    }
    // After the fact: the cold start is counted and the headline tells the pod story.
    await waitFor(async () => /cold starts [1-9]/.test((await page.locator('[data-revision="app-1"] .summary').textContent()) ?? ''), 10_000, 'the cold start in the headline');
    expect(await page.locator('[data-revision="app-1"] .summary').textContent()).toMatch(/ready pods 0 → [1-5]/);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 90_000);
});
