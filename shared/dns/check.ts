// `notice-relay dns-check` (docs/it/dns.md): every record records.ts expects, looked up and judged.
// The resolver comes in, so tests answer from a fake or a local server and the CLI from node:dns.
import type { Config, InstitutionConfig } from '../config/schema';
import { domainOf } from '../config/domains';
import { type DnsRecord, dkimPublicKeyOf, dnsRecordsFor, sesFeedbackHost, zoneLine } from './records';

/** The lookups dns-check needs; `Resolver` of `node:dns/promises` has exactly these. */
export interface DnsResolver {
  resolveCname(name: string): Promise<string[]>;
  resolveMx(name: string): Promise<Array<{ exchange: string; priority: number }>>;
  /** Each record as its character-strings (RFC 1035 §3.3.14), not yet joined. */
  resolveTxt(name: string): Promise<string[][]>;
}

/**
 * How a record stands: `ok`; `missing` (nothing published); `wrong` (published, but not what makes
 * mail land); `error` (the resolver did not answer: SERVFAIL, timeout); `unchecked` (what to look for is
 * unknown here: SES's Easy DKIM tokens without --dkim-tokens); `info` (shown, never judged: the SPF of a
 * relaying institution's own domain belongs to its mail system).
 */
export type DnsCheckStatus = 'ok' | 'missing' | 'wrong' | 'error' | 'unchecked' | 'info';

/** One record of one institution, as dns-check judged it. */
export interface DnsCheckResult {
  /** The institution's id. */
  institution: string;
  /** The institution's From domain. */
  domain: string;
  /** The record expected (for `info`, the record looked at). */
  record: DnsRecord;
  status: DnsCheckStatus;
  /** What DNS answered, rendered for a person: CNAME targets, `10 host` for MX, quoted TXT. */
  found: string[];
  /** Why the record is judged so, and what to do when a zone line alone is not the fix. */
  detail?: string;
  /** The exact zone line to publish, when publishing it makes the record right. */
  fix?: string;
}

/** Whether a result counts against dns-check's exit code. */
export const isProblem = (result: DnsCheckResult): boolean => result.status !== 'ok' && result.status !== 'info';

/** What checkDns looks records up with, and what it cannot learn from the configuration. */
export interface DnsCheckOptions {
  resolver: DnsResolver;
  /** The SES region of the MAIL FROM MX. */
  region: string;
  /** The Easy DKIM tokens SES issued, by From domain (the stack outputs list them). */
  dkimTokens?: Readonly<Record<string, readonly string[]>>;
}

/** The records of one institution, less those an earlier institution of the same domain already lists. */
export interface InstitutionRecords {
  institution: InstitutionConfig;
  domain: string;
  records: DnsRecord[];
}

const recordKey = (record: DnsRecord): string => `${record.purpose} ${record.type} ${record.name.toLowerCase()}`;

/**
 * The records every institution needs, each listed once: two institutions sending from one domain
 * share its DKIM, MAIL FROM and DMARC records, and IT publishes them once.
 * @example
 * expectedRecords(config, { region: 'us-east-1', dkimTokens: { 'library.example.org': ['a', 'b', 'c'] } })
 */
export const expectedRecords = (config: Config, options: Omit<DnsCheckOptions, 'resolver'>): InstitutionRecords[] => {
  const seen = new Set<string>();
  return config.institutions.map((institution) => {
    const domain = domainOf(institution.from.address);
    const records = dnsRecordsFor(institution, { region: options.region, dkimTokens: options.dkimTokens?.[domain] }).filter((record) => {
      const key = recordKey(record);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return { institution, domain, records };
  });
};

type Outcome<T> = { kind: 'answer'; value: T } | { kind: 'absent' } | { kind: 'failed'; code: string };

// c-ares reports NXDOMAIN as ENOTFOUND and an empty answer as ENODATA: both mean "not published".
const ABSENT = new Set(['ENOTFOUND', 'ENODATA']);

const outcomeOf = async <T>(lookup: () => Promise<T>): Promise<Outcome<T>> => {
  try {
    return { kind: 'answer', value: await lookup() };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).name;
    return ABSENT.has(code) ? { kind: 'absent' } : { kind: 'failed', code };
  }
};

/** Each name and type is asked once per run, however many records share it. */
const cachedResolver = (resolver: DnsResolver) => {
  const cache = new Map<string, Promise<Outcome<unknown>>>();
  const ask = <T>(type: string, name: string, lookup: () => Promise<T>): Promise<Outcome<T>> => {
    const key = `${type} ${name.toLowerCase()}`;
    let outcome = cache.get(key);
    if (!outcome) {
      outcome = outcomeOf(lookup);
      cache.set(key, outcome);
    }
    return outcome as Promise<Outcome<T>>;
  };
  return {
    cname: (name: string) => ask('CNAME', name, () => resolver.resolveCname(name)),
    mx: (name: string) => ask('MX', name, () => resolver.resolveMx(name)),
    // RFC 7208 §3.3 and RFC 6376 §3.6.2.2: a record's strings are joined with nothing between them.
    txt: async (name: string): Promise<Outcome<string[]>> => {
      const outcome = await ask('TXT', name, () => resolver.resolveTxt(name));
      return outcome.kind === 'answer' ? { kind: 'answer', value: outcome.value.map((strings) => strings.join('')) } : outcome;
    },
  };
};
type Lookups = ReturnType<typeof cachedResolver>;

const hostOf = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** `tag=value` pairs of a DKIM or DMARC record (RFC 6376 §3.2), tag names lower-cased. */
const tagsOf = (text: string): Map<string, string> =>
  new Map(
    text
      .split(';')
      .map((part) => part.trim())
      .filter((part) => part.includes('='))
      .map((part) => [part.slice(0, part.indexOf('=')).trim().toLowerCase(), part.slice(part.indexOf('=') + 1).trim()]),
  );

const isSpf = (text: string): boolean => /^v=spf1(\s|$)/i.test(text);
const isDmarc = (text: string): boolean => /^v\s*=\s*DMARC1\s*(;|$)/i.test(text);
const isDkimKey = (text: string): boolean => /^v\s*=\s*DKIM1\s*(;|$)/i.test(text) || tagsOf(text).has('p');

/** A TXT value as a person reads it: quoted, a long DKIM key shortened to its ends. */
const readableTxt = (text: string): string =>
  `"${text.replace(/\bp=([A-Za-z0-9+/=\s]{48,})/, (_match, key: string) => {
    const compact = key.replace(/\s/g, '');
    return `p=${compact.slice(0, 16)}…${compact.slice(-8)} (${compact.length} characters)`;
  })}"`;

type Judgement = Omit<DnsCheckResult, 'institution' | 'domain' | 'record'>;

const notPublished = (record: DnsRecord, found: string[] = [], detail = 'not published'): Judgement => ({ status: 'missing', found, detail, fix: zoneLine(record) });
const wrong = (record: DnsRecord, found: string[], detail: string): Judgement => ({ status: 'wrong', found, detail, fix: zoneLine(record) });
const failed = (record: DnsRecord, code: string): Judgement => ({
  status: 'error',
  found: [],
  detail: `the lookup failed (${code}): the answer is unknown; check that the resolver answers, then the domain's name servers`,
  fix: zoneLine(record),
});

/** Easy DKIM: the CNAME SES gave for the domain. */
const judgeDkimCname = async (record: DnsRecord, lookups: Lookups): Promise<Judgement> => {
  const outcome = await lookups.cname(record.name);
  if (outcome.kind === 'absent') return notPublished(record);
  if (outcome.kind === 'failed') return failed(record, outcome.code);
  const found = outcome.value.map(hostOf);
  return found.includes(hostOf(record.value)) ? { status: 'ok', found } : wrong(record, found, `points elsewhere, not to ${record.value}`);
};

/** Custom MAIL FROM: bounces must reach SES's feedback host of the sending region. */
const judgeMailFromMx = async (record: DnsRecord, lookups: Lookups, region: string): Promise<Judgement> => {
  const outcome = await lookups.mx(record.name);
  if (outcome.kind === 'absent') return notPublished(record, [], 'not published: SES then refuses the custom MAIL FROM and mail does not align');
  if (outcome.kind === 'failed') return failed(record, outcome.code);
  const expected = sesFeedbackHost(region);
  const found = outcome.value.map(({ priority, exchange }) => `${priority} ${hostOf(exchange)}`);
  if (outcome.value.some(({ exchange }) => hostOf(exchange) === expected)) return { status: 'ok', found };
  const otherRegion = outcome.value.map(({ exchange }) => /^feedback-smtp\.([a-z0-9-]+)\.amazonses\.com$/.exec(hostOf(exchange))?.[1]).find(Boolean);
  return wrong(
    record,
    found,
    otherRegion ? `points to SES in ${otherRegion}, but the relay sends from ${region} (AWS_REGION)` : `does not point to ${expected}`,
  );
};

/** The MAIL FROM's SPF: one record (RFC 7208 §4.5), authorising SES. */
const judgeMailFromSpf = async (record: DnsRecord, lookups: Lookups): Promise<Judgement> => {
  const outcome = await lookups.txt(record.name);
  if (outcome.kind === 'absent') return notPublished(record);
  if (outcome.kind === 'failed') return failed(record, outcome.code);
  const spf = outcome.value.filter(isSpf);
  const found = spf.map(readableTxt);
  if (spf.length === 0) return notPublished(record, outcome.value.map(readableTxt), 'no SPF record (v=spf1) among the TXT records');
  if (spf.length > 1) {
    return wrong(record, found, `${spf.length} SPF records: receivers treat that as a permanent error (RFC 7208 §4.5), so keep only this one`);
  }
  const includesSes = (spf[0] as string).split(/\s+/).some((term) => /^\+?include:amazonses\.com\.?$/i.test(term));
  return includesSes ? { status: 'ok', found } : wrong(record, found, 'does not include:amazonses.com, so SES is not authorised to send for it');
};

/** An SMTP institution's own DKIM key: the p= must be the public half of the configured private key. */
const judgeDkimTxt = async (record: DnsRecord, institution: InstitutionConfig, lookups: Lookups): Promise<Judgement> => {
  const outcome = await lookups.txt(record.name);
  if (outcome.kind === 'absent') return notPublished(record);
  if (outcome.kind === 'failed') return failed(record, outcome.code);
  const keys = outcome.value.filter(isDkimKey);
  const found = keys.map(readableTxt);
  if (keys.length === 0) return notPublished(record, outcome.value.map(readableTxt), 'no DKIM key record (v=DKIM1) among the TXT records');
  if (keys.length > 1) return wrong(record, found, `${keys.length} key records under one selector: receivers may pick either`);
  const published = (tagsOf(keys[0] as string).get('p') ?? '').replace(/\s/g, '');
  if (!published) return wrong(record, found, 'the key is revoked (empty p=)');
  const privateKey = institution.transport.kind === 'smtp' ? institution.transport.dkim?.privateKey : undefined;
  if (!privateKey) {
    return { status: 'ok', found, detail: 'present; not compared with the key, which this configuration does not hold (on AWS it is in Secrets Manager)' };
  }
  return published === dkimPublicKeyOf(privateKey)
    ? { status: 'ok', found, detail: 'the public half of the configured private key' }
    : wrong(record, found, 'another key than the public half of the configured private key: receivers will fail every signature');
};

interface DmarcPolicy {
  /** The record that applies, as published. */
  text: string;
  /** Where it was found: the domain's own `_dmarc` name, or an organisational domain's. */
  name: string;
  /** The policy that applies to the domain (`sp=` when inherited, RFC 7489 §6.3). */
  policy: string;
}

const dmarcAt = async (name: string, lookups: Lookups): Promise<Outcome<string[]>> => {
  const outcome = await lookups.txt(name);
  return outcome.kind === 'answer' ? { kind: 'answer', value: outcome.value.filter(isDmarc) } : outcome;
};

/**
 * When a domain has no DMARC record of its own, a receiver applies its organisational domain's
 * (RFC 7489 §6.6.3). Without the Public Suffix List the parents are walked, as DMARCbis does, up to
 * a two-label name: a university's `p=reject` on example.edu governs library.example.edu.
 */
const inheritedDmarc = async (domain: string, lookups: Lookups): Promise<DmarcPolicy | undefined> => {
  const labels = domain.split('.');
  for (let start = 1; labels.length - start >= 2; start += 1) {
    const name = `_dmarc.${labels.slice(start).join('.')}`;
    const outcome = await dmarcAt(name, lookups);
    if (outcome.kind === 'answer' && outcome.value.length === 1) {
      const tags = tagsOf(outcome.value[0] as string);
      return { text: outcome.value[0] as string, name, policy: (tags.get('sp') ?? tags.get('p') ?? 'none').toLowerCase() };
    }
  }
  return undefined;
};

/** The policy receivers apply to mail from the domain, if any. */
const dmarcPolicyOf = async (domain: string, lookups: Lookups): Promise<DmarcPolicy | undefined> => {
  const name = `_dmarc.${domain}`;
  const own = await dmarcAt(name, lookups);
  if (own.kind === 'answer' && own.value.length === 1) {
    return { text: own.value[0] as string, name, policy: (tagsOf(own.value[0] as string).get('p') ?? 'none').toLowerCase() };
  }
  return own.kind === 'absent' || (own.kind === 'answer' && own.value.length === 0) ? inheritedDmarc(domain, lookups) : undefined;
};

const judgeDmarc = async (record: DnsRecord, domain: string, lookups: Lookups): Promise<Judgement> => {
  const outcome = await dmarcAt(record.name, lookups);
  if (outcome.kind === 'failed') return failed(record, outcome.code);
  const own = outcome.kind === 'answer' ? outcome.value : [];
  if (own.length > 1) {
    return wrong(record, own.map(readableTxt), `${own.length} DMARC records: receivers then apply no DMARC policy at all (RFC 7489 §6.6.3), so keep only one`);
  }
  const policy = await dmarcPolicyOf(domain, lookups);
  if (own.length === 1 && policy) return { status: 'ok', found: own.map(readableTxt), detail: `policy p=${policy.policy}` };
  // Publishing the p=none starting record here would weaken a stricter organisational policy.
  if (policy) {
    return { status: 'ok', found: [readableTxt(policy.text)], detail: `no record of its own: ${policy.name} applies to it, with policy ${policy.policy}` };
  }
  return notPublished(record);
};

/**
 * Reported as docs/it/dns.md says: a From domain whose policy rejects unaligned mail. An SMTP institution without
 * `transport.dkim` sends unsigned through its relay; DMARC then rests on SPF alignment alone, which
 * forwarding and any relay missing from the domain's SPF break.
 */
const judgeAlignment = async (institution: InstitutionConfig, domain: string, lookups: Lookups): Promise<Judgement | undefined> => {
  if (institution.transport.kind !== 'smtp' || institution.transport.dkim) return undefined;
  const policy = await dmarcPolicyOf(domain, lookups);
  if (!policy || (policy.policy !== 'quarantine' && policy.policy !== 'reject')) return undefined;
  const fate = policy.policy === 'reject' ? 'rejected' : 'quarantined';
  return {
    status: 'wrong',
    found: [readableTxt(policy.text)],
    detail:
      `p=${policy.policy} (${policy.name}): notices relayed for ${domain} are not DKIM-signed, so they are not DKIM-aligned and are ${fate} ` +
      `wherever SPF does not align (forwarding, a relay outside the domain's SPF). Configure transport.dkim (selector and private key) ` +
      `for ${institution.id} and publish its key: \`notice-relay dns-records\` prints the record`,
  };
};

/** The SPF of a relaying institution's own domain: shown, never judged (docs/it/dns.md). */
const describeOwnSpf = async (record: DnsRecord, institution: InstitutionConfig, lookups: Lookups): Promise<Judgement> => {
  const relays = institution.transport.kind === 'smtp' ? institution.transport.servers.map((server) => server.host).join(', ') : '';
  const belongs = `belongs to your mail system; for SPF to pass it must cover the relays (${relays})`;
  const outcome = await lookups.txt(record.name);
  if (outcome.kind === 'failed') return { status: 'info', found: [], detail: `the lookup failed (${outcome.code}); it ${belongs}` };
  const spf = outcome.kind === 'answer' ? outcome.value.filter(isSpf) : [];
  if (spf.length === 0) return { status: 'info', found: [], detail: `no SPF record; it ${belongs}` };
  const several = spf.length > 1 ? `; ${spf.length} SPF records are a permanent error for receivers (RFC 7208 §4.5)` : '';
  return { status: 'info', found: spf.map(readableTxt), detail: `it ${belongs}${several}` };
};

const UNKNOWN_TOKENS: Judgement = {
  status: 'unchecked',
  found: [],
  detail: 'not checked: the Easy DKIM tokens SES issued for this domain are unknown; pass --dkim-tokens a,b,c from the stack output',
};

/**
 * Looks up every record of every institution and judges it; the order follows the configuration.
 * @example
 * const results = await checkDns(config, { resolver: new Resolver(), region: 'us-east-1' });
 * const allRight = !results.some(isProblem);
 */
export const checkDns = async (config: Config, options: DnsCheckOptions): Promise<DnsCheckResult[]> => {
  const lookups = cachedResolver(options.resolver);
  const groups = expectedRecords(config, options);
  const judged = await Promise.all(
    groups.map(async ({ institution, domain, records }) => {
      const judge = (record: DnsRecord): Promise<Judgement> => {
        switch (record.purpose) {
          case 'dkim':
            if (record.type === 'TXT') return judgeDkimTxt(record, institution, lookups);
            return options.dkimTokens?.[domain]?.length ? judgeDkimCname(record, lookups) : Promise.resolve(UNKNOWN_TOKENS);
          case 'mail-from-mx':
            return judgeMailFromMx(record, lookups, options.region);
          case 'mail-from-spf':
            return judgeMailFromSpf(record, lookups);
          case 'dmarc':
            return judgeDmarc(record, domain, lookups);
          case 'spf-info':
            return describeOwnSpf(record, institution, lookups);
        }
      };
      const results: DnsCheckResult[] = await Promise.all(records.map(async (record) => ({ institution: institution.id, domain, record, ...(await judge(record)) })));
      // The DMARC record may be listed under an earlier institution of the same domain; the risk is this one's.
      const dmarc = dnsRecordsFor(institution, { region: options.region }).find((record) => record.purpose === 'dmarc') as DnsRecord;
      const alignment = await judgeAlignment(institution, domain, lookups);
      return alignment ? [...results, { institution: institution.id, domain, record: dmarc, ...alignment }] : results;
    }),
  );
  return judged.flat();
};
