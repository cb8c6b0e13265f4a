import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { watchConfig } from '../../src/config/watch.js';
import type { Config, ConfigProblem } from '../../src/config/types.js';
import { BASE, broken } from './fixtures.js';
import { waitFor } from '../support/wait.js';
import { makeCertificates, type LeafFiles, type TestCertificates } from '../support/certs.js';

let dir: string;
let file: string;
let configs: Config[];
let warningSets: (readonly ConfigProblem[])[];
let problemSets: ConfigProblem[][];
let watcher: { close(): void } | undefined;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidegate-watch-'));
  file = path.join(dir, 'tidegate.yaml');
  await fs.writeFile(file, BASE);
  configs = [];
  warningSets = [];
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

describe('the TLS files are watched too', () => {
  let certs: TestCertificates;
  let a: LeafFiles;
  let b: LeafFiles;
  const TLS = `domain: example.com
tls:
  certificates:
    - hosts: [a.example.com]
      cert: certs/a.pem
      key: certs/a-key.pem
services:
  - name: hello
    revisions: [{ name: hello-1, endpoints: ["127.0.0.1:9001"] }]
`;

  beforeAll(async () => {
    certs = await makeCertificates(['a.example.com'], { name: 'a' });
    a = certs.leaf;
    b = await certs.issue(['a.example.com', 'b.example.com'], { name: 'b' });
  }, 30_000);
  afterAll(() => certs?.cleanup());

  /** Replaces a file the way editors and cert-manager do: a new file renamed over the old one. */
  async function replace(target: string, from: string): Promise<void> {
    const tmp = `${target}.tmp-${Math.random().toString(36).slice(2)}`;
    await fs.copyFile(from, tmp);
    await fs.rename(tmp, target);
  }

  async function start(debounceMs = 200): Promise<void> {
    watcher?.close();
    await fs.mkdir(path.join(dir, 'certs'));
    await fs.copyFile(a.cert, path.join(dir, 'certs/a.pem'));
    await fs.copyFile(a.key, path.join(dir, 'certs/a-key.pem'));
    await save(TLS);
    const loaded = await loadConfigFile(file);
    expect(loaded.ok).toBe(true);
    watcher = watchConfig(file, { onConfig: (c, w) => (configs.push(c), warningSets.push(w)), onProblems: (p) => problemSets.push(p) }, { debounceMs, loadedText: loaded.text, loadedFiles: loaded.files });
  }

  const servedPem = (c: Config | undefined) => c?.tls?.certificates[0]?.certPem;

  it('a renewed certificate and key (the config file untouched) → onConfig once with the new certificate', async () => {
    await start();
    await replace(path.join(dir, 'certs/a-key.pem'), b.key);
    await replace(path.join(dir, 'certs/a.pem'), b.cert);
    await waitFor(() => configs.length > 0, 3000, 'a new config');
    await settle();
    expect(problemSets).toEqual([]);
    expect(configs).toHaveLength(1);
    expect(servedPem(configs[0])).toBe(await fs.readFile(b.cert, 'utf8'));
  });

  it('a broken certificate is refused at its line:col, and the running config stays', async () => {
    await start(50);
    await fs.writeFile(path.join(dir, 'certs/a.pem'), 'not a certificate');
    await waitFor(() => problemSets.length > 0, 3000, 'reported problems');
    await settle();
    expect(configs).toHaveLength(0);
    expect(problemSets).toEqual([[{ file, line: 5, col: 13, message: 'tls.certificates[0].cert: certs/a.pem holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" block)' }]]);
    // Fixed again: the config comes back.
    await replace(path.join(dir, 'certs/a.pem'), a.cert);
    await waitFor(() => configs.length > 0, 3000, 'the config again');
    expect(servedPem(configs[0])).toBe(await fs.readFile(a.cert, 'utf8'));
  });

  it('rewriting a certificate with the same bytes is not a change', async () => {
    await start(50);
    await replace(path.join(dir, 'certs/a.pem'), a.cert);
    await fs.writeFile(path.join(dir, 'certs/a-key.pem'), await fs.readFile(a.key));
    await settle(600);
    expect(configs.length + problemSets.length).toBe(0);
  });

  it('a certificate changed between the load and the start of the watch is applied', async () => {
    watcher?.close();
    await fs.mkdir(path.join(dir, 'certs'));
    await fs.copyFile(a.cert, path.join(dir, 'certs/a.pem'));
    await fs.copyFile(a.key, path.join(dir, 'certs/a-key.pem'));
    await save(TLS);
    const loaded = await loadConfigFile(file);
    await replace(path.join(dir, 'certs/a-key.pem'), b.key);
    await replace(path.join(dir, 'certs/a.pem'), b.cert);
    watcher = watchConfig(file, { onConfig: (c) => configs.push(c), onProblems: (p) => problemSets.push(p) }, { debounceMs: 50, loadedText: loaded.text, loadedFiles: loaded.files });
    await waitFor(() => configs.length > 0, 3000, 'a new config');
    expect(servedPem(configs[0])).toBe(await fs.readFile(b.cert, 'utf8'));
  });

  it('a reload hands over its warnings; a file the new text names is watched from then on', async () => {
    await start(50);
    // The edit points at b's files under new names in a new directory, for a host b does not name.
    await fs.mkdir(path.join(dir, 'more'));
    await fs.copyFile(b.cert, path.join(dir, 'more/b.pem'));
    await fs.copyFile(b.key, path.join(dir, 'more/b-key.pem'));
    await save(TLS.replace('certs/a.pem', 'more/b.pem').replace('certs/a-key.pem', 'more/b-key.pem').replace('[a.example.com]', '[c.example.com]'));
    await waitFor(() => configs.length > 0, 3000, 'a new config');
    expect(warningSets[0]?.map((w) => w.message)).toEqual([expect.stringMatching(/^tls\.certificates\[0\]\.hosts\[0\]: the certificate more\/b\.pem does not name c\.example\.com/)]);
    await fs.writeFile(path.join(dir, 'more/b.pem'), 'gone');
    await waitFor(() => problemSets.length > 0, 3000, 'the new file watched');
    expect(problemSets[0]?.[0]?.message).toMatch(/more\/b\.pem holds no PEM certificate/);
  });
});
