import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createActuator } from '../../src/actuators/index.js';
import type { Actuator } from '../../src/actuators/actuator.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { realClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/log.js';
import { startFakeKubeApi, type FakeKubeApi } from './support/fake-kube-api.js';
import { RecordingStore } from './support/recording-store.js';
import { FIXTURE_APP, until } from './support/revision.js';

const YAML = `
domain: example.com
services:
  - name: shop
    revisions:
      - name: shop-local
        command: ["${process.execPath}", "${FIXTURE_APP}"]
      - name: shop-static
        endpoints: ["127.0.0.1:9001", "127.0.0.1:9002"]
      - name: shop-kube
        kubernetes: { namespace: shop, deployment: shop-kube, port: 8080 }
    traffic:
      - revisionName: shop-local
        percent: 100
`;

function config(): Config {
  const r = parseConfig(YAML, 'test.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

let actuator: Actuator | null = null;
let api: FakeKubeApi | null = null;
afterEach(async () => {
  await actuator?.close();
  await api?.close();
  actuator = null;
  api = null;
});

describe('createActuator', () => {
  it('sends each revision to the actuator of its kind', async () => {
    const cfg = config();
    const store = new RecordingStore();
    api = await startFakeKubeApi();
    api.replicas.set('shop/shop-kube', 0);
    const registry = new Registry();
    actuator = createActuator({
      config: () => cfg,
      store,
      clock: realClock,
      logger: silentLogger,
      registry,
      kubernetes: { connection: { server: api.url, token: 't', source: 'test' } },
    });
    const rev = (name: string) => cfg.revisions.get(name)!;

    // Static: never scaled, its pods are the listed endpoints.
    expect(actuator.currentScale('shop-static')).toBe(2);
    await actuator.scale(rev('shop-static'), 5);
    expect(actuator.currentScale('shop-static')).toBe(2);
    expect(store.pods.size).toBe(0);

    // Kubernetes: the Deployment's scale subresource.
    expect(actuator.currentScale('shop-kube')).toBe(0);
    await actuator.scale(rev('shop-kube'), 3);
    expect(api.replicas.get('shop/shop-kube')).toBe(3);
    expect(actuator.currentScale('shop-kube')).toBe(3);

    // Local: processes, registered in the store; the crash counter is on the given registry.
    await actuator.scale(rev('shop-local'), 1);
    expect(actuator.currentScale('shop-local')).toBe(1);
    await until(() => store.readyPods('shop-local').length === 1, 5000, 'a local pod');
    expect(registry.getSingleMetric('tidegate_pod_crashes_total')).toBeDefined();

    expect(actuator.currentScale('no-such-revision')).toBe(0);
    await actuator.close();
    actuator = null;
    expect(store.pods.size).toBe(0);
  });
});
