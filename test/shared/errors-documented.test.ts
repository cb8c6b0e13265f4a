import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/shared/errors.js';
import { HTTP_ERRORS as ERRORS } from '../../src/proxy/http-errors.js';

const root = new URL('../../', import.meta.url);
const operations = readFileSync(new URL('docs/operations.md', root), 'utf8');
const readme = readFileSync(new URL('README.md', root), 'utf8');

/** The "Error codes" section of docs/operations.md: from its heading to the next heading of the same or a higher level. */
function section(doc: string, heading: string): string {
  const start = doc.indexOf(`\n${heading}\n`);
  if (start < 0) return '';
  const level = /^#+/.exec(heading)?.[0].length ?? 2;
  const rest = doc.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return next < 0 ? rest : rest.slice(0, next);
}

/** Rows of a markdown table whose first cell is a backticked TG_ERR_ code: code → the row's cells. */
function tableRows(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^\|\s*`(TG_ERR_[A-Z_]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) rows.set(m[1], m[2].split('|').map((c) => c.trim()));
  }
  return rows;
}

const codes = Object.keys(ERRORS) as ErrorCode[];
const hops = [...new Set(codes.map((c) => ERRORS[c].hop))];
const table = tableRows(section(operations, '## Error codes'));

describe('the error table is documented', () => {
  it('docs/operations.md has an "Error codes" table', () => {
    expect(table.size).toBeGreaterThan(0);
  });

  it.each(codes)('%s is a row of that table with its status, hop and gRPC code', (code) => {
    const cells = table.get(code);
    expect(cells, `${code} is missing from the "Error codes" table of docs/operations.md`).toBeDefined();
    expect(cells?.[0]).toBe(String(ERRORS[code].status));
    expect(cells?.[1]).toBe(`\`${ERRORS[code].hop}\``);
    expect(cells?.[2]?.split(' ')[0]).toBe(String(ERRORS[code].grpc));
  });

  it('the table lists no code that src/shared/errors.ts does not have', () => {
    expect([...table.keys()].filter((c) => !(c in ERRORS))).toEqual([]);
  });

  it.each(hops)('hop %s appears in the error list of README.md or docs/operations.md', (hop) => {
    const listed = `\`${hop}\``;
    expect(readme.includes(listed) || operations.includes(listed), `${hop} is in neither README.md nor docs/operations.md`).toBe(true);
  });
});
