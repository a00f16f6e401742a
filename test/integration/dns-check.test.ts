// `notice-relay dns-records` and `dns-check` as IT runs them: the real CLI, looking records up in a
// real DNS server on 127.0.0.1 (dns2) that answers from a zone each test publishes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dns2 from 'dns2';
import { dkimPublicKeyOf, dnsRecordsFor, zoneLine } from '../../shared/dns/records';
import { aConfig, aConfigInput, aDkimPrivateKey, aRelayingInstitutionInput, aSesInstitutionInput } from '../support/factories';
import { runCli } from '../support/local-runtime';

jest.setTimeout(30_000);

const { Packet } = dns2;
// RFC 1035 §4.1.1: "name error", which c-ares reports as ENOTFOUND. dns2's typings omit Packet.RCODE.
const NXDOMAIN = 3;

type Answer = { type: 'CNAME'; domain: string } | { type: 'MX'; exchange: string; priority: number } | { type: 'TXT'; data: string[] };
/** The records the server holds, by lower-case name. */
type Zone = Record<string, Answer[]>;

const REGION = 'eu-west-1';
const TOKENS = ['tok1', 'tok2', 'tok3'];
const privateKey = aDkimPrivateKey();
const otherKey = aDkimPrivateKey();

const configInput = aConfigInput({
  institutions: [aSesInstitutionInput({ transport: { kind: 'ses', mailFromDomain: 'mail.library.example.org' } }), aRelayingInstitutionInput({ selector: 'notices', privateKey })],
});
const [demo, branch] = aConfig(configInput).institutions;
const expected = [...dnsRecordsFor(demo!, { region: REGION, dkimTokens: TOKENS }), ...dnsRecordsFor(branch!, { region: REGION })];

/** A 2048-bit key record is longer than one character-string may be (RFC 1035 §3.3.14). */
const dkimTxt = (key: string): string[] => {
  const value = `v=DKIM1; k=rsa; p=${dkimPublicKeyOf(key)}`;
  return [value.slice(0, 255), value.slice(255)];
};

const rightZone = (): Zone => ({
  'tok1._domainkey.library.example.org': [{ type: 'CNAME', domain: 'tok1.dkim.amazonses.com' }],
  'tok2._domainkey.library.example.org': [{ type: 'CNAME', domain: 'tok2.dkim.amazonses.com' }],
  'tok3._domainkey.library.example.org': [{ type: 'CNAME', domain: 'tok3.dkim.amazonses.com' }],
  'mail.library.example.org': [
    { type: 'MX', exchange: `feedback-smtp.${REGION}.amazonses.com`, priority: 10 },
    { type: 'TXT', data: ['v=spf1 include:amazonses.com ~all'] },
  ],
  '_dmarc.library.example.org': [{ type: 'TXT', data: ['v=DMARC1; p=none; rua=mailto:it@library.example.org'] }],
  'notices._domainkey.branch.example.edu': [{ type: 'TXT', data: dkimTxt(privateKey) }],
  'branch.example.edu': [{ type: 'TXT', data: ['v=spf1 mx -all'] }],
  '_dmarc.branch.example.edu': [{ type: 'TXT', data: ['v=DMARC1; p=quarantine'] }],
});

let zone: Zone = {};
let dir: string;
let configPath: string;
let resolver: string;

const server = dns2.createServer({
  udp: true,
  handle: (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    const answers = question ? zone[question.name.toLowerCase()] : undefined;
    if (!question || !answers) {
      response.header.rcode = NXDOMAIN;
    } else {
      // A name that exists without the asked type answers NOERROR with no records: c-ares's ENODATA.
      for (const answer of answers.filter((a) => Packet.TYPE[a.type] === question.type)) {
        response.answers.push({ ...answer, name: question.name, type: Packet.TYPE[answer.type], class: Packet.CLASS.IN, ttl: 300 } as (typeof response.answers)[number]);
      }
    }
    void send(response);
  },
});

const dnsCheck = () => runCli(['dns-check', '--config', configPath, '--resolver', resolver, '--dkim-tokens', TOKENS.join(',')], { AWS_REGION: REGION });

/** The result lines dns-check printed (✔, ✘, ? or ℹ first). */
const resultLines = (stdout: string): string[] => stdout.split('\n').map((line) => line.trim()).filter((line) => /^[✔✘?ℹ] /.test(line) && / — /.test(line));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'notice-relay-dns-'));
  configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(configInput, null, 2));
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  resolver = `127.0.0.1:${addresses.udp?.port}`;
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Command: notice-relay dns-records', () => {
  it('prints every sending domain\'s records as zone lines, and the relaying domain\'s SPF as a comment', async () => {
    // Act
    const { code, stdout } = await runCli(['dns-records', '--config', configPath, '--dkim-tokens', `library.example.org=${TOKENS.join(',')}`], { AWS_REGION: REGION });
    // Assess
    expect(code).toBe(0);
    for (const record of expected.filter((r) => r.purpose !== 'spf-info')) expect(stdout).toContain(`\n${zoneLine(record)}\n`);
    expect(stdout).toContain('mail.library.example.org. 3600 IN MX 10 feedback-smtp.eu-west-1.amazonses.com.');
    expect(stdout).toMatch(/^; branch\.example\.edu TXT is not Notice Relay's to publish/m);
    expect(stdout.split('\n').filter((line) => !line.startsWith(';') && line.includes(' IN ')).length).toBe(8);
    expect(stdout).not.toContain('PRIVATE KEY');
  });
});

describe('Command: notice-relay dns-records and dns-check with --dkim-key', () => {
  // A deployed configuration: the DKIM key sits in Secrets Manager, not in the file.
  const deployedInput = aConfigInput({ institutions: [configInput.institutions[0]!, aRelayingInstitutionInput({ selector: 'notices' })] });
  const branchTxt = expected.find((record) => record.name === 'notices._domainkey.branch.example.edu') as (typeof expected)[number];
  let deployedPath: string;
  let keyPath: string;

  beforeAll(() => {
    deployedPath = join(dir, 'deployed.json');
    keyPath = join(dir, 'branch-dkim.pem');
    writeFileSync(deployedPath, JSON.stringify(deployedInput));
    writeFileSync(keyPath, privateKey);
  });

  it('writes the TXT record of a key kept out of the file, from the key file IT passes, and never prints the key', async () => {
    // Act
    const without = await runCli(['dns-records', '--config', deployedPath], { AWS_REGION: REGION });
    const withKey = await runCli(['dns-records', '--config', deployedPath, '--dkim-key', `branch=${keyPath}`], { AWS_REGION: REGION });
    const wrongId = await runCli(['dns-records', '--config', deployedPath, '--dkim-key', `demo=${keyPath}`], { AWS_REGION: REGION });
    // Assess
    expect(without.stdout).toContain('run with --dkim-key ID=key.pem to fill in p=');
    expect(without.stdout).not.toContain(zoneLine(branchTxt));
    expect(withKey.code).toBe(0);
    expect(withKey.stdout).toContain(`\n${zoneLine(branchTxt)}\n`);
    expect(withKey.stdout).not.toContain('PRIVATE KEY');
    expect(wrongId.code).toBe(2);
    expect(wrongId.stderr).toContain('--dkim-key demo=FILE: give the id of an institution with dkim in its transport (branch)');
  });

  it('judges the published key against the key file', async () => {
    // Prepare: the record published is another key's
    zone = rightZone();
    zone['notices._domainkey.branch.example.edu'] = [{ type: 'TXT', data: dkimTxt(otherKey) }];
    // Act
    const { code, stdout } = await runCli(['dns-check', '--config', deployedPath, '--resolver', resolver, '--dkim-tokens', TOKENS.join(','), '--dkim-key', `branch=${keyPath}`], { AWS_REGION: REGION });
    // Assess
    expect(code).toBe(1);
    expect(resultLines(stdout).find((line) => line.startsWith('✘ notices._domainkey.branch.example.edu TXT'))).toBeDefined();
  });
});

describe('Command: notice-relay dns-check', () => {
  it('names each missing record with the zone line to publish, and exits 1', async () => {
    // Prepare
    zone = {};
    // Act
    const { code, stdout } = await dnsCheck();
    // Assess
    expect(code).toBe(1);
    const lines = resultLines(stdout);
    for (const record of expected.filter((r) => r.purpose !== 'spf-info')) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^✘ ${record.name.replace(/\./g, '\\.')} ${record.type} — .*; publish: `)));
      expect(lines.some((line) => line.endsWith(`publish: ${zoneLine(record)}`))).toBe(true);
    }
    expect(lines).toContainEqual(expect.stringMatching(/^ℹ branch\.example\.edu TXT — no SPF record/));
    expect(stdout).toContain('✘ 8 of 8 checks need attention (8 missing); 1 shown for information.');
  });

  it('says which records it could not check without the Easy DKIM tokens, apart from the missing ones, and exits 1', async () => {
    // Prepare
    zone = rightZone();
    // Act
    const { code, stdout } = await runCli(['dns-check', '--config', configPath, '--resolver', resolver], { AWS_REGION: REGION });
    // Assess
    expect(code).toBe(1);
    expect(resultLines(stdout).filter((line) => line.startsWith('? '))).toHaveLength(3);
    expect(resultLines(stdout).filter((line) => line.startsWith('✘ '))).toEqual([]);
    expect(stdout).toMatch(/✘ 3 of \d+ checks need attention \(3 not checked\)/);
  });

  it('names the records published with wrong values, and exits 1', async () => {
    // Prepare
    zone = rightZone();
    zone['tok2._domainkey.library.example.org'] = [{ type: 'CNAME', domain: 'tok2.dkim.example.net' }];
    zone['mail.library.example.org'] = [
      { type: 'MX', exchange: 'feedback-smtp.us-east-1.amazonses.com', priority: 10 },
      { type: 'TXT', data: ['v=spf1 include:amazonses.com ~all'] },
      { type: 'TXT', data: ['v=spf1 -all'] },
    ];
    zone['notices._domainkey.branch.example.edu'] = [{ type: 'TXT', data: dkimTxt(otherKey) }];
    // Act
    const { code, stdout } = await dnsCheck();
    // Assess
    expect(code).toBe(1);
    const failures = resultLines(stdout).filter((line) => line.startsWith('✘'));
    expect(failures.map((line) => line.slice(0, line.indexOf(' — ')))).toEqual([
      '✘ tok2._domainkey.library.example.org CNAME',
      '✘ mail.library.example.org MX',
      '✘ mail.library.example.org TXT',
      '✘ notices._domainkey.branch.example.edu TXT',
    ]);
    expect(failures[0]).toContain('found: tok2.dkim.example.net');
    expect(failures[1]).toContain('found: 10 feedback-smtp.us-east-1.amazonses.com; points to SES in us-east-1, but the relay sends from eu-west-1');
    expect(failures[2]).toContain('RFC 7208 §4.5');
    expect(failures[3]).toContain('publish: notices._domainkey.branch.example.edu. 3600 IN TXT "v=DKIM1; k=rsa; p=');
  });

  it('shows only ✔ and ℹ when every record is right, and exits 0', async () => {
    // Prepare
    zone = rightZone();
    // Act
    const { code, stdout, stderr } = await dnsCheck();
    // Assess
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = resultLines(stdout);
    expect(lines).toHaveLength(9);
    expect(lines.filter((line) => !line.startsWith('✔') && !line.startsWith('ℹ'))).toEqual([]);
    expect(lines).toContain('✔ mail.library.example.org MX — 10 feedback-smtp.eu-west-1.amazonses.com');
    expect(lines).toContainEqual(expect.stringMatching(/^ℹ branch\.example\.edu TXT — found: "v=spf1 mx -all"; /));
    expect(stdout).toContain('✔ All 8 checks are right; 1 shown for information.');
  });
});
