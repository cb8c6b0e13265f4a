import type { TidegateError } from '../shared/errors.js';
import type { BodyMode } from './response-head.js';

/**
 * The one contract between the proxy (src/proxy: a client request and the
 * policy around it) and anything that carries a request to a pod. A
 * dispatcher is per pod (or per upstream address); the HTTP/1.1 keep-alive
 * pool is the first (pool.ts). A second protocol (an h2c session per pod,
 * a WebSocket relay) is another class implementing `Dispatcher`: the proxy
 * and the router do not change. docs/architecture.md, "The upstream seam".
 *
 * Modelled on undici's `dispatch(options, handler)`: the caller hands over
 * the request and a handler, gets back a controller for the body it streams
 * and for backpressure, and hears everything else through the handler.
 */
export interface Dispatcher {
  /**
   * Starts a request. `extraHeaders` are full header lines for this hop only
   * ("k-proxy-request: activator\r\n"). Never throws: a failure to connect
   * reaches the handler as onResponseError.
   */
  dispatch(request: UpstreamRequest, extraHeaders: string, handler: DispatchHandler): DispatchController;
  /** Closes what is idle now and the rest as their requests end; no new dispatch after. */
  close(): void;
}

/** The request as the proxy validated it (src/proxy/request-head.ts). */
export interface UpstreamRequest {
  readonly method: string;
  /** Path and query as the client sent them. */
  readonly url: string;
  /** Header lines ("name: value\r\n"…), tidegate's own framing line included. */
  readonly headerBlock: string;
  /** -1: no body; >= 0: the declared length. */
  readonly contentLength: number;
  /** The body comes in chunks of unknown total (the dispatcher frames them for its protocol). */
  readonly chunked: boolean;
  /** The request asks the pod to switch protocols (a WebSocket): a 101 reaches the handler's onUpgrade. */
  readonly upgrade: boolean;
}

/** A response head, whatever protocol brought it. Its header view is valid only during onResponseStart. */
export interface UpstreamResponseHead {
  readonly status: number;
  readonly bodyMode: BodyMode;
  /** The body's length when bodyMode = Length (the declared one for a HEAD response); else -1. */
  readonly contentLength: number;
  readonly headers: ResponseHeaders;
}

export interface ResponseHeaders {
  /** Writes the status text and every header a proxy passes on, in one call. */
  writeTo(target: { writeStatus(status: Uint8Array): unknown }): void;
  /** One header's value (name as lower-case bytes), or null. */
  find(name: Uint8Array): string | null;
}

/**
 * What a dispatcher reports to. Calls come in this order: onResponseStart,
 * onResponseData*, then exactly one of onResponseEnd or onResponseError
 * (onResponseError may also come first). Response chunks are views of a
 * shared read buffer, valid only during the call: copy what you keep.
 */
export interface DispatchHandler {
  onResponseStart(head: UpstreamResponseHead): void;
  onResponseData(chunk: Buffer): void;
  onResponseEnd(): void;
  /**
   * Trailing header fields the pod sent after its body (HTTP/2: gRPC's
   * grpc-status and grpc-message; HTTP/1.1: a chunked body's trailer
   * section), names lower-case. Comes just before onResponseEnd, at most once.
   */
  onResponseTrailers?(trailers: ResponseTrailers): void;
  /**
   * The request failed before its response completed. `gotResponse`: some
   * response byte had arrived (the pod saw the request). Not called after
   * the handler released or aborted the controller.
   */
  onResponseError(err: TidegateError, gotResponse: boolean): void;
  /** The dispatcher can take more request body (after a write returned false). */
  onRequestDrain(): void;
  /**
   * The pod answered an upgrade request with 101: from now on the connection
   * is a byte pipe. Returns who hears the pipe's bytes, or null to refuse
   * the switch (the connection is then destroyed and nothing more is
   * reported). No other handler call follows either way.
   */
  onUpgrade(head: UpstreamResponseHead, tunnel: Tunnel): TunnelHandler | null;
  /** Runs `fn` with the client's writes batched, so one upstream read makes one client write. */
  cork(fn: () => void): void;
}

/** Trailer fields by lower-case name (a repeated field: its values in order). */
export type ResponseTrailers = Readonly<Record<string, string | readonly string[]>>;

/** One dispatched request, as its caller drives it. */
export interface DispatchController {
  /** Request body bytes (the memory may be reused once this returns); false: wait for onRequestDrain. */
  write(bytes: Uint8Array): boolean;
  /** The request body is complete. */
  end(): void;
  /** True while nothing written can have reached the pod (still connecting): a refusal then may be replayed whole. */
  readonly connecting: boolean;
  /** Response backpressure: stop and restart delivering response data. */
  pause(): void;
  resume(): void;
  /** The whole response has been delivered (onResponseEnd came). */
  readonly responseDone: boolean;
  /** The caller is done with a request that ended cleanly: the dispatcher may reuse what carried it. */
  release(): void;
  /** The caller gives up (timeout, client gone, error): nothing more reaches the handler. */
  abort(): void;
}

/** A connection that switched protocols: bytes both ways, backpressure both ways. */
export interface Tunnel {
  /** Sends bytes (copied); false: the pod is slow to read, wait for onTunnelDrain. */
  write(bytes: Uint8Array): boolean;
  /** Stops and restarts reading from the pod. */
  pause(): void;
  resume(): void;
  /** Bytes written but not yet taken by the kernel. */
  readonly queued: number;
  /** Sends FIN once what was written has gone. */
  end(): void;
  destroy(): void;
}

export interface TunnelHandler {
  /** Bytes from the pod (a view valid only during the call). */
  onTunnelData(chunk: Buffer): void;
  onTunnelDrain(): void;
  /** The connection is gone: `err` null after a clean FIN (or our own end/destroy). */
  onTunnelEnd(err: TidegateError | null): void;
}
