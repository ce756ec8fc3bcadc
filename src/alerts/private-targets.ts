// Which notification targets are inside the server's own network. A member of an app may only point a channel at
// public addresses: otherwise a channel (and its test button, which shows the receiver's status) would let any
// member make m3w reach its loopback services, the cloud metadata endpoint (169.254.169.254) or the LAN. Admins
// run the server and may point channels anywhere (a local relay, an on-premise chat); channels they make are marked
// so in their sealed settings. The check runs when a channel is made and again before every delivery, so a name
// that later resolves to a private address is refused too.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this" network (0.0.0.0 reaches loopback)
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

/** True for loopback, private, link-local, CGNAT, multicast and reserved addresses (IPv4-mapped IPv6 included). */
export function isPrivateAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)?.[1];
  if (mapped) return PRIVATE.check(mapped, 'ipv4');
  const family = isIP(bare);
  if (family === 4) return PRIVATE.check(bare, 'ipv4');
  if (family === 6) {
    // ::ffff:7f00:1 and other hex-written IPv4-mapped forms.
    const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(bare);
    if (m) {
      const hi = Number.parseInt(m[1]!, 16);
      const lo = Number.parseInt(m[2]!, 16);
      return PRIVATE.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
    }
    return PRIVATE.check(bare, 'ipv6');
  }
  return false;
}

export class PrivateTargetError extends Error {}

/**
 * Resolves `host` (a name or an address, as in a URL's hostname) and throws PrivateTargetError when any of its
 * addresses is private, or when it does not resolve.
 */
export async function assertPublicHost(host: string): Promise<void> {
  const bare = host.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(bare)) addresses = [bare];
  else {
    try {
      addresses = (await lookup(bare, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      throw new PrivateTargetError(`${host} does not resolve`);
    }
  }
  const inside = addresses.find(isPrivateAddress);
  if (inside !== undefined || addresses.length === 0)
    throw new PrivateTargetError(
      `${host} is a loopback, private or link-local address (${inside ?? 'none'}); only an admin may add a channel that points inside the server's network`,
    );
}
