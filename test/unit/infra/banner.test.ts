// What `npm start` prints: the demo's key but never a real one, and a warning before patron data
// crosses a network in plain text.
import { banner, type BannerFacts, DEMO_API_KEY, DEMO_STAFF_KEY } from '../../../infra/local/banner';
import { urlCoveredBy } from '../../../infra/local/tls';
import { aConfig, aConfigInput } from '../../support/factories';
import { makePrivateCa } from '../../support/tls';

/** A configuration whose first institution has the demo's published key, as config/local.json has. */
const demoConfig = () => {
  const input = aConfigInput();
  input.institutions[0] = { ...input.institutions[0]!, apiKeys: [DEMO_API_KEY], consoleKeys: [DEMO_STAFF_KEY] };
  return aConfig(input);
};

const runtime = (overrides: Partial<BannerFacts>): BannerFacts =>
  ({
    apiUrl: 'http://127.0.0.1:3000',
    mailViewerUrl: 'http://127.0.0.1:1080',
    config: demoConfig(),
    endpoints: { dynamodb: '', sqs: '', ses: '', smtpSink: { host: '127.0.0.1', port: 2525 } },
    api: { reachableFromOtherMachines: false, https: false },
    configPath: 'config/local.json',
    dataDir: '/srv/notice-relay/data',
    demoConfig: true,
    ...overrides,
  }) as BannerFacts;

describe('the start-up banner', () => {
  it("shows the committed demo configuration's key in a curl to paste", () => {
    const text = banner(runtime({}));
    expect(text).toContain(`API key        ${DEMO_API_KEY}`);
    expect(text).toContain(`-H 'Authorization: Bearer ${DEMO_API_KEY}'`);
    expect(text).toContain('accepted notices are kept in /srv/notice-relay/data (NOTICE_RELAY_DATA) across restarts');
    expect(text).not.toContain('Warning');
    // The API line is the base the examples of docs/integrator/api.md put in $API.
    expect(text).toContain('  API            http://127.0.0.1:3000   (OpenAPI: http://127.0.0.1:3000/v1/openapi.json)');
    expect(text).toContain('  Mail sink      SMTP on 127.0.0.1:2525');
  });

  it.each([
    ["the institution's own configuration", { config: aConfig(), demoConfig: false, configPath: '/etc/notice-relay/config.json' }],
    ['config/local.json given a key of its own', { config: aConfig(), configPath: 'config/local.json' }],
    ['a relay other machines use', { config: demoConfig(), api: { reachableFromOtherMachines: true, https: true }, configPath: 'config/local.json' }],
  ])('never shows a key of %s', (_, overrides) => {
    const { config } = overrides;
    const text = banner(runtime(overrides));
    for (const key of config.institutions.flatMap((inst) => inst.apiKeys ?? [])) expect(text).not.toContain(key);
    expect(text).toContain(`one of institution "${config.institutions[0]?.id}"'s keys in ${overrides.configPath} (not shown)`);
    expect(text).toContain("-H 'Authorization: Bearer <API key>'");
  });

  it("names the console's sign-in URL, with the demo staff key only for the committed demo on this machine", () => {
    const own = aConfigInput();
    own.institutions[0] = { ...own.institutions[0]!, consoleKeys: ['a-staff-key-of-our-own-0123'] };
    expect(banner(runtime({}))).toContain(`  Console        http://127.0.0.1:3000/console/sign-in?institution=demo   (staff key ${DEMO_STAFF_KEY})`);
    expect(banner(runtime({ api: { reachableFromOtherMachines: true, https: true } }))).not.toContain(DEMO_STAFF_KEY);
    const ownText = banner(runtime({ config: aConfig(own), demoConfig: false, configPath: '/etc/notice-relay/config.json' }));
    expect(ownText).toContain('(a staff key of "demo" in /etc/notice-relay/config.json (not shown))');
    expect(ownText).not.toContain('a-staff-key-of-our-own-0123');
    expect(banner(runtime({ config: aConfig(), demoConfig: false }))).toContain('  Console        http://127.0.0.1:3000/console   (no staff key is configured (consoleKeys))');
  });

  it.each([
    [{ reachableFromOtherMachines: true, https: false }, true],
    [{ reachableFromOtherMachines: true, https: true }, false],
    [{ reachableFromOtherMachines: false, https: false }, false],
  ])('warns of plain HTTP only when other machines can reach it: %o', (api, warned) => {
    expect(banner(runtime({ api })).includes('API keys and patron addresses cross the\nnetwork unencrypted')).toBe(warned);
  });
});

describe('the SMTP door in the banner', () => {
  const door = { host: '127.0.0.1', submissionPort: 2587, implicitTlsPort: 2465, certificate: 'made' as const };

  it('names its ports and how to log in, with a swaks command that logs in as the demo institution', () => {
    const text = banner(runtime({ smtpDoor: door }));
    expect(text).toContain('  SMTP door      127.0.0.1:2587 (STARTTLS) and 2465 (TLS)   (user: an institution id, password: one of its API keys; a certificate made at start, for this machine only)');
    expect(text).toContain(`  swaks --server 127.0.0.1:2587 --tls --auth-user demo --auth-password '${DEMO_API_KEY}' \\`);
    expect(text).toContain('    --from notices@library.example.org --to patron@example.org');
  });

  it('leaves the key out of the swaks command wherever it leaves it out of the curl', () => {
    const text = banner(runtime({ smtpDoor: { ...door, host: '0.0.0.0', certificate: 'given' }, api: { reachableFromOtherMachines: true, https: true } }));
    expect(text).not.toContain(DEMO_API_KEY);
    expect(text).toContain("--auth-password '<API key>'");
    // On every interface, the example still talks to this machine.
    expect(text).toContain('swaks --server 127.0.0.1:2587 --tls');
  });

  it('warns that a door without a certificate takes mail only from the networks that need no login', () => {
    const text = banner(runtime({ smtpDoor: { host: '0.0.0.0', submissionPort: 2587, certificate: 'none' }, api: { reachableFromOtherMachines: true, https: false } }));
    expect(text).toContain('SMTP door      127.0.0.1:2587 (STARTTLS)   (user: an institution id, password: one of its API keys; no certificate');
    expect(text).toContain('Warning: the SMTP door has no certificate, so it takes mail only without a login');
    expect(text).not.toContain('--tls');
  });
});

describe('the API URL under HTTPS', () => {
  const ca = makePrivateCa();

  it.each(['https://127.0.0.1:3443', 'https://localhost:3443'])('keeps an address the certificate covers: %s', (url) => {
    expect(urlCoveredBy(url, ca.issueServerCertificate().cert)).toBe(url);
  });

  it('names the certificate host for an IPv6 address it does not cover', () => {
    const { cert } = ca.issueServerCertificate(['relay.library.example.org']);
    expect(urlCoveredBy('https://[::1]:3443', cert)).toBe('https://relay.library.example.org:3443');
  });

  it("names the certificate's host when it does not cover the address listened on, so the curl verifies", () => {
    const { cert } = ca.issueServerCertificate(['relay.library.example.org', 'relay2.library.example.org']);
    expect(urlCoveredBy('https://127.0.0.1:3443', cert)).toBe('https://relay.library.example.org:3443');
  });
});
