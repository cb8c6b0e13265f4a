import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createActuator } from '../../src/actuators/index.js';
import { LocalActuator } from '../../src/actuators/local.js';
import type { Actuator } from '../../src/actuators/actuator.js';
import { parseConfig } from '../../src/config/load.js';
import { realClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { RecordingStore } from './support/recording-store.js';
import { FIXTURE_APP, alive, localRevision, until } from './support/revision.js';

// The reaper (one node process per local actuator) is started with the
// actuator, not by the first pod: a first cold start must not pay a second
// fork and share its CPU with a second node boot.
let actuator: Actuator | null = null;
const savedEnv = { ...process.env };
afterEach(async () => {
  await actuator?.close();
  actuator = null;
  process.env = { ...savedEnv };
});

describe('the pod reaper is running before the first pod', () => {
  it('a LocalActuator starts it when created, and it outlives no close()', async () => {
    const local = new LocalActuator({ store: new RecordingStore(), clock: realClock, logger: silentLogger, cliPath: 'unused' });
    actuator = local;
    const pid = local.reaperPid;
    expect(pid).toBeDefined();
    expect(alive(pid!)).toBe(true);
    await local.scale(localRevision(), 1);
    expect(local.reaperPid).toBe(pid); // the first pod is tracked by the same one
    await local.close();
    actuator = null;
    await until(() => !alive(pid!), 5000, 'the reaper to exit');
  });

  it.skipIf(process.platform !== 'linux')('createActuator starts the local actuator (and its reaper) at once when the config has a command revision', async () => {
    const yaml = `domain: example.com\nservices:\n  - name: app\n    revisions:\n      - name: app-1\n        command: ["${process.execPath}", "${FIXTURE_APP}"]\n`;
    const parsed = parseConfig(yaml, 'test.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const config = parsed.config;
    const before = reaperPids();
    actuator = createActuator({ config: () => config, store: new RecordingStore(), clock: realClock, logger: silentLogger, cliPath: 'unused' });
    expect(actuator.currentScale('app-1')).toBe(0);
    await until(() => reaperPids().some((p) => !before.includes(p)), 5000, 'a reaper process');
  });

  it.skipIf(process.platform !== 'linux')('it does not inherit NODE_OPTIONS or NODE_EXTRA_CA_CERTS (a preload, or CA files read at every boot)', async () => {
    process.env.NODE_OPTIONS = '--require /nonexistent/tidegate-test-preload.js';
    process.env.NODE_EXTRA_CA_CERTS = '/nonexistent/tidegate-test-ca.pem';
    const local = new LocalActuator({ store: new RecordingStore(), clock: realClock, logger: silentLogger, cliPath: 'unused' });
    actuator = local;
    const pid = local.reaperPid!;
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ.some((e) => e.startsWith('NODE_OPTIONS='))).toBe(false);
    expect(environ.some((e) => e.startsWith('NODE_EXTRA_CA_CERTS='))).toBe(false);
    expect(environ.some((e) => e.startsWith('PATH='))).toBe(true);
    // With that preload it could not even start; without it, it is still there.
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(pid)).toBe(true);
  });
});

/** Pids of this process's children running the reaper's program (`node -e <source> <grace>`), from /proc. */
function reaperPids(): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && cmd.includes('const grace = Number(process.argv[1])')) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
