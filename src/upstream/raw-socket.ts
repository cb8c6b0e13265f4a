import type net from 'node:net';
import { getSystemErrorName } from 'node:util';

/**
 * Two shortcuts under net.Socket for the upstream hot path, each worth a few
 * per cent of CPU per proxied request (docs/benchmarks.md, "Where the CPU
 * goes"):
 *
 * - `writeRaw`: a request head written straight to the socket's libuv handle,
 *   skipping Node's Writable layer (its buffer, cork bookkeeping, and the
 *   after-write tick each write schedules).
 * - `readRaw`: the handle's read callback replaced by one that hands the bytes
 *   to the connection at once; end of stream and errors still go to Node's.
 *
 * Both use Node's internal stream binding (`process.binding('stream_wrap')`:
 * deprecated (DEP0111) and not a public API, but present and unchanged in
 * Node 20, which `engines` pins). When it is not what they expect,
 * loadRawSockets() returns null and connections keep to net.Socket's own
 * path, as they do when the upstream runtime is made without them
 * (TIDEGATE_RAW_SOCKETS=0: the tests run both paths).
 */

interface StreamHandle {
  writeUtf8String(req: WriteReq, data: string): number;
  onread: (this: StreamHandle, arrayBuffer: unknown) => unknown;
}

interface WriteReq {
  handle: StreamHandle;
  oncomplete: (this: WriteReq, status: number) => void;
  async: boolean;
  socket: net.Socket | null;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

function loadBinding(): StreamWrapBinding | null {
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    const ok =
      typeof b.WriteWrap === 'function' &&
      b.streamBaseState instanceof Int32Array &&
      Number.isInteger(b.kReadBytesOrError) &&
      Number.isInteger(b.kLastWriteWasAsync);
    return ok ? (b as StreamWrapBinding) : null;
  } catch {
    return null;
  }
}

/** The shortcuts, or null when Node's binding is not what they expect. */
export function loadRawSockets(): RawSockets | null {
  const binding = loadBinding();
  return binding === null ? null : new RawSockets(binding);
}

function handleOf(socket: net.Socket): StreamHandle | null {
  const h = (socket as unknown as { _handle?: Partial<StreamHandle> | null })._handle;
  return h != null && typeof h.writeUtf8String === 'function' && typeof h.onread === 'function' ? (h as StreamHandle) : null;
}

function uvError(errno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(`write ${code}`), { code, errno, syscall: 'write' });
}

function onRawWriteComplete(this: WriteReq, status: number): void {
  const socket = this.socket;
  this.socket = null;
  if (status < 0 && socket !== null && !socket.destroyed) socket.destroy(uvError(status));
}

/** The two shortcuts over one loaded binding (with the one write request it reuses). */
export class RawSockets {
  private spare: WriteReq | null = null;

  constructor(private readonly binding: StreamWrapBinding) {}

  /**
   * Writes `data` (as UTF-8) to the socket's handle now, when nothing is queued
   * before it. Returns false, having written nothing, when the raw path cannot
   * be used (still connecting, bytes waiting in the Writable, no handle); the
   * caller then uses socket.write. A write error destroys the socket with it.
   */
  writeRaw(socket: net.Socket, data: string): boolean {
    const binding = this.binding;
    if (socket.connecting || socket.destroyed || socket.writableLength > 0) return false;
    const handle = handleOf(socket);
    if (handle === null) return false;
    // A write that libuv completes at once never attaches its request object
    // to the handle, so the next write may use it again.
    const req = this.spare ?? new binding.WriteWrap();
    this.spare = null;
    req.handle = handle;
    req.oncomplete = onRawWriteComplete;
    req.async = false;
    req.socket = socket;
    const err = handle.writeUtf8String(req, data);
    if (err !== 0) {
      req.socket = null;
      this.spare = req;
      socket.destroy(uvError(err));
    } else if (binding.streamBaseState[binding.kLastWriteWasAsync] === 0) {
      req.socket = null; // done: libuv took every byte
      this.spare = req;
    }
    return true;
  }

  /**
   * Routes the socket's reads to `onBytes(n)` (the bytes are in the buffer
   * given to net.connect's `onread`), leaving end of stream and errors to Node.
   * Returns false when the raw path cannot be used; the socket's own `onread`
   * callback then does the job.
   */
  readRaw(socket: net.Socket, onBytes: (n: number) => void): boolean {
    const binding = this.binding;
    const handle = handleOf(socket);
    if (handle === null) return false;
    const nodeOnread = handle.onread;
    const state = binding.streamBaseState;
    const at = binding.kReadBytesOrError;
    handle.onread = function (this: StreamHandle, arrayBuffer: unknown): unknown {
      const n = state[at]!;
      if (n > 0) {
        onBytes(n);
        return undefined;
      }
      return nodeOnread.call(this, arrayBuffer);
    };
    return true;
  }
}
