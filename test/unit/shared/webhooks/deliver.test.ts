import { aConfig } from '../../../support/factories';
import { ManualClock } from '../../../support/clock';
import { InMemoryWebhookQueue, InMemoryWebhookStore } from '../../../support/fakes';
import { silentLog } from '../../../../shared/log';
import { noSecrets } from '../../../../shared/secrets';
import type { WebhookMessage } from '../../../../shared/queue/webhook-queue';
import { deliverWebhook, type PostOutcome, retryDelaySeconds, type WebhookDeliveryDeps } from '../../../../shared/webhooks/deliver';
import { receiverId } from '../../../../shared/webhooks/receiver';
import { verifySignature } from '../../../../shared/webhooks/signature';

const URL = 'https://ils.library.example.org/notice-relay/events';
const SECRET = 'a-webhook-secret-of-the-library-0123';

const setUp = (answers: PostOutcome[], signed = true) => {
  const secret = signed ? SECRET : undefined;
  const config = aConfig();
  const demo = config.institutions[0]!;
  config.institutions[0] = { ...demo, webhooks: [{ url: URL, events: ['notice.sent'], secret, allowPrivateNetwork: false, timeoutSeconds: 10 }] };
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const posts: Array<{ url: string; body: string; headers: Record<string, string>; options: { timeoutMs: number; allowPrivateNetwork: boolean } }> = [];
  const deliveries = new InMemoryWebhookStore();
  const webhookQueue = new InMemoryWebhookQueue();
  const deps: WebhookDeliveryDeps = {
    institutions: new Map(config.institutions.map((institution) => [institution.id, institution])),
    secrets: noSecrets,
    poster: {
      post: async (url, body, headers, options) => {
        posts.push({ url, body, headers, options });
        clock.advanceSeconds(1);
        return answers.shift() ?? { statusCode: 200 };
      },
    },
    deliveries,
    webhookQueue,
    clock,
    random: () => 0.5,
    log: silentLog,
    privateTargets: 'refuse-unless-allowed',
    retry: config.retry.webhooks,
  };
  const message: WebhookMessage = {
    institutionId: 'demo',
    receiver: receiverId(URL),
    tries: 0,
    event: { id: '01JB0000000000000000000009', type: 'notice.sent', createdAt: '2030-01-01T00:00:00.000Z', sequence: 1, notice: { id: '01JB0000000000000000000001', status: 'sent' } },
  };
  return { deps, clock, posts, deliveries, webhookQueue, message };
};

describe('Function: deliverWebhook', () => {
  it('posts the event signed with the receiver secret and records it delivered', async () => {
    // Prepare
    const { deps, posts, deliveries, message } = setUp([{ statusCode: 204 }]);
    // Act
    const result = await deliverWebhook(deps, message);
    // Assess
    expect(result).toBe('delivered');
    expect(posts).toHaveLength(1);
    const [post] = posts;
    expect(JSON.parse(post!.body)).toEqual(message.event);
    expect(post!.headers['Notice-Relay-Signature']).toMatch(/^t=1893456000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(SECRET, post!.headers['Notice-Relay-Signature']!, post!.body, 1893456000)).toBe(true);
    expect(post!.options).toEqual({ timeoutMs: 10_000, allowPrivateNetwork: false });
    expect(await deliveries.get('demo', message.event.id, message.receiver)).toMatchObject({ status: 'delivered', tries: [{ at: '2030-01-01T00:00:00.000Z', statusCode: 204, durationMs: 1000 }] });
  });

  it('queues the next try after a jittered backoff on a 500 or a timeout, and gives up once the window is spent', async () => {
    // Prepare
    const { deps, clock, deliveries, webhookQueue, message } = setUp([{ statusCode: 500 }, { error: 'timeout' }, { statusCode: 500 }]);
    // Act
    const first = await deliverWebhook(deps, message);
    const [next] = webhookQueue.take();
    clock.advanceSeconds(30);
    const second = await deliverWebhook(deps, next!);
    const [third] = webhookQueue.take();
    clock.advanceSeconds(86_400);
    const late = await deliverWebhook(deps, { ...third!, dueAt: clock.now().toISOString() });
    // Assess
    expect([first, second]).toEqual(['retrying', 'retrying']);
    expect(next).toMatchObject({ tries: 1, firstTriedAt: '2030-01-01T00:00:00.000Z', dueAt: '2030-01-01T00:00:24.000Z' });
    expect(third).toMatchObject({ tries: 2, dueAt: '2030-01-01T00:01:17.000Z' });
    expect(late).toBe('failed');
    expect(await deliveries.get('demo', message.event.id, message.receiver)).toMatchObject({ status: 'failed', tries: [{ error: 'status 500' }, { error: 'timeout' }, { error: 'status 500' }] });
  });

  it('sends on, untried, a message that came before its due time, for at most SQS’s 900 seconds', async () => {
    // Prepare
    const { deps, posts, webhookQueue, message } = setUp([]);
    // Act
    const result = await deliverWebhook(deps, { ...message, tries: 7, dueAt: '2030-01-01T02:00:00.000Z' });
    // Assess
    expect(result).toBe('waiting');
    expect(posts).toEqual([]);
    expect(webhookQueue.sent).toEqual([{ message: expect.objectContaining({ tries: 7, dueAt: '2030-01-01T02:00:00.000Z' }), delaySeconds: 900 }]);
  });

  it('drops an event whose receiver left the configuration, and records a try without a secret as failed', async () => {
    // Prepare
    const gone = setUp([]);
    const unsigned = setUp([], false);
    // Act
    const dropped = await deliverWebhook(gone.deps, { ...gone.message, receiver: 'another-receiver' });
    const withoutSecret = await deliverWebhook(unsigned.deps, unsigned.message);
    // Assess
    expect(dropped).toBe('dropped');
    expect(withoutSecret).toBe('retrying');
    expect(unsigned.posts).toEqual([]);
    expect((await unsigned.deliveries.get('demo', unsigned.message.event.id, unsigned.message.receiver))?.tries).toEqual([expect.objectContaining({ error: 'no-secret' })]);
  });
});

describe("Function: deliverWebhook, with the secrets in the institution's secret (AWS)", () => {
  const OTHER = 'https://crm.library.example.org/hooks';
  /** Two receivers, and a SecretSource holding `webhooks` as given. */
  const withSecrets = (webhooks: Array<{ url?: string; secret: string }>) => {
    const setup = setUp([]);
    const demo = setup.deps.institutions.get('demo')!;
    const hooks = [OTHER, URL].map((url) => ({ url, events: ['notice.sent' as const], allowPrivateNetwork: false, timeoutSeconds: 10 }));
    const deps: WebhookDeliveryDeps = { ...setup.deps, institutions: new Map([['demo', { ...demo, webhooks: hooks }]]), secrets: { forInstitution: async () => ({ webhooks }) } };
    return { ...setup, deps };
  };

  it("signs with the secret of the receiver's URL, whatever the order of either list", async () => {
    // Prepare
    const { deps, posts, message } = withSecrets([{ url: URL, secret: SECRET }, { url: OTHER, secret: 'the-crm-receivers-own-secret-0123' }]);
    // Act
    const result = await deliverWebhook(deps, message);
    // Assess
    expect(result).toBe('delivered');
    expect(posts.map((post) => post.url)).toEqual([URL]);
    expect(verifySignature(SECRET, posts[0]!.headers['Notice-Relay-Signature']!, posts[0]!.body, 1893456000)).toBe(true);
  });

  it('posts nothing with secrets listed by position for two receivers, and records why', async () => {
    // Prepare
    const { deps, posts, deliveries, message } = withSecrets([{ secret: 'the-crm-receivers-own-secret-0123' }, { secret: SECRET }]);
    // Act
    const result = await deliverWebhook(deps, message);
    // Assess
    expect(result).toBe('retrying');
    expect(posts).toEqual([]);
    expect((await deliveries.get('demo', message.event.id, message.receiver))?.tries).toEqual([expect.objectContaining({ error: 'secret-by-position' })]);
  });
});

describe('Function: retryDelaySeconds', () => {
  it('doubles from the first delay to the longest, each wait between half and all of it', () => {
    // Prepare
    const retry = { firstDelaySeconds: 30, longestDelaySeconds: 21_600, giveUpAfterSeconds: 86_400 };
    // Act
    const low = [1, 2, 3, 12].map((tries) => retryDelaySeconds(tries, retry, () => 0));
    const high = [1, 2, 3, 12].map((tries) => retryDelaySeconds(tries, retry, () => 0.999999));
    // Assess
    expect(low).toEqual([15, 30, 60, 10_800]);
    expect(high).toEqual([30, 60, 120, 21_600]);
  });
});
