import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from './ports.js';

export interface RedisHandle {
  readonly url: string;
  readonly port: number;
  /** Graceful stop (SIGTERM), waits for the process to exit. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash or a lost node would look to clients. */
  kill(): Promise<void>;
  /** Starts a fresh (empty) server on the same port. */
  restart(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Never leave redis-server children behind, even when a test run aborts. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** One round trip of the inline protocol; true when the server answers +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n')) done(data.startsWith('+PONG'));
    });
  });
}

function spawnServer(port: number): ChildProcess {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.resume();
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

async function waitReady(child: ChildProcess, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited early (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

function end(child: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export const REDIS_MISSING = 'redis-server not found: apt-get install redis-server (or put redis-server on PATH; the store tests run a real one)';

/** Whether an executable `name` is in one of PATH's directories. */
function onPath(name: string): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir || '.', name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A real redis-server on a free port, empty and without persistence. */
export async function startRedis(): Promise<RedisHandle> {
  if (!onPath('redis-server')) throw new Error(REDIS_MISSING);
  installExitHook();
  let port = 0;
  let child: ChildProcess | null = null;
  // A port found free can be taken before redis binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    child = spawnServer(port);
    try {
      await waitReady(child, port);
      break;
    } catch (err) {
      if (attempt >= 2) throw err;
    }
  }
  const handle: RedisHandle = {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await end(child, 'SIGTERM');
      child = null;
    },
    kill: async () => {
      await end(child, 'SIGKILL');
      child = null;
    },
    restart: async () => {
      await end(child, 'SIGTERM');
      // The port can linger for a moment after the old process exits.
      for (let attempt = 0; ; attempt++) {
        child = spawnServer(port);
        try {
          await waitReady(child, port);
          return;
        } catch (err) {
          if (attempt >= 20) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
  };
  return handle;
}
