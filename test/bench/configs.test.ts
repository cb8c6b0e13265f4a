import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { BENCH_HOST, nginxConfig, tidegateColdConfig, tidegateStaticConfig } from '../../bench/lib/configs.js';

describe('generated bench configs follow the config contract', () => {
  it('static: bench.example.com → one endpoints revision at 100 %', () => {
    const res = parseConfig(tidegateStaticConfig(['127.0.0.1:3000']), 'static.yaml');
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    expect(BENCH_HOST).toBe('bench.example.com');
    const rev = res.config.revisions.get('bench-00001');
    expect(rev).toBeDefined();
    expect(JSON.stringify(rev)).toContain('127.0.0.1:3000');
  });

  it('cold: a command revision that may scale to zero with the shortest windows', () => {
    const res = parseConfig(tidegateColdConfig({ appPath: '/x/cold-app.js', readyFile: '/tmp/ready' }), 'cold.yaml');
    if (!res.ok) throw new Error(JSON.stringify(res.problems));
    const rev = res.config.revisions.get('cold-00001');
    expect(JSON.stringify(rev)).toContain('/x/cold-app.js');
  });

  it('nginx: one worker unless told, and `workers` changes nothing but worker_processes', () => {
    const base = { port: 8080, backendPort: 3000, dir: '/tmp/ng' };
    expect(nginxConfig(base)).toContain('\nworker_processes 1;\n');
    expect(nginxConfig({ ...base, workers: 1 })).toBe(nginxConfig(base));
    const two = nginxConfig({ ...base, workers: 2 });
    expect(two).toContain('\nworker_processes 2;\n');
    expect(two.replace('worker_processes 2;', 'worker_processes 1;')).toBe(nginxConfig(base));
  });
});
