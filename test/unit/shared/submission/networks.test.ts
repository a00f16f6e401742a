// Which networks may connect, and which institution a connection without a login belongs to.
import { networksOverlap, parseNetwork, SubmissionNetworks } from '../../../../shared/submission/networks';
import { aConfig } from '../../../support/factories';

const parsed = (text: string) => {
  const network = parseNetwork(text);
  if ('problem' in network) throw new Error(network.problem);
  return network;
};

describe('Function: parseNetwork', () => {
  it('reads IPv4 and IPv6 networks and single addresses, written back canonically', () => {
    expect(parsed('10.1.0.0/16').text).toBe('10.1.0.0/16');
    expect(parsed(' 192.0.2.7 ').text).toBe('192.0.2.7/32');
    expect(parsed('2001:0DB8:0000::/48').text).toBe('2001:db8::/48');
    expect(parseNetwork('::ffff:10.0.0.0/104')).toEqual({ problem: 'is an IPv4-mapped IPv6 range: write the IPv4 network itself' });
    expect(parseNetwork('10.0.0.0/8/8')).toHaveProperty('problem');
  });

  it('finds nested ranges overlapping, and IPv4 never overlapping IPv6', () => {
    expect(networksOverlap(parsed('10.0.0.0/8'), parsed('10.1.4.20'))).toBe(true);
    expect(networksOverlap(parsed('10.1.4.20'), parsed('10.0.0.0/8'))).toBe(true);
    expect(networksOverlap(parsed('10.0.0.0/16'), parsed('10.1.0.0/16'))).toBe(false);
    expect(networksOverlap(parsed('0.0.0.0/0'), parsed('::/0'))).toBe(false);
  });
});

describe('Class: SubmissionNetworks', () => {
  // Prepare
  const config = aConfig();
  config.institutions[1] = { ...config.institutions[1]!, smtpSubmission: { allowFrom: ['10.1.0.0/16', '2001:db8:1::/48'] } };

  it('names the institution of an address in one of its networks, an IPv4 client on a dual-stack socket included', () => {
    const networks = new SubmissionNetworks(config.institutions, []);
    expect(networks.institutionFor('10.1.4.20')?.id).toBe('branch');
    expect(networks.institutionFor('::ffff:10.1.4.20')?.id).toBe('branch');
    expect(networks.institutionFor('2001:db8:1::25')?.id).toBe('branch');
    expect(networks.institutionFor('10.2.0.1')).toBeUndefined();
    expect(networks.institutionFor('not an address')).toBeUndefined();
  });

  it('lets connect whoever may log in or send without a login, and this machine always', () => {
    const closed = new SubmissionNetworks(config.institutions, []);
    const campus = new SubmissionNetworks(config.institutions, ['192.0.2.0/24']);
    expect(closed.mayConnect('10.1.4.20')).toBe(true);
    expect(closed.mayConnect('198.51.100.9')).toBe(false);
    expect(closed.mayConnect('127.0.0.1')).toBe(true);
    expect(campus.mayConnect('192.0.2.44')).toBe(true);
  });
});
