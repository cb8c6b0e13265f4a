/** Types for the tests of haproxy.js (the bench itself is plain JS). */
export const HAPROXY: string;
export function haproxyConfig(opts: { port: number; backendPort: number; connections?: number }): string;
export function haproxyVersion(): string;
