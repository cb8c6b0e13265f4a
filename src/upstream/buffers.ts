/**
 * Memory the upstream client reuses instead of allocating per chunk, so that
 * streaming a large body makes no garbage (and RSS does not swell with dead
 * buffers waiting for a GC).
 *
 * - One read buffer shared by every upstream socket: Node reads into it and
 *   hands the bytes to the connection synchronously; whoever keeps bytes past
 *   that call must copy them (the parser's `hold`, the exchange's `park`).
 * - Slabs for request-body bytes: uWS reuses a chunk's memory once onData
 *   returns, so each chunk is copied into slabs that come back here when the
 *   socket has written them.
 */

export const READ_BUFFER_SIZE = 64 * 1024;
export const SLAB_SIZE = 64 * 1024;
/** Free slabs kept for reuse (4 MiB); beyond that, returned slabs are left to the GC. */
const MAX_FREE_SLABS = 64;

export const readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);

const freeSlabs: Buffer[] = [];

export function takeSlab(): Buffer {
  return freeSlabs.pop() ?? Buffer.allocUnsafeSlow(SLAB_SIZE);
}

export function returnSlab(slab: Buffer): void {
  if (freeSlabs.length < MAX_FREE_SLABS) freeSlabs.push(slab);
}
