/** Markdown tables, one-line verdicts, and the results files. */
import fs from 'node:fs';
import path from 'node:path';

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–');

/** `textCols` leading columns are left-aligned, the numbers after them right-aligned. */
export function markdownTable(header, rows, textCols = 3) {
  const align = header.map((h, i) => (i < textCols ? '---' : '---:'));
  return [header, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** The throughput table: one row per scenario × target × tool (medians over reps). */
export function throughputTable(rows) {
  const header = ['scenario', 'target', 'tool', 'req/s', '× direct', '× nginx', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'RSS start → peak MiB', 'CPU µs/req', 'other load on server cpu %'];
  return markdownTable(
    header,
    rows.map((r) => [
      r.scenario,
      r.target,
      r.tool,
      fmt(r.reqPerSec),
      fmt(r.ratioDirect, 2),
      fmt(r.ratioNginx, 2),
      fmt(r.p50Ms, 2),
      fmt(r.p99Ms, 2),
      String(r.errors),
      String(r.non2xx),
      `${fmt(r.rssStartMiB, 1)} → ${fmt(r.rssPeakMiB, 1)}`,
      fmt(r.cpuUsPerReq, 1),
      fmt(r.foreignPct, 0),
    ]),
  );
}

/**
 * Verdict for a ratio goal: `{ scenario, target, min, label, base? }` (base
 * defaults to direct) against the
 * summarised rows, using wrk when it ran (autocannon inflates ratios on two
 * cores, see ../shared/anchors/RESULTS.md), else autocannon.
 */
export function ratioVerdict(rows, goal) {
  const base = goal.base ?? 'direct';
  const find = (target, tool) => rows.find((r) => r.scenario === goal.scenario && r.target === target && r.tool === tool);
  const tool = ['wrk', 'autocannon'].find((t) => find(goal.target, t) && find(base, t));
  if (!tool) return { ...goal, pass: null, line: `${goal.scenario}: ${goal.target} or ${base} not measured — ${goal.label}: SKIP` };
  const row = find(goal.target, tool);
  const ratio = row.reqPerSec / find(base, tool).reqPerSec;
  const others = [
    base !== 'direct' && Number.isFinite(row.ratioDirect) ? `${fmt(row.ratioDirect, 2)} × direct` : null,
    Number.isFinite(row.ratioNginx) ? `${fmt(row.ratioNginx, 2)} × nginx` : null,
  ].filter(Boolean);
  const pass = ratio >= goal.min;
  const errs = row.errors + row.non2xx > 0 ? ` (${row.errors} errors, ${row.non2xx} non-2xx)` : '';
  return {
    ...goal,
    pass,
    ratio,
    tool,
    line: `${goal.scenario}: ${goal.target} ${fmt(row.reqPerSec)} req/s = ${fmt(ratio, 2)} × ${base}${others.length ? ', ' + others.join(', ') : ''} (${tool})${errs}; RSS peak ${fmt(row.rssPeakMiB, 1)} MiB — ${goal.label}: ${pass ? 'PASS' : 'FAIL'}`,
  };
}

/** Writes bench/results/<stamp>-<suite>.md and .json; returns the two paths. */
export function writeResults(dir, stamp, suite, markdown, data) {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `${stamp}-${suite}`);
  fs.writeFileSync(`${base}.md`, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(data, null, 2)}\n`);
  return [`${base}.md`, `${base}.json`];
}

export { fmt };

/** A single-verdict suite's section: heading, what it does, its table, its verdict line, any correctness failures. */
export function suiteSection(suite, intro, table, line, correctness) {
  return [
    `## Suite \`${suite}\``,
    '',
    intro,
    '',
    table,
    '',
    `- ${line}`,
    ...(correctness.length ? ['', '**Correctness failures:**', ...correctness.map((c) => `- ${c}`)] : []),
    '',
  ].join('\n');
}
