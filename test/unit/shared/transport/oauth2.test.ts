import { DeliveryError } from '../../../../shared/errors';
import { type FetchLike, type OAuth2Settings, OAuth2Tokens, tokenEndpoint, tokenRequest } from '../../../../shared/transport/oauth2';
import { ManualClock } from '../../../support/clock';

const google: OAuth2Settings = { provider: 'google', user: 'notices@library.example.org', clientId: 'id', clientSecret: 'secret', refreshToken: 'refresh' };

/** A token endpoint that answers from a script, counting the requests. */
const endpoint = (answers: Array<{ status: number; body: unknown } | Error>) => {
  const calls: Array<{ url: string; body: string }> = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, body: init.body });
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)] as { status: number; body: unknown } | Error;
    if (answer instanceof Error) throw answer;
    return { ok: answer.status < 300, status: answer.status, json: async () => answer.body };
  };
  return { fetch, calls };
};

describe('Function: tokenEndpoint', () => {
  it('knows Google and the tenant of Microsoft 365, and lets accessUrl win', () => {
    expect(tokenEndpoint(google)).toBe('https://oauth2.googleapis.com/token');
    expect(tokenEndpoint({ ...google, provider: 'microsoft', tenantId: 'contoso.edu' })).toBe('https://login.microsoftonline.com/contoso.edu/oauth2/v2.0/token');
    expect(tokenEndpoint({ ...google, provider: 'microsoft' })).toBe('https://login.microsoftonline.com/organizations/oauth2/v2.0/token');
    expect(tokenEndpoint({ ...google, accessUrl: 'https://login.example.org/token' })).toBe('https://login.example.org/token');
    expect(() => tokenEndpoint({ ...google, provider: 'custom' })).toThrow('accessUrl');
  });
});

describe('Function: tokenRequest', () => {
  it.each([
    ['a Google refresh', google, { client_id: 'id', client_secret: 'secret', grant_type: 'refresh_token', refresh_token: 'refresh' }],
    ['a Microsoft 365 refresh', { ...google, provider: 'microsoft' as const }, { client_id: 'id', client_secret: 'secret', grant_type: 'refresh_token', refresh_token: 'refresh', scope: 'https://outlook.office.com/SMTP.Send offline_access' }],
    ['Microsoft 365 client credentials', { ...google, provider: 'microsoft' as const, refreshToken: undefined }, { client_id: 'id', client_secret: 'secret', grant_type: 'client_credentials', scope: 'https://outlook.office365.com/.default' }],
  ])('asks for %s', (_, settings, form) => {
    expect(Object.fromEntries(tokenRequest(settings))).toEqual(form);
  });
});

describe('Class: OAuth2Tokens', () => {
  it('fetches once and keeps the token until shortly before it expires', async () => {
    // Prepare
    const clock = new ManualClock('2030-01-01T00:00:00Z');
    const { fetch, calls } = endpoint([{ status: 200, body: { access_token: 'one', expires_in: 3600 } }, { status: 200, body: { access_token: 'two', expires_in: 3600 } }]);
    const tokens = new OAuth2Tokens({ fetch, clock });
    // Act
    const first = await Promise.all([1, 2, 3].map(() => tokens.accessToken('demo/0', 'mail.example.org:587', google)));
    clock.advanceSeconds(3500);
    const stillFirst = await tokens.accessToken('demo/0', 'mail.example.org:587', google);
    clock.advanceSeconds(60);
    const renewed = await tokens.accessToken('demo/0', 'mail.example.org:587', google);
    // Assess
    expect(first).toEqual(['one', 'one', 'one']);
    expect(stillFirst).toBe('one');
    expect(renewed).toBe('two');
    expect(calls).toHaveLength(2);
  });

  it('fetches anew after the relay refused the token', async () => {
    // Prepare
    const { fetch, calls } = endpoint([{ status: 200, body: { access_token: 'one', expires_in: 3600 } }, { status: 200, body: { access_token: 'two', expires_in: 3600 } }]);
    const tokens = new OAuth2Tokens({ fetch, clock: new ManualClock('2030-01-01T00:00:00Z') });
    await tokens.accessToken('demo/0', 'mail.example.org:587', google);
    // Act
    tokens.invalidate('demo/0');
    // Assess
    expect(await tokens.accessToken('demo/0', 'mail.example.org:587', google)).toBe('two');
    expect(calls).toHaveLength(2);
  });

  it('uses a refresh token the provider rotated', async () => {
    // Prepare
    const clock = new ManualClock('2030-01-01T00:00:00Z');
    const { fetch, calls } = endpoint([{ status: 200, body: { access_token: 'one', expires_in: 100, refresh_token: 'rotated' } }, { status: 200, body: { access_token: 'two', expires_in: 100 } }]);
    const tokens = new OAuth2Tokens({ fetch, clock });
    await tokens.accessToken('demo/0', 'mail.example.org:587', google);
    clock.advanceSeconds(100);
    // Act
    await tokens.accessToken('demo/0', 'mail.example.org:587', google);
    // Assess
    expect(new URLSearchParams(calls[1]!.body).get('refresh_token')).toBe('rotated');
  });

  it('uses a refresh token IT put in the secret after the one in use was revoked', async () => {
    // Prepare: the first token expires; the old refresh token is refused; IT replaces it
    const clock = new ManualClock('2030-01-01T00:00:00Z');
    const { fetch, calls } = endpoint([
      { status: 200, body: { access_token: 'one', expires_in: 100 } },
      { status: 400, body: { error: 'invalid_grant' } },
      { status: 200, body: { access_token: 'two', expires_in: 100 } },
    ]);
    const tokens = new OAuth2Tokens({ fetch, clock });
    await tokens.accessToken('demo/0', 'mail.example.org:587', google);
    clock.advanceSeconds(100);
    await expect(tokens.accessToken('demo/0', 'mail.example.org:587', google)).rejects.toThrow(/invalid_grant/);
    // Act
    const token = await tokens.accessToken('demo/0', 'mail.example.org:587', { ...google, refreshToken: 'replaced' });
    // Assess
    expect(token).toBe('two');
    expect(calls.map((call) => new URLSearchParams(call.body).get('refresh_token'))).toEqual(['refresh', 'refresh', 'replaced']);
  });

  it('keeps a rotated refresh token only while the configured one it came from stays', async () => {
    // Prepare: Microsoft rotates the token; then IT configures another
    const clock = new ManualClock('2030-01-01T00:00:00Z');
    const { fetch, calls } = endpoint([{ status: 200, body: { access_token: 'one', expires_in: 100, refresh_token: 'rotated' } }]);
    const tokens = new OAuth2Tokens({ fetch, clock });
    await tokens.accessToken('demo/0', 'mail.example.org:587', google);
    clock.advanceSeconds(100);
    await tokens.accessToken('demo/0', 'mail.example.org:587', google);
    clock.advanceSeconds(100);
    // Act
    await tokens.accessToken('demo/0', 'mail.example.org:587', { ...google, refreshToken: 'configured-anew' });
    // Assess
    expect(calls.map((call) => new URLSearchParams(call.body).get('refresh_token'))).toEqual(['refresh', 'rotated', 'configured-anew']);
  });

  it.each([
    ['a refused grant', { status: 400, body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } }, /refused the grant \(HTTP 400, invalid_grant: Token has been expired or revoked\.\)/],
    ['an answer without a token', { status: 200, body: {} }, /refused the grant \(HTTP 200, no error code\)/],
    ['an endpoint that does not answer', new Error('connect ECONNREFUSED'), /the token endpoint oauth2\.googleapis\.com did not answer/],
  ])('turns %s into a transient authentication failure naming the server', async (_, answer, message) => {
    // Prepare
    const tokens = new OAuth2Tokens({ fetch: endpoint([answer]).fetch, clock: new ManualClock('2030-01-01T00:00:00Z') });
    // Act
    const run = tokens.accessToken('demo/0', 'mail.example.org:587', google);
    // Assess
    await expect(run).rejects.toThrow(DeliveryError);
    await expect(run).rejects.toMatchObject({ verdict: 'transient', message: expect.stringMatching(message), scope: 'institution', facts: { code: 'EOAUTH2', server: 'mail.example.org:587' } });
  });

  it('keeps the secrets of a request the endpoint quotes back out of its refusal', async () => {
    // Prepare
    const settings = { ...google, clientSecret: 'GOCSPX-client-secret-value', refreshToken: '1//refresh-token-value' };
    const quoting = endpoint([{ status: 400, body: { error: 'invalid_request', error_description: `could not use ${tokenRequest(settings).toString()}` } }]);
    const tokens = new OAuth2Tokens({ fetch: quoting.fetch, clock: new ManualClock('2030-01-01T00:00:00Z') });
    // Act
    const refusal = (await tokens.accessToken('demo/0', 'mail.example.org:587', settings).catch((error: unknown) => error)) as DeliveryError;
    // Assess: the form quotes them URL-encoded, as a careless endpoint would
    expect(refusal.message).toContain('client_secret=[redacted]&grant_type=refresh_token&refresh_token=[redacted]');
    expect(refusal.message).not.toMatch(/client-secret-value|refresh-token-value/);
  });

  it('takes a secret out before shortening a long refusal, so that no part of it is left', async () => {
    // Prepare: the client secret straddles the 200th character of the description
    const settings = { ...google, clientSecret: 'GOCSPX-client-secret-value' };
    const description = `${'x'.repeat(190)} ${settings.clientSecret} and more`;
    const tokens = new OAuth2Tokens({ fetch: endpoint([{ status: 401, body: { error: 'invalid_client', error_description: description } }]).fetch, clock: new ManualClock('2030-01-01T00:00:00Z') });
    // Act
    const refusal = (await tokens.accessToken('demo/0', 'mail.example.org:587', settings).catch((error: unknown) => error)) as DeliveryError;
    // Assess
    expect(refusal.message).not.toContain('GOCS');
    expect(refusal.message).toContain(`${'x'.repeat(190)} [redacted`);
  });
});
