/**
 * A client for the test gRPC service (test/fixtures/grpc-service.mjs,
 * served by test/fixtures/grpc-app.mjs), with a promise per call kind.
 * Insecure (h2c) by default; with `tls`, TLS trusting the given CA and
 * checking the certificate against `servername`. A failed call rejects with
 * grpc-js's ServiceError (`code`, `details`, `metadata`).
 */
import * as grpc from '@grpc/grpc-js';
import { MAX_MESSAGE_BYTES, echoService, type EchoMessage } from '../fixtures/grpc-service.mjs';

export type { EchoMessage };

export interface GrpcClientOptions {
  /** TLS instead of h2c: `ca` is the PEM to trust; `servername` is the name sent (SNI) and checked in the certificate. */
  tls?: { ca: Buffer | string; servername?: string };
  /** The :authority of every call (tidegate routes on it); default the address. */
  authority?: string;
  /** More channel options (they win over the ones set here). */
  channelOptions?: grpc.ChannelOptions;
}

export interface CallOptions {
  /** Deadline from now, in ms: the call fails with DEADLINE_EXCEEDED after it. */
  deadlineMs?: number;
  metadata?: Record<string, string>;
  /** Aborting it cancels the call (CANCELLED, and an RST_STREAM to the server). */
  signal?: AbortSignal;
}

/** What WasCancelled answers: the app's count of Sleep calls cancelled, and why. */
export interface CancelledCounts {
  cancelled: number;
  byDeadline: number;
  byClient: number;
  sleeping: number;
}

export interface EchoClient {
  /** The grpc-js client underneath, for what the helpers do not cover. */
  readonly raw: grpc.Client;
  unary(message: EchoMessage, opts?: CallOptions): Promise<EchoMessage>;
  /** Every message of ServerStream({count, size}), in order. */
  serverStream(request: { count: number; size: number }, opts?: CallOptions): Promise<EchoMessage[]>;
  /** Sends `messages`, ends, resolves the app's totals {messages, bytes}. */
  clientStream(messages: EchoMessage[], opts?: CallOptions): Promise<EchoMessage>;
  /** Sends each message only once the echo of the one before came back; resolves the echoes. */
  bidi(messages: EchoMessage[], opts?: CallOptions): Promise<EchoMessage[]>;
  sleep(ms: number, opts?: CallOptions): Promise<EchoMessage>;
  wasCancelled(opts?: CallOptions): Promise<CancelledCounts>;
  /** A call the app fails with `code` and `message`: it rejects with that ServiceError. */
  fail(code: grpc.status, message: string, opts?: CallOptions): Promise<never>;
  close(): void;
}

type RawClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
const EchoConstructor = grpc.makeGenericClientConstructor(echoService, 'Echo');

function callArgs(opts: CallOptions = {}): [grpc.Metadata, grpc.CallOptions] {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts.metadata ?? {})) metadata.set(k, v);
  const callOptions: grpc.CallOptions = {};
  if (opts.deadlineMs !== undefined) callOptions.deadline = new Date(Date.now() + opts.deadlineMs);
  return [metadata, callOptions];
}

function cancelOnAbort(call: grpc.Call, signal: AbortSignal | undefined): void {
  if (!signal) return;
  if (signal.aborted) call.cancel();
  else signal.addEventListener('abort', () => call.cancel(), { once: true });
}

/** `address` is host:port. */
export function grpcClient(address: string, opts: GrpcClientOptions = {}): EchoClient {
  const channelOptions: grpc.ChannelOptions = {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  };
  if (opts.authority !== undefined) channelOptions['grpc.default_authority'] = opts.authority;
  if (opts.tls?.servername !== undefined) channelOptions['grpc.ssl_target_name_override'] = opts.tls.servername;
  Object.assign(channelOptions, opts.channelOptions);
  const credentials = opts.tls ? grpc.credentials.createSsl(Buffer.from(opts.tls.ca)) : grpc.credentials.createInsecure();
  const raw = new EchoConstructor(address, credentials, channelOptions) as RawClient;

  const unaryOf = <T = EchoMessage>(name: string, message: EchoMessage, o?: CallOptions): Promise<T> =>
    new Promise((resolve, reject) => {
      const [metadata, callOptions] = callArgs(o);
      const call = raw[name]!(message, metadata, callOptions, (err: grpc.ServiceError | null, reply: T) => (err ? reject(err) : resolve(reply))) as grpc.Call;
      cancelOnAbort(call, o?.signal);
    });

  return {
    raw,
    unary: (message, o) => unaryOf('Unary', message, o),
    serverStream: (request, o) =>
      new Promise((resolve, reject) => {
        const [metadata, callOptions] = callArgs(o);
        const call = raw.ServerStream!(request, metadata, callOptions) as grpc.ClientReadableStream<EchoMessage>;
        cancelOnAbort(call, o?.signal);
        const got: EchoMessage[] = [];
        call.on('data', (m: EchoMessage) => got.push(m));
        call.on('error', reject);
        call.on('status', (s: grpc.StatusObject) => (s.code === grpc.status.OK ? resolve(got) : undefined));
      }),
    clientStream: (messages, o) =>
      new Promise((resolve, reject) => {
        const [metadata, callOptions] = callArgs(o);
        const call = raw.ClientStream!(metadata, callOptions, (err: grpc.ServiceError | null, reply: EchoMessage) => (err ? reject(err) : resolve(reply))) as grpc.ClientWritableStream<EchoMessage>;
        cancelOnAbort(call, o?.signal);
        // write() buffers past the flow-control window; end() goes after the last.
        for (const m of messages) call.write(m);
        call.end();
      }),
    bidi: (messages, o) =>
      new Promise((resolve, reject) => {
        const [metadata, callOptions] = callArgs(o);
        const call = raw.Bidi!(metadata, callOptions) as grpc.ClientDuplexStream<EchoMessage, EchoMessage>;
        cancelOnAbort(call, o?.signal);
        const got: EchoMessage[] = [];
        const next = (): void => {
          const m = messages[got.length];
          if (m) call.write(m);
          else call.end();
        };
        call.on('data', (m: EchoMessage) => {
          got.push(m);
          next();
        });
        call.on('error', reject);
        call.on('status', (s: grpc.StatusObject) => (s.code === grpc.status.OK ? resolve(got) : undefined));
        next();
      }),
    sleep: (ms, o) => unaryOf('Sleep', { ms }, o),
    wasCancelled: (o) => unaryOf<CancelledCounts>('WasCancelled', {}, o),
    fail: (code, message, o) => unaryOf<never>('Fail', { code, message }, o),
    close: () => raw.close(),
  };
}
