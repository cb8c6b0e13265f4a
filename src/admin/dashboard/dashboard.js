// tidegate's dashboard: polls /history every second and draws, per revision,
// the scaling story of the last 15 minutes with uPlot (served by the admin
// server from node_modules; no CDN). Plain browser JavaScript, no build step.
'use strict';
(function () {
  const WINDOW_S = 900;
  const POLL_MS = 1000;
  const HEIGHT = 180;
  const C = {
    ready: '#2563eb',
    desired: '#f59e0b',
    stable: '#2563eb',
    panic: '#dc2626',
    target: '#6b7280',
    rps: '#16a34a',
    buffered: '#9333ea',
    p50: '#0891b2',
    p99: '#ea580c',
    cold: '#dc2626',
    axis: '#4b5563',
    grid: 'rgba(0,0,0,0.07)',
    panicBand: 'rgba(220,38,38,0.10)',
  };
  const PALETTE = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d', '#7c3aed'];

  /** Everything polled so far, trimmed to the window; arrays are aligned with t (epoch ms), null = no value. */
  const state = { t: [], revisions: new Map(), services: [], lastT: 0, range: 'auto', zoom: null, updates: 0 };
  const revViews = new Map();
  const svcViews = new Map();
  const revColor = new Map();

  const $ = (tag, attrs, text) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    return el;
  };
  const nulls = (n) => new Array(n).fill(null);
  const num = (v, digits) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits ?? 1 }));
  const colorOf = (rev) => {
    if (!revColor.has(rev)) revColor.set(rev, PALETTE[revColor.size % PALETTE.length]);
    return revColor.get(rev);
  };

  // ---- data ----------------------------------------------------------------

  function merge(doc) {
    const n0 = state.t.length;
    const n = doc.t.length;
    state.services = doc.services;
    if (n === 0) return;
    state.t.push(...doc.t);
    const seen = new Set();
    for (const r of doc.revisions) {
      seen.add(r.name);
      let s = state.revisions.get(r.name);
      if (!s) state.revisions.set(r.name, (s = { name: r.name, series: {}, pods: new Map() }));
      Object.assign(s, { service: r.service, metric: r.metric, targetPerPod: r.targetPerPod, maxScale: r.maxScale });
      for (const [f, vals] of Object.entries(r.series)) {
        if (!s.series[f]) s.series[f] = nulls(n0);
        s.series[f].push(...vals);
      }
      const podsSeen = new Set();
      for (const p of r.pods) {
        podsSeen.add(p.id);
        if (!s.pods.has(p.id)) s.pods.set(p.id, nulls(n0));
        s.pods.get(p.id).push(...p.inFlight);
      }
      for (const [id, a] of s.pods) if (!podsSeen.has(id)) a.push(...nulls(n));
    }
    for (const [name, s] of state.revisions) {
      if (seen.has(name)) continue;
      for (const f of Object.keys(s.series)) s.series[f].push(...nulls(n));
      for (const a of s.pods.values()) a.push(...nulls(n));
    }
    state.lastT = doc.t[n - 1];
    trim(state.lastT - WINDOW_S * 1000);
  }

  function trim(cutoff) {
    let drop = 0;
    while (drop < state.t.length && state.t[drop] <= cutoff) drop++;
    if (drop === 0) return;
    state.t.splice(0, drop);
    for (const [name, s] of state.revisions) {
      for (const a of Object.values(s.series)) a.splice(0, drop);
      for (const [id, a] of s.pods) {
        a.splice(0, drop);
        if (a.every((v) => v === null)) s.pods.delete(id);
      }
      if (Object.values(s.series).every((a) => a.every((v) => v === null))) state.revisions.delete(name);
    }
  }

  /** The x range in seconds: a zoom, a fixed span to now, or (auto) from the first activity to now. */
  function xRange() {
    const t = state.t;
    const max = t[t.length - 1] / 1000;
    if (state.zoom) return state.zoom;
    if (state.range !== 'auto') return { min: max - Number(state.range), max };
    let first = t.length;
    for (const s of state.revisions.values()) {
      const active = (i) => (s.series.ready[i] ?? 0) > 0 || (s.series.rps[i] ?? 0) > 0 || (s.series.buffered[i] ?? 0) > 0 || (s.series.desired[i] ?? 0) > 0;
      for (let i = 0; i < first; i++) if (active(i)) first = i;
    }
    let min = first < t.length ? t[first] / 1000 - 15 : t[0] / 1000;
    min = Math.max(min, t[0] / 1000);
    return { min: Math.min(min, max - 60), max };
  }

  // ---- charts --------------------------------------------------------------

  /** Shades the intervals where flags()[i] is 1 (panic mode) behind the series. */
  function panicBands(flags) {
    return {
      hooks: {
        drawClear: [
          (u) => {
            const f = flags();
            if (!f) return;
            const xs = u.data[0];
            const { left, top, width, height } = u.bbox;
            const ctx = u.ctx;
            ctx.save();
            ctx.fillStyle = C.panicBand;
            for (let i = 0; i < xs.length; i++) {
              if (f[i] !== 1) continue;
              let j = i;
              while (j + 1 < xs.length && f[j + 1] === 1) j++;
              const x0 = Math.max(left, u.valToPos(xs[i] - 0.5, 'x', true));
              const x1 = Math.min(left + width, u.valToPos(xs[j] + 0.5, 'x', true));
              if (x1 > x0) ctx.fillRect(x0, top, x1 - x0, height);
              i = j;
            }
            ctx.restore();
          },
        ],
      },
    };
  }

  function timeValue(_u, v) {
    return v === null || v === undefined ? '–' : new Date(v * 1000).toLocaleTimeString('en-GB');
  }

  function chart(parent, title, hint, series, opts) {
    const box = $('div', { class: 'chart' });
    const h = $('h3', {}, title);
    if (hint) h.append(' ', $('span', { class: 'hint' }, hint));
    box.append(h);
    parent.append(box);
    const width = Math.max(320, box.clientWidth || parent.clientWidth);
    const axis = { stroke: C.axis, grid: { stroke: C.grid, width: 1 }, ticks: { stroke: C.grid, width: 1 } };
    const u = new uPlot(
      {
        width,
        height: HEIGHT,
        cursor: { sync: { key: 'tidegate' }, drag: { x: true, y: false, setScale: false } },
        select: { show: true },
        scales: {
          x: { time: true },
          y: { range: opts.yRange ?? ((_u, _min, max) => [0, niceMax(max, opts.minMax ?? 1)]) },
          ...(opts.scales || {}),
        },
        series: [{ label: 'time', value: timeValue }, ...series],
        axes: [{ ...axis, space: 80, values: (_u, splits) => splits.map((v) => new Date(v * 1000).toLocaleTimeString('en-GB')) }, { ...axis, label: opts.unit, labelSize: 18, size: 52, ...(opts.yAxis || {}) }, ...(opts.axes || []).map((a) => ({ ...axis, ...a }))],
        legend: { live: true },
        plugins: opts.panic ? [panicBands(opts.panic)] : [],
        hooks: {
          setSelect: [
            (u) => {
              if (u.select.width < 2) return;
              state.zoom = { min: u.posToVal(u.select.left, 'x'), max: u.posToVal(u.select.left + u.select.width, 'x') };
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              render();
            },
          ],
        },
      },
      [[]].concat(series.map(() => [])),
      box,
    );
    u.over.addEventListener('dblclick', () => {
      state.zoom = null;
      render();
    });
    return u;
  }

  function niceMax(max, floor) {
    const m = Math.max(floor, (max ?? 0) * 1.1);
    const p = Math.pow(10, Math.floor(Math.log10(m)));
    for (const k of [1, 2, 2.5, 5, 10]) if (k * p >= m) return k * p;
    return m;
  }

  const stepped = () => uPlot.paths.stepped({ align: 1 });
  const line = (label, stroke, extra) => ({ label, stroke, width: 2, points: { show: false }, spanGaps: false, ...extra });
  const dashed = (label, stroke, extra) => line(label, stroke, { dash: [6, 4], width: 1.5, ...extra });
  const intAxis = { space: 18, incrs: [1, 2, 5, 10, 20, 50, 100], values: (_u, vals) => vals.map((v) => (Number.isInteger(v) ? v : '')) };

  function revisionView(s) {
    const card = $('div', { class: 'card revision', 'data-revision': s.name });
    const head = $('h2');
    const summary = $('p', { class: 'summary' });
    const grid = $('div', { class: 'grid' });
    card.append(head, summary, grid);
    document.getElementById('revisions').append(card);
    const panic = () => s.series.panicMode;
    const v = { card, head, summary, grid, podKey: '', pods: null };
    v.charts = [
      [
        chart(grid, 'Pods', `ready vs desired${s.maxScale > 0 ? `, max-scale ${s.maxScale}` : ''}; red band = panic mode`, [line('ready', C.ready, { paths: stepped(), fill: 'rgba(37,99,235,0.12)', value: (_u, x) => num(x, 0) }), dashed('desired', C.desired, { paths: stepped(), width: 2, value: (_u, x) => num(x, 0) })], {
          unit: 'pods',
          yRange: (_u, _min, max) => [0, Math.max(2, Math.ceil(max ?? 0) + 1)],
          yAxis: intAxis,
          panic,
        }),
        () => [s.series.ready, s.series.desired],
      ],
      [
        chart(grid, s.metric === 'rps' ? 'Requests/s seen by the autoscaler' : 'Concurrency', `target ${num(s.targetPerPod, 2)}/pod × ready pods`, [line('stable', C.stable, { value: (_u, x) => num(x, 1) }), line('panic', C.panic, { width: 1.5, value: (_u, x) => num(x, 1) }), dashed('target × pods', C.target, { value: (_u, x) => num(x, 1) })], {
          unit: s.metric === 'rps' ? 'req/s' : 'in flight',
          panic,
        }),
        () => [s.series.stable, s.series.panic, s.series.target],
      ],
      [
        chart(grid, 'Requests/s and activator buffer', null, [line('requests/s', C.rps, { fill: 'rgba(22,163,74,0.10)', value: (_u, x) => num(x, 0) }), line('buffered', C.buffered, { scale: 'b', paths: stepped(), value: (_u, x) => num(x, 0) })], {
          unit: 'req/s',
          scales: { b: { range: (_u, _min, max) => [0, niceMax(max, 1)] } },
          axes: [{ scale: 'b', side: 1, label: 'buffered', labelSize: 18, size: 52, grid: { show: false } }],
        }),
        () => [s.series.rps, s.series.buffered],
      ],
      [
        chart(grid, 'Latency', 'p50 / p99 per second; dots = cold starts', [line('p50', C.p50, { value: (_u, x) => num(x, 0) + ' ms' }), line('p99', C.p99, { value: (_u, x) => num(x, 0) + ' ms' }), { label: 'cold start', stroke: C.cold, fill: C.cold, paths: () => null, points: { show: true, size: 9, fill: C.cold }, value: (_u, x) => num(x, 0) + ' ms' }], {
          unit: 'log scale',
          scales: { y: { distr: 3, log: 10, range: (_u, _min, max) => [1, Math.pow(10, Math.max(2, Math.ceil(Math.log10(Math.max(1, max ?? 1)))))] } },
          yAxis: {
            size: 64,
            // Decades only: 1, 10, 100 ms, 1 s, 10 s.
            splits: (_u, _i, min, max) => {
              const out = [];
              for (let v = Math.max(1, min); v <= max * 1.0001; v *= 10) out.push(v);
              return out;
            },
            values: (_u, vals) => vals.map((v) => (v === null || v === undefined ? '' : v >= 1000 ? v / 1000 + ' s' : v + ' ms')),
          },
        }),
        () => [s.series.p50, s.series.p99, s.series.coldStartMs].map((a) => a.map((x) => (x === null ? null : Math.max(1, x)))),
      ],
    ];
    const podBox = $('div');
    grid.append(podBox);
    v.podBox = podBox;
    revViews.set(s.name, v);
    return v;
  }

  /** The per-pod chart has one series per pod: rebuilt when the set of pods changes. */
  function podChart(s, v) {
    const ids = [...s.pods.keys()];
    const key = ids.join(',');
    if (v.pods && v.podKey === key) return;
    if (v.pods) v.pods.destroy();
    v.podBox.textContent = '';
    v.podKey = key;
    const short = (id) => (id.startsWith(s.name + '-') ? id.slice(s.name.length + 1) : id);
    v.pods = chart(v.podBox, 'In flight per pod', ids.length ? `${ids.length} pod${ids.length > 1 ? 's' : ''} seen` : 'no pod in this window', ids.map((id, i) => line(short(id), PALETTE[i % PALETTE.length], { width: 1.5, points: { size: 4 }, value: (_u, x) => num(x, 0) })), {
      unit: 'in flight',
    });
  }

  function storyOf(ready) {
    const steps = [];
    for (const v of ready) if (v !== null && steps[steps.length - 1] !== v) steps.push(v);
    return steps.length > 14 ? ['…', ...steps.slice(-13)] : steps;
  }

  function headline(s, v) {
    const last = (a) => {
      for (let i = a.length - 1; i >= 0; i--) if (a[i] !== null) return a[i];
      return null;
    };
    const max = (a) => a.reduce((m, x) => (x !== null && x > m ? x : m), 0);
    const mode = last(s.series.panicMode) === 1 ? 'panic' : max(s.series.ready) === 0 && max(s.series.rps) === 0 ? 'idle' : 'stable';
    v.head.textContent = s.name;
    v.head.append($('span', { class: 'kind' }, `service ${s.service}`), $('span', { class: `badge ${mode}` }, mode === 'panic' ? 'panic mode' : mode));
    const cold = s.series.coldStarts.reduce((n, x) => n + (x || 0), 0);
    const coldMs = s.series.coldStartMs.filter((x) => x !== null);
    const panicSeconds = s.series.panicMode.filter((x) => x === 1).length;
    v.summary.textContent = '';
    const part = (label, value) => v.summary.append(label, $('b', {}, value), '   ');
    part('ready pods ', storyOf(s.series.ready).join(' → ') || '–');
    part('· now ', `${num(last(s.series.ready), 0)} ready / ${num(last(s.series.desired), 0)} desired`);
    part('· peak ', `${num(max(s.series.rps), 0)} req/s`);
    part('· cold starts ', cold ? `${cold} (${coldMs.map((x) => num(x, 0) + ' ms').join(', ')})` : '0');
    part('· panic ', `${panicSeconds} s`);
    v.card.dataset.ready = String(last(s.series.ready) ?? 0);
    v.card.dataset.peakReady = String(max(s.series.ready));
  }

  function serviceView(svc) {
    const card = $('div', { class: 'card service', 'data-service': svc.name });
    const head = $('h2', {}, svc.name);
    head.append($('span', { class: 'kind' }, 'service · traffic split (configured) and requests/s by revision (actual)'));
    const split = $('div', { class: 'split' });
    const tags = $('p', { class: 'muted' });
    const holder = $('div', { class: 'wide' });
    card.append(head, split, tags, holder);
    document.getElementById('services').append(card);
    const v = { card, split, tags, holder, key: '', chart: null, revs: [] };
    svcViews.set(svc.name, v);
    return v;
  }

  function renderService(svc, data, range) {
    const v = svcViews.get(svc.name) || serviceView(svc);
    const revs = [...new Set(svc.traffic.map((t) => t.revisionName))];
    const key = JSON.stringify(svc.traffic);
    if (key !== v.key) {
      v.key = key;
      v.split.textContent = '';
      const byRev = new Map();
      for (const t of svc.traffic) byRev.set(t.revisionName, (byRev.get(t.revisionName) || 0) + t.percent);
      for (const [rev, pct] of byRev) {
        if (pct <= 0) continue;
        const seg = $('div', { title: `${rev}: ${pct}%` }, pct >= 20 ? `${rev} ${pct}%` : `${pct}%`);
        seg.style.width = `${pct}%`;
        seg.style.background = colorOf(rev);
        v.split.append(seg);
      }
      v.tags.textContent = '';
      for (const [rev, pct] of byRev) {
        const key = $('span', { class: 'key' });
        key.style.background = colorOf(rev);
        v.tags.append(key, ` ${rev} ${pct}%   `);
      }
      const tagged = svc.traffic.filter((t) => t.tag).map((t) => `tag ${t.tag} → ${t.revisionName}`);
      if (tagged.length) v.tags.append(`· ${tagged.join(' · ')}`);
      if (v.chart) v.chart.destroy();
      v.holder.textContent = '';
      v.revs = revs;
      v.chart = chart(v.holder, 'Requests/s by revision', null, revs.map((r) => line(r, colorOf(r), { value: (_u, x) => num(x, 0) })), { unit: 'req/s' });
    }
    const series = v.revs.map((r) => state.revisions.get(r)?.series.rps ?? nulls(data.length));
    update(v.chart, data, series, range);
  }

  function update(u, xs, series, range) {
    u.setData([xs, ...series], false);
    u.setScale('x', range);
    // uPlot commits a new chart in a microtask (which clears its legend): set it after that.
    setTimeout(() => {
      if (u.cursor.left === undefined || u.cursor.left < 0) u.setLegend({ idx: xs.length - 1 });
    }, 0);
  }

  function render() {
    if (state.t.length === 0) return;
    const xs = state.t.map((t) => t / 1000);
    const range = xRange();
    for (const svc of state.services) renderService(svc, xs, range);
    for (const s of state.revisions.values()) {
      const v = revViews.get(s.name) || revisionView(s);
      headline(s, v);
      for (const [u, data] of v.charts) update(u, xs, data(), range);
      podChart(s, v);
      update(v.pods, xs, [...s.pods.values()], range);
    }
    for (const [name, v] of revViews) {
      if (state.revisions.has(name)) continue;
      v.card.remove();
      revViews.delete(name);
    }
    document.body.dataset.samples = String(state.t.length);
    document.body.dataset.updates = String(++state.updates);
  }

  // ---- polling and controls ------------------------------------------------

  const live = document.getElementById('live');
  async function poll() {
    try {
      const res = await fetch(`/history?since=${state.lastT}`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      merge(await res.json());
      render();
      live.textContent = `live · ${state.t.length} s of history · ${new Date(state.lastT).toLocaleTimeString('en-GB')}`;
      live.className = 'muted';
    } catch (err) {
      live.textContent = `cannot reach /history: ${err}`;
      live.className = 'badge panic';
    }
    setTimeout(poll, POLL_MS);
  }

  for (const b of document.querySelectorAll('nav button')) {
    b.addEventListener('click', () => {
      for (const o of document.querySelectorAll('nav button')) o.classList.toggle('on', o === b);
      state.range = b.dataset.range;
      state.zoom = null;
      render();
    });
  }

  window.addEventListener('resize', () => {
    const all = [];
    for (const v of revViews.values()) all.push(...v.charts.map(([u]) => u), v.pods);
    for (const v of svcViews.values()) all.push(v.chart);
    for (const u of all) if (u) u.setSize({ width: Math.max(320, u.root.parentElement.clientWidth), height: HEIGHT });
  });

  void poll();
})();
