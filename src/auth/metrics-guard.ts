import { BlockList, isIP } from 'node:net';
import { ForbiddenError, UnauthenticatedError } from '../errors.js';
import { safeEqual } from './hmac.js';

/** Allowlist of IPs and CIDRs (IPv4 and IPv6). IPv4-mapped IPv6 addresses count as IPv4. */
export function createIpAllowlist(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address);
    if (family === 0) throw new Error(`PROMETHEUS_ALLOWED_IPS: ${entry} is not an IP or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else {
      const bits = Number(prefix);
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) throw new Error(`PROMETHEUS_ALLOWED_IPS: bad prefix in ${entry}`);
      list.addSubnet(address, bits, type);
    }
  }
  return (raw: string) => {
    const address = raw.startsWith('::ffff:') && isIP(raw.slice(7)) === 4 ? raw.slice(7) : raw;
    const family = isIP(address);
    if (family === 0) return false;
    return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * The /metrics guard: the caller's IP must be allowed, and when METRICS_BASIC_AUTH is set
 * the request must also carry those credentials (both, not either).
 */
export function createMetricsGuard(options: { allowedIps: readonly string[]; basicAuth?: string }) {
  const allowed = createIpAllowlist(options.allowedIps);
  return (request: { ip: string; authorization: string | undefined }): void => {
    if (!allowed(request.ip)) throw new ForbiddenError('Address not allowed to read metrics', { reason: 'ip_not_allowed' });
    if (options.basicAuth === undefined) return;
    const header = request.authorization ?? '';
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    const supplied = match?.[1] === undefined ? '' : Buffer.from(match[1], 'base64').toString('utf8');
    if (!safeEqual(supplied, options.basicAuth)) throw new UnauthenticatedError('Metrics credentials required', { reason: 'basic_auth' });
  };
}
