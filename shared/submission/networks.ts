// The networks of the SMTP door (docs/integrator/smtp-door.md): an institution's
// `smtpSubmission.allowFrom`, from which its ILS may submit without a login, and the top level's
// `loginFrom`, from which anyone may connect to log in. ipaddr.js does the address arithmetic.
import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

/** A CIDR range, parsed. */
export interface Network {
  /** As written canonically: `10.1.0.0/16`, `2001:db8::/32`. */
  text: string;
  address: ipaddr.IPv4 | ipaddr.IPv6;
  bits: number;
}

/** The narrowest ranges a no-login network may be: anything wider lets much of the internet send without a login. */
const WIDEST_NO_LOGIN_BITS = { ipv4: 8, ipv6: 32 } as const;

/**
 * Parses `10.1.0.0/16`, `2001:db8::/32`, or a single address (`192.0.2.7`, as /32). Host bits set after
 * the prefix (`10.1.2.3/16`) are refused: the range meant is unclear, and AWS refuses it in a security group.
 */
export const parseNetwork = (text: string): Network | { problem: string } => {
  const [addressText = '', bitsText, ...rest] = text.trim().split('/');
  const version = isIP(addressText);
  if (!version || rest.length > 0 || (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText))) {
    return { problem: 'must be an IPv4 or IPv6 network like 10.1.0.0/16 or 2001:db8::/32, or one address' };
  }
  const maxBits = version === 4 ? 32 : 128;
  const bits = bitsText === undefined ? maxBits : Number(bitsText);
  if (bits > maxBits) return { problem: `has a prefix longer than ${maxBits} bits` };
  const address = ipaddr.parse(addressText);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return { problem: `is an IPv4-mapped IPv6 range: write the IPv4 network itself` };
  }
  const network = (version === 4 ? ipaddr.IPv4 : ipaddr.IPv6).networkAddressFromCIDR(`${addressText}/${bits}`);
  const canonical = `${version === 4 ? network.toString() : (network as ipaddr.IPv6).toRFC5952String()}/${bits}`;
  if (network.toString() !== address.toString()) return { problem: `has host bits set after the prefix: the network is ${canonical}` };
  return { text: canonical, address: network, bits };
};

/** Why a network may not be one a connection needs no login from, or undefined. */
export const noLoginNetworkProblem = (network: Network): string | undefined => {
  const widest = WIDEST_NO_LOGIN_BITS[network.address.kind()];
  return network.bits < widest ? `is wider than /${widest}: a network whose connections need no login must be the ILS's own, not a large part of the internet` : undefined;
};

/** Whether two ranges share an address: CIDR ranges either nest or are disjoint. */
export const networksOverlap = (a: Network, b: Network): boolean => {
  if (a.address.kind() !== b.address.kind()) return false;
  const [wide, narrow] = a.bits <= b.bits ? [a, b] : [b, a];
  return narrow.address.match(wide.address, wide.bits);
};

/** A connection's address as ipaddr.js reads it; an IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d. */
const parseRemote = (remote: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined => {
  const bare = remote.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  return isIP(bare) ? ipaddr.process(bare) : undefined;
};

/** Whether `remote` (a socket's address) lies in `network`. */
export const contains = (network: Network, remote: string): boolean => {
  const address = parseRemote(remote);
  return address !== undefined && address.kind() === network.address.kind() && address.match(network.address, network.bits);
};

/** Whether the connection comes from this machine. */
export const isLoopback = (remote: string): boolean => parseRemote(remote)?.range() === 'loopback';

/** The networks of a valid configuration (the schema refused any that do not parse). */
const parsedAll = (texts: readonly string[]): Network[] => texts.map((text) => parseNetwork(text)).filter((parsed): parsed is Network => !('problem' in parsed));

/**
 * Who may connect, and which institution a connection without a login belongs to. The configuration
 * refuses overlapping `allowFrom` networks of two institutions, so an address names at most one.
 * @example
 * const networks = new SubmissionNetworks(config.institutions, config.smtpSubmission.loginFrom);
 * networks.institutionFor('10.1.4.20')?.id; // 'branch'
 */
/** What the door needs of an institution here; structural, so the configuration's schema can use this module. */
interface WithNetworks {
  smtpSubmission?: { allowFrom: readonly string[] };
}

export class SubmissionNetworks<Institution extends WithNetworks> {
  private readonly noLogin: Array<{ network: Network; institution: Institution }>;
  private readonly login: Network[];

  public constructor(institutions: readonly Institution[], loginFrom: readonly string[]) {
    this.noLogin = institutions.flatMap((institution) => parsedAll(institution.smtpSubmission?.allowFrom ?? []).map((network) => ({ network, institution })));
    this.login = parsedAll(loginFrom);
  }

  /** The institution whose ILS may send from `remote` without a login. */
  public institutionFor(remote: string): Institution | undefined {
    return this.noLogin.find(({ network }) => contains(network, remote))?.institution;
  }

  /**
   * Whether `remote` may connect at all: to log in (`loginFrom`), or without a login (an `allowFrom`).
   * This machine always may: the container's own health check greets from there.
   */
  public mayConnect(remote: string): boolean {
    return isLoopback(remote) || this.login.some((network) => contains(network, remote)) || this.institutionFor(remote) !== undefined;
  }
}
