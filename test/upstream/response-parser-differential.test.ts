import { describe, expect, it } from 'vitest';
import { BodyMode, ResponseParser, type ResponseHead, type ResponseSink } from '../../src/upstream/response-parser.js';
import { llhttpResponse, type LlhttpVerdict } from '../support/llhttp.js';
import { mutatedResponse, validResponse, type GeneratedResponse } from '../support/response-gen.js';
import { seededRandom } from '../support/seeded-random.js';

// tidegate's response parser against Node's own llhttp (strict, as node:http
// runs it) on seeded random responses and mutations of them. Where both
// accept, status, reason, forwarded header lines, body bytes, where the
// response ends and how (a length, or the connection's end) must agree, and
// tidegate may reuse the connection only when llhttp would keep it alive too.
// tidegate may refuse what llhttp accepts (it is deliberately stricter:
// 101s, CL with TE, duplicate CL, codings other than chunked, control bytes,
// BWS in chunk lines, sizes over 2^53); it must never accept what llhttp
// refuses.
//
// DIFF_CASES=1000000 (and DIFF_SEED=n to start elsewhere) for a long run;
// a failure names the case's seed, which replays it alone (DIFF_SHOW=1 prints each case and both verdicts):
//   DIFF_SHOW=1 DIFF_SEED=<seed> DIFF_CASES=1 npx vitest run test/upstream/response-parser-differential.test.ts
// A long run: DIFF_CASES=1000000 npx vitest run test/upstream/response-parser-differential.test.ts --testTimeout=3600000
// (it prints what only tidegate refused, by reason, with the first seed of each).

const CASES = Number(process.env.DIFF_CASES ?? 2000);
const SEED = Number(process.env.DIFF_SEED ?? 1);

interface TidegateVerdict {
  ok: boolean;
  status: number;
  /** The status line and the header lines tidegate passes on, as written to uWS. */
  lines: string[];
  body: Buffer;
  end: number;
  eof: boolean;
  reusable: boolean;
  error: string | null;
}

class Sink implements ResponseSink {
  head: ResponseHead | null = null;
  lines: string[] = [];
  bodies: Buffer[] = [];
  ended = false;
  onResponseHead(h: ResponseHead): void {
    this.head = h;
    h.headers.writeTo({ writeStatus: (s) => (this.lines = Buffer.from(s).toString('latin1').split('\r\n')) });
  }
  onResponseBody(c: Buffer): void {
    this.bodies.push(Buffer.from(c));
  }
  onResponseEnd(): void {
    this.ended = true;
  }
}

/** tidegate's parser on `bytes` fed in the pieces `cuts` makes, then the connection's clean end. */
function tidegate(bytes: Buffer, isHead: boolean, cuts: number[]): TidegateVerdict {
  const sink = new Sink();
  const p = new ResponseParser(sink);
  p.expect(isHead);
  const v: TidegateVerdict = { ok: false, status: 0, lines: [], body: Buffer.alloc(0), end: -1, eof: false, reusable: false, error: null };
  try {
    let consumed = 0;
    let from = 0;
    // The pieces are copied into one reused buffer, as socket reads land in one.
    const read = Buffer.alloc(bytes.length + 1, 0xee);
    for (const cut of [...cuts, bytes.length]) {
      const n = bytes.copy(read, 0, from, cut);
      consumed += p.feed(read.subarray(0, n));
      read.fill(0xee, 0, n);
      from = cut;
    }
    if (p.done) v.end = consumed;
    else if (p.eof(true)) {
      v.end = bytes.length;
      v.eof = true;
    } else v.error = 'incomplete';
  } catch (err) {
    v.error = (err as Error).message;
  }
  v.ok = v.error === null && sink.ended;
  if (sink.head !== null) {
    v.status = sink.head.status;
    v.lines = sink.lines;
    v.reusable = v.ok && p.reusable && sink.head.keepAlive && sink.head.bodyMode !== BodyMode.UntilClose;
  }
  v.body = Buffer.concat(sink.bodies);
  return v;
}

/** What must hold between the two; null when it does. */
function disagreement(t: TidegateVerdict, l: LlhttpVerdict, bytes: Buffer, isHead: boolean): string | null {
  if (!t.ok) return null; // refusing is always safe
  if (!l.ok) return `tidegate accepts what llhttp refuses (${l.error})`;
  if (l.upgrade) return 'tidegate accepts a 101';
  if (t.status !== l.status) return `status ${t.status} vs ${l.status}`;
  if ((t.lines[0] ?? '').slice(4) !== l.reason) return `reason ${JSON.stringify(t.lines[0])} vs ${JSON.stringify(l.reason)}`;
  if (!t.body.equals(l.body)) return `body of ${t.body.length} bytes vs ${l.body.length}`;
  if (t.end !== l.end || t.eof !== l.eof) return `ends at ${t.end}${t.eof ? ' (eof)' : ''} vs ${l.end}${l.eof ? ' (eof)' : ''}`;
  // llhttp computes keep-alive before it hears that a HEAD response has no body, so without a
  // length it says close (and node:http's client closes); a HEAD response never has a body
  // (RFC 9110 §9.3.2), and tidegate keeps the connection.
  const framed = l.headers.some((h, i) => i % 2 === 0 && /^(content-length|transfer-encoding)$/i.test(h));
  const llhttpKeeps = l.keepAlive || (isHead && !framed && l.status >= 200);
  if (t.reusable && (!llhttpKeeps || t.end !== bytes.length)) return 'tidegate reuses a connection llhttp would not keep';
  // Every line tidegate passes on is one llhttp saw, in the same order.
  const seen = [];
  for (let i = 0; i < l.headers.length; i += 2) seen.push(`${l.headers[i]}: ${l.headers[i + 1]}`);
  let j = 0;
  for (const line of t.lines.slice(1)) {
    while (j < seen.length && seen[j] !== line) j++;
    if (j++ >= seen.length) return `forwarded line ${JSON.stringify(line)} is not llhttp's`;
  }
  return null;
}

function cutsFor(rnd: () => number, length: number): number[] {
  const cuts: number[] = [];
  for (let n = Math.floor(rnd() * 4); n > 0; n--) cuts.push(Math.floor(rnd() * (length + 1)));
  return cuts.sort((a, b) => a - b);
}

interface Tally {
  cases: number;
  bothAccept: number;
  bothRefuse: number;
  /** What only tidegate refused, by its reason: how often, and the first case's seed. */
  tidegateRefuses: Map<string, [number, number]>;
  failures: string[];
}

function run(kind: 'valid' | 'mutated', cases: number, seed: number): Tally {
  const tally: Tally = { cases, bothAccept: 0, bothRefuse: 0, tidegateRefuses: new Map(), failures: [] };
  for (let i = 0; i < cases && tally.failures.length < 5; i++) {
    const caseSeed = seed + i;
    const rnd = seededRandom(kind === 'valid' ? caseSeed : caseSeed ^ 0x5eed);
    const r: GeneratedResponse = kind === 'valid' ? validResponse(rnd) : mutatedResponse(rnd);
    const cuts = cutsFor(rnd, r.bytes.length);
    const t = tidegate(r.bytes, r.isHead, cuts);
    const l = llhttpResponse(r.bytes, r.isHead, t.ok ? t.end : -1);
    const show = () => `seed ${caseSeed} (${kind}, ${r.isHead ? 'HEAD, ' : ''}cuts ${cuts.join(',')}): ${JSON.stringify(r.bytes.toString('latin1').slice(0, 600))}`;
    if (process.env.DIFF_SHOW !== undefined) console.log(show(), '\n  tidegate:', t.error ?? 'accepts', '\n  llhttp:', l.error ?? (l.upgrade ? 'upgrade' : 'accepts'));
    const why = disagreement(t, l, r.bytes, r.isHead);
    if (why !== null) tally.failures.push(`${why}; ${show()}`);
    else if (kind === 'valid' && (!t.ok || !l.ok)) tally.failures.push(`a valid response refused (tidegate: ${t.error}, llhttp: ${l.error}); ${show()}`);
    else if (t.ok) tally.bothAccept++;
    else if (!l.ok) tally.bothRefuse++;
    else {
      const reason = (l.upgrade ? 'a 101 (llhttp: upgrade)' : t.error ?? '').replace(/"[^"]*"/g, '…').replace(/0x[0-9a-f]{2}/, '0x…');
      const seen = tally.tidegateRefuses.get(reason);
      if (seen === undefined) tally.tidegateRefuses.set(reason, [1, caseSeed]);
      else seen[0]++;
    }
  }
  return tally;
}

function report(kind: string, t: Tally): void {
  if (process.env.DIFF_CASES === undefined) return;
  const refused = [...t.tidegateRefuses].sort((a, b) => b[1][0] - a[1][0]);
  console.log(
    `${kind}: ${t.cases} cases, both accept ${t.bothAccept}, both refuse ${t.bothRefuse}, only tidegate refuses ${refused.reduce((n, [, [c]]) => n + c, 0)}, disagreements ${t.failures.length}\n` +
      refused.map(([why, [n, seed]]) => `  ${n}\t${why} (first: seed ${seed})`).join('\n'),
  );
}

describe('the response parser against llhttp', () => {
  it(`accepts ${CASES} valid responses exactly as llhttp does, however they are split`, () => {
    const t = run('valid', CASES, SEED);
    report('valid', t);
    expect(t.failures).toEqual([]);
  });

  it(`never accepts what llhttp refuses, nor frames differently, on ${CASES} mutated responses`, () => {
    const t = run('mutated', CASES, SEED);
    report('mutated', t);
    expect(t.failures).toEqual([]);
    // The mutations do reach both verdicts (a generator that only made garbage would prove little).
    if (CASES < 1000) return; // a replay of a few seeds
    expect(t.bothAccept).toBeGreaterThan(CASES / 20);
    expect(t.bothRefuse + [...t.tidegateRefuses.values()].reduce((a, [n]) => a + n, 0)).toBeGreaterThan(CASES / 5);
  });
});
