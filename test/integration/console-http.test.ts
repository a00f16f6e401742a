// The console's HTTP contract without a browser: sessions and their cookie, CSRF on every action, the
// security headers, what each action changes, and that a patron's address stays out of URLs and logs.
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { makeConsoleHandler } from '../../lambdas/console/console-handler';
import { apiEvent, aNoticeInput } from '../support/factories';
import { BRANCH_STAFF_KEY, ConsoleClient, type ConsoleHarness, STAFF_KEY, startConsole, UNKNOWN_PATRON } from '../support/console';
import { recordingLog } from '../support/pipeline';
import { receivedFor } from '../support/smtp-relay';

jest.setTimeout(60_000);

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const log = recordingLog();
let harness: ConsoleHarness;

beforeAll(async () => {
  harness = await startConsole({ log });
});

afterAll(async () => {
  await harness?.stop();
});

const signedIn = async (institution = 'demo', key = STAFF_KEY) => {
  const client = new ConsoleClient(harness.url);
  const answer = await client.signIn(institution, key);
  expect(answer.status).toBe(303);
  return { client, csrf: await client.csrf() };
};

describe('Console: sessions', () => {
  it('sends a visitor without a session to sign in, and signs in with a staff key into a strict, expiring cookie', async () => {
    // Prepare
    const client = new ConsoleClient(harness.url);
    // Act
    const root = await client.get('/console');
    const activity = await client.get('/console/activity');
    const form = await client.get('/console/sign-in?institution=demo');
    const signIn = await client.post('/console/sign-in', { signin: ConsoleClient.fieldOf(form.body, 'signin') ?? '', institution: 'demo', key: STAFF_KEY });
    const after = await client.get('/console/activity');
    // Assess
    expect([root.status, root.location]).toEqual([303, '/console/sign-in']);
    expect([activity.status, activity.location]).toEqual([303, '/console/sign-in']);
    expect(form.status).toBe(200);
    expect(form.body).toContain('<label for="key">Staff key</label>');
    expect([signIn.status, signIn.location]).toEqual([303, '/console/activity']);
    const session = signIn.cookies.find((line) => line.startsWith('notice-relay-console='));
    expect(session).toMatch(/^notice-relay-console=[A-Za-z0-9_-]{43}; Path=\/console; Max-Age=28800; HttpOnly; SameSite=Strict$/);
    expect(after.status).toBe(200);
    expect(after.body).toContain('Demo Public Library');
    // Signing in again ends the session the browser had.
    const first = client.jar.get('notice-relay-console') as string;
    await client.signIn('demo', STAFF_KEY);
    const replay = await fetch(`${harness.url}/console/activity`, { redirect: 'manual', headers: { cookie: `notice-relay-console=${first}` } });
    expect(replay.status).toBe(303);
  });

  it('refuses a wrong key, an API key and a sign-in form that did not come from the console', async () => {
    // Prepare
    const client = new ConsoleClient(harness.url);
    const form = await client.get('/console/sign-in');
    const token = ConsoleClient.fieldOf(form.body, 'signin') ?? '';
    // Act
    const wrong = await client.post('/console/sign-in', { signin: token, institution: 'demo', key: 'not-the-staff-key-000' });
    const apiKey = await client.post('/console/sign-in', { signin: token, institution: 'demo', key: 'demo-key-0123456789' });
    const noToken = await client.post('/console/sign-in', { institution: 'demo', key: STAFF_KEY });
    const crossSite = await client.post('/console/sign-in', { signin: token, institution: 'demo', key: STAFF_KEY }, { origin: 'https://attacker.example' });
    // Assess
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('That library ID and staff key do not match.');
    expect(apiKey.status).toBe(401);
    expect([noToken.status, crossSite.status]).toEqual([403, 403]);
    for (const answer of [wrong, apiKey, noToken, crossSite]) expect(answer.cookies.some((line) => line.startsWith('notice-relay-console='))).toBe(false);
  });

  it('signs out: the cookie is cleared and the session is gone from the store, so the old cookie no longer works', async () => {
    // Prepare
    const { client, csrf } = await signedIn();
    const oldCookie = client.jar.get('notice-relay-console') as string;
    // Act
    const signOut = await client.post('/console/sign-out', { csrf });
    const replay = await fetch(`${harness.url}/console/activity`, { redirect: 'manual', headers: { cookie: `notice-relay-console=${oldCookie}` } });
    // Assess
    expect([signOut.status, signOut.location]).toEqual([303, '/console/sign-in?done=signed-out']);
    expect(signOut.cookies).toContain('notice-relay-console=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict');
    expect([replay.status, replay.headers.get('location')]).toEqual([303, '/console/sign-in?done=expired']);
  });

  it('sends the security headers of a mature web application with every page and asset', async () => {
    // Prepare
    const { client } = await signedIn();
    // Act
    const page = await client.get('/console/settings');
    const stylesheet = /href="(\/console\/assets\/console\.[0-9a-f]{12}\.css)"/.exec(page.body)?.[1] as string;
    const asset = await client.get(stylesheet);
    const missing = await client.get('/console/assets/console.000000000000.css');
    // Assess
    for (const answer of [page, asset]) {
      expect(answer.headers.get('content-security-policy')).toBe(CSP);
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
      expect(answer.headers.get('referrer-policy')).toBe('same-origin');
      expect(answer.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    }
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(missing.status).toBe(404);
    // No inline script or style for the policy to refuse: every script and style is a file of the console.
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=/i);
  });

  it('marks the cookies Secure, as __Host- cookies, and sends HSTS when the console is reached over HTTPS', async () => {
    // Prepare: what API Gateway hands the function (it answers HTTPS only), with the stage before the path
    const handler = makeConsoleHandler(harness.consoleDeps);
    const event = (path: string, extra: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent => {
      const base = apiEvent({ method: 'GET', path, key: null, headers: { 'X-Forwarded-Proto': 'https', Host: 'abc.execute-api.us-east-1.amazonaws.com' } });
      return { ...base, ...extra, requestContext: { ...base.requestContext, path: `/prod${path}`, identity: { sourceIp: '192.0.2.10' } } as APIGatewayProxyEvent['requestContext'] };
    };
    // Act
    const form = await handler(event('/console/sign-in'));
    const signInCookie = form.multiValueHeaders?.['set-cookie']?.[0] as string;
    const token = /name="signin" value="([^"]+)"/.exec(form.body)?.[1] as string;
    const signIn = await handler(
      event('/console/sign-in', {
        httpMethod: 'POST',
        headers: { 'X-Forwarded-Proto': 'https', Host: 'abc.execute-api.us-east-1.amazonaws.com', 'Content-Type': 'application/x-www-form-urlencoded', Cookie: String(signInCookie).split(';')[0] as string },
        body: new URLSearchParams({ signin: token, institution: 'demo', key: STAFF_KEY }).toString(),
      }),
    );
    // Assess
    expect(signInCookie).toMatch(/^__Host-notice-relay-sign-in=[^;]+; Path=\/; Max-Age=3600; HttpOnly; SameSite=Strict; Secure$/);
    expect(form.headers?.['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(form.body).toContain('href="/prod/console/assets/');
    expect([signIn.statusCode, signIn.headers?.location]).toEqual([303, '/prod/console/activity']);
    expect(signIn.multiValueHeaders?.['set-cookie']?.[0]).toMatch(/^__Host-notice-relay-console=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=28800; HttpOnly; SameSite=Strict; Secure$/);
  });
});

describe('Console: actions', () => {
  it('refuses every action without the session\'s CSRF token, or from another site, and changes nothing', async () => {
    // Prepare
    const { client, csrf } = await signedIn();
    const id = await harness.submit(aNoticeInput({ to: 'kept@example.org', sendAt: new Date(Date.now() + 86_400_000).toISOString() }));
    // Act
    const noToken = await client.post(`/console/notices/${id}/cancel`, {});
    const wrongToken = await client.post(`/console/notices/${id}/cancel`, { csrf: `${csrf}x` });
    const otherSession = await (await signedIn()).client.post(`/console/notices/${id}/cancel`, { csrf });
    const crossSite = await client.post(`/console/notices/${id}/cancel`, { csrf }, { origin: 'https://attacker.example' });
    const testServer = await client.post('/console/settings/test', {});
    const signOut = await client.post('/console/sign-out', {});
    // Assess
    for (const answer of [noToken, wrongToken, otherSession, crossSite, testServer, signOut]) {
      expect(answer.status).toBe(403);
      expect(answer.body).toContain('This form did not come from this console');
    }
    expect((await harness.pipeline.notice(id)).status).toBe('queued');
    expect((await client.get('/console/activity')).status).toBe(200);
  });

  it('cancels a notice still waiting through the same domain call as DELETE /v1/notices/{id}, saying it was done from the console', async () => {
    // Prepare
    const { client, csrf } = await signedIn();
    const id = await harness.submit(aNoticeInput({ to: 'cancel-me@example.org', sendAt: new Date(Date.now() + 86_400_000).toISOString() }));
    // Act
    const cancelled = await client.post(`/console/notices/${id}/cancel`, { csrf });
    const page = await client.get(cancelled.location?.replace(/^.*?\/console/, '/console') as string);
    const again = await client.post(`/console/notices/${id}/cancel`, { csrf });
    // Assess
    expect([cancelled.status, cancelled.location]).toEqual([303, `/console/notices/${id}?done=cancelled`]);
    expect(page.body).toContain('The notice is cancelled: it will not be sent.');
    expect(await harness.pipeline.notice(id)).toMatchObject({ status: 'cancelled', attempts: [expect.objectContaining({ outcome: 'cancelled', message: 'cancelled from the console before it was sent' })] });
    expect(again.status).toBe(303);
  });

  it('sends a failed notice again, to a corrected address, as a new notice linked both ways, once', async () => {
    // Prepare: a notice the patron's server refuses for good
    const { client, csrf } = await signedIn();
    const id = await harness.submit(aNoticeInput({ to: UNKNOWN_PATRON, subject: 'Hold ready: Dune', externalId: 'hold-77' }));
    await harness.pipeline.waitForStatus(id, ['failed']);
    // Act
    const resent = await client.post(`/console/notices/${id}/send-again`, { csrf, to: 'right-reader@example.org' });
    const newId = /\/console\/notices\/([0-9A-Z]{26})\?done=resent$/.exec(resent.location ?? '')?.[1] as string;
    const copy = await harness.pipeline.waitForStatus(newId, ['sent']);
    const twice = await client.post(`/console/notices/${id}/send-again`, { csrf });
    const notAddress = await client.post(`/console/notices/${newId}/send-again`, { csrf, to: 'not an address' });
    // Assess
    expect(resent.status).toBe(303);
    expect(copy).toMatchObject({ resentFrom: id, to: 'right-reader@example.org', externalId: 'hold-77', subject: 'Hold ready: Dune' });
    expect(await harness.pipeline.notice(id)).toMatchObject({ status: 'failed', resentAs: newId, attempts: expect.arrayContaining([expect.objectContaining({ outcome: 'resent', message: `sent again from the console as ${newId}` })]) });
    expect(receivedFor(harness.relay, 'right-reader@example.org')).toHaveLength(1);
    expect([twice.status, notAddress.status]).toEqual([409, 400]);
    expect(twice.body).toContain(`already sent again as ${newId}`);
    // The API shows the link too.
    const api = await harness.pipeline.api('GET', `/v1/notices/${id}`);
    expect(api.body).toMatchObject({ resentAs: newId, resentFrom: null });
  });

  it('exports what needs attention as CSV a spreadsheet cannot run', async () => {
    // Prepare
    const { client } = await signedIn();
    // An earlier test's refusal put the address on the suppression list: off it, so this notice is tried and fails.
    await harness.pipeline.api('DELETE', `/v1/suppressions/${encodeURIComponent(UNKNOWN_PATRON)}`);
    const id = await harness.submit(aNoticeInput({ to: UNKNOWN_PATRON, subject: '=HYPERLINK("https://attacker.example","Click")', externalId: '+SUM(1)' }));
    await harness.pipeline.waitForStatus(id, ['failed']);
    // Act
    const csv = await client.get('/console/attention.csv');
    // Assess
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="needs-attention-demo-\d{4}-\d\d-\d\d\.csv"$/);
    const row = csv.body.split('\r\n').find((line) => line.startsWith(`"${id}"`));
    expect(row).toContain(`"'=HYPERLINK(""https://attacker.example"",""Click"")"`);
    expect(row).toContain(`"'+SUM(1)"`);
    expect(row).toContain(`"The patron's email address does not exist."`);
  });

  it('runs the Test Server and keeps its result, which the settings page shows', async () => {
    // Prepare
    const { client, csrf } = await signedIn();
    // Act
    const tested = await client.post('/console/settings/test', { csrf, to: 'it-desk@library.example.org' });
    const page = await client.get('/console/settings');
    const bad = await client.post('/console/settings/test', { csrf, to: 'not an address' });
    // Assess
    expect([tested.status, tested.location]).toEqual([303, '/console/settings?done=tested#test-server']);
    expect(receivedFor(harness.relay, 'it-desk@library.example.org')).toHaveLength(1);
    expect(page.body).toMatch(/<dd id="last-tested-on"><time datetime="\d{4}-/);
    expect(page.body).toContain('<strong>Successful</strong>');
    expect(bad.status).toBe(400);
  });

  it('shows a paused transport and a refused login on Needs attention and on the settings page', async () => {
    // Prepare: the branch library (SES), whose relay asked to wait and whose login was refused
    const { client } = await signedIn('branch', BRANCH_STAFF_KEY);
    const until = new Date(Date.now() + 3_600_000);
    const states = harness.pipeline.functions.deps.sender.transportStates;
    const seen = await states.read('branch');
    await states.write('branch', seen.version, {
      set: {
        pause: { since: new Date().toISOString(), code: 'EQUOTA', reply: 'Throttling: Daily message quota exceeded.', server: 'ses', nextProbeAt: until.toISOString(), backoffSeconds: 3600, probes: 0 },
        lastAuthFailure: { at: new Date().toISOString(), server: 'ses', code: 'EAUTH', message: '535 5.7.8 Authentication credentials invalid' },
      },
    });
    // Act
    const attention = await client.get('/console/attention');
    const settings = await client.get('/console/settings');
    // Assess
    // The catalogue's words for the pause, its reply and the next check, as a clerk reads them.
    expect(attention.body).toContain('<strong>Sending is paused</strong> since <time');
    expect(attention.body).toContain("The library&#39;s daily sending limit was reached.");
    expect(attention.body).toContain(`The next check of the mail server is at <time datetime="${until.toISOString()}">`);
    expect(attention.body).toContain('Throttling: Daily message quota exceeded.');
    expect(attention.body).toContain("<strong>The mail server refused Notice Relay's login</strong>");
    expect(settings.body).toContain('<h2>How mail leaves: Amazon SES</h2>');
    expect(settings.body).toContain('<strong>paused</strong> since');
    expect(settings.body).toContain('<dt>Next check</dt>');
    expect(settings.body).toContain('<strong>not recovered</strong>');
  });

  it('keeps another library\'s notices out of sight', async () => {
    // Prepare
    const { client } = await signedIn('branch', BRANCH_STAFF_KEY);
    const id = await harness.submit(aNoticeInput({ to: 'demo-only@example.org' }));
    // Act
    const page = await client.get(`/console/notices/${id}`);
    // Assess
    expect(page.status).toBe(404);
    expect(page.body).not.toContain('demo-only@example.org');
  });
});

describe('Console: privacy', () => {
  it('finds notices by patron address through a form post, and no URL or log line carries the address', async () => {
    // Prepare
    const address = 'private.reader@example.org';
    const { client, csrf } = await signedIn();
    const id = await harness.submit(aNoticeInput({ to: address, subject: 'Overdue: Emma' }));
    await harness.pipeline.waitForStatus(id, ['sent']);
    const lines = log.lines.length;
    // Act
    const found = await client.post('/console/activity', { csrf, address: 'PRIVATE.reader@example.org', tz: '0' });
    const notice = await client.get(`/console/notices/${id}`);
    const viaGet = await client.get(`/console/activity?address=${encodeURIComponent(address)}`);
    // Assess
    expect(found.status).toBe(200);
    expect(found.body).toContain(`/console/notices/${id}`);
    expect(notice.body).toContain('Try 1: sent');
    // A search by GET is not one: its query string is ignored, and the latest notices are shown.
    expect(viaGet.body).toContain('<h2>Latest notices</h2>');
    expect(viaGet.body).not.toContain(`value="${address}"`);
    const everyUrl = [...found.body.matchAll(/(?:href|action)="([^"]*)"/g), ...notice.body.matchAll(/(?:href|action)="([^"]*)"/g)].map((m) => m[1]);
    expect(everyUrl.filter((url) => url?.includes('@'))).toEqual([]);
    expect(JSON.stringify(log.lines.slice(lines))).not.toContain('@');
  });
});

describe('Console: sign-in limits', () => {
  it('refuses every sign-in from an address that tried too many wrong keys, the right key too, with Retry-After', async () => {
    // Prepare
    const client = new ConsoleClient(harness.url);
    const form = await client.get('/console/sign-in');
    const token = ConsoleClient.fieldOf(form.body, 'signin') ?? '';
    // Wrong keys tried earlier in this file from 127.0.0.1 count too: try until refused, at most ten.
    const statuses: number[] = [];
    for (let i = 0; i < 10 && statuses.at(-1) !== 429; i++) statuses.push((await client.post('/console/sign-in', { signin: token, institution: 'demo', key: `wrong-${i}-0123456789` })).status);
    expect(statuses.filter((status) => status === 401).length).toBeGreaterThan(0);
    // Act
    const limited = await client.post('/console/sign-in', { signin: token, institution: 'demo', key: STAFF_KEY });
    // Assess
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body).toContain('Too many wrong keys were tried.');
  });
});
