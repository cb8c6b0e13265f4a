/**
 * Where the `workers` suite runs things. The other suites put the proxy and
 * the backend on one server CPU, which is right for one event loop but would
 * leave a second loop (a second tidegate process, a second nginx worker)
 * nothing to run on. Here the server side gets every CPU the load generator
 * does not use when that is at least two; on a smaller machine (2 cores) it
 * gets all of them, the load generator's included, and says so. Every
 * target, 1 or 2 loops, gets the same CPUs, so the ratios compare servers,
 * not CPU budgets.
 */

/** "0", "0,2", "1-3", "0,2-3" → sorted CPU numbers. */
export function parseCpus(text) {
  const cpus = new Set();
  for (const part of String(text).split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`'${text}' is not a CPU list (e.g. 0,2-3)`);
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (to < from) throw new Error(`'${text}': range ${part} runs backwards`);
    for (let c = from; c <= to; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** Sorted CPU numbers → taskset's list form, runs collapsed ("0,2-3"). */
export function formatCpus(cpus) {
  const parts = [];
  for (let i = 0; i < cpus.length; i++) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j] + 1) j++;
    parts.push(j > i ? `${cpus[i]}-${cpus[j]}` : String(cpus[i]));
    i = j;
  }
  return parts.join(',');
}

/**
 * `pinned`: whether run.js chose the pinned layout; `loadCpus`: the load
 * generator's (LOADGEN_CPUS); `serverCpusAsked`: SERVER_CPUS when set by
 * the user (then it is used as given); `cpuCount`: the machine's CPUs.
 * Returns { serverCpus (a comma list, the form both taskset and
 * proc-stats' cpuTicks read), shared (server and load generator CPUs
 * overlap), serverCpuCount, text } — serverCpus undefined when nothing is
 * pinned.
 */
export function workersLayout({ pinned, loadCpus, serverCpusAsked, cpuCount }) {
  if (!pinned) {
    return { serverCpus: undefined, shared: true, serverCpuCount: cpuCount, text: 'shared: no pinning, the scheduler places the load generator and every server process on any of the machine\'s CPUs' };
  }
  const load = parseCpus(loadCpus);
  let server;
  if (serverCpusAsked !== undefined && serverCpusAsked !== '') server = parseCpus(serverCpusAsked);
  else {
    const rest = Array.from({ length: cpuCount }, (_, c) => c).filter((c) => !load.includes(c));
    server = rest.length >= 2 ? rest : Array.from({ length: cpuCount }, (_, c) => c);
  }
  const shared = server.some((c) => load.includes(c));
  const [l, s] = [formatCpus(load), formatCpus(server)];
  const text = shared
    ? `pinned, overlapping: load generator (and this harness) on cpu ${l}; backend and every proxy process (each tidegate loop, each nginx worker) allowed cpus ${s}, the load generator's included (fewer than 2 CPUs would be left to them otherwise)`
    : `pinned: load generator (and this harness) on cpu ${l}; backend and every proxy process (each tidegate loop, each nginx worker) allowed cpus ${s}, none of them the load generator's`;
  return { serverCpus: server.join(','), shared, serverCpuCount: server.length, text };
}
