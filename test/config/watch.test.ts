import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, test } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { watchConfig } from '../../src/config/watch.js';
import type { Config, ConfigProblem } from '../../src/config/types.js';
import { BASE, broken } from './fixtures.js';
import { waitFor } from '../support/wait.js';

let dir: string;
let file: string;
let configs: Config[];
let problemSets: ConfigProblem[][];
let watcher: { close(): void } | undefined;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-watch-'));
  file = path.join(dir, 'tidegate.yaml');
  await fs.writeFile(file, BASE);
  configs = [];
  problemSets = [];
  watcher = watchConfig(file, { onConfig: (c) => configs.push(c), onProblems: (p) => problemSets.push(p) }, { debounceMs: 50 });
});

afterEach(async () => {
  watcher?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Saves the way editors do: write a temporary file, rename it over the old one. */
async function save(text: string): Promise<void> {
  const tmp = path.join(dir, `.tidegate.yaml.${Math.random().toString(36).slice(2)}`);
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

const settle = (ms = 400): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a valid edit (saved by rename) → onConfig exactly once with the new config', async () => {
  await save(broken('percent: 90', 'percent: 80').replace('percent: 10', 'percent: 20'));
  await waitFor(() => configs.length > 0, 3000, 'a new config');
  await settle();
  expect(configs).toHaveLength(1);
  expect(problemSets).toHaveLength(0);
  expect(configs[0]?.services[0]?.traffic.map((t) => t.percent)).toEqual([80, 20, 0]);
  expect(configs[0]?.file).toBe(file);
});

test('an in-place write with several chunks is debounced into one reload', async () => {
  // A longer quiet time than the gaps between chunks, with room for a busy machine.
  watcher?.close();
  watcher = watchConfig(file, { onConfig: (c) => configs.push(c), onProblems: (p) => problemSets.push(p) }, { debounceMs: 300 });
  const handle = await fs.open(file, 'w');
  const text = broken('domain: example.com', 'domain: example.org');
  for (let i = 0; i < text.length; i += 200) {
    await handle.write(text.slice(i, i + 200));
    await new Promise((r) => setTimeout(r, 5));
  }
  await handle.close();
  await waitFor(() => configs.length > 0, 3000, 'a new config');
  await settle();
  expect(configs).toHaveLength(1);
  expect(configs[0]?.domain).toBe('example.org');
  expect(problemSets).toHaveLength(0);
});

test('a broken edit → onProblems with line:col, and no config', async () => {
  await save(broken('timeoutSeconds: 300', 'timeoutSeconds: 900'));
  await waitFor(() => problemSets.length > 0, 3000, 'reported problems');
  await settle();
  expect(configs).toHaveLength(0);
  expect(problemSets).toHaveLength(1);
  expect(problemSets[0]).toEqual([{ file, line: 18, col: 25, message: 'services[0].revisions[0].timeoutSeconds: must be an integer in 1..600, got 900' }]);
});

test('rewriting the same content is not a change: no handler runs', async () => {
  await save(BASE);
  const handle = await fs.open(file, 'w');
  await handle.write(BASE);
  await handle.close();
  await settle(600);
  expect(configs).toHaveLength(0);
  expect(problemSets).toHaveLength(0);
});

test('broken, then fixed back to the original: problems, then the config again', async () => {
  await save('services: [');
  await waitFor(() => problemSets.length > 0, 3000, 'reported problems');
  await settle(200);
  await save(BASE);
  await waitFor(() => configs.length > 0, 3000, 'a new config');
  expect(problemSets).toHaveLength(1);
  expect(configs).toHaveLength(1);
});

test('other files in the directory do not trigger anything; close() stops watching', async () => {
  await fs.writeFile(path.join(dir, 'other.yaml'), 'x: 1');
  await settle();
  expect(configs.length + problemSets.length).toBe(0);
  watcher?.close();
  watcher = undefined;
  await save(broken('percent: 90', 'percent: 85').replace('percent: 10', 'percent: 15'));
  await settle();
  expect(configs.length + problemSets.length).toBe(0);
});

test('a Kubernetes ConfigMap update (the ..data symlink swapped) is seen', async () => {
  watcher?.close();
  const mount = path.join(dir, 'mount');
  await fs.mkdir(path.join(mount, '..2024_01'), { recursive: true });
  await fs.writeFile(path.join(mount, '..2024_01', 'tidegate.yaml'), BASE);
  await fs.symlink('..2024_01', path.join(mount, '..data'));
  await fs.symlink('..data/tidegate.yaml', path.join(mount, 'tidegate.yaml'));
  watcher = watchConfig(path.join(mount, 'tidegate.yaml'), { onConfig: (c) => configs.push(c), onProblems: (p) => problemSets.push(p) }, { debounceMs: 50 });
  // What the kubelet's atomic writer does: new directory, new symlink, rename over ..data.
  await fs.mkdir(path.join(mount, '..2024_02'));
  await fs.writeFile(path.join(mount, '..2024_02', 'tidegate.yaml'), broken('domain: example.com', 'domain: example.net'));
  await fs.symlink('..2024_02', path.join(mount, '..data_tmp'));
  await fs.rename(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
  await waitFor(() => configs.length > 0, 3000, 'a new config');
  await settle();
  expect(configs.map((c) => c.domain)).toEqual(['example.net']);
  expect(problemSets).toHaveLength(0);
});

describe('the watcher starts from the text that was loaded', () => {
  it('applies an edit saved between the load and the start of the watch', async () => {
    watcher?.close();
    const loaded = await loadConfigFile(file);
    expect(loaded.ok).toBe(true);
    // The edit lands before the watch exists: no file event will ever tell the watcher about it.
    await save(broken('domain: example.com', 'domain: example.org'));
    watcher = watchConfig(file, { onConfig: (c) => configs.push(c), onProblems: (p) => problemSets.push(p) }, { debounceMs: 50, loadedText: loaded.text });
    await waitFor(() => configs.length > 0, 3000, 'a new config');
    await settle();
    expect(configs.map((c) => c.domain)).toEqual(['example.org']);
    expect(problemSets).toHaveLength(0);
  });

  it('does nothing when the file still holds the loaded text', async () => {
    watcher?.close();
    const loaded = await loadConfigFile(file);
    watcher = watchConfig(file, { onConfig: (c) => configs.push(c), onProblems: (p) => problemSets.push(p) }, { debounceMs: 50, loadedText: loaded.text });
    await settle();
    expect(configs.length + problemSets.length).toBe(0);
  });
});
