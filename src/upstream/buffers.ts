import { HeadScratch } from './response-head.js';

export const READ_BUFFER_SIZE = 64 * 1024;
export const SLAB_SIZE = 64 * 1024;
/** Free slabs kept for reuse (4 MiB); beyond that, returned slabs are left to the GC. */
const MAX_FREE_SLABS = 64;

/**
 * Memory the upstream client reuses instead of allocating per chunk, so that
 * streaming a large body makes no garbage (and RSS does not swell with dead
 * buffers waiting for a GC). One set per upstream runtime.
 *
 * - One read buffer shared by every upstream socket: Node reads into it and
 *   hands the bytes to the connection synchronously; whoever keeps bytes past
 *   that call must copy them (the parser's `hold`, the proxy's `park`).
 * - Slabs for request-body bytes: uWS reuses a chunk's memory once onData
 *   returns, so each chunk is copied into slabs that come back here when the
 *   socket has written them.
 * - The scratch where response heads are gathered for the client.
 */
export class UpstreamBuffers {
  readonly read = Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);
  readonly heads = new HeadScratch();
  private readonly free: Buffer[] = [];

  takeSlab(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(SLAB_SIZE);
  }

  returnSlab(slab: Buffer): void {
    if (this.free.length < MAX_FREE_SLABS) this.free.push(slab);
  }
}
