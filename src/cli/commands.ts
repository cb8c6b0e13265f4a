/**
 * Every command and its flags (README "Command line", docs/operations.md
 * "Environment variables"). The queue-proxy's listeners read the same
 * variables as serve's (PORT, ADMIN_PORT, TIDEGATE_ADDRESS, …): a sidecar
 * that `serve` starts inherits serve's environment, so the local actuator
 * passes those flags explicitly (a flag wins over its variable).
 */
import type { CommandSpec, FlagSpec } from './flags.js';

const config: FlagSpec = { kind: 'string', arg: 'FILE', env: 'TIDEGATE_CONFIG', required: true, help: 'the config file (tidegate YAML or Knative manifests)' };
const redis: FlagSpec = { kind: 'redis-url', arg: 'URL', env: 'REDIS_URL', help: 'shared Redis for several edges and autoscalers (without it, state lives in this process)' };

export const SERVE: CommandSpec = {
  name: 'serve',
  summary: 'the edge (router + activator), the autoscaler and the actuators, and the admin server',
  flags: {
    config,
    port: { kind: 'port', env: 'PORT', default: '8080', help: 'data-plane port' },
    address: { kind: 'address', env: 'TIDEGATE_ADDRESS', default: '0.0.0.0', help: 'data-plane bind address (:: for dual stack)' },
    'tls-port': { kind: 'port', arg: 'PORT', env: 'TIDEGATE_TLS_PORT', help: 'HTTPS port, HTTP/1.1 and HTTP/2 by ALPN (default 8443 when the config has a tls: section)' },
    'h2c-port': { kind: 'port', arg: 'PORT', env: 'TIDEGATE_H2C_PORT', help: 'cleartext HTTP/2 port, prior knowledge (gRPC without TLS; default off)' },
    'admin-port': { kind: 'port', env: 'ADMIN_PORT', default: '9090', help: 'admin port: /metrics, /healthz, /readyz, /status, dashboard' },
    'admin-address': { kind: 'address', env: 'TIDEGATE_ADMIN_ADDRESS', default: '127.0.0.1', help: 'admin bind address (0.0.0.0 so Prometheus can scrape from elsewhere)' },
    redis,
    'access-log': { kind: 'switch', env: 'TIDEGATE_ACCESS_LOG', help: 'one JSON line per finished request on stdout (the variable: 1/true/on)' },
    'otlp-endpoint': { kind: 'http-url', env: 'OTEL_EXPORTER_OTLP_ENDPOINT', help: 'export trace spans over OTLP/HTTP (JSON) to URL/v1/traces' },
    'trace-sample': { kind: 'ratio', env: 'TIDEGATE_TRACE_SAMPLE', default: '0.01', help: "share of root requests (no valid traceparent) that are sampled; a parent's sampled flag decides for the rest" },
    workers: { kind: 'workers', env: 'TIDEGATE_WORKERS', default: '1', help: 'event loops serving the data port (auto = the cores this process may use)' },
  },
};

export const QUEUE_PROXY: CommandSpec = {
  name: 'queue-proxy',
  summary: "one pod's sidecar: containerConcurrency, readiness, drain, the pod's stats",
  flags: {
    revision: { kind: 'string', arg: 'REV', env: 'TIDEGATE_REVISION', required: true, help: 'the revision this pod belongs to' },
    upstream: { kind: 'host-port', env: 'TIDEGATE_UPSTREAM', required: true, help: 'the app in this pod' },
    port: { kind: 'port', env: 'PORT', default: '8012', help: 'data port' },
    address: { kind: 'address', env: 'TIDEGATE_ADDRESS', default: '0.0.0.0', help: 'data bind address' },
    'admin-port': { kind: 'port', env: 'ADMIN_PORT', default: '9091', help: "admin port: the queue-proxy's own metrics and probes" },
    'admin-address': { kind: 'address', env: 'TIDEGATE_ADMIN_ADDRESS', default: '127.0.0.1', help: 'admin bind address' },
    'container-concurrency': { kind: 'integer', min: 0, max: 1000, env: 'CONTAINER_CONCURRENCY', default: '0', help: 'requests at once in the app (0 = unlimited)' },
    'timeout-seconds': { kind: 'integer', min: 1, max: 3600, env: 'TIMEOUT_SECONDS', default: '300', help: 'longest request' },
    'response-start-timeout-seconds': { kind: 'integer', min: 0, max: 3600, env: 'REVISION_RESPONSE_START_TIMEOUT_SECONDS', default: '0', help: 'arrival → first response byte (0 = none)' },
    'idle-timeout-seconds': { kind: 'integer', min: 0, max: 3600, env: 'REVISION_IDLE_TIMEOUT_SECONDS', default: '0', help: 'longest gap with no byte either way (0 = none)' },
    'readiness-path': { kind: 'string', arg: 'PATH', env: 'READINESS_PATH', help: 'HTTP readiness probe path (default: a TCP connect)' },
    'readiness-period-seconds': { kind: 'integer', min: 0, max: 3600, env: 'READINESS_PERIOD_SECONDS', default: '0', help: "readinessProbe.periodSeconds (0 = Knative's aggressive probe)" },
    'readiness-timeout-seconds': { kind: 'integer', min: 1, max: 3600, env: 'READINESS_TIMEOUT_SECONDS', default: '1', help: 'readinessProbe.timeoutSeconds' },
    'readiness-success-threshold': { kind: 'integer', min: 1, max: 1000, env: 'READINESS_SUCCESS_THRESHOLD', default: '1', help: 'readinessProbe.successThreshold' },
    'readiness-failure-threshold': { kind: 'integer', min: 1, max: 1000, env: 'READINESS_FAILURE_THRESHOLD', default: '3', help: 'readinessProbe.failureThreshold' },
    'drain-seconds': { kind: 'integer', min: 0, max: 3600, env: 'DRAIN_SECONDS', default: '15', help: 'after SIGTERM, serve on until this long passes with no new request, then wait for in-flight' },
    redis,
    advertise: { kind: 'host-port', env: 'TIDEGATE_ADVERTISE', help: 'the address edges reach this pod at' },
    'pod-id': { kind: 'string', arg: 'ID', env: 'POD_ID', help: 'pod id in the store (default: REV-random)' },
  },
};

export const AUTOSCALER: CommandSpec = {
  name: 'autoscaler',
  summary: 'the control loop and the actuators alone, beside edges that share a Redis (lease-guarded)',
  flags: {
    config,
    redis: {
      ...redis,
      help: 'the Redis the edges share',
      required: 'a separate autoscaler shares pods, stats and the lease with the edges through Redis (without Redis, `tidegate serve` runs the autoscaler itself)',
    },
  },
};

export const VALIDATE: CommandSpec = {
  name: 'validate',
  summary: 'check a config: exit 0, or 1 with FILE:LINE:COL: message per problem',
  flags: {},
  positionals: { usage: 'FILE', min: 1, max: 1 },
};

export const SIMULATE: CommandSpec = {
  name: 'simulate',
  summary: "the autoscaler's decisions on a recorded load, as CSV (virtual clock)",
  flags: {
    config,
    revision: { kind: 'string', arg: 'REV', required: true, help: 'the revision to scale' },
    trace: { kind: 'string', arg: 'TRACE.csv', required: true, help: 'the load: t,concurrency[,rps] per second' },
    'pod-start-delay': { kind: 'duration', default: '0s', help: 'how long a new pod takes to become ready' },
  },
};

export const COMMANDS: readonly CommandSpec[] = [SERVE, QUEUE_PROXY, AUTOSCALER, VALIDATE, SIMULATE];
