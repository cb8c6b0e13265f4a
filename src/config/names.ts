/**
 * Name rules. Service names and tags become host name labels
 * (`{tag}-{name}.{domain}`), so they follow Kubernetes' DNS-1035 label rule;
 * hosts follow RFC 1123. Each check returns a reason or null.
 */

/** Knative's default domain template, `{name}.{namespace}.{domain}` (without a namespace: `{name}.{domain}`). */
export function serviceHost(name: string, namespace: string | null, domain: string): string {
  return namespace === null ? `${name}.${domain}` : `${name}.${namespace}.${domain}`;
}

/** Knative's default tag template, `{tag}-{name}`, inside the domain template. */
export function tagHost(tag: string, name: string, namespace: string | null, domain: string): string {
  return serviceHost(`${tag}-${name}`, namespace, domain);
}

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function dns1035Reason(name: string): string | null {
  if (name.length > 63) return 'must be at most 63 characters (a DNS label)';
  if (!DNS_1035_LABEL.test(name)) return 'must be a DNS-1035 label: lower-case letters, digits and "-", starting with a letter and not ending with "-"';
  return null;
}

export function dns1123LabelReason(name: string): string | null {
  if (name.length > 63) return 'must be at most 63 characters (a DNS label)';
  if (!DNS_1123_LABEL.test(name)) return 'must be a DNS-1123 label: lower-case letters, digits and "-", not starting or ending with "-"';
  return null;
}

/** A host name as a client sends it in Host, without a port; any case (it is lower-cased). */
export function hostReason(host: string): string | null {
  const h = host.toLowerCase();
  if (h.length > 253) return 'must be a host name of at most 253 characters';
  if (h.includes(':')) return 'must be a host name without a port';
  const labels = h.split('.');
  for (const label of labels) {
    if (dns1123LabelReason(label) !== null) return 'must be a host name: dot-separated labels of letters, digits and "-" (e.g. hello.example.com)';
  }
  return null;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** "host:port" with host an IPv4 address, a host name or a [bracketed] IPv6 address. */
export function endpointReason(endpoint: string): string | null {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(endpoint);
  if (!match) return 'must be HOST:PORT, e.g. "127.0.0.1:9001"';
  const host = match[1] ?? '';
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return 'port must be in 1..65535';
  if (host.startsWith('[')) return null;
  if (/^[\d.]+$/.test(host)) return IPV4.test(host) ? null : 'is not a valid IPv4 address';
  return hostReason(host) === null ? null : 'host must be an IP address or a host name';
}

/** Environment variable names the local actuator can pass to a process. */
export function envNameReason(name: string): string | null {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? null : 'must be an environment variable name (letters, digits, "_", not starting with a digit)';
}
