/**
 * A proxy-suite results file (bench/results/<stamp>-proxy.json) as an SVG
 * string: per scenario, grouped bars of req/s, and below them p99 latency,
 * one bar per target, each value written on its bar. Pure: data in, text
 * out (bench/chart.js turns it into a PNG).
 */

const KNOWN = ['direct', 'tidegate', 'nginx', 'haproxy'];
const COLOURS = { direct: '#8c8c8c', tidegate: '#2563eb', nginx: '#16a34a', haproxy: '#ea580c' };
const MORE_COLOURS = ['#9333ea', '#0891b2', '#ca8a04', '#db2777'];
const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';

const BAR = 46;
const BAR_GAP = 6;
const GROUP_PAD = 22;
const LEFT = 24;
const PLOT_H = 190;

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const intText = (n) => Math.round(n).toLocaleString('en-US');
const msText = (n) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** "2026-12-03T14-28-11-018" → "2026-12-03 14:28 UTC". */
function runDate(stamp) {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)/.exec(stamp ?? '');
  return m ? `${m[1]} ${m[2]}:${m[3]} UTC` : (stamp ?? 'unknown date');
}

/** wrk when it ran (the numbers the verdicts use), else the first tool in the file. */
function pickTool(rows) {
  return rows.some((r) => r.tool === 'wrk') ? 'wrk' : rows[0].tool;
}

/** Throws unless `data` looks like a throughput suite's results: rows with scenario, target, tool, reqPerSec, p99Ms. */
export function checkResults(data) {
  const rows = data?.rows;
  if (!Array.isArray(rows) || rows.length === 0) throw new Error('no "rows" in this file: is it a proxy-suite results JSON (bench/results/<stamp>-proxy.json)?');
  for (const r of rows) {
    if (typeof r.scenario !== 'string' || typeof r.target !== 'string' || typeof r.tool !== 'string' || typeof r.reqPerSec !== 'number' || typeof r.p99Ms !== 'number') {
      throw new Error(`a row lacks scenario/target/tool/reqPerSec/p99Ms: ${JSON.stringify(r).slice(0, 200)}`);
    }
  }
}

/** One panel: a title, then per scenario a group of bars scaled to that group's largest value. */
function panel({ y, title, scenarios, targets, value, label, colour, groupW }) {
  const base = y + 24 + PLOT_H;
  const out = [`<text x="${LEFT}" y="${y + 12}" font-size="14" font-weight="bold">${esc(title)}</text>`];
  scenarios.forEach((s, i) => {
    const x0 = LEFT + i * groupW;
    const values = targets.map((t) => value(s, t));
    const max = Math.max(...values.filter(Number.isFinite), 0);
    if (i > 0) out.push(`<line x1="${x0}" y1="${y + 24}" x2="${x0}" y2="${base + 30}" stroke="#e5e5e5"/>`);
    values.forEach((v, j) => {
      const x = x0 + GROUP_PAD + j * (BAR + BAR_GAP);
      const cx = x + BAR / 2;
      if (!Number.isFinite(v)) {
        out.push(`<text x="${cx}" y="${base - 4}" font-size="11" text-anchor="middle" fill="#999">–</text>`);
        return;
      }
      const h = max > 0 ? Math.max(1, (v / max) * (PLOT_H - 18)) : 1;
      out.push(`<rect x="${x}" y="${(base - h).toFixed(1)}" width="${BAR}" height="${h.toFixed(1)}" fill="${colour(targets[j])}"/>`);
      out.push(`<text x="${cx}" y="${(base - h - 4).toFixed(1)}" font-size="11" text-anchor="middle">${esc(label(v))}</text>`);
    });
    out.push(`<line x1="${x0 + GROUP_PAD - 4}" y1="${base}" x2="${x0 + groupW - GROUP_PAD + 4}" y2="${base}" stroke="#444"/>`);
    out.push(`<text x="${x0 + groupW / 2}" y="${base + 18}" font-size="12" text-anchor="middle">${esc(s)}</text>`);
  });
  return { svg: out.join('\n'), bottom: base + 30 };
}

/** The whole chart; returns { svg, width, height }. */
export function chartSvg(data) {
  checkResults(data);
  const tool = pickTool(data.rows);
  const rows = data.rows.filter((r) => r.tool === tool);
  const scenarios = [...new Set((data.scenarios ?? []).map((s) => s.name).filter((n) => rows.some((r) => r.scenario === n)))];
  for (const r of rows) if (!scenarios.includes(r.scenario)) scenarios.push(r.scenario);
  const inFile = new Set(rows.map((r) => r.target));
  const targets = [...KNOWN.filter((t) => inFile.has(t)), ...[...inFile].filter((t) => !KNOWN.includes(t))];
  const extras = targets.filter((t) => !COLOURS[t]);
  const colour = (t) => COLOURS[t] ?? MORE_COLOURS[extras.indexOf(t) % MORE_COLOURS.length];
  const row = (s, t) => rows.find((r) => r.scenario === s && r.target === t);

  const groupW = 2 * GROUP_PAD + targets.length * (BAR + BAR_GAP) - BAR_GAP;
  const width = Math.max(760, 2 * LEFT + scenarios.length * groupW);
  const reps = data.settings?.reps ?? Math.max(...rows.map((r) => r.reps ?? 1));
  const duration = data.settings?.durationSec;
  const title = `tidegate bench — ${data.suite ?? 'proxy'}, ${runDate(data.stamp)} — medians of ${reps} run${reps === 1 ? '' : 's'}`;
  const sub = [`${tool}`, duration !== undefined ? `${duration} s per run` : null, data.machine?.commit ? `commit ${data.machine.commit}` : null, data.settings?.layout ? `${data.settings.layout} layout` : null, 'bars scaled per scenario'].filter(Boolean).join(' · ');

  const parts = [
    `<text x="${LEFT}" y="30" font-size="18" font-weight="bold">${esc(title)}</text>`,
    `<text x="${LEFT}" y="50" font-size="12" fill="#555">${esc(sub)}</text>`,
  ];
  let lx = LEFT;
  for (const t of targets) {
    parts.push(`<rect x="${lx}" y="64" width="12" height="12" fill="${colour(t)}"/>`, `<text x="${lx + 17}" y="75" font-size="12">${esc(t)}</text>`);
    lx += 17 + 8 * t.length + 22;
  }
  const top = panel({ y: 92, title: 'Requests per second (higher is better)', scenarios, targets, value: (s, t) => row(s, t)?.reqPerSec, label: intText, colour, groupW });
  const bottom = panel({ y: top.bottom + 14, title: 'p99 latency, ms (lower is better)', scenarios, targets, value: (s, t) => row(s, t)?.p99Ms, label: msText, colour, groupW });
  parts.push(top.svg, bottom.svg);
  let y = bottom.bottom + 8;
  for (const s of data.skipped ?? []) {
    parts.push(`<text x="${LEFT}" y="${y}" font-size="11" fill="#a00">${esc(`${s.name} not measured: ${s.reason}`.slice(0, 160))}</text>`);
    y += 16;
  }
  const height = y + 6;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" fill="#111">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...parts,
    '</svg>',
  ].join('\n');
  return { svg, width, height };
}
