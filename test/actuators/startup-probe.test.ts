import { describe, expect, it } from 'vitest';
import { STARTUP_MAX_RETRY_MS, startupRetryMs } from '../../src/actuators/startup-probe.js';

describe('startupRetryMs (the wait after a failed start-up try)', () => {
  it.each([
    [1, 1],
    [2, 1],
    [3, 2],
    [4, 2],
    [5, 3],
    [6, 3],
    [7, 3],
    [100, 3],
    [1_000_000, 3],
  ])('after %i failed tries: %i ms', (failures, ms) => {
    expect(startupRetryMs(failures)).toBe(ms);
  });

  it('never waits longer than the cap, so a pod is found within a few ms of listening', () => {
    for (let n = 1; n < 10_000; n++) expect(startupRetryMs(n)).toBeLessThanOrEqual(STARTUP_MAX_RETRY_MS);
    expect(STARTUP_MAX_RETRY_MS).toBeLessThanOrEqual(5);
  });

  it('never spins: at least 1 ms, and never shorter than the wait before', () => {
    let before = 0;
    for (let n = 1; n < 100; n++) {
      const ms = startupRetryMs(n);
      expect(ms).toBeGreaterThanOrEqual(Math.max(1, before));
      before = ms;
    }
  });
});
