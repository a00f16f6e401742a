// Sending through Google Workspace, Microsoft 365 and campus relays: XOAUTH2 with a token endpoint,
// DKIM signing verified by mailauth, rate limits shared by concurrent senders, relay throttling, and the
// Test Server. Every server here is real and on 127.0.0.1.
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { generateKeyPairSync } from 'node:crypto';
import { freePort } from '../../infra/local/emulators';
import { startLocalRuntime } from '../../infra/local/runtime';
import type { SqsPoller } from '../../infra/local/sqs-poller';
import { dkimPublicKeyOf, dkimTxtValue } from '../../shared/dns/records';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { sendTestCommand } from '../../infra/cli/send-test';
import { createDeskDeps } from '../../shared/deps';
import { silentLog } from '../../shared/log';
import { makeDesk } from '../../shared/transport/desk';
import type { Transport } from '../../shared/transport/transport';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../support/clock';
import { aConfigInput, aNoticeInput } from '../support/factories';
import { runCli } from '../support/local-runtime';
import { FAST, fastConfig, type Pipeline, recordingLog, startPipeline } from '../support/pipeline';
import { type Relay, startRelay, startSilentServer } from '../support/smtp-relay';
import { startTokenEndpoint, type TokenEndpoint } from '../support/token-endpoint';
import { temporaryDirectories } from '../support/temp-dirs';

const temporary = temporaryDirectories();
afterAll(() => temporary.removeAll());

const CLIENT = { clientId: 'notice-relay-client', clientSecret: 'client-secret-value', refreshToken: 'refresh-token-value' };
/** The first log line `wanted` matches, once it is written: a sender may log a moment after the state a test waited for. */
const logLine = (log: ReturnType<typeof recordingLog>, wanted: (line: ReturnType<typeof recordingLog>['lines'][number]) => boolean) =>
  pipeline!.waitFor(async () => log.lines.find(wanted), 20_000, 'the log line');
const seconds = (from: string, to: string) => (new Date(to).getTime() - new Date(from).getTime()) / 1000;
/**
 * The notice once its first attempt is in its history. A refusal of the institution's setup holds the
 * notice without counting the attempt, so its attemptCount says nothing of it.
 */
const firstEntry = (pipeline: Pipeline, id: string) =>
  pipeline.waitFor(async () => {
    const found = await pipeline.notice(id);
    return found.attempts.length >= 1 ? found : undefined;
  }, 30_000, `notice ${id}'s first attempt in its history`);

let pipeline: Pipeline | undefined;
const stoppable: Array<{ stop(): Promise<void> }> = [];
const track = <T extends { stop(): Promise<void> }>(item: T): T => {
  stoppable.push(item);
  return item;
};

afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
  await Promise.all(stoppable.splice(0).map((item) => item.stop()));
});

const oauthServer = (relay: Relay, tokens: TokenEndpoint, auth: Record<string, unknown> = {}) => ({
  kind: 'smtp' as const,
  servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' as const, auth: { type: 'oauth2' as const, provider: 'google' as const, user: 'notices@library.example.org', ...CLIENT, accessUrl: tokens.url, ...auth } }],
});

describe('OAuth2 (XOAUTH2)', () => {
  it('fetches a token once for many messages, and again only after it expires', async () => {
    // Prepare: tokens live an hour, as Google's do, and are renewed a minute early; the pipeline's clock
    // moves only when the test moves it, so the hour passes without waiting for it
    const valid = new Set<string>();
    const tokens = track(await startTokenEndpoint({ ...CLIENT, expiresIn: 3600, issued: valid }));
    const relay = track(await startRelay({ oauth2: { user: 'notices@library.example.org', validTokens: valid } }));
    const clock = new ManualClock(new Date());
    pipeline = await startPipeline(fastConfig(oauthServer(relay, tokens)), { clock });
    const sendAndWait = async (to: string[]) => {
      const wanted = relay.received.length + to.length;
      const answer = await pipeline!.submit({ notices: to.map((address) => aNoticeInput({ to: address })) });
      await pipeline!.waitFor(async () => relay.received.length >= wanted || undefined, 30_000, `${wanted} messages at the relay`);
      return answer;
    };
    // Act: three messages at once, one more a second before the token is due for renewal, one more after
    const first = await sendAndWait(['a@example.org', 'b@example.org', 'c@example.org']);
    const afterFirst = tokens.requests.length;
    clock.advanceSeconds(3600 - 60 - 1);
    await sendAndWait(['d@example.org']);
    const beforeRenewal = tokens.requests.length;
    clock.advanceSeconds(2);
    await sendAndWait(['e@example.org']);
    // Assess
    expect(first.status).toBe(202);
    expect(afterFirst).toBe(1);
    expect(beforeRenewal).toBe(1);
    expect(tokens.requests).toHaveLength(2);
    expect(tokens.requests[0]).toEqual({ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, grant_type: 'refresh_token', refresh_token: CLIENT.refreshToken });
    expect(relay.received.map((r) => r.user)).toEqual(Array(5).fill('notices@library.example.org'));
  }, 60_000);

  it('uses the client-credentials grant of Microsoft 365 with the SMTP scope', async () => {
    // Prepare
    const valid = new Set<string>();
    const tokens = track(await startTokenEndpoint({ ...CLIENT, refreshToken: undefined, expiresIn: 3600, issued: valid }));
    const relay = track(await startRelay({ oauth2: { user: 'notices@library.example.org', validTokens: valid } }));
    pipeline = await startPipeline(fastConfig(oauthServer(relay, tokens, { provider: 'microsoft', tenantId: 'library-tenant', refreshToken: undefined })));
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    await pipeline.waitForStatus(body.id, ['sent']);
    // Assess
    expect(tokens.requests).toEqual([{ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, grant_type: 'client_credentials', scope: 'https://outlook.office365.com/.default' }]);
  });

  it("shows a refused grant at once: the notice held, not failed, an ERROR line, and GET /v1/transport paused", async () => {
    // Prepare
    const valid = new Set<string>();
    const tokens = track(await startTokenEndpoint({ ...CLIENT, expiresIn: 3600, issued: valid }));
    tokens.revoke();
    const relay = track(await startRelay({ oauth2: { user: 'notices@library.example.org', validTokens: valid } }));
    const log = recordingLog();
    pipeline = await startPipeline(fastConfig(oauthServer(relay, tokens)), { log });
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    const held = await firstEntry(pipeline, body.id);
    const transport = await pipeline.api('GET', '/v1/transport');
    // Assess: held with no attempt counted, the institution paused
    expect(held.attempts[0]).toMatchObject({ outcome: 'transient', status: 'queued', code: 'EOAUTH2', server: `127.0.0.1:${relay.port}` });
    expect(held.attempts[0]?.message).toMatch(/^OAuth2 for 127\.0\.0\.1:\d+: the token endpoint refused the grant \(HTTP 400, invalid_grant: Token has been expired or revoked\.\)/);
    expect((await logLine(log, (line) => line.level === 'error' && line.message === 'transport paused'))?.attributes).toMatchObject({ code: 'EOAUTH2', institution: 'demo' });
    expect(transport.body.lastAuthFailure).toMatchObject({ server: `127.0.0.1:${relay.port}`, code: 'EOAUTH2', recoveredAt: null });
    expect(transport.body).toMatchObject({ state: 'paused', paused: { code: 'EOAUTH2', server: `127.0.0.1:${relay.port}` } });
    expect(JSON.stringify(transport.body)).not.toContain(CLIENT.clientSecret);
    expect(JSON.stringify(transport.body)).not.toContain(CLIENT.refreshToken);
    expect(relay.received).toHaveLength(0);
  });

  it("records a token endpoint that hangs as a failed attempt within the attempt's deadline, not a lapsed lease", async () => {
    // Prepare: a token endpoint that takes the request and never answers. Attempts have 2 s, shorter than the
    // endpoint's own 10 s, so only the attempt's deadline can end the wait; leases have 20 s, so a busy machine
    // recording the outcome late is not mistaken for a lapsed lease.
    const hung = track(await startSilentServer());
    const relay = track(await startRelay({ oauth2: { user: 'notices@library.example.org', validTokens: new Set() } }));
    const log = recordingLog();
    const leaseSeconds = 20;
    pipeline = await startPipeline(fastConfig(oauthServer(relay, { url: `http://127.0.0.1:${hung.port}/token` } as TokenEndpoint), { sender: { ...FAST.sender, attemptTimeoutSeconds: 2, leaseSeconds } }), { log });
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    const held = await firstEntry(pipeline, body.id);
    // Assess
    expect(held.attempts[0]).toMatchObject({ outcome: 'transient', code: 'EOAUTH2', message: expect.stringMatching(/the token endpoint did not answer before the attempt's deadline$/) });
    expect(held.attempts.some((entry) => entry.outcome === 'lease-expired')).toBe(false);
    expect(seconds(held.attempts[0]!.startedAt!, held.attempts[0]!.at)).toBeLessThan(leaseSeconds);
    expect(await logLine(log, (line) => line.message === 'transport paused')).toMatchObject({ level: 'error' });
  }, 60_000);

  it('shows a relay that wants a login it was not given (530) as the setup refusing mail, not a refused notice', async () => {
    // Prepare: the relay takes mail only after a login; the configuration gives none
    const relay = track(await startRelay({ auth: { user: 'relay', pass: 'relay-password' } }));
    const log = recordingLog();
    pipeline = await startPipeline(fastConfig({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }] }), { log });
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    const held = await firstEntry(pipeline, body.id);
    const transport = await pipeline.api('GET', '/v1/transport');
    // Assess
    expect(held.attempts[0]).toMatchObject({ outcome: 'transient', status: 'queued', code: 'EAUTHREQUIRED', responseCode: 530, server: `127.0.0.1:${relay.port}` });
    expect((await logLine(log, (line) => line.level === 'error' && line.message === 'transport paused'))?.attributes).toMatchObject({ code: 'EAUTHREQUIRED', institution: 'demo' });
    expect(transport.body.lastAuthFailure).toMatchObject({ server: `127.0.0.1:${relay.port}`, code: 'EAUTHREQUIRED', recoveredAt: null });
    expect(relay.received).toHaveLength(0);
  });

  it('fetches a new token when the relay refuses the one it holds', async () => {
    // Prepare: the relay forgets the first token it was given; the refusal pauses sending until a probe, with a new token, works
    const valid = new Set<string>();
    const tokens = track(await startTokenEndpoint({ ...CLIENT, expiresIn: 3600, issued: valid }));
    const relay = track(await startRelay({ oauth2: { user: 'notices@library.example.org', validTokens: valid } }));
    pipeline = await startPipeline(fastConfig(oauthServer(relay, tokens)));
    const { body } = await pipeline.submit(aNoticeInput({ to: 'first@example.org' }));
    await pipeline.waitForStatus(body.id, ['sent']);
    valid.clear();
    // Act
    const second = await pipeline.submit(aNoticeInput({ to: 'second@example.org' }));
    const sent = await pipeline.waitForStatus(second.body.id, ['sent']);
    // Assess
    expect(sent.attempts.map((a) => [a.outcome, a.code])).toEqual([
      ['transient', 'EAUTH'],
      ['sent', undefined],
    ]);
    expect(tokens.requests).toHaveLength(2);
    expect((await pipeline.api('GET', '/v1/transport')).body.lastAuthFailure).toMatchObject({ code: 'EAUTH', recoveredAt: expect.any(String) });
  }, 60_000);
});

describe('DKIM through any relay', () => {
  it.each([
    ['missing (as after a first deployment)', () => '', 'ENOAUTH', 'no DKIM private key for DKIM selector notices'],
    ['cut short', () => '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n-----END PRIVATE KEY-----\n', 'EDKIMKEY', 'cannot be read as a private key'],
    ['not RSA', () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'EDKIMKEY', 'is an ed25519 key'],
  ])('sends nothing unsigned when signing is configured and its key is %s, and says so at once', async (_, key, code, message) => {
    // Prepare: a selector, and the key the institution's secret holds
    const relay = track(await startRelay());
    const log = recordingLog();
    const config = fastConfig({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }], dkim: { selector: 'notices' } });
    const dkimPrivateKey = key();
    pipeline = await startPipeline(config, { log, decorate: { sender: (deps) => ({ ...deps, transports: { ...deps.transports, secrets: { forInstitution: async () => ({ dkimPrivateKey }) } } }) } });
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    const held = await firstEntry(pipeline, body.id);
    // Assess: held, not failed, and the institution paused until the key can sign
    expect(held.attempts[0]).toMatchObject({ outcome: 'transient', status: 'queued', code, message: expect.stringContaining(message) });
    expect(await logLine(log, (line) => line.message === 'transport paused')).toMatchObject({ level: 'error', attributes: expect.objectContaining({ code }) });
    expect(relay.received).toHaveLength(0);
  });

  it('signs relayed mail on the From domain, so mailauth verifies it: pass, d= the From domain', async () => {
    // Prepare
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const relay = track(await startRelay());
    pipeline = await startPipeline(fastConfig({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }], dkim: { selector: 'notices', privateKey: pem } }));
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    await pipeline.waitForStatus(body.id, ['sent']);
    const txt = dkimTxtValue(dkimPublicKeyOf(pem));
    const lookups: string[] = [];
    const result = await dkimVerify(relay.received[0]!.raw, {
      resolver: async (name: string, type: string) => {
        lookups.push(`${type} ${name}`);
        if (type === 'TXT' && name === 'notices._domainkey.library.example.org') return [[txt]];
        throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      },
    });
    // Assess
    expect(lookups).toContain('TXT notices._domainkey.library.example.org');
    expect(result.results[0]).toMatchObject({ signingDomain: 'library.example.org', selector: 'notices', status: { result: 'pass' } });
  });
});

describe('Rate limits', () => {
  it('never exceeds maxPerMinute in any 60 s window across two concurrent senders, and loses no notice', async () => {
    // Prepare: 40 a minute, 50 notices, the pipeline's poller and a second sender of its own
    const relay = track(await startRelay());
    const config = fastConfig(
      { kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }], maxPerMinute: 40 },
      { retry: { ...FAST.retry!, maxAgeSeconds: 600 }, sender: { ...FAST.sender, concurrency: 2 } },
    );
    pipeline = await startPipeline(config);
    const secondSender = await startLocalRuntime({
      config,
      resources: { dynamodb: pipeline.table.url, sqs: pipeline.queue.url, tableName: pipeline.table.tableName, queueUrl: pipeline.queue.queueUrl },
      overrides: { random: Math.random, log: silentLog },
      hosting: { sender: true },
    });
    const second = secondSender.poller as SqsPoller;
    track({ stop: () => secondSender.stop() });
    // Act
    const { body } = await pipeline.submit({ notices: Array.from({ length: 50 }, (_, i) => aNoticeInput({ to: `patron${i}@example.org` })) });
    await pipeline.waitFor(async () => relay.received.length >= 50 || undefined, 120_000, '50 messages at the relay');
    // Every outcome recorded: a notice sent twice would have reached the relay before its second record.
    const ids = body.notices.map((n: { id: string }) => n.id);
    const states = await pipeline.waitFor(
      async () => {
        const found = await pipeline!.deps.store.getNotices(ids);
        return [...found.values()].every((n) => n.status === 'sent') ? found : undefined;
      },
      30_000,
      'every notice recorded as sent',
    );
    // Assess
    const times = relay.received.map((r) => r.at.getTime()).sort((a, b) => a - b);
    const busiest = Math.max(...times.map((start) => times.filter((t) => t >= start && t < start + 60_000).length));
    console.log(`maxPerMinute 40, two senders: the busiest 60 s window at the relay held ${busiest} messages; ${second.stats().invocations} batches ran in the second sender`);
    expect(busiest).toBeLessThanOrEqual(40);
    expect(new Set(relay.received.map((r) => r.parsed.messageId)).size).toBe(50);
    expect(relay.received).toHaveLength(50);
    expect([...states.values()].every((n) => n.status === 'sent' && n.attemptCount === 1)).toBe(true);
    expect([...states.values()].filter((n) => n.attempts.some((a) => a.outcome === 'deferred')).length).toBeGreaterThan(0);
    expect(second.stats().invocations).toBeGreaterThan(0);
  }, 150_000);

  it("pauses the institution when the relay answers 421 4.3.2, and shows the pause", async () => {
    // Prepare: the relay throttles until the test has seen the pause, so no probe can end it before it is read
    let throttling = true;
    const relay = track(await startRelay({ onRcptTo: () => (throttling ? { code: 421, message: '4.3.2 Too many connections, slow down' } : undefined) }));
    pipeline = await startPipeline(fastConfig({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }] }, { retry: { ...FAST.retry!, shortDelaySeconds: [3, 3] } }));
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    await firstEntry(pipeline, body.id);
    const transport = await pipeline.api('GET', '/v1/transport');
    throttling = false;
    const sent = await pipeline.waitForStatus(body.id, ['sent']);
    // Assess: the throttled attempt held the notice without counting; the probe sent it
    expect(transport.body).toMatchObject({ state: 'paused', paused: { code: 'ETHROTTLED' }, pausedUntil: expect.any(String), pauseReason: `ETHROTTLED from 127.0.0.1:${relay.port}` });
    expect(sent.attempts[0]).toMatchObject({ outcome: 'transient', code: 'ETHROTTLED', responseCode: 421, enhancedStatus: '4.3.2' });
    expect(sent.attemptCount).toBe(1);
  }, 30_000);
});

describe('Test Server', () => {
  it('sends through each server in turn, records the result, and GET /v1/transport shows it without a secret', async () => {
    // Prepare: a working primary with a login, a backup that refuses connections
    const primary = track(await startRelay({ auth: { user: 'relay', pass: 'relay-password-value' } }));
    const closed = await freePort();
    pipeline = await startPipeline(
      fastConfig({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: primary.port, tls: 'none', auth: { user: 'relay', pass: 'relay-password-value' } }, { host: '127.0.0.1', port: closed, tls: 'none' }] }),
    );
    // Act
    const tested = await pipeline.api('POST', '/v1/transport/test', { to: 'it@library.example.org' });
    const status = await pipeline.api('GET', '/v1/transport');
    // Assess
    expect(tested.status).toBe(200);
    expect(tested.body).toEqual({ lastTestedAt: expect.any(String), lastTestResult: expect.objectContaining({ ok: true, server: `127.0.0.1:${primary.port}`, reply: expect.stringMatching(/^250 /), to: 'it@library.example.org' }) });
    expect(tested.body.lastTestResult.servers).toEqual([
      { server: `127.0.0.1:${primary.port}`, ok: true, reply: expect.stringMatching(/^250 /) },
      { server: `127.0.0.1:${closed}`, ok: false, reply: expect.stringMatching(/ECONNREFUSED/) },
    ]);
    expect(primary.received[0]?.parsed.subject).toBe(`Notice Relay test: Demo Public Library through 127.0.0.1:${primary.port}`);
    expect(status.body).toMatchObject({ kind: 'smtp', ...tested.body, servers: [{ auth: 'password', user: 'relay', privateCa: false }, { auth: 'none' }] });
    expect(JSON.stringify(status.body)).not.toContain('relay-password-value');
  });

  it('reports a failing relay, and the test goes to testTo when no address is given', async () => {
    // Prepare
    const refusing = track(await startRelay({ onRcptTo: () => ({ code: 550, message: '5.7.1 Relaying denied' }) }));
    pipeline = await startPipeline(fastConfig({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: refusing.port, tls: 'none' }] }));
    // Act
    const tested = await pipeline.api('POST', '/v1/transport/test');
    // Assess
    // The server named is the one whose reply is given: the last tried, as none took the message.
    expect(tested.body.lastTestResult).toMatchObject({ ok: false, server: `127.0.0.1:${refusing.port}`, reply: expect.stringContaining('Relaying denied'), to: 'it@library.example.org' });
    expect((await pipeline.api('GET', '/v1/transport')).body).toMatchObject(tested.body);
  });

  it('shares its time among the servers, so a relay that stalls cannot make it outlive the request', async () => {
    // Prepare: both relays greet, then hold every message for a minute. The desk's clock moves only when
    // the test moves it: each server's try takes until the deadline it was given, as a stalled relay makes it.
    const stalling = [track(await startRelay({ dataDelayMs: 60_000 })), track(await startRelay({ dataDelayMs: 60_000 }))];
    const config = fastConfig({ kind: 'smtp', servers: stalling.map((relay) => ({ host: '127.0.0.1', port: relay.port, tls: 'none' as const })) }, { sender: { ...FAST.sender, attemptTimeoutSeconds: 60, leaseSeconds: 180 } });
    const clock = new ManualClock('2030-01-01T00:00:00Z');
    const deadlines: string[] = [];
    const givenUntilDeadline = (transport: Transport): Transport => ({
      kind: transport.kind,
      send: async (message, options) => {
        deadlines.push(options.deadline.toISOString());
        try {
          return await transport.send(message, options);
        } finally {
          clock.set(options.deadline);
        }
      },
      close: () => transport.close(),
    });
    const deskDeps = createDeskDeps({}, config, recordingLog());
    track({ stop: async () => deskDeps.close() });
    const desk = makeDesk({ ...deskDeps, clock, transports: { ...deskDeps.transports, clock, decorate: givenUntilDeadline }, budgetSeconds: 6 });
    // Act
    const { lastTestedAt, lastTestResult: result } = await desk.test(config.institutions[0]!, 'it@library.example.org');
    // Assess: each had half of the 6 s, and the answer came at the budget's end, well before a gateway's 29 s
    expect(deadlines).toEqual(['2030-01-01T00:00:03.000Z', '2030-01-01T00:00:06.000Z']);
    expect(lastTestedAt).toBe('2030-01-01T00:00:06.000Z');
    expect(result.ok).toBe(false);
    expect(result.servers).toEqual(stalling.map((relay) => ({ server: `127.0.0.1:${relay.port}`, ok: false, reply: expect.stringMatching(/deadline passed/) })));
  }, 30_000);

  it('logs a refused login during a test as the alarm expects, and records it', async () => {
    // Prepare
    const relay = track(await startRelay({ auth: { user: 'relay', pass: 'the-right-password' } }));
    const log = recordingLog();
    pipeline = await startPipeline(fastConfig({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none', auth: { user: 'relay', pass: 'a-wrong-password' } }] }), { log });
    // Act
    const tested = await pipeline.api('POST', '/v1/transport/test');
    // Assess
    expect(tested.body.lastTestResult).toMatchObject({ ok: false, servers: [{ ok: false, reply: expect.stringMatching(/535/) }] });
    expect(await logLine(log, (line) => line.message === 'transport authentication failed')).toMatchObject({ level: 'error', attributes: { institution: 'demo', server: `127.0.0.1:${relay.port}`, test: true } });
    expect((await pipeline.api('GET', '/v1/transport')).body.lastAuthFailure).toMatchObject({ server: `127.0.0.1:${relay.port}`, code: 'EAUTH' });
    expect(JSON.stringify(log.lines)).not.toContain('a-wrong-password');
  });

  it('reads a deployed configuration’s password from the institution’s secret with --secret', async () => {
    // Prepare: the password is not in the file, as on AWS; Secrets Manager answers with it
    const relay = track(await startRelay({ auth: { user: 'relay', pass: 'password-from-the-secret' } }));
    const secrets = mockClient(SecretsManagerClient);
    secrets.on(GetSecretValueCommand, { SecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:notice-relay/demo' }).resolves({ SecretString: JSON.stringify({ servers: [{ pass: 'password-from-the-secret' }] }) });
    const dir = temporary.make('send-test-');
    const config = aConfigInput();
    config.institutions[0] = { ...config.institutions[0]!, transport: { kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none', auth: { user: 'relay' } }] } };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const lines: string[] = [];
    const output = { out: (text: string) => lines.push(text), err: (text: string) => lines.push(text) };
    try {
      // Act
      const without = await sendTestCommand(['--config', join(dir, 'config.json'), '--institution', 'demo'], output, {});
      const withSecret = await sendTestCommand(['--config', join(dir, 'config.json'), '--institution', 'demo', '--secret', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:notice-relay/demo'], output, {});
      // Assess
      expect(without).toBe(1);
      expect(withSecret).toBe(0);
      expect(relay.received).toHaveLength(1);
      expect(lines.join('\n')).not.toContain('password-from-the-secret');
    } finally {
      secrets.restore();
    }
  });

  it('records a send-test run in the deployment’s table with --table, where GET /v1/transport shows it', async () => {
    // Prepare: a deployment (its table) and the same configuration in a file on IT's machine
    const relay = track(await startRelay());
    pipeline = await startPipeline(fastConfig({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }] }));
    const dir = temporary.make('send-test-');
    const config = aConfigInput();
    config.institutions[0] = { ...config.institutions[0]!, transport: { kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }] } };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const lines: string[] = [];
    const output = { out: (text: string) => lines.push(text), err: (text: string) => lines.push(text) };
    const env = { NOTICE_RELAY_DYNAMODB_ENDPOINT: pipeline.table.url };
    const args = ['--config', join(dir, 'config.json'), '--institution', 'demo', '--to', 'desk@library.example.org'];
    // Act
    const recorded = await sendTestCommand([...args, '--table', pipeline.table.tableName], output, env);
    const status = await pipeline.api('GET', '/v1/transport');
    const misnamed = await sendTestCommand([...args, '--table', 'no-such-table'], output, env);
    // Assess: the second test was sent and printed, but says it was not recorded, and exits 1
    expect(recorded).toBe(0);
    expect(status.body).toMatchObject({ lastTestResult: { ok: true, server: `127.0.0.1:${relay.port}`, to: 'desk@library.example.org' } });
    expect(lines).toContain(`Recorded in table ${pipeline.table.tableName}: GET /v1/transport shows it as lastTestedAt ${status.body.lastTestedAt}.`);
    expect(misnamed).toBe(1);
    expect(relay.received).toHaveLength(2);
    expect(lines.filter((line) => line.startsWith('OK: '))).toHaveLength(2);
    expect(lines.at(-1)).toMatch(/^Not recorded in table no-such-table: ResourceNotFoundException/);
    expect((await pipeline.api('GET', '/v1/transport')).body.lastTestedAt).toBe(status.body.lastTestedAt);
  });

  it('runs from the command line too: notice-relay send-test', async () => {
    // Prepare
    const relay = track(await startRelay());
    const dir = temporary.make('send-test-');
    const config = aConfigInput();
    config.institutions[0] = { ...config.institutions[0]!, transport: { kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }] } };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    // Act
    const result = await runCli(['send-test', '--config', join(dir, 'config.json'), '--institution', 'demo', '--to', 'desk@library.example.org']);
    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`✔ 127.0.0.1:${relay.port} — 250 `);
    expect(result.stdout).toContain(`OK: 127.0.0.1:${relay.port} took the message.`);
    expect(relay.received[0]?.envelope.to).toEqual(['desk@library.example.org']);
  }, 60_000);
});

