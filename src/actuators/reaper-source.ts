/**
 * The program the reaper process runs (`node -e REAPER_SOURCE GRACE_MS`),
 * plain CommonJS so it needs no build step and starts in one node boot.
 *
 * Its stdin is a pipe from tidegate carrying "+PGID" / "-PGID" lines: the
 * process groups of the pods alive right now. End of that stream means
 * tidegate is gone (exited, crashed or SIGKILLed: the kernel closes the
 * pipe in every case), so every listed group gets SIGTERM, then SIGKILL
 * after GRACE_MS, and the reaper exits. It runs in its own session so a
 * signal sent to tidegate's process group does not take it down first.
 */
export const REAPER_SOURCE = String.raw`
const grace = Number(process.argv[1]) || 5000;
const groups = new Set();
let buffered = '';
let ending = false;
const signal = (sig) => {
  for (const g of groups) {
    try { process.kill(-g, sig); } catch { groups.delete(g); }
  }
};
const finish = () => {
  if (ending) return;
  ending = true;
  if (groups.size === 0) process.exit(0);
  signal('SIGTERM');
  const started = Date.now();
  setInterval(() => {
    signal(0);
    if (groups.size === 0) process.exit(0);
    if (Date.now() - started >= grace) { signal('SIGKILL'); process.exit(0); }
  }, 50);
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    const g = Number(line.slice(1));
    if (!Number.isInteger(g) || g <= 1) continue;
    if (line[0] === '+') groups.add(g); else groups.delete(g);
  }
});
process.stdin.on('end', finish);
process.stdin.on('error', finish);
process.on('SIGHUP', () => undefined);
`;
