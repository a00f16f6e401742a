// The one renderer of DNS records: what the stack outputs, dns-records and dns-check all show.
import { generateKeyPairSync } from 'node:crypto';
import type { ConfigInput, InstitutionConfig } from '../../../../shared/config/schema';
import { dmarcStartingRecord, dnsRecordsFor, outputLine, zoneLine } from '../../../../shared/dns/records';
import { aConfig, aSesInstitutionInput } from '../../../support/factories';

type InstitutionInput = ConfigInput['institutions'][number];

const institution = (overrides: Partial<InstitutionInput> = {}): InstitutionConfig => aConfig({ institutions: [aSesInstitutionInput(overrides)] }).institutions[0] as InstitutionConfig;

/** The character-strings of a zone line's TXT data, unquoted. */
const quotedStrings = (line: string): string[] => [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) => (match[1] as string).replace(/\\(.)/g, '$1'));

describe('Function: dnsRecordsFor', () => {
  it('lists the Easy DKIM, MAIL FROM and DMARC records of an SES institution as zone lines', () => {
    // Prepare
    const ses = institution();
    // Act
    const records = dnsRecordsFor(ses, { region: 'eu-west-1', dkimTokens: ['tok1', 'tok2', 'tok3'] });
    // Assess
    expect(records.map((record) => zoneLine(record))).toEqual([
      'tok1._domainkey.library.example.org. 3600 IN CNAME tok1.dkim.amazonses.com.',
      'tok2._domainkey.library.example.org. 3600 IN CNAME tok2.dkim.amazonses.com.',
      'tok3._domainkey.library.example.org. 3600 IN CNAME tok3.dkim.amazonses.com.',
      'bounce.library.example.org. 3600 IN MX 10 feedback-smtp.eu-west-1.amazonses.com.',
      'bounce.library.example.org. 3600 IN TXT "v=spf1 include:amazonses.com ~all"',
      '_dmarc.library.example.org. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:it@library.example.org"',
    ]);
    expect(records.map((record) => record.purpose)).toEqual(['dkim', 'dkim', 'dkim', 'mail-from-mx', 'mail-from-spf', 'dmarc']);
  });

  it('writes the stack output form as name, type and value, with TXT values quoted', () => {
    // Prepare
    const records = dnsRecordsFor(institution(), { region: 'us-east-1', dkimTokens: ['tok1', 'tok2', 'tok3'] });
    // Act
    const lines = records.map((record) => outputLine(record));
    // Assess
    expect(lines).toEqual([
      'tok1._domainkey.library.example.org CNAME tok1.dkim.amazonses.com',
      'tok2._domainkey.library.example.org CNAME tok2.dkim.amazonses.com',
      'tok3._domainkey.library.example.org CNAME tok3.dkim.amazonses.com',
      'bounce.library.example.org MX 10 feedback-smtp.us-east-1.amazonses.com',
      'bounce.library.example.org TXT "v=spf1 include:amazonses.com ~all"',
      '_dmarc.library.example.org TXT "v=DMARC1; p=none; rua=mailto:it@library.example.org"',
    ]);
  });

  it('uses bounce.<From domain> as the MAIL FROM when none is configured', () => {
    // Prepare
    const ses = institution({ transport: { kind: 'ses' } });
    // Act
    const names = dnsRecordsFor(ses, { region: 'us-east-1' }).filter((record) => record.purpose.startsWith('mail-from')).map((record) => record.name);
    // Assess
    expect(names).toEqual(['bounce.library.example.org', 'bounce.library.example.org']);
  });

  it('writes placeholders for the Easy DKIM tokens when SES has not issued them yet', () => {
    // Act
    const records = dnsRecordsFor(institution(), { region: 'us-east-1' });
    // Assess
    expect(records.filter((record) => record.type === 'CNAME').map((record) => zoneLine(record))).toEqual([
      '<token1>._domainkey.library.example.org. 3600 IN CNAME <token1>.dkim.amazonses.com.',
      '<token2>._domainkey.library.example.org. 3600 IN CNAME <token2>.dkim.amazonses.com.',
      '<token3>._domainkey.library.example.org. 3600 IN CNAME <token3>.dkim.amazonses.com.',
    ]);
  });

  it('publishes the public half of an SMTP institution\'s DKIM key, split into strings of at most 255 characters', () => {
    // Prepare
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const smtp = institution({
      from: 'Branch Library <notices@branch.example.edu>',
      bounceTo: 'it@branch.example.edu',
      testTo: undefined,
      transport: {
        kind: 'smtp',
        servers: [{ host: 'mail.branch.example.edu', port: 587 }],
        dkim: { selector: 'notices', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string },
      },
    });
    const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    // Act
    const records = dnsRecordsFor(smtp, { region: 'us-east-1' });
    const dkim = records.find((record) => record.purpose === 'dkim');
    const line = zoneLine(dkim!);
    // Assess
    expect(dkim).toMatchObject({ name: 'notices._domainkey.branch.example.edu', type: 'TXT', value: `v=DKIM1; k=rsa; p=${spki}` });
    expect(line.startsWith('notices._domainkey.branch.example.edu. 3600 IN TXT "v=DKIM1; k=rsa; p=')).toBe(true);
    const strings = quotedStrings(line);
    expect(strings.length).toBe(2);
    expect(strings.every((text) => text.length <= 255)).toBe(true);
    expect(strings.join('')).toBe(dkim!.value);
    expect(records.map((record) => record.purpose)).toEqual(['dkim', 'spf-info', 'dmarc']);
  });

  it('writes a placeholder key when the private key is kept elsewhere', () => {
    // Prepare
    const smtp = institution({ transport: { kind: 'smtp', servers: [{ host: 'mail.library.example.org', port: 587 }], dkim: { selector: 'notices' } } });
    // Act
    const dkim = dnsRecordsFor(smtp, { region: 'us-east-1' }).find((record) => record.purpose === 'dkim');
    // Assess
    expect(dkim?.value).toBe('v=DKIM1; k=rsa; p=<the public key of the DKIM private key>');
  });

  it('shows an SMTP institution\'s own SPF for information only, and lists no DKIM record without dkim', () => {
    // Prepare
    const smtp = institution({ transport: { kind: 'smtp', servers: [{ host: 'mail.library.example.org', port: 587 }] } });
    // Act
    const records = dnsRecordsFor(smtp, { region: 'us-east-1' });
    // Assess
    expect(records.map((record) => [record.purpose, record.name, record.type])).toEqual([
      ['spf-info', 'library.example.org', 'TXT'],
      ['dmarc', '_dmarc.library.example.org', 'TXT'],
    ]);
  });
});

describe('Function: dmarcStartingRecord', () => {
  it('monitors only and sends aggregate reports to the test address', () => {
    // Act
    const record = dmarcStartingRecord(institution());
    // Assess
    expect(record).toBe('v=DMARC1; p=none; rua=mailto:it@library.example.org');
  });

  it('sends the reports to bounceTo when there is no test address', () => {
    // Act
    const record = dmarcStartingRecord(institution({ testTo: undefined }));
    // Assess
    expect(record).toBe('v=DMARC1; p=none; rua=mailto:circulation@library.example.org');
  });
});
