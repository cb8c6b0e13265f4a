/**
 * The parsed, validated, frozen configuration (DESIGN.md "Config file").
 * Durations are milliseconds, sizes bytes. A reload swaps the whole object.
 */

/** Global autoscaler defaults: Knative's config-autoscaler keys. */
export interface AutoscalerSettings {
  readonly containerConcurrencyTargetDefault: number; // container-concurrency-target-default (100)
  readonly containerConcurrencyTargetPercentage: number; // container-concurrency-target-percentage (70), as percent
  readonly requestsPerSecondTargetDefault: number; // requests-per-second-target-default (200)
  readonly targetBurstCapacity: number; // target-burst-capacity (211; 0 or -1 allowed)
  readonly stableWindowMs: number; // stable-window (60s)
  readonly panicWindowPercentage: number; // panic-window-percentage (10)
  readonly panicThresholdPercentage: number; // panic-threshold-percentage (200)
  readonly maxScaleUpRate: number; // max-scale-up-rate (1000)
  readonly maxScaleDownRate: number; // max-scale-down-rate (2)
  readonly enableScaleToZero: boolean; // enable-scale-to-zero (true)
  readonly scaleToZeroGracePeriodMs: number; // scale-to-zero-grace-period (30s)
  readonly scaleToZeroPodRetentionPeriodMs: number; // scale-to-zero-pod-retention-period (0s)
  readonly scaleDownDelayMs: number; // scale-down-delay (0s)
  readonly initialScale: number; // initial-scale (1)
  readonly allowZeroInitialScale: boolean; // allow-zero-initial-scale (false)
  readonly minScale: number; // min-scale (0)
  readonly maxScale: number; // max-scale (0 = unlimited)
  readonly maxScaleLimit: number; // max-scale-limit (0 = none): the largest max-scale a revision may ask for
  readonly activationScale: number; // activation-scale (1)
  readonly metric: 'concurrency' | 'rps';
  readonly metricAggregationAlgorithm: 'linear' | 'weighted-exponential';
  readonly targetUtilizationPercentage: number; // = container-concurrency-target-percentage unless annotated
  readonly target: number | null; // the `target` annotation, when set
}

export interface ActivatorSettings {
  readonly maxBufferedRequests: number; // max-buffered-requests (10000)
  readonly maxBufferedBytes: number; // max-buffered-bytes (64Mi)
  readonly bufferTimeoutMs: number; // buffer-timeout (60s)
}

/** Limits of the edge (not in Knative; tidegate's own `limits:` section). */
export interface LimitSettings {
  readonly maxBodyBytes: number; // max-body-size (default 4Gi, see defaults.ts)
  readonly maxHeaderBytes: number; // max-header-size (uWS's own limit applies too)
}

export interface KubernetesTarget {
  readonly namespace: string;
  readonly deployment: string;
  readonly port: number;
}

export type UpstreamProtocol = 'http1' | 'h2c';

export interface RevisionSpec {
  readonly name: string;
  readonly service: string;
  /** Exactly one of command / endpoints / kubernetes is set. */
  readonly command: readonly string[] | null;
  readonly endpoints: readonly string[] | null; // "host:port"
  readonly kubernetes: KubernetesTarget | null;
  readonly env: Readonly<Record<string, string>>;
  readonly readinessPath: string | null; // null = TCP connect probe (= readinessProbe.path)
  /** Knative's container readinessProbe, run by the queue-proxy (or the local actuator) for the whole life of a pod. */
  readonly readinessProbe: ReadinessProbeSpec;
  readonly containerConcurrency: number; // 0 = unlimited
  readonly timeoutSeconds: number; // default 300; the whole request, from arrival
  readonly responseStartTimeoutSeconds: number; // 0 = none (timeoutSeconds bounds it): arrival → first response byte
  readonly idleTimeoutSeconds: number; // 0 = none: the longest gap with no byte either way
  readonly queueProxy: boolean;
  /** How the edge speaks to the pod: HTTP/1.1, or HTTP/2 with prior knowledge (Knative's port name `h2c`). */
  readonly protocol: UpstreamProtocol;
  readonly annotations: Readonly<Record<string, string>>;
  /** Global defaults with this revision's annotations applied. */
  readonly autoscaling: AutoscalerSettings;
}

/** A container readinessProbe's fields as Knative and Kubernetes define them (httpGet or tcpSocket). */
export interface ReadinessProbeSpec {
  readonly path: string | null; // httpGet.path; null = tcpSocket
  readonly periodSeconds: number; // 0 = Knative's aggressive probe until ready (then every 1 s)
  readonly timeoutSeconds: number; // per try (1)
  readonly successThreshold: number; // consecutive passes to become ready (1)
  readonly failureThreshold: number; // consecutive failures to leave rotation (3)
}

/** Knative's config-defaults keys that bound a revision's timeouts (tidegate's `defaults:` section). */
export interface RevisionDefaults {
  readonly revisionTimeoutSeconds: number; // revision-timeout-seconds (300)
  readonly maxRevisionTimeoutSeconds: number; // max-revision-timeout-seconds (600)
  readonly revisionResponseStartTimeoutSeconds: number; // revision-response-start-timeout-seconds (0 = none)
  readonly revisionIdleTimeoutSeconds: number; // revision-idle-timeout-seconds (0 = none)
}

export interface TrafficTarget {
  readonly revisionName: string; // resolved (latestRevision: true → the last revision listed)
  readonly latestRevision: boolean;
  readonly percent: number;
  readonly tag: string | null;
}

export interface ServiceSpec {
  readonly name: string;
  /** Knative's namespace, when given: hosts are then `{name}.{namespace}.{domain}` and `{tag}-{name}.{namespace}.{domain}`. */
  readonly namespace: string | null;
  /** `{name}[.{namespace}].{domain}` first, then the extra `hosts`, all lower-case. */
  readonly hosts: readonly string[];
  /** `serving.knative.dev/rollout-duration` (0 = none): how long traffic takes to move to a new latest revision. */
  readonly rolloutDurationMs: number;
  readonly revisions: readonly RevisionSpec[];
  readonly traffic: readonly TrafficTarget[];
}

export interface Config {
  /** Absolute path of the file it came from ('' when built in code). */
  readonly file: string;
  readonly domain: string;
  readonly tagHeaderRouting: boolean;
  readonly autoscaler: AutoscalerSettings; // global defaults
  readonly activator: ActivatorSettings;
  readonly limits: LimitSettings;
  readonly services: readonly ServiceSpec[];
  /** Every revision of every service, by name (names are unique across services). */
  readonly revisions: ReadonlyMap<string, RevisionSpec>;
  /** The `tls:` section; absent: no HTTPS port. */
  readonly tls?: TlsConfig;
}

/** The `tls:` section, its certificate files read and checked (config/tls.ts). */
export interface TlsConfig {
  /** The first entry answers clients whose SNI name no entry lists (and clients that send none). */
  readonly certificates: readonly TlsCertificate[];
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3'; // min-version (TLSv1.2)
  readonly redirectHttp: boolean; // redirect-http (false): the cleartext port answers 308 to https://
  /**
   * http2 (true): the TLS port offers h2 and http/1.1 by ALPN (node:tls in
   * front). false: HTTP/1.1 and WebSocket only, on uWebSockets.js's own TLS
   * (router/uws-tls-server.ts): about twice the HTTPS/1.1 requests per CPU.
   */
  readonly http2: boolean;
}

export interface TlsCertificate {
  /** Lower-case, without a trailing dot; a wildcard is "*.example.com" (one label). */
  readonly hosts: readonly string[];
  /** Absolute paths (the file names relative to the config file's directory). */
  readonly certFile: string;
  readonly keyFile: string;
  /** The files' content as read at load: the PEM chain (leaf first) and the private key. */
  readonly certPem: string;
  readonly keyPem: string;
  /** The leaf certificate's validity, epoch ms. */
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * What parsing needs from outside: the TLS section's files and the time its
 * certificates' dates are judged at. The shell (load.ts, watch.ts) passes
 * the disk and the clock; tests pass what they like.
 */
export interface ConfigEnv {
  /** The file's bytes; throws (an errno error) when it cannot be read. */
  readFile(absolutePath: string): Buffer;
  /** Epoch ms. */
  readonly now: number;
}

/** One problem found in a config file, reported as FILE:LINE:COL: message. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}
