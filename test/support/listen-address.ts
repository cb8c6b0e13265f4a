import fs from 'node:fs';
import net from 'node:net';

/**
 * The local addresses the kernel has listening sockets on for `port`, read
 * from /proc/net/tcp and tcp6 ("127.0.0.1", "0.0.0.0", "::", …). This is the
 * kernel's own view of a bind, and it sends no traffic: tests must not
 * connect to any address of this machine but loopback.
 */
export function listeningAddresses(port: number): string[] {
  const out: string[] = [];
  for (const [file, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue; // 0A: LISTEN
      const [hex = '', portHex = ''] = f[1]!.split(':');
      if (parseInt(portHex, 16) !== port) continue;
      out.push(v6 ? ipv6(hex) : ipv4(hex));
    }
  }
  return out;
}

/** /proc's IPv4 is one little-endian 32-bit word. */
function ipv4(hex: string): string {
  const b = Buffer.from(hex, 'hex').reverse();
  return [...b].join('.');
}

/** /proc's IPv6 is four little-endian 32-bit words. */
function ipv6(hex: string): string {
  const b = Buffer.from(hex, 'hex');
  for (let i = 0; i < 16; i += 4) b.subarray(i, i + 4).reverse();
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `::ffff:${[...b.subarray(12)].join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/**
 * Whether a TCP connect to host:port succeeds (true), is refused or times
 * out (false). Use loopback addresses only: 127.0.0.2 is loopback on Linux
 * but not 127.0.0.1, so a listener bound to one refuses connects to the other.
 */
export function connects(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
