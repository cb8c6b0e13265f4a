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
   * The request failed before its response completed. `gotResponse`: some
   * response byte had arrived (the pod saw the request). Not called after
   * the handler released or aborted the controller.
   */
  onResponseError(err: TidegateError, gotResponse: boolean): void;
  /** The dispatcher can take more request body (after a write returned false). */
  onRequestDrain(): void;
  /** Runs `fn` with the client's writes batched, so one upstream read makes one client write. */
  cork(fn: () => void): void;
}

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
