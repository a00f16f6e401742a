// dns-check's judgements, against a resolver that answers from an in-memory zone: no network.
import type { ConfigInput } from '../../../../shared/config/schema';
import { checkDns, type DnsCheckResult, type DnsResolver, isProblem } from '../../../../shared/dns/check';
import { dkimPublicKeyOf, zoneLine } from '../../../../shared/dns/records';
import { aConfig, aDkimPrivateKey, aRelayingInstitutionInput, aSesInstitutionInput } from '../../../support/factories';

type InstitutionInput = ConfigInput['institutions'][number];

/** Answers by `TYPE name`; names absent from the zone are NXDOMAIN, names in `failures` fail with that code. */
interface Zone {
  CNAME?: Record<string, string[]>;
  MX?: Record<string, Array<{ exchange: string; priority: number }>>;
  TXT?: Record<string, string[][]>;
  failures?: Record<string, string>;
}

const dnsError = (code: string, name: string) => Object.assign(new Error(`query ${code} ${name}`), { code, hostname: name });

const fakeResolver = (zone: Zone): DnsResolver & { asked: string[] } => {
  const asked: string[] = [];
  const answer = <T>(type: 'CNAME' | 'MX' | 'TXT', name: string): Promise<T> => {
    asked.push(`${type} ${name}`);
    const failure = zone.failures?.[`${type} ${name}`];
    if (failure) return Promise.reject(dnsError(failure, name));
    const found = zone[type]?.[name] as T | undefined;
    if (found !== undefined) return Promise.resolve(found);
    // c-ares: ENODATA when the name has other records, ENOTFOUND when it has none.
    const exists = (['CNAME', 'MX', 'TXT'] as const).some((other) => zone[other]?.[name] !== undefined);
    return Promise.reject(dnsError(exists ? 'ENODATA' : 'ENOTFOUND', name));
  };
  return {
    asked,
    resolveCname: (name) => answer('CNAME', name),
    resolveMx: (name) => answer('MX', name),
    resolveTxt: (name) => answer('TXT', name),
  };
};

const privateKey = aDkimPrivateKey();
const otherKey = aDkimPrivateKey();

const sesInstitution = aSesInstitutionInput();

/** `null`: an institution that relays without signing. */
const smtpInstitution = (dkim: { selector: string; privateKey?: string } | null = { selector: 'notices', privateKey }): InstitutionInput => aRelayingInstitutionInput(dkim ?? undefined);

const TOKENS = { 'library.example.org': ['tok1', 'tok2', 'tok3'] };
const REGION = 'us-east-1';

/** Everything both institutions need, published right. */
const rightZone = (): Required<Omit<Zone, 'failures'>> => ({
  CNAME: {
    'tok1._domainkey.library.example.org': ['tok1.dkim.amazonses.com'],
    'tok2._domainkey.library.example.org': ['tok2.dkim.amazonses.com'],
    'tok3._domainkey.library.example.org': ['tok3.dkim.amazonses.com'],
  },
  MX: { 'bounce.library.example.org': [{ exchange: 'feedback-smtp.us-east-1.amazonses.com', priority: 10 }] },
  TXT: {
    'bounce.library.example.org': [['v=spf1 include:amazonses.com ~all']],
    '_dmarc.library.example.org': [['v=DMARC1; p=none; rua=mailto:it@library.example.org']],
    // A 2048-bit key does not fit one character-string: the name server returns it in two.
    'notices._domainkey.branch.example.edu': [[`v=DKIM1; k=rsa; p=${dkimPublicKeyOf(privateKey).slice(0, 200)}`, dkimPublicKeyOf(privateKey).slice(200)]],
    'branch.example.edu': [['v=spf1 mx include:_spf.example.edu -all']],
    '_dmarc.branch.example.edu': [['v=DMARC1; p=reject; rua=mailto:it@branch.example.edu']],
  },
});

const check = (zone: Zone, institutions: InstitutionInput[] = [sesInstitution, smtpInstitution()], dkimTokens: Record<string, string[]> = TOKENS) =>
  checkDns(aConfig({ institutions }), { resolver: fakeResolver(zone), region: REGION, dkimTokens });

const statusByRecord = (results: DnsCheckResult[]) => results.map((r) => `${r.status} ${r.record.type} ${r.record.name}`);

describe('Function: checkDns', () => {
  it('accepts every record when the zone holds what the relay needs', async () => {
    // Act
    const results = await check(rightZone());
    // Assess
    expect(statusByRecord(results)).toEqual([
      'ok CNAME tok1._domainkey.library.example.org',
      'ok CNAME tok2._domainkey.library.example.org',
      'ok CNAME tok3._domainkey.library.example.org',
      'ok MX bounce.library.example.org',
      'ok TXT bounce.library.example.org',
      'ok TXT _dmarc.library.example.org',
      'ok TXT notices._domainkey.branch.example.edu',
      'info TXT branch.example.edu',
      'ok TXT _dmarc.branch.example.edu',
    ]);
    expect(results.some(isProblem)).toBe(false);
    expect(results.find((r) => r.record.purpose === 'dmarc' && r.domain === 'branch.example.edu')).toMatchObject({ found: ['"v=DMARC1; p=reject; rua=mailto:it@branch.example.edu"'], detail: 'policy p=reject' });
    expect(results.every((r) => r.fix === undefined)).toBe(true);
  });

  it('reports each record missing from an empty zone, with the zone line to publish', async () => {
    // Act
    const results = await check({});
    // Assess
    const judged = results.filter((r) => r.status !== 'info');
    expect(judged.map((r) => r.status)).toEqual(Array(8).fill('missing'));
    expect(judged.map((r) => r.fix)).toEqual(judged.map((r) => zoneLine(r.record)));
    expect(judged.find((r) => r.record.type === 'MX')?.fix).toBe('bounce.library.example.org. 3600 IN MX 10 feedback-smtp.us-east-1.amazonses.com.');
  });

  it('accepts a CNAME in another case with a trailing dot, and an MX of any preference, saying which was found', async () => {
    // Prepare
    const zone = rightZone();
    zone.CNAME['tok1._domainkey.library.example.org'] = ['TOK1.DKIM.AmazonSES.com.'];
    zone.MX['bounce.library.example.org'] = [{ exchange: 'feedback-smtp.us-east-1.amazonses.com.', priority: 20 }];
    // Act
    const results = await check(zone, [sesInstitution]);
    // Assess
    expect(results[0]).toMatchObject({ status: 'ok', found: ['tok1.dkim.amazonses.com'] });
    expect(results.find((r) => r.record.type === 'MX')).toMatchObject({ status: 'ok', found: ['20 feedback-smtp.us-east-1.amazonses.com'] });
  });

  it('judges published values that do not serve the relay as wrong', async () => {
    // Prepare
    const zone = rightZone();
    zone.CNAME['tok2._domainkey.library.example.org'] = ['tok2.dkim.example.net'];
    zone.MX['bounce.library.example.org'] = [{ exchange: 'feedback-smtp.eu-west-1.amazonses.com', priority: 10 }];
    zone.TXT['bounce.library.example.org'] = [['v=spf1 include:_spf.example.org ~all']];
    zone.TXT['notices._domainkey.branch.example.edu'] = [[`v=DKIM1; k=rsa; p=${dkimPublicKeyOf(otherKey)}`]];
    // Act
    const results = await check(zone);
    // Assess
    const wrong = results.filter((r) => r.status === 'wrong');
    expect(statusByRecord(wrong)).toEqual([
      'wrong CNAME tok2._domainkey.library.example.org',
      'wrong MX bounce.library.example.org',
      'wrong TXT bounce.library.example.org',
      'wrong TXT notices._domainkey.branch.example.edu',
    ]);
    expect(wrong.map((r) => r.fix)).toEqual(wrong.map((r) => zoneLine(r.record)));
    expect(wrong[1]).toMatchObject({ found: ['10 feedback-smtp.eu-west-1.amazonses.com'], detail: expect.stringContaining('SES in eu-west-1') });
    expect(wrong[2]?.detail).toContain('include:amazonses.com');
    expect(wrong[3]?.detail).toContain('another key');
  });

  it('judges two SPF records at the MAIL FROM as wrong, since receivers then fail SPF', async () => {
    // Prepare
    const zone = rightZone();
    zone.TXT['bounce.library.example.org'] = [['v=spf1 include:amazonses.com ~all'], ['v=spf1 -all'], ['google-site-verification=abc']];
    // Act
    const results = await check(zone, [sesInstitution]);
    // Assess
    const spf = results.find((r) => r.record.purpose === 'mail-from-spf');
    expect(spf).toMatchObject({ status: 'wrong', found: ['"v=spf1 include:amazonses.com ~all"', '"v=spf1 -all"'], fix: 'bounce.library.example.org. 3600 IN TXT "v=spf1 include:amazonses.com ~all"' });
    expect(spf?.detail).toContain('RFC 7208 §4.5');
  });

  it('reports a DMARC reject policy over an SMTP institution that does not sign with DKIM', async () => {
    // Prepare
    const zone = rightZone();
    // Act
    const results = await check(zone, [smtpInstitution(null)]);
    // Assess
    expect(statusByRecord(results)).toEqual(['info TXT branch.example.edu', 'ok TXT _dmarc.branch.example.edu', 'wrong TXT _dmarc.branch.example.edu']);
    const risk = results[2] as DnsCheckResult;
    expect(risk.found).toEqual(['"v=DMARC1; p=reject; rua=mailto:it@branch.example.edu"']);
    expect(risk.detail).toMatch(/not DKIM-aligned and are rejected/);
    expect(risk.detail).toContain('transport.dkim');
    expect(risk.fix).toBeUndefined();
  });

  it('applies an organisational domain\'s subdomain policy when the From domain has no DMARC record', async () => {
    // Prepare
    const zone = rightZone();
    delete zone.TXT['_dmarc.branch.example.edu'];
    zone.TXT['_dmarc.example.edu'] = [['v=DMARC1; p=none; sp=quarantine']];
    // Act
    const results = await check(zone, [smtpInstitution(null)]);
    // Assess
    expect(statusByRecord(results)).toEqual(['info TXT branch.example.edu', 'ok TXT _dmarc.branch.example.edu', 'wrong TXT _dmarc.branch.example.edu']);
    expect(results[1]?.detail).toBe('no record of its own: _dmarc.example.edu applies to it, with policy quarantine');
    expect(results[2]?.detail).toMatch(/are quarantined/);
  });

  it('raises no alignment problem for a monitoring policy or an institution that signs', async () => {
    // Prepare
    const monitoring = rightZone();
    monitoring.TXT['_dmarc.branch.example.edu'] = [['v=DMARC1; p=none']];
    // Act
    const unsigned = await check(monitoring, [smtpInstitution(null)]);
    const signed = await check(rightZone(), [smtpInstitution()]);
    // Assess
    expect(unsigned.some(isProblem)).toBe(false);
    expect(signed.some(isProblem)).toBe(false);
  });

  it('judges two DMARC records as wrong', async () => {
    // Prepare
    const zone = rightZone();
    zone.TXT['_dmarc.library.example.org'] = [['v=DMARC1; p=none'], ['v=DMARC1; p=reject']];
    // Act
    const results = await check(zone, [sesInstitution]);
    // Assess
    expect(results.find((r) => r.record.purpose === 'dmarc')).toMatchObject({ status: 'wrong', detail: expect.stringContaining('RFC 7489 §6.6.3') });
  });

  it('shows the SMTP institution\'s own SPF as information whatever it finds, never as a problem', async () => {
    // Prepare
    const missing = rightZone();
    delete missing.TXT['branch.example.edu'];
    const doubled = rightZone();
    doubled.TXT['branch.example.edu'] = [['v=spf1 mx -all'], ['v=spf1 a -all']];
    const failing: Zone = { ...rightZone(), failures: { 'TXT branch.example.edu': 'ESERVFAIL' } };
    // Act
    const results = await Promise.all([missing, doubled, failing].map((zone) => check(zone, [smtpInstitution()])));
    // Assess
    const own = results.map((list) => list.find((r) => r.record.purpose === 'spf-info') as DnsCheckResult);
    expect(own.map((r) => r.status)).toEqual(['info', 'info', 'info']);
    expect(own[0]).toMatchObject({ found: [], detail: expect.stringContaining('no SPF record') });
    expect(own[1]).toMatchObject({ found: ['"v=spf1 mx -all"', '"v=spf1 a -all"'], detail: expect.stringContaining('mail.branch.example.edu') });
    expect(own[2]?.detail).toContain('ESERVFAIL');
    expect(results.flat().some(isProblem)).toBe(false);
  });

  it('reports a lookup that fails otherwise than "no such record" as an error with its code', async () => {
    // Prepare
    const zone: Zone = { ...rightZone(), failures: { 'MX bounce.library.example.org': 'ETIMEOUT' } };
    // Act
    const results = await check(zone, [sesInstitution]);
    // Assess
    expect(results.find((r) => r.record.type === 'MX')).toMatchObject({ status: 'error', found: [], detail: expect.stringContaining('ETIMEOUT') });
  });

  it('does not guess the Easy DKIM tokens: without them the CNAMEs are not looked up', async () => {
    // Prepare
    const resolver = fakeResolver(rightZone());
    // Act
    const results = await checkDns(aConfig({ institutions: [sesInstitution] }), { resolver, region: REGION });
    // Assess
    const dkim = results.filter((r) => r.record.purpose === 'dkim');
    expect(dkim.map((r) => r.status)).toEqual(['unchecked', 'unchecked', 'unchecked']);
    expect(dkim[0]?.detail).toContain('pass --dkim-tokens a,b,c from the stack output');
    expect(resolver.asked.filter((query) => query.startsWith('CNAME'))).toEqual([]);
  });

  it('says a DKIM key is present when the private key is kept elsewhere, and refuses a revoked one', async () => {
    // Prepare
    const revoked = rightZone();
    revoked.TXT['notices._domainkey.branch.example.edu'] = [['v=DKIM1; k=rsa; p=']];
    const institutions = [smtpInstitution({ selector: 'notices' })];
    // Act
    const present = await check(rightZone(), institutions);
    const empty = await check(revoked, institutions);
    // Assess
    expect(present[0]).toMatchObject({ status: 'ok', detail: expect.stringContaining('present') });
    expect(present[0]?.found[0]).toMatch(/^"v=DKIM1; k=rsa; p=MIIB.{12}….{8} \(392 characters\)"$/);
    expect(empty[0]).toMatchObject({ status: 'wrong', detail: 'the key is revoked (empty p=)' });
  });

  it('checks the records of two institutions sharing an SES domain once', async () => {
    // Prepare
    const resolver = fakeResolver(rightZone());
    const second: InstitutionInput = { ...sesInstitution, id: 'annex', apiKeys: ['annex-key-0123456789'], from: 'Annex <annex@library.example.org>' };
    // Act
    const results = await checkDns(aConfig({ institutions: [sesInstitution, second] }), { resolver, region: REGION, dkimTokens: TOKENS });
    // Assess
    expect(results.map((r) => r.institution)).toEqual(Array(6).fill('demo'));
    expect(new Set(resolver.asked).size).toBe(resolver.asked.length);
  });
});
