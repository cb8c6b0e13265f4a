import { describe, expect, it } from 'vitest';
import { pickVictim, restartDelayMs } from '../../src/actuators/scale-plan.js';

describe('pickVictim', () => {
  const starting = { ready: false, idle: true };
  const idle = { ready: true, idle: true };
  const busy = { ready: true, idle: false };
  it.each([
    ['nothing to pick', [], -1],
    ['the only pod', [busy], 0],
    ['the newest among equals', [idle, idle, idle], 2],
    ['a pod not ready yet before anything else', [idle, starting, busy], 1],
    ['the newest of several not ready', [starting, idle, starting], 2],
    ['an idle pod before a busy newer one', [idle, busy], 0],
    ['the newest idle pod', [idle, idle, busy], 1],
    ['the newest busy pod when all are busy', [busy, busy], 1],
  ] as const)('%s', (_name, pods, expected) => {
    expect(pickVictim(pods)).toBe(expected);
  });
});

describe('restartDelayMs', () => {
  it.each([
    [0, 0],
    [1, 0],
    [2, 250],
    [3, 500],
    [4, 1000],
    [8, 16_000],
    [9, 30_000],
    [50, 30_000],
  ])('after %i crashes before ready: %i ms', (streak, ms) => {
    expect(restartDelayMs(streak)).toBe(ms);
  });
});
