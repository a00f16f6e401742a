// Webhooks, the suppression list and the ILS end to end: intake → sender → webhook queue → webhook function
// → a receiver on 127.0.0.1; SES feedback and the API putting addresses on the list and taking them off.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordFeedback, type SesEventRecord } from '../../shared/delivery/feedback';
import { NOTICE_ID_TAG } from '../../shared/transport/transport';
import { verifySignature } from '../../shared/webhooks/signature';
import { aNoticeInput } from '../support/factories';
import { fastConfig, type Pipeline, startPipeline } from '../support/pipeline';
import { receivedFor, type Relay, type RelayOptions, startRelay } from '../support/smtp-relay';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const SECRET = 'test-webhook-secret-0123456789abcdef';
const PATRON = 'patron@example.org';
const smtp = (port: number) => ({ kind: 'smtp' as const, servers: [{ host: '127.0.0.1', port, tls: 'none' as const }] });
const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, '..', 'support', 'fixtures', 'ses-events', name), 'utf8')) as { detail: SesEventRecord };

let pipeline: Pipeline | undefined;
let relay: Relay | undefined;
let receiver: WebhookReceiver | undefined;

afterEach(async () => {
  // The receiver first: it lets go of any post it holds, so the webhook function can stop.
  await receiver?.stop();
  await pipeline?.stop();
  await relay?.stop();
  pipeline = relay = receiver = undefined;
});

/** A pipeline whose demo institution sends to a relay and posts every event to the receiver. */
const start = async (options: { timeoutSeconds?: number; relay?: RelayOptions } = {}) => {
  relay = await startRelay(options.relay);
  receiver = await startWebhookReceiver();
  const config = fastConfig(smtp(relay.port));
  config.retry.webhooks = { firstDelaySeconds: 1, longestDelaySeconds: 2, giveUpAfterSeconds: 60 };
  const demo = config.institutions[0]!;
  config.institutions[0] = { ...demo, webhooks: [{ url: receiver.url, events: ['notice.sent', 'notice.failed', 'notice.suppressed', 'notice.bounced', 'notice.cancelled'], secret: SECRET, allowPrivateNetwork: false, timeoutSeconds: options.timeoutSeconds ?? 10 }] };
  pipeline = await startPipeline(config, { webhooks: true });
  return { relay, receiver, pipeline };
};

const eventsOf = (hooks: WebhookReceiver, noticeId: string) =>
  hooks.received
    .map((request) => ({ request, event: JSON.parse(request.body) as { id: string; type: string; sequence: number; notice: { id: string; lastReply?: string } } }))
    .filter(({ event }) => event.notice.id === noticeId);

/** The first event of `type` the receiver got for the notice, once it has come. */
const eventOf = (p: Pipeline, hooks: WebhookReceiver, noticeId: string, type: string) =>
  p.waitFor(async () => eventsOf(hooks, noticeId).find(({ event }) => event.type === type), 30_000, type);

describe('Webhooks', () => {
  it('posts a signed notice.sent that the receiver verifies, with the notice and never its body', async () => {
    // Prepare
    const { receiver: hooks, pipeline: p } = await start();
    // Act
    const { body } = await p.submit(aNoticeInput({ externalId: 'loan-42', type: 'overdue', text: 'Please return The Hobbit.' }));
    await p.waitForStatus(body.id, ['sent']);
    const [posted] = await p.waitFor(async () => (eventsOf(hooks, body.id).length ? eventsOf(hooks, body.id) : undefined), 30_000, 'the webhook');
    // Assess
    const { request, event } = posted!;
    expect(verifySignature(SECRET, request.headers['notice-relay-signature'] as string, request.body, Math.floor(Date.now() / 1000))).toBe(true);
    expect(verifySignature('another-secret-0123456789abcdef', request.headers['notice-relay-signature'] as string, request.body, Math.floor(Date.now() / 1000))).toBe(false);
    expect(request.headers['notice-relay-event-id']).toBe(event.id);
    expect(event).toEqual({
      id: expect.stringMatching(/^[0-9A-Z]{26}$/),
      type: 'notice.sent',
      createdAt: expect.any(String),
      sequence: 1,
      notice: { id: body.id, externalId: 'loan-42', type: 'overdue', status: 'sent', lastReply: expect.stringMatching(/^250 /) },
    });
    expect(request.body).not.toContain('The Hobbit');
    expect(request.body).not.toContain(PATRON);
    expect((await p.notice(body.id)).outbox).toBeUndefined();
  });

  it('posts again after 500 twice, three times in all, and records the event delivered', async () => {
    // Prepare
    const { receiver: hooks, pipeline: p } = await start();
    hooks.script([500, 500], 200);
    // Act
    const { body } = await p.submit(aNoticeInput());
    const deliveries = await p.waitFor(
      async () => {
        const listed = await p.api('GET', `/v1/webhooks/deliveries?noticeId=${body.id}`);
        return listed.body.deliveries?.[0]?.status === 'delivered' ? listed.body.deliveries : undefined;
      },
      60_000,
      'the event to be delivered',
    );
    // Assess
    expect(eventsOf(hooks, body.id)).toHaveLength(3);
    expect(new Set(eventsOf(hooks, body.id).map(({ event }) => event.id)).size).toBe(1);
    expect(deliveries).toEqual([
      expect.objectContaining({ eventType: 'notice.sent', noticeId: body.id, url: hooks.url, status: 'delivered', tries: [expect.objectContaining({ statusCode: 500, error: 'status 500' }), expect.objectContaining({ statusCode: 500 }), expect.objectContaining({ statusCode: 200 })] }),
    ]);
    const page = await p.api('GET', '/v1/webhooks/deliveries?limit=1');
    expect(page).toMatchObject({ status: 200, body: { deliveries: [expect.objectContaining({ eventId: deliveries[0].eventId })], cursor: null } });
  }, 120_000);

  it('sends notices while the receiver hangs: a notice is sent while the post of an earlier event is still waiting', async () => {
    // Prepare
    const { receiver: hooks, pipeline: p } = await start({ timeoutSeconds: 30 });
    hooks.script([], 'hang');
    const first = (await p.submit(aNoticeInput({ externalId: 'first' }))).body;
    await p.waitFor(async () => eventsOf(hooks, first.id).length > 0, 30_000, 'the first event to reach the hung receiver');
    // Act
    const second = (await p.submit(aNoticeInput({ externalId: 'second' }))).body;
    await p.waitForStatus(second.id, ['sent']);
    // Assess: the first event's post is still unanswered, so no try of it is recorded yet.
    expect((await p.api('GET', `/v1/webhooks/deliveries?noticeId=${first.id}`)).body.deliveries).toEqual([]);
    expect(receivedFor(relay!, PATRON)).toHaveLength(2);
  }, 120_000);
});

describe('Suppression list', () => {
  it('suppresses an address SES bounced for good: the next notice to it ends suppressed unsent, and after DELETE the next is sent', async () => {
    // Prepare
    const { relay: mail, receiver: hooks, pipeline: p } = await start();
    const first = (await p.submit(aNoticeInput())).body;
    await p.waitForStatus(first.id, ['sent']);
    const bounce = fixture('bounce-permanent.json').detail;
    // The patron's mail server names the address in its reply, as Gmail's does.
    const bouncedRecipients = bounce.bounce!.bouncedRecipients!.map((recipient) => ({ ...recipient, diagnosticCode: `smtp; 550-5.1.1 The email account that you tried to reach does not exist: ${PATRON}` }));
    // Act
    await recordFeedback(p.deps, { ...bounce, bounce: { ...bounce.bounce!, bouncedRecipients }, mail: { ...bounce.mail, tags: { [NOTICE_ID_TAG]: [first.id] } } });
    const second = (await p.submit(aNoticeInput({ to: 'Patron@EXAMPLE.org' }))).body;
    const suppressed = await p.waitForStatus(second.id, ['suppressed']);
    const listed = await p.api('GET', '/v1/suppressions');
    const removed = await p.api('DELETE', `/v1/suppressions/${encodeURIComponent('PATRON@example.org')}`);
    const third = (await p.submit(aNoticeInput())).body;
    await p.waitForStatus(third.id, ['sent']);
    // Assess
    expect(await p.notice(first.id)).toMatchObject({ status: 'bounced' });
    expect(suppressed.attemptCount).toBe(0);
    expect(suppressed.attempts).toEqual([expect.objectContaining({ outcome: 'suppressed', status: 'suppressed', message: expect.stringMatching(/suppression list .*bounced: SES Permanent\/General/) })]);
    expect(receivedFor(mail, PATRON)).toHaveLength(2);
    expect(listed.body).toEqual({ suppressions: [expect.objectContaining({ address: PATRON, reason: 'bounce', noticeId: first.id, createdAt: expect.any(String), expiresAt: expect.any(String) })], cursor: null });
    expect(removed).toEqual({ status: 200, body: { address: PATRON, removed: true } });
    expect((await p.api('GET', '/v1/suppressions')).body.suppressions).toEqual([]);
    await eventOf(p, hooks, second.id, 'notice.suppressed');
    const bounced = await eventOf(p, hooks, first.id, 'notice.bounced');
    expect(bounced.event.notice.lastReply).toBe('Permanent/General: smtp; 550-5.1.1 The email account that you tried to reach does not exist: <address>');
    expect(hooks.received.filter(({ body }) => body.includes('@'))).toEqual([]);
  }, 120_000);

  it('suppresses an address the relay refused with 550 5.1.1: the next notice to it ends suppressed unsent, and after DELETE the next is sent', async () => {
    // Prepare
    let refusing = true;
    let refusals = 0;
    const onRcptTo = (address: string) => {
      if (address !== 'gone@example.org' || !refusing) return undefined;
      refusals++;
      return { code: 550, message: '5.1.1 <gone@example.org>: Recipient address rejected: User unknown' };
    };
    const { receiver: hooks, pipeline: p } = await start({ relay: { onRcptTo } });
    // Act
    const first = (await p.submit(aNoticeInput({ to: 'gone@example.org' }))).body;
    await p.waitForStatus(first.id, ['failed']);
    const second = (await p.submit(aNoticeInput({ to: 'Gone@Example.ORG' }))).body;
    const suppressed = await p.waitForStatus(second.id, ['suppressed']);
    const refusedBefore = refusals;
    refusing = false;
    await p.api('DELETE', `/v1/suppressions/${encodeURIComponent('gone@example.org')}`);
    const third = (await p.submit(aNoticeInput({ to: 'gone@example.org' }))).body;
    await p.waitForStatus(third.id, ['sent']);
    // Assess
    expect(suppressed.attempts).toEqual([expect.objectContaining({ outcome: 'suppressed', message: expect.stringMatching(/bounced: 550 5\.1\.1 from 127\.0\.0\.1:/) })]);
    expect(refusedBefore).toBe(1);
    expect(receivedFor(relay!, 'gone@example.org')).toHaveLength(1);
    // The relay's refusal names the patron; the event the ILS gets does not.
    const failed = await eventOf(p, hooks, first.id, 'notice.failed');
    expect(failed.event.notice.lastReply).toBe('550 5.1.1 <address>: Recipient address rejected: User unknown');
    expect(hooks.received.filter(({ body }) => body.includes('@'))).toEqual([]);
  }, 120_000);

  it('puts an address on the list from the API, and refuses to delete one that is not there', async () => {
    // Prepare
    const { relay: mail, pipeline: p } = await start();
    // Act
    const put = await p.api('PUT', `/v1/suppressions/${encodeURIComponent('moved@example.org')}`, { note: 'patron moved away' });
    const notice = (await p.submit(aNoticeInput({ to: 'moved@example.org' }))).body;
    await p.waitForStatus(notice.id, ['suppressed']);
    const missing = await p.api('DELETE', `/v1/suppressions/${encodeURIComponent('nobody@example.org')}`);
    const invalid = await p.api('PUT', '/v1/suppressions/not-an-address', {});
    // Assess
    expect(put).toEqual({ status: 200, body: { address: 'moved@example.org', reason: 'manual', detail: 'patron moved away', createdAt: expect.any(String), expiresAt: expect.any(String) } });
    expect(receivedFor(mail, 'moved@example.org')).toHaveLength(0);
    expect(missing.status).toBe(404);
    expect(invalid).toMatchObject({ status: 400, body: { error: { code: 'invalid_address' } } });
  }, 120_000);
});
