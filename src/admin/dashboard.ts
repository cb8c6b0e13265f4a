/**
 * The dashboard's files, served by the admin server at / from the package
 * itself (no CDN: it works offline): the page, its script and style in
 * src/admin/dashboard/, and uPlot from node_modules. Read once at startup.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface StaticFile {
  readonly type: string;
  readonly body: string;
}

/** src/admin/dashboard/, from the sources (tests) and from dist/admin/ alike. */
export function dashboardDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '..', '..', 'src', 'admin', 'dashboard');
}

/** URL path → file, for every file the page loads. */
export function loadDashboard(): ReadonlyMap<string, StaticFile> {
  const dir = dashboardDir();
  const uplot = path.dirname(createRequire(import.meta.url).resolve('uplot'));
  const files: [string, string, string][] = [
    ['/', path.join(dir, 'index.html'), 'text/html; charset=utf-8'],
    ['/dashboard.js', path.join(dir, 'dashboard.js'), 'text/javascript; charset=utf-8'],
    ['/dashboard.css', path.join(dir, 'dashboard.css'), 'text/css; charset=utf-8'],
    ['/uplot.min.js', path.join(uplot, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['/uplot.min.css', path.join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([url, file, type]) => [url, { type, body: fs.readFileSync(file, 'utf8') }]));
}
