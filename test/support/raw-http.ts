import net from 'node:net';

export interface RawResult {
  /** Everything the server sent. */
  text: string;
  status: number;
  headers: Record<string, string>;
  /** The server closed the connection (within the wait). */
  closed: boolean;
}

/** Sends raw bytes and collects the reply until close or `waitMs` of quiet. */
export function rawRequest(port: number, bytes: string | Buffer, waitMs = 500): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    let closed = false;
    let timer = setTimeout(done, waitMs);
    socket.on('data', (d) => {
      text += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(done, waitMs);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      done();
    });
    let finished = false;
    function done() {
      if (finished) return;
      finished = true;
      socket.destroy();
      const [head = ''] = text.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const status = Number(lines[0]?.split(' ')[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ text, status, headers, closed });
    }
  });
}
