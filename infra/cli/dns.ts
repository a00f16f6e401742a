// `notice-relay dns-records` and `notice-relay dns-check` (docs/it/dns.md): argv → shared/dns → lines and an exit code.
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../shared/config/load';
import type { Config, InstitutionConfig } from '../../shared/config/schema';
import { domainOf } from '../../shared/config/domains';
import { checkDns, type DnsCheckResult, expectedRecords, isProblem } from '../../shared/dns/check';
import { type DnsRecord, zoneLine } from '../../shared/dns/records';
import { type CliOutput, UsageError } from './command';

type Env = Readonly<Record<string, string | undefined>>;

/** A command line that cannot be run as given: exit code 2, as for any usage error. */

const DNS_RESOLVER_TIMEOUT_MS = 2000;

const parse = (args: string[], extra: Record<string, { type: 'string' }> = {}) => {
  try {
    const { values } = parseArgs({
      args,
      options: { config: { type: 'string' }, 'dkim-tokens': { type: 'string', multiple: true }, 'dkim-key': { type: 'string', multiple: true }, ...extra },
      strict: true,
      allowPositionals: false,
    });
    return values as { config?: string; 'dkim-tokens'?: string[]; 'dkim-key'?: string[]; resolver?: string };
  } catch (error) {
    // parseArgs' own message names the offending option ("Unknown option '--x'").
    throw new UsageError((error as Error).message);
  }
};

const loadFrom = (path: string | undefined, env: Env): Config => {
  if (!path) throw new UsageError('--config F is required: the configuration file whose institutions send the mail');
  return loadConfig(path, env);
};

const sesDomainsOf = (config: Config): string[] => [...new Set(config.institutions.filter((i) => i.transport.kind === 'ses').map((i) => domainOf(i.from.address)))];

const TOKEN = /^[A-Za-z0-9_-]{1,63}$/;

/**
 * `--dkim-tokens a,b,c` (the only SES domain's) or `--dkim-tokens library.example.org=a,b,c`, repeatable.
 * A bare list is refused when several domains send through SES: applied to the wrong one, it would make
 * dns-check judge another domain's keys.
 */
export const parseDkimTokens = (values: readonly string[], config: Config): Record<string, string[]> => {
  const sesDomains = sesDomainsOf(config);
  const tokens: Record<string, string[]> = {};
  for (const value of values) {
    const separator = value.indexOf('=');
    const named = separator >= 0 ? value.slice(0, separator).trim().toLowerCase() : undefined;
    if (named !== undefined && !sesDomains.includes(named)) {
      throw new UsageError(`--dkim-tokens ${named}=…: no institution sends from ${named} through SES (SES domains: ${sesDomains.join(', ') || 'none'})`);
    }
    if (named === undefined && sesDomains.length !== 1) {
      throw new UsageError(
        sesDomains.length === 0
          ? '--dkim-tokens: no institution sends through SES, so there are no Easy DKIM tokens to give'
          : `--dkim-tokens: several domains send through SES (${sesDomains.join(', ')}); give each as --dkim-tokens domain=a,b,c`,
      );
    }
    const list = value
      .slice(separator + 1)
      .split(',')
      .map((token) => token.trim());
    if (list.length !== 3 || !list.every((token) => TOKEN.test(token))) {
      throw new UsageError(`--dkim-tokens ${value}: Easy DKIM issues three tokens; give them as a,b,c (the stack outputs list them)`);
    }
    tokens[named ?? (sesDomains[0] as string)] = list;
  }
  return tokens;
};

/**
 * `--dkim-key ID=FILE`, repeatable: the DKIM private key (PEM) of an institution that signs relayed mail,
 * for a configuration that keeps it in Secrets Manager, so its TXT record can be written and checked.
 * The key is read to derive its public half and is never printed.
 */
export const withDkimKeys = (config: Config, values: readonly string[]): Config => {
  if (values.length === 0) return config;
  const keys = new Map<string, string>();
  for (const value of values) {
    const separator = value.indexOf('=');
    const id = value.slice(0, Math.max(0, separator));
    const institution = config.institutions.find((candidate) => candidate.id === id);
    if (!institution || institution.transport.kind !== 'smtp' || !institution.transport.dkim) {
      const signing = config.institutions.filter((i) => i.transport.kind === 'smtp' && i.transport.dkim).map((i) => i.id);
      throw new UsageError(`--dkim-key ${id || value}=FILE: give the id of an institution with dkim in its transport (${signing.join(', ') || 'none has'})`);
    }
    let pem: string;
    const file = value.slice(separator + 1);
    try {
      pem = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`--dkim-key ${id}=${file}: the file could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(pem)) throw new UsageError(`--dkim-key ${id}=…: the file is not a PEM private key`);
    keys.set(id, pem);
  }
  return {
    ...config,
    institutions: config.institutions.map((institution) => {
      const pem = keys.get(institution.id);
      const transport = institution.transport;
      if (!pem || transport.kind !== 'smtp' || !transport.dkim) return institution;
      return { ...institution, transport: { ...transport, dkim: { ...transport.dkim, privateKey: pem } } };
    }),
  };
};

/** `HOST:PORT` (an IP address: c-ares takes no host names), `[IPv6]:PORT`, or an address alone for port 53. */
export const parseResolverAddress = (value: string): string => {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+)(?::(\d+))?$/.exec(value) ?? (isIPv6(value) ? [value, value] : undefined);
  const host = match?.[1] ?? '';
  const port = Number(match?.[2] ?? 53);
  if (!(isIPv4(host) || isIPv6(host)) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--resolver ${value}: must be IP:PORT, like 127.0.0.1:5353 or [::1]:53`);
  }
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
};

const regionOf = (env: Env): string => env.AWS_REGION || 'us-east-1';

const transportOf = (institution: InstitutionConfig, region: string): string =>
  institution.transport.kind === 'ses' ? `sent through Amazon SES in ${region}` : `relayed through ${institution.transport.servers.map((s) => s.host).join(', ')}`;

const headingOf = (institution: InstitutionConfig, domain: string, region: string): string =>
  `${institution.id}${institution.name ? ` (${institution.name})` : ''}: ${domain}, ${transportOf(institution, region)}`;

const recordLines = (record: DnsRecord): string[] => {
  // The SPF of an SMTP institution's own domain is its mail system's: shown, never written for it.
  if (record.purpose === 'spf-info') return [`; ${record.name} TXT is not Notice Relay's to publish: ${record.description}`, `;   ${record.value}`];
  const placeholder = /<[^>]+>/.test(record.name) || /<[^>]+>/.test(record.value);
  const hint =
    placeholder && record.type === 'CNAME'
      ? ['; replace <token1>…<token3> with the Easy DKIM tokens of the stack outputs, or run with --dkim-tokens a,b,c']
      : placeholder
        ? ['; the private key is not in this file (on AWS it is in Secrets Manager): run with --dkim-key ID=key.pem to fill in p=']
        : [];
  return [`; ${record.description}`, ...hint, zoneLine(record)];
};

/**
 * `dns-records --config F [--dkim-tokens [DOMAIN=]a,b,c] [--dkim-key ID=FILE]`: every sending domain's records as zone lines, with
 * comments, ready to paste into a zone file.
 */
export const dnsRecordsCommand = async (args: string[], output: CliOutput, env: Env = process.env): Promise<number> => {
  const options = parse(args);
  const config = withDkimKeys(loadFrom(options.config, env), options['dkim-key'] ?? []);
  const region = regionOf(env);
  const dkimTokens = parseDkimTokens(options['dkim-tokens'] ?? [], config);
  const blocks = expectedRecords(config, { region, dkimTokens }).map(({ institution, domain, records }) =>
    [
      `; ── ${headingOf(institution, domain, region)}`,
      ...(records.length ? records.flatMap(recordLines) : [`; the records listed above for ${domain} serve it too`]),
    ].join('\n'),
  );
  output.out(blocks.join('\n\n'));
  return 0;
};

const MARK = { ok: '✔', info: 'ℹ', missing: '✘', wrong: '✘', error: '✘', unchecked: '?' } as const;

/** One line per result: `✔ name TYPE — found`, `✘ name TYPE — found: …; why; publish: <zone line>`, `ℹ …`. */
export const describeResult = (result: DnsCheckResult): string => {
  const found = result.found.length ? result.found.join(', ') : '';
  const parts =
    result.status === 'ok'
      ? [found + (result.detail ? `${found ? ' ' : ''}(${result.detail})` : '')]
      : [found && `found: ${found}`, result.detail, result.fix && `${result.status === 'error' ? 'expected' : 'publish'}: ${result.fix}`];
  return `${MARK[result.status]} ${result.record.name} ${result.record.type} — ${parts.filter(Boolean).join('; ')}`;
};

const summaryOf = (results: DnsCheckResult[]): string => {
  const judged = results.filter((r) => r.status !== 'info');
  const info = results.length - judged.length;
  const infoText = info ? `; ${info} shown for information` : '';
  const problems = judged.filter(isProblem);
  if (problems.length === 0) return `✔ All ${judged.length} checks are right${infoText}.`;
  const labels = { missing: 'missing', wrong: 'wrong', error: 'unanswered', unchecked: 'not checked' } as const;
  const byStatus = (['missing', 'wrong', 'error', 'unchecked'] as const)
    .map((status) => [problems.filter((r) => r.status === status).length, labels[status]] as const)
    .filter(([count]) => count > 0)
    .map(([count, label]) => `${count} ${label}`);
  return `✘ ${problems.length} of ${judged.length} checks need attention (${byStatus.join(', ')})${infoText}.`;
};

/**
 * `dns-check --config F [--resolver IP:PORT] [--dkim-tokens [DOMAIN=]a,b,c] [--dkim-key ID=FILE]`: looks every record up; exit 0
 * when all are right (information aside), 1 otherwise, 2 when the command line or the file is wrong.
 */
export const dnsCheckCommand = async (args: string[], output: CliOutput, env: Env = process.env): Promise<number> => {
  const options = parse(args, { resolver: { type: 'string' } });
  const server = options.resolver === undefined ? undefined : parseResolverAddress(options.resolver);
  const config = withDkimKeys(loadFrom(options.config, env), options['dkim-key'] ?? []);
  const region = regionOf(env);
  const dkimTokens = parseDkimTokens(options['dkim-tokens'] ?? [], config);
  // One try with a short timeout: a name server that does not answer is reported, not waited on.
  const resolver = new Resolver({ timeout: DNS_RESOLVER_TIMEOUT_MS, tries: 1 });
  if (server) resolver.setServers([server]);
  const results = await checkDns(config, { resolver, region, dkimTokens });
  const lines: string[] = [];
  let heading = '';
  for (const result of results) {
    const institution = config.institutions.find((i) => i.id === result.institution) as InstitutionConfig;
    const next = headingOf(institution, result.domain, region);
    if (next !== heading) lines.push(...(heading ? [''] : []), next);
    heading = next;
    lines.push(`  ${describeResult(result)}`);
  }
  lines.push('', summaryOf(results));
  output.out(lines.join('\n'));
  return results.some(isProblem) ? 1 : 0;
};
