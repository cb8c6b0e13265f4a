import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { KubeConnection } from './kube-connection.js';

export interface KubeResponse {
  readonly status: number;
  readonly body: string;
}

const TIMEOUT_MS = 10_000;
const MAX_BODY = 64 * 1024;

/** One request to the API server with the connection's credentials; rejects only on network errors. */
export async function kubeRequest(conn: KubeConnection, method: string, apiPath: string, body?: { type: string; data: unknown }): Promise<KubeResponse> {
  const url = new URL(apiPath, conn.server.endsWith('/') ? conn.server : `${conn.server}/`);
  const token = conn.tokenFile ? (await fs.readFile(conn.tokenFile, 'utf8')).trim() : conn.token;
  const payload = body ? JSON.stringify(body.data) : undefined;
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'tidegate' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (body && payload !== undefined) {
    headers['content-type'] = body.type;
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  const tls = url.protocol === 'https:';
  const options: https.RequestOptions = { method, headers, timeout: TIMEOUT_MS, agent: false };
  if (tls) {
    if (conn.ca) options.ca = conn.ca;
    if (conn.cert) options.cert = conn.cert;
    if (conn.key) options.key = conn.key;
    if (conn.insecureSkipTlsVerify) options.rejectUnauthorized = false;
  }
  return new Promise((resolve, reject) => {
    const req = (tls ? https : http).request(url, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (text.length < MAX_BODY) text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
