import { lookup as dnsLookup, promises as dns, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Which targets webhooks may be sent to. */
export interface TargetPolicy {
  /** Only `https` URLs (production). */
  requireHttps: boolean;
  /** Loopback, private, link-local (cloud metadata), unique-local and unspecified addresses are allowed. */
  allowPrivate: boolean;
}

/** A target refused by the policy; its message names why, never a secret. */
export class TargetRefusedError extends Error {}

/**
 * Why `address` may not be a target, or null when it is public unicast. ipaddr.js classifies it
 * (an IPv4-mapped IPv6 address as the IPv4 it carries): only the `unicast` range is public.
 */
export function addressProblem(address: string): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? null : `resolves to a ${range} address (${address}), which is refused`;
}

/** Checks the URL's scheme and credentials (https when required). Returns the problem or null. */
export function urlProblem(raw: string, policy: TargetPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL such as https://example.com/webhooks';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
  if (policy.requireHttps && url.protocol !== 'https:') return 'must be an https URL';
  if (url.username || url.password) return 'must not contain credentials';
  return null;
}

/** The host of a URL as the resolver sees it (IPv6 literals without brackets). */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Checks a URL against the policy, resolving its host name: every address it resolves to must be
 * allowed. Returns the problem, or null when the URL may be used.
 */
export async function targetProblem(raw: string, policy: TargetPolicy): Promise<string | null> {
  const problem = urlProblem(raw, policy);
  if (problem || policy.allowPrivate) return problem;
  const host = hostOf(new URL(raw));
  if (isIP(host)) return addressProblem(host);
  const addresses = await dns.lookup(host, { all: true, verbatim: true }).catch(() => []);
  if (addresses.length === 0) return `host ${host} does not resolve`;
  for (const { address } of addresses) {
    const refused = addressProblem(address);
    if (refused) return `host ${host} ${refused}`;
  }
  return null;
}

/**
 * A DNS lookup for outgoing connections that refuses disallowed addresses: the connection goes to
 * the very address checked here, so a name that resolves to a public address when the endpoint is
 * saved and to a private one when it is sent to (DNS rebinding) is refused at send time.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const allowed = addresses.filter(({ address }) => addressProblem(address) === null);
    if (allowed.length === 0) {
      const refused = addresses[0] ? addressProblem(addresses[0].address) : 'does not resolve';
      return callback(new TargetRefusedError(`host ${hostname} ${refused}`), '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
    callback(null, allowed[0]!.address, allowed[0]!.family);
  });
};

/** The send-time check of an IP literal host (no lookup happens for those). */
export function literalHostProblem(raw: string): string | null {
  const host = hostOf(new URL(raw));
  return isIP(host) ? addressProblem(host) : null;
}
