import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashApiKey } from '../../../../shared/config/key-digest';
import { describeConfigError, expandVariables, loadConfig, parseConfig } from '../../../../shared/config/load';
import { ConfigError } from '../../../../shared/errors';
import { aConfigInput } from '../../../support/factories';
import { temporaryDirectories } from '../../../support/temp-dirs';

const temporary = temporaryDirectories();
afterAll(() => temporary.removeAll());

const errorOf = (run: () => unknown): ConfigError => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

const problemsOf = (run: () => unknown): string[] => errorOf(run).details.map((d) => `${d.path}: ${d.message}`);

describe('Function: loadConfig', () => {
  it('loads the committed examples', () => {
    // Act
    const local = loadConfig('config/local.json', { NOTICE_RELAY_SINK_SMTP_PORT: '2525' });
    const example = loadConfig('config/example.json');
    // Assess
    expect(local.institutions.map((i) => i.id)).toEqual(['demo', 'branch']);
    expect(local.institutions[0]?.transport).toMatchObject({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: 2525, tls: 'none' }] });
    expect(example.institutions[1]?.transport).toMatchObject({ kind: 'smtp', maxPerMinute: 30, maxPerDay: 10000 });
  });

  it('fills the documented defaults of the retry policy and the configuration', () => {
    // Act
    const config = parseConfig(aConfigInput());
    // Assess
    expect(config.retry).toEqual({
      shortRangeSeconds: 3600,
      shortDelaySeconds: [180, 540],
      longDelaySeconds: [3600, 5400],
      maxAgeSeconds: 360000,
      webhooks: { firstDelaySeconds: 30, longestDelaySeconds: 21600, giveUpAfterSeconds: 86400 },
    });
    expect(config.intake).toEqual({ spreadSeconds: 60, requestsPerMinutePerKey: 600 });
    expect(config.sweep).toEqual({ intervalSeconds: 60 });
    expect(config.sender).toEqual({ attemptTimeoutSeconds: 60, leaseSeconds: 90, batchSize: 10, concurrency: 4, batchingWindowSeconds: 5 });
    expect(config.retention).toEqual({ days: 30 });
    expect(config.suppression).toEqual({ days: 180 });
    expect(config.reports).toEqual({ mode: 'each', timeOfDay: '07:00', timeZone: 'UTC' });
    expect(config.institutions[0]?.webhooks).toEqual([]);
    expect(config.alerts).toEqual({ stalledAfterMinutes: 30 });
    expect(config.institutions[1]?.transport).toMatchObject({ kind: 'ses', existingIdentity: false });
    expect(config.institutions[0]?.from).toEqual({ name: 'Demo Public Library', address: 'notices@library.example.org', text: 'Demo Public Library <notices@library.example.org>' });
  });

  it('refuses a time zone that is not an IANA name, a time of day that is not one, and a webhook that is not https', () => {
    // Prepare
    const input = aConfigInput({ reports: { mode: 'daily', timeOfDay: '25:00', timeZone: 'Central Time' } });
    (input.institutions[0] as Record<string, unknown>).webhooks = [{ url: 'http://ils.library.example.org/events' }, { url: 'http://127.0.0.1:8080/events', events: ['notice.opened'] }];
    // Act
    const thrown = (() => {
      try {
        parseConfig(input);
      } catch (error) {
        return error as { details: Array<{ path: string; message: string }> };
      }
      return undefined;
    })();
    // Assess
    expect(thrown?.details.map((detail) => detail.path)).toEqual(
      expect.arrayContaining(['reports.timeOfDay', 'reports.timeZone', 'institutions[0].webhooks[0].url', 'institutions[0].webhooks[1].events[0]']),
    );
    expect(thrown?.details).toHaveLength(4);
    expect(parseConfig(aConfigInput({ reports: { timeZone: 'America/Chicago' } })).reports.timeZone).toBe('America/Chicago');
  });

  it('refuses two webhooks with one URL: the URL names the receiver to its secret', () => {
    // Prepare
    const input = aConfigInput();
    const url = 'https://ils.library.example.org/notice-relay/events';
    (input.institutions[0] as Record<string, unknown>).webhooks = [{ url, events: ['notice.sent'] }, { url: `${url}/other` }, { url, events: ['notice.failed'] }];
    // Act & Assess
    expect(() => parseConfig(input)).toThrow(expect.objectContaining({ details: [{ path: 'institutions[0].webhooks[2].url', message: "is webhooks[0]'s URL too: one entry per receiver, its events listing all it takes" }] }));
  });

  it('lists every problem of a bad file by its JSON path', () => {
    // Prepare
    const input = aConfigInput({ sender: { attemptTimeoutSeconds: 60, leaseSeconds: 30 } }) as { institutions: Array<Record<string, unknown>> };
    input.institutions[0] = {
      ...input.institutions[0],
      id: 'Demo Library',
      bounceTo: 'not an address',
      transport: { kind: 'smtp', servers: [{ host: 'mail.example.org', port: 70000, tls: 'sometimes', allowNonsecure: true }] },
    };
    const dir = temporary.make('config-');
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(input));
    // Act
    const problems = problemsOf(() => loadConfig(join(dir, 'bad.json')));
    // Assess
    expect(problems).toEqual(
      expect.arrayContaining([
        'institutions[0].id: must be 1–40 lower-case letters, digits and inner hyphens',
        'institutions[0].bounceTo: must be an email address like name@example.org',
        expect.stringMatching(/^institutions\[0\]\.transport\.servers\[0\]\.port: /),
        expect.stringMatching(/^institutions\[0\]\.transport\.servers\[0\]\.tls: /),
        'institutions[0].transport.servers[0].allowNonsecure: is not a known field',
        expect.stringMatching(/^sender\.leaseSeconds: must be longer than sender\.attemptTimeoutSeconds/),
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it('refuses a batching window the sweep would take for lost doorbells', () => {
    // Act
    const problems = problemsOf(() => parseConfig(aConfigInput({ sender: { attemptTimeoutSeconds: 1, leaseSeconds: 2 } })));
    // Assess: the default window of 5 s is too long for a lease of 2 s, and the message names both keys
    expect(problems).toEqual([expect.stringMatching(/^sender\.batchingWindowSeconds: must be shorter than twice sender\.leaseSeconds \(4\)/)]);
  });

  it('refuses settings that contradict each other across fields', () => {
    // Prepare
    const input = aConfigInput() as { institutions: Array<Record<string, unknown>> };
    input.institutions[1] = { ...input.institutions[1], id: 'demo', apiKeys: (input.institutions[0] as { apiKeys: string[] }).apiKeys };
    input.institutions.push({ id: 'third', from: 'x@third.example.org', bounceTo: 'y@third.example.org', transport: { kind: 'ses', mailFromDomain: 'bounce.elsewhere.example.com' } });
    // Act
    const problems = problemsOf(() => parseConfig(input));
    // Assess
    expect(problems).toEqual([
      'institutions[2].apiKeys: needs at least one key in apiKeys or apiKeyHashes',
      'institutions[2].transport.mailFromDomain: must be a subdomain of the From domain third.example.org, or SPF will not align for DMARC',
      'institutions[1].id: repeats the id of institutions[0]',
      'institutions[1].apiKeys[0]: is also a key of demo: a key belongs to one institution',
    ]);
  });

  it('names a missing key together with the institution\'s other problems, not only once they are fixed', () => {
    // Prepare
    const input = aConfigInput() as { institutions: Array<Record<string, unknown>> };
    input.institutions.push({ id: 'third', name: 5, from: 'x@third.example.org', bounceTo: 'not an address', transport: { kind: 'ses' } });
    // Act
    const problems = problemsOf(() => parseConfig(input));
    // Assess
    expect(problems).toEqual(expect.arrayContaining(['institutions[2].bounceTo: must be an email address like name@example.org', 'institutions[2].apiKeys: needs at least one key in apiKeys or apiKeyHashes']));
  });

  it('refuses a DKIM key the signer could not use, which would send mail unsigned', () => {
    // Prepare: a key pasted with its line breaks as the two characters \n
    const input = aConfigInput() as { institutions: Array<Record<string, unknown>> };
    const pem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    input.institutions[0] = { ...input.institutions[0], transport: { kind: 'smtp', servers: [{ host: 'relay.example.org', port: 587 }], dkim: { selector: 'notices', privateKey: pem.replace(/\n/g, '\\n') } } };
    // Act
    const problems = problemsOf(() => parseConfig(input));
    // Assess
    expect(problems).toEqual([expect.stringMatching(/^institutions\[0\]\.transport\.dkim\.privateKey: cannot be read as a private key/)]);
  });

  it('refuses a key given to two institutions however it is written: as plain keys, as hashes, or one of each', () => {
    // Prepare
    const input = aConfigInput() as { institutions: Array<Record<string, unknown>> };
    const demoKey = (input.institutions[0] as { apiKeys: string[] }).apiKeys[0] as string;
    const otherKey = 'another-key-of-the-branch-0123';
    input.institutions[0] = { ...input.institutions[0], apiKeyHashes: [hashApiKey(otherKey)] };
    input.institutions[1] = { ...input.institutions[1], apiKeys: [otherKey], apiKeyHashes: [hashApiKey(demoKey)] };
    // Act
    const problems = problemsOf(() => parseConfig(input));
    // Assess
    expect(problems).toEqual([
      'institutions[1].apiKeys[0]: is also a key of demo: a key belongs to one institution',
      'institutions[1].apiKeyHashes[0]: is also a key of demo: a key belongs to one institution',
    ]);
  });

  it('reads the SMTP door: networks written canonically, closed on AWS and open to logins from anywhere unless told', () => {
    // Prepare
    const input = aConfigInput({ smtpSubmission: { enabled: true, hostName: 'Notices-SMTP.library.example.org' } }) as { institutions: Array<Record<string, unknown>> };
    input.institutions[0] = { ...input.institutions[0], smtpSubmission: { allowFrom: ['10.1.0.0/16', '192.0.2.7', '2001:DB8:0:0::/48'] } };
    // Act
    const config = parseConfig(input);
    const defaults = parseConfig(aConfigInput());
    // Assess
    expect(config.institutions[0]?.smtpSubmission).toEqual({ allowFrom: ['10.1.0.0/16', '192.0.2.7/32', '2001:db8::/48'] });
    expect(config.smtpSubmission).toEqual({ enabled: true, hostName: 'notices-smtp.library.example.org', loginFrom: ['0.0.0.0/0', '::/0'] });
    expect(defaults.smtpSubmission).toEqual({ enabled: false, loginFrom: ['0.0.0.0/0', '::/0'] });
    expect(defaults.institutions[0]?.smtpSubmission).toBeUndefined();
  });

  it('refuses a staff key that is also an API key, or a staff key of another institution', () => {
    // Prepare
    const input = aConfigInput() as { institutions: Array<Record<string, unknown>> };
    const demoApiKey = (input.institutions[0] as { apiKeys: string[] }).apiKeys[0] as string;
    const staffKey = 'a-staff-key-of-the-demo-library';
    input.institutions[0] = { ...input.institutions[0], consoleKeys: [staffKey, demoApiKey] };
    input.institutions[1] = { ...input.institutions[1], consoleKeyHashes: [hashApiKey(staffKey)] };
    // Act
    const problems = problemsOf(() => parseConfig(input));
    // Assess
    expect(problems).toEqual([
      'institutions[0].consoleKeys[1]: is also an API key of demo: a staff key must differ from every API key',
      'institutions[1].consoleKeyHashes[0]: is also a staff key of demo: a key belongs to one institution',
    ]);
  });

  it('refuses no-login networks that are malformed, too wide, or shared by two institutions, each by path', () => {
    // Prepare: the branch's campus range takes in the demo's ILS server
    const input = aConfigInput({ smtpSubmission: { loginFrom: ['10.0.0.0/33'] } }) as { institutions: Array<Record<string, unknown>> };
    input.institutions[0] = { ...input.institutions[0], smtpSubmission: { allowFrom: ['10.1.4.20', '10.1.2.3/16', 'ils.library.example.org', '0.0.0.0/0'] } };
    input.institutions[1] = { ...input.institutions[1], smtpSubmission: { allowFrom: ['172.16.0.0/12', '10.0.0.0/8'] } };
    // Act
    const problems = problemsOf(() => parseConfig(input));
    // Assess
    expect(problems).toEqual([
      'institutions[0].smtpSubmission.allowFrom[1]: has host bits set after the prefix: the network is 10.1.0.0/16',
      'institutions[0].smtpSubmission.allowFrom[2]: must be an IPv4 or IPv6 network like 10.1.0.0/16 or 2001:db8::/32, or one address',
      "institutions[0].smtpSubmission.allowFrom[3]: is wider than /8: a network whose connections need no login must be the ILS's own, not a large part of the internet",
      'smtpSubmission.loginFrom[0]: has a prefix longer than 32 bits',
    ]);
    // Once each network is well formed, the overlap is what remains.
    input.institutions[0] = { ...input.institutions[0], smtpSubmission: { allowFrom: ['10.1.4.20'] } };
    const fixed = aConfigInput() as { institutions: Array<Record<string, unknown>> };
    fixed.institutions = input.institutions;
    expect(problemsOf(() => parseConfig(fixed))).toEqual([
      'institutions[1].smtpSubmission.allowFrom[1]: overlaps 10.1.4.20/32 of demo (institutions[0].smtpSubmission.allowFrom[0]): a connection without a login must belong to one institution',
    ]);
  });

  it('knows the OAuth2 provider of Google’s and Microsoft’s hosts, and asks for it when the host does not tell', () => {
    // Prepare
    const withServer = (host: string, auth: Record<string, unknown>) => {
      const input = aConfigInput();
      input.institutions[0] = { ...input.institutions[0]!, transport: { kind: 'smtp', servers: [{ host, port: 587, auth: { type: 'oauth2', user: 'notices@library.example.org', clientId: 'id', ...auth } as never }] } };
      return input;
    };
    const providerOf = (host: string, auth: Record<string, unknown> = {}) => {
      const transport = parseConfig(withServer(host, auth)).institutions[0]?.transport;
      const server = transport?.kind === 'smtp' ? transport.servers[0] : undefined;
      return server?.auth && 'type' in server.auth ? server.auth.provider : undefined;
    };
    // Act, Assess
    expect(providerOf('smtp.office365.com')).toBe('microsoft');
    expect(providerOf('smtp-mail.outlook.com')).toBe('microsoft');
    expect(providerOf('smtp.gmail.com')).toBe('google');
    expect(providerOf('smtp-relay.gmail.com')).toBe('google');
    expect(providerOf('smtp.office365.com', { provider: 'custom', accessUrl: 'https://login.example.org/token' })).toBe('custom');
    expect(providerOf('mail.campus.example.edu', { accessUrl: 'https://login.example.org/token' })).toBe('custom');
    expect(problemsOf(() => parseConfig(withServer('mail.campus.example.edu', {})))).toEqual([
      'institutions[0].transport.servers[0].auth.provider: must be google or microsoft (or custom, with an accessUrl): mail.campus.example.edu does not tell which token endpoint to ask',
    ]);
  });

  it.each([
    ['a stray character', '{"institutions": [}', '(root): unexpected character at line 1, column 19'],
    ['a missing comma', '{"a": 1\n  "b": 2}', "(root): expected ',' or '}' after property value at line 2, column 3"],
    ['a cut-off file', '{"institutions": [', '(root): unexpected end of JSON input at line 1, column 19'],
    ['an unquoted password', '{\n  "auth": {"user": "relay",\n    "pass": Sup3r-S3cret-Pa55}}', '(root): unexpected character at line 3, column 13'],
    ['a trailing comma near the end', '{"institutions": [\n  { "apiKeys": ["x"] },\n  ]}', '(root): unexpected character at line 3, column 3'],
    ['a missing value early on', '{"a": {}, "b": }, "c": "a long enough tail"}', '(root): unexpected character at line 1, column 16'],
    ['a missing value in the middle', `{"a": 1, "b": 2, "padding": "${'x'.repeat(40)}", "c": }, "d": "${'y'.repeat(40)}"}`, '(root): unexpected character at line 1, column 78'],
    ['text after the JSON', '{"a": 1} x', '(root): unexpected non-whitespace character after JSON at line 1, column 10'],
    ['a line separator before a password', '{"auth": {"user": "relay", "pass":\u2028"S3cret"}}', '(root): unexpected character at line 1, column 35'],
  ])('says where a file stops being JSON (%s), without quoting it', (_, text, problem) => {
    // Prepare
    const dir = temporary.make('config-');
    writeFileSync(join(dir, 'broken.json'), text);
    // Act
    const run = () => loadConfig(join(dir, 'broken.json'));
    // Assess
    expect(run).toThrow(ConfigError);
    expect(problemsOf(run)).toEqual([problem]);
    expect(describeConfigError(errorOf(run))).not.toContain('S3cret');
  });

  it('says a missing file is missing', () => {
    expect(() => loadConfig('/nonexistent/config.json')).toThrow('cannot read /nonexistent/config.json: no such file');
  });

  it('formats a refusal as one line per problem', () => {
    // Prepare
    const error = new ConfigError('config.json is not valid (2 problems)', [
      { path: 'a', message: 'is wrong' },
      { path: 'b[0]', message: 'is missing' },
    ]);
    // Act / Assess
    expect(describeConfigError(error)).toBe('config.json is not valid (2 problems):\n  a: is wrong\n  b[0]: is missing');
  });
});

describe('Function: expandVariables', () => {
  it('replaces ${NAME} and ${NAME:-default}, and makes a whole-number placeholder a number', () => {
    // Act
    const expanded = expandVariables({ host: '${HOST:-localhost}', port: '${PORT}', url: 'http://${HOST:-x}:${PORT}/' }, { PORT: '2525' });
    // Assess
    expect(expanded).toEqual({ host: 'localhost', port: 2525, url: 'http://x:2525/' });
  });

  it('says what type a value should have', () => {
    expect(problemsOf(() => parseConfig({ ...aConfigInput(), retention: { days: '30' } }))).toEqual(['retention.days: must be a number, not a string']);
  });

  it('reports an unset variable by path', () => {
    // Act
    const problems = problemsOf(() => parseConfig({ ...aConfigInput(), retention: { days: '${DAYS}' } }, {}));
    // Assess
    expect(problems).toEqual(['retention.days: uses ${DAYS}, which is not set']);
  });
});
