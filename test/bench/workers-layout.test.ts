import { describe, expect, it } from 'vitest';
import { formatCpus, parseCpus, workersLayout } from '../../bench/lib/workers-layout.js';

describe('CPU lists', () => {
  it.each([
    ['0', [0]],
    ['0,1', [0, 1]],
    ['1-3', [1, 2, 3]],
    ['3,0-1,1', [0, 1, 3]],
  ])('parses %s', (text, cpus) => {
    expect(parseCpus(text)).toEqual(cpus);
  });

  it.each(['a', '1-', '3-1'])('refuses %s', (text) => {
    expect(() => parseCpus(text)).toThrow(text);
  });

  it('collapses runs when printing', () => {
    expect(formatCpus([0, 2, 3, 4, 7])).toBe('0,2-4,7');
  });
});

describe('where the workers suite puts its servers', () => {
  it('2 cores: the servers get both, the load generator\'s included, and the text says so', () => {
    const l = workersLayout({ pinned: true, loadCpus: '0', cpuCount: 2 });
    expect(l).toMatchObject({ serverCpus: '0,1', shared: true, serverCpuCount: 2 });
    expect(l.text).toContain('overlapping');
  });

  it('8 cores: every CPU but the load generator\'s', () => {
    const l = workersLayout({ pinned: true, loadCpus: '0', cpuCount: 8 });
    expect(l).toMatchObject({ serverCpus: '1,2,3,4,5,6,7', shared: false, serverCpuCount: 7 });
    expect(l.text).toContain('cpus 1-7');
  });

  it('3 cores: the two left are enough to keep apart from the load generator', () => {
    expect(workersLayout({ pinned: true, loadCpus: '0', cpuCount: 3 })).toMatchObject({ serverCpus: '1,2', shared: false });
  });

  it('SERVER_CPUS given: used as given, overlap reported', () => {
    expect(workersLayout({ pinned: true, loadCpus: '0-1', serverCpusAsked: '2-5', cpuCount: 8 })).toMatchObject({ serverCpus: '2,3,4,5', shared: false, serverCpuCount: 4 });
    expect(workersLayout({ pinned: true, loadCpus: '0', serverCpusAsked: '0,1', cpuCount: 8 })).toMatchObject({ serverCpus: '0,1', shared: true });
  });

  it('shared layout: nothing pinned', () => {
    expect(workersLayout({ pinned: false, cpuCount: 2 })).toMatchObject({ serverCpus: undefined, shared: true });
  });
});
