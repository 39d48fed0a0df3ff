import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a tenant's receiver URL may not reach: loopback, private, link-local (cloud metadata
 * at 169.254.169.254), carrier-grade NAT, benchmarking, multicast and reserved ranges. A tenant who
 * could point a webhook there would make the service call its own admin endpoints or the
 * platform's internal network on the tenant's behalf.
 */
const internal = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) internal.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) internal.addSubnet(network, prefix, 'ipv6');

/** True for an address in one of the internal ranges (IPv4-mapped IPv6 checked as IPv4). */
export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return internal.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return internal.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export type DestinationCheck = { allowed: true } | { allowed: false; permanent: boolean; reason: string };

/**
 * Whether a tenant's URL may be called: every address its host resolves to must be public. A host
 * that does not resolve now is refused for this attempt only (the delivery retries later).
 */
export async function checkTenantDestination(url: string): Promise<DestinationCheck> {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  try {
    addresses = isIP(host) !== 0 ? [host] : (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
  } catch (error) {
    return { allowed: false, permanent: false, reason: `cannot resolve ${host}: ${error instanceof Error ? error.message : String(error)}` };
  }
  const blocked = addresses.find(isInternalAddress);
  if (blocked === undefined) return { allowed: true };
  return { allowed: false, permanent: true, reason: `${host} resolves to ${blocked}, an internal address a tenant's receiver may not reach (see RECEIVER_ALLOW_PRIVATE_NETWORKS)` };
}
