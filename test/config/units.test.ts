import { describe, expect, test } from 'vitest';
import { formatDuration, parseDuration, parseSize } from '../../src/config/units.js';

describe('durations', () => {
  test.each([
    ['250ms', 250],
    ['1s', 1000],
    ['60s', 60_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5s', 1500],
    ['0s', 0],
    [' 10s ', 10_000],
  ])('%j → %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });

  test.each([
    [60, /needs a unit .*"60s"/],
    ['60', /needs a unit .*"60s"/],
    ['-5s', /not a duration/],
    ['10 s', /not a duration/],
    ['1d', /not a duration/],
    ['s', /not a duration/],
    ['1m30', /not a duration/],
    ['', /must be a string/],
    [null, /must be a string/],
    [true, /must be a string/],
  ])('%j is refused', (input, reason) => {
    const result = parseDuration(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  test('formatDuration is the inverse for whole milliseconds', () => {
    for (const ms of [0, 1, 999, 1000, 90_000, 3_723_004]) expect(parseDuration(formatDuration(ms))).toEqual({ ok: true, value: ms });
    expect(formatDuration(90_000)).toBe('1m30s');
  });
});

describe('sizes', () => {
  test.each([
    [0, 0],
    [1024, 1024],
    ['512', 512],
    ['16Ki', 16 * 1024],
    ['64Mi', 64 * 1024 * 1024],
    ['4Gi', 4 * 1024 ** 3],
  ])('%j → %d bytes', (text, bytes) => {
    expect(parseSize(text)).toEqual({ ok: true, value: bytes });
  });

  test.each([['64MB'], ['1.5Mi'], ['-1'], [-1], [1.5], ['Mi'], ['64 Mi'], ['1Ti'], [null]])('%j is refused', (input) => {
    expect(parseSize(input).ok).toBe(false);
  });
});
