// Types for h2load.js (plain JS, run by node without a build), for the tests.
export interface H2loadResult {
  tool: 'h2load';
  requests: number;
  succeeded: number;
  reqPerSec: number;
  seconds: number;
  status2xx: number;
  non2xx: number;
  errors: number;
  dataBytes: number;
  headerBytes: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
  sdMs: number;
  tlsProtocol: string | null;
  cipher: string | null;
  alpn: string | null;
}
export declare const H2LOAD: string;
export declare function hasH2load(): boolean;
export declare function parseH2loadOutput(stdout: string): H2loadResult | null;
