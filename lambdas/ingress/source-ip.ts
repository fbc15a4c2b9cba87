/**
 * The optional source-IP allowlist of the webhook route (e.g. Stripe's published webhook IPs).
 *
 * Matching is Node's `net.BlockList` (addresses and CIDR blocks, IPv4 and IPv6) rather than hand-written prefix
 * arithmetic. The address checked is the TCP peer API Gateway reports (`requestContext.http.sourceIp` or
 * `requestContext.identity.sourceIp`), never a client-supplied header such as X-Forwarded-For.
 */
import { BlockList, isIP } from 'node:net';

/** Decides whether a source address may post webhooks. */
export interface SourceIpAllowlist {
  /** False for an address outside the list, and for a missing or malformed one (fail closed). */
  allows(sourceIp: string | undefined): boolean;
}

/**
 * Builds the allowlist from addresses and CIDR blocks; `undefined` when the list is empty (no IP check). Throws on
 * an entry that is neither, so a typo fails the cold start instead of locking Stripe out silently.
 */
export function createSourceIpAllowlist(entries: readonly string[]): SourceIpAllowlist | undefined {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    // Stryker disable next-line StringLiteral: equivalent, split always returns at least one element
    const [address = '', prefix, ...rest] = entry.trim().split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    const max = family === 4 ? 32 : 128;
    if (
      family === 0 ||
      rest.length > 0 ||
      (bits !== undefined && (!Number.isInteger(bits) || bits < 0 || bits > max || prefix === ''))
    ) {
      throw new Error(`allowed source IP "${entry}" is not an IP address or CIDR block`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, bits, type);
  }
  return {
    allows(sourceIp) {
      if (!sourceIp) return false;
      const ip = sourceIp.trim();
      // BlockList answers false for anything that is not an address, and checks an IPv4 peer seen through an IPv6
      // socket (`::ffff:1.2.3.4`, in any spelling) against the IPv4 entries.
      return list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

/** Parses the comma-separated `ALLOWED_SOURCE_IPS` variable. */
export function parseAllowedSourceIps(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
