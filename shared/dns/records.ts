// The DNS records an institution's IT publishes (docs/it/dns.md), rendered in one place for the stack
// outputs, `notice-relay dns-records` and `notice-relay dns-check`. Values may be CDK tokens (the DKIM
// tokens SES issues at deploy time): everything here is string concatenation, which tokens survive.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { InstitutionConfig } from '../config/schema';
import { domainOf, mailFromDomainOf } from '../config/domains';

export type RecordType = 'CNAME' | 'MX' | 'TXT';

/** What a record is for, which also says how dns-check judges it. */
export type RecordPurpose = 'dkim' | 'mail-from-mx' | 'mail-from-spf' | 'dmarc' | 'spf-info';

export interface DnsRecord {
  /** Fully qualified name, without the trailing dot. */
  name: string;
  type: RecordType;
  /** The value as published: `10 host` for MX, the unquoted text for TXT. */
  value: string;
  purpose: RecordPurpose;
  /** A person's explanation of the record. */
  description: string;
}

export interface RecordOptions {
  /** The SES region, for the MAIL FROM MX (AWS_REGION, default us-east-1). */
  region: string;
  /** Easy DKIM tokens SES issued for the domain (three); placeholders are used when absent. */
  dkimTokens?: readonly string[];
  /** The Easy DKIM records as SES reports them (name and value), e.g. from the stack; win over tokens. */
  dkimCnames?: ReadonlyArray<{ name: string; value: string }>;
  /** For SMTP signing: the DKIM private key (PEM) whose public half is published. */
  dkimPrivateKey?: string;
}

export const SES_SPF = 'v=spf1 include:amazonses.com ~all';
export const sesFeedbackHost = (region: string): string => `feedback-smtp.${region}.amazonses.com`;

/** The DMARC record to start with: monitor only, aggregate reports to the institution's IT. */
export const dmarcStartingRecord = (institution: InstitutionConfig): string => `v=DMARC1; p=none; rua=mailto:${institution.testTo ?? institution.bounceTo}`;

/** The base64 SubjectPublicKeyInfo of a private key, as a DKIM record's `p=` carries it (RFC 6376 §3.6.1). */
export const dkimPublicKeyOf = (privateKeyPem: string): string =>
  createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'der' }).toString('base64');

/** The DKIM TXT value for a public key. */
export const dkimTxtValue = (publicKeyBase64: string): string => `v=DKIM1; k=rsa; p=${publicKeyBase64}`;

/**
 * Every record one institution needs.
 * @example
 * dnsRecordsFor(institution, { region: 'us-east-1', dkimTokens: ['abc', 'def', 'ghi'] })
 */
export const dnsRecordsFor = (institution: InstitutionConfig, options: RecordOptions): DnsRecord[] => {
  const domain = domainOf(institution.from.address);
  const dmarc: DnsRecord = {
    name: `_dmarc.${domain}`,
    type: 'TXT',
    value: dmarcStartingRecord(institution),
    purpose: 'dmarc',
    description: `DMARC for ${domain}: start by monitoring (p=none), then tighten to quarantine or reject once the reports show only your own mail`,
  };
  const transport = institution.transport;
  if (transport.kind === 'ses') {
    const mailFrom = mailFromDomainOf(institution) as string;
    const tokens = options.dkimTokens?.length ? options.dkimTokens : ['<token1>', '<token2>', '<token3>'];
    const cnames = options.dkimCnames ?? tokens.map((token) => ({ name: `${token}._domainkey.${domain}`, value: `${token}.dkim.amazonses.com` }));
    return [
      ...cnames.map((cname, index) => ({
        ...cname,
        type: 'CNAME' as const,
        purpose: 'dkim' as const,
        description: `Easy DKIM key ${index + 1} of 3: SES signs mail from ${domain} with it`,
      })),
      {
        name: mailFrom,
        type: 'MX',
        value: `10 ${sesFeedbackHost(options.region)}`,
        purpose: 'mail-from-mx',
        description: `custom MAIL FROM ${mailFrom}: bounces return to SES through it (SES refuses to send while it is missing)`,
      },
      { name: mailFrom, type: 'TXT', value: SES_SPF, purpose: 'mail-from-spf', description: `SPF for the MAIL FROM ${mailFrom}: aligned with ${domain} for DMARC` },
      dmarc,
    ];
  }
  const records: DnsRecord[] = [];
  if (transport.dkim) {
    const key = transport.dkim.privateKey ?? options.dkimPrivateKey;
    records.push({
      name: `${transport.dkim.selector}._domainkey.${domain}`,
      type: 'TXT',
      value: key ? dkimTxtValue(dkimPublicKeyOf(key)) : 'v=DKIM1; k=rsa; p=<the public key of the DKIM private key>',
      purpose: 'dkim',
      description: `DKIM public key, selector ${transport.dkim.selector}: mail relayed for ${domain} is signed and aligned for DMARC`,
    });
  }
  records.push({
    name: domain,
    type: 'TXT',
    value: 'v=spf1 … (your mail system\'s record: it must cover the relays in servers[])',
    purpose: 'spf-info',
    description: `SPF of ${domain} belongs to your mail system; it is shown, not judged`,
  });
  records.push(dmarc);
  return records;
};

/** TXT data in quoted strings of at most 255 characters each (RFC 1035 §3.3.14); a DKIM key needs several. */
export const quoteTxt = (value: string): string => {
  const chunks = value.match(/.{1,255}/g) ?? [''];
  return chunks.map((chunk) => `"${chunk.replace(/(["\\])/g, '\\$1')}"`).join(' ');
};

/** A zone-file line: `name. 3600 IN TYPE data`. */
export const zoneLine = (record: DnsRecord, ttlSeconds = 3600): string => {
  const data = record.type === 'TXT' ? quoteTxt(record.value) : record.type === 'CNAME' ? `${record.value}.` : `${record.value}.`;
  return `${record.name}. ${ttlSeconds} IN ${record.type} ${data}`;
};

/** The short form the stack outputs use: `name TYPE value` (docs/it/deploy.md). */
export const outputLine = (record: DnsRecord): string => `${record.name} ${record.type} ${record.type === 'TXT' ? `"${record.value}"` : record.value}`;
