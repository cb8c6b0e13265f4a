/** GET / on the admin port: a page that polls /status every second. */
export const DASHBOARD_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>tidegate</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}.panic{color:#b00;font-weight:bold}.muted{color:#888}
</style></head><body>
<h1>tidegate</h1><p class="muted">Live view of <code>/status</code>, refreshed every second. Metrics: <a href="/metrics">/metrics</a>.</p>
<div id="out">loading…</div>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
async function tick() {
  try {
    const s = await (await fetch('/status')).json();
    let h = '<h2>Services</h2><table><tr><th>service</th><th>hosts</th><th>traffic</th></tr>';
    for (const sv of s.services) h += '<tr><td>' + esc(sv.name) + '</td><td>' + sv.hosts.map(esc).join('<br>') + '</td><td>' +
      sv.traffic.map((t) => esc(t.revisionName) + ' ' + t.percent + '%' + (t.tag ? ' (tag ' + esc(t.tag) + ')' : '')).join('<br>') + '</td></tr>';
    h += '</table><h2>Revisions</h2><table><tr><th>revision</th><th>desired</th><th>ready</th><th>mode</th><th>stable</th><th>panic</th><th>buffered</th><th>activator</th><th>pods (in flight)</th></tr>';
    for (const r of s.revisions) h += '<tr><td>' + esc(r.name) + '</td><td>' + r.desiredPods + '</td><td>' + r.readyPods + '</td><td class="' + r.mode + '">' + r.mode +
      '</td><td>' + r.stableConcurrency.toFixed(2) + '</td><td>' + r.panicConcurrency.toFixed(2) + '</td><td>' + r.bufferedRequests + '</td><td>' + (r.activatorInPath ? 'in path' : '-') +
      '</td><td>' + r.pods.map((p) => esc(p.id) + (p.ready ? '' : ' (starting)') + ' ' + p.inFlight).join('<br>') + '</td></tr>';
    document.getElementById('out').innerHTML = h + '</table>';
  } catch (e) { document.getElementById('out').textContent = 'cannot reach /status: ' + e; }
}
tick(); setInterval(tick, 1000);
</script></body></html>
`;
