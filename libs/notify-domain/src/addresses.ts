import { isIP } from 'node:net';

/** Why an address is no target for a webhook registered through the API; `public` is fine. */
export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'unspecified' | 'reserved';

/** Cloud metadata endpoints that are not link-local (AWS's and GCP's are 169.254.169.254, link-local anyway). */
const METADATA_V4 = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', '192.0.0.192']);
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata', 'instance-data', 'metadata.azure.com']);

function v4Octets(address: string): number[] {
  return address.split('.').map(Number);
}

function classifyV4(address: string): AddressClass {
  if (METADATA_V4.has(address)) return 'metadata';
  const [a, b] = v4Octets(address) as [number, number, number, number];
  if (a === 0) return 'unspecified';
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 100 && b >= 64 && b <= 127) return 'private'; // carrier-grade NAT
  if (a === 169 && b === 254) return 'link-local';
  if (a === 192 && b === 0) return 'reserved';
  if (a === 198 && (b === 18 || b === 19)) return 'reserved'; // benchmarking
  if (a >= 224) return 'reserved'; // multicast, class E, broadcast
  return 'public';
}

/** Expands an IPv6 address to its eight 16-bit groups. */
function v6Groups(address: string): number[] {
  let text = address.toLowerCase().split('%')[0]!;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4Octets(v4[1]!) as [number, number, number, number];
    text = `${text.slice(0, -v4[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':').filter(Boolean) : [];
  const tailGroups = tail ? tail.split(':').filter(Boolean) : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  return [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailGroups].map((group) => parseInt(group, 16));
}

function classifyV6(address: string): AddressClass {
  const g = v6Groups(address);
  if (g.length !== 8) return 'reserved';
  const v4Tail = `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  const leadingZeros = g.slice(0, 5).every((x) => x === 0);
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses are judged as the IPv4 address.
  if (leadingZeros && g[5] === 0xffff) return classifyV4(v4Tail);
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  if (leadingZeros && g[5] === 0) return classifyV4(v4Tail);
  if (g[0] === 0x64 && g[1] === 0xff9b) return classifyV4(v4Tail); // NAT64
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && g[7] === 0x254) return 'metadata'; // AWS IPv6 metadata
  if ((g[0]! & 0xfe00) === 0xfc00) return 'private'; // unique local
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0]! & 0xff00) === 0xff00) return 'reserved'; // multicast
  return 'public';
}

/** The class of an IP address (v4 or v6); anything that is not an IP address is `reserved`. */
export function classifyAddress(address: string): AddressClass {
  const version = isIP(address.replace(/^\[|\]$/g, ''));
  if (version === 4) return classifyV4(address);
  if (version === 6) return classifyV6(address.replace(/^\[|\]$/g, ''));
  return 'reserved';
}

/** A host name that names a metadata service whatever it resolves to. */
export function isMetadataHost(host: string): boolean {
  return METADATA_HOSTS.has(host.toLowerCase().replace(/\.$/, ''));
}

/** `AGF_NOTIFY_ALLOWED_HOSTS`: comma-separated host names or addresses the operator lets subscriptions reach. */
export function parseAllowedHosts(value: string | undefined): Set<string> {
  return new Set((value ?? '').split(',').map((host) => normaliseHost(host.trim())).filter(Boolean));
}

export function normaliseHost(host: string): string {
  return host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

export type TargetVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Whether a webhook registered through the API may be sent to these resolved addresses: every one must be
 * public, unless the operator allow-listed the host.
 */
export function judgeTarget(host: string, addresses: readonly string[], allowedHosts: ReadonlySet<string>): TargetVerdict {
  const name = normaliseHost(host);
  if (allowedHosts.has(name)) return { ok: true };
  if (isMetadataHost(name)) return { ok: false, reason: `${name} is a metadata service` };
  if (!addresses.length) return { ok: false, reason: `${name} resolves to no address` };
  for (const address of addresses) {
    const kind = classifyAddress(address);
    if (kind !== 'public') return { ok: false, reason: `${name} resolves to a ${kind} address (${address})` };
  }
  return { ok: true };
}
