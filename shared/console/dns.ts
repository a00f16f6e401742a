// The console's DNS page (docs/staff/console.md): the records IT publishes for the institution's
// sending domain, each checked live by the same code as `notice-relay dns-check`, and the whole set as
// zone lines to paste.
import type { Config, InstitutionConfig } from '../config/schema';
import { checkDns, type DnsCheckResult, type DnsResolver, isProblem } from '../dns/check';
import { zoneLine } from '../dns/records';
import { errorCode } from '../errors';
import type { Log } from '../log';
import type { SecretSource } from '../secrets';

export interface DnsDeps {
  config: Config;
  resolver: DnsResolver;
  /** The SES region, for the MAIL FROM MX. */
  region: string;
  /** Easy DKIM tokens by From domain, as the stack knows them; locally there are none (SES's DKIM is then unchecked). */
  dkimTokens?: Readonly<Record<string, readonly string[]>>;
  /** Where an SMTP institution's DKIM key is kept on AWS: its public half is what the record must hold. */
  secrets: SecretSource;
  log: Log;
}

export interface DnsPage {
  results: DnsCheckResult[];
  /** Every record to publish, as zone-file lines. */
  zoneLines: string[];
  /** What `notice-relay dns-check` would exit 0 for. */
  allRight: boolean;
}

/** The institution with its DKIM key from its secret when the configuration does not hold it. */
const withSecretDkimKey = async (deps: DnsDeps, institution: InstitutionConfig): Promise<InstitutionConfig> => {
  const transport = institution.transport;
  if (transport.kind !== 'smtp' || !transport.dkim || transport.dkim.privateKey) return institution;
  try {
    const key = (await deps.secrets.forInstitution(institution.id)).dkimPrivateKey;
    return key ? { ...institution, transport: { ...transport, dkim: { ...transport.dkim, privateKey: key } } } : institution;
  } catch (error) {
    // The record is then shown with a placeholder for the key, and judged present or not.
    deps.log.warn('DKIM key not read for the DNS page', { institution: institution.id, code: errorCode(error) });
    return institution;
  }
};

/**
 * The institution's records, checked now.
 * @example
 * const { results, zoneLines } = await dnsPage(deps, institution);
 */
export const dnsPage = async (deps: DnsDeps, institution: InstitutionConfig): Promise<DnsPage> => {
  const own = await withSecretDkimKey(deps, institution);
  const results = await checkDns({ ...deps.config, institutions: [own] }, { resolver: deps.resolver, region: deps.region, dkimTokens: deps.dkimTokens });
  const seen = new Set<string>();
  const zoneLines = results
    .filter((result) => result.record.purpose !== 'spf-info')
    .map((result) => zoneLine(result.record))
    .filter((line) => !seen.has(line) && seen.add(line));
  // As dns-check's exit code: a record not checked (SES's DKIM without its tokens) is not known to be right.
  return { results, zoneLines, allRight: !results.some(isProblem) };
};
