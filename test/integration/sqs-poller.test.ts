// The local event source mapping against fauxqs: what the sender handler answers decides which doorbells
// are deleted and which come back, as on Lambda with ReportBatchItemFailures.
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { startSqsPoller, type SqsPoller, type SqsPollerOptions } from '../../infra/local/sqs-poller';
import { startTestQueue, type TestQueue } from '../support/emulators';

let queue: TestQueue;
let poller: SqsPoller | undefined;
/**
 * A queue of each test's own: a stopped poller's last long poll stays open on the emulator until its wait
 * ends, and would take the next test's first message.
 */
let queueUrl: string;
let queues = 0;

beforeAll(async () => {
  queue = await startTestQueue('poller');
});

beforeEach(async () => {
  const created = await queue.client.send(new CreateQueueCommand({ QueueName: `poller-${++queues}`, Attributes: { VisibilityTimeout: '30' } }));
  queueUrl = created.QueueUrl as string;
});

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
});

afterAll(async () => {
  await queue.stop();
});

const send = (bodies: string[]) =>
  queue.client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: body })) }));

/** Polls with a one-second visibility timeout, recording each body the handler is given and its receive count. */
const poll = (answer: (event: SQSEvent, call: number) => SQSBatchResponse, options: Partial<SqsPollerOptions> = {}) => {
  const seen: Array<{ body: string; receiveCount: string; call: number }> = [];
  let calls = 0;
  poller = startSqsPoller({
    client: queue.client,
    queueUrl,
    handler: async (event) => {
      const call = ++calls;
      seen.push(...event.Records.map((r) => ({ body: r.body, receiveCount: r.attributes.ApproximateReceiveCount, call })));
      return answer(event, call);
    },
    batchSize: 10,
    concurrency: 1,
    functionTimeoutSeconds: 5,
    visibilityTimeoutSeconds: 1,
    onError: () => undefined,
    ...options,
  });
  return seen;
};

/** What a receive finds in the queue now. */
const leftInQueue = async () => (await queue.client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }))).Messages ?? [];

/** Messages received and not yet deleted: held by the poller, or in a handler's hands. */
const inFlight = async () => {
  const { Attributes } = await queue.client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }));
  return Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
};

const until = async (condition: () => boolean | Promise<boolean>, seconds = 15) => {
  const end = Date.now() + seconds * 1000;
  while (!(await condition()) && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 100));
};

describe('Local SQS poller', () => {
  it('deletes the doorbells the handler settled and delivers again only those it handed back', async () => {
    // Prepare
    await send(['a', 'b', 'c']);
    // Act: the first invocation hands back b only
    const seen = poll((event, call) => ({
      batchItemFailures: call === 1 ? event.Records.filter((r) => r.body === 'b').map((r) => ({ itemIdentifier: r.messageId })) : [],
    }));
    // Until the queue holds nothing: every doorbell deleted, so none wrongly kept can come back after looking
    await until(async () => seen.filter((s) => s.body === 'b').length === 2 && (await queue.held(queueUrl)) === 0);
    // Assess
    expect(seen.map((s) => s.body).sort()).toEqual(['a', 'b', 'b', 'c']);
    expect(seen.filter((s) => s.body === 'b').map((s) => s.receiveCount)).toEqual(['1', '2']);
    expect(await leftInQueue()).toEqual([]);
  });

  it('delivers the whole batch again when the handler throws', async () => {
    // Prepare
    await send(['x', 'y']);
    // Act
    const seen = poll((_event, call) => {
      if (call === 1) throw new Error('the function crashed');
      return { batchItemFailures: [] };
    });
    await until(async () => seen.length >= 4 && (await queue.held(queueUrl)) === 0);
    // Assess
    expect(seen.map((s) => s.body).sort()).toEqual(['x', 'x', 'y', 'y']);
    expect(await leftInQueue()).toEqual([]);
  });

  it('with a batching window, gathers doorbells that come one at a time into one invocation', async () => {
    // Prepare: a window far longer than the test, so only a full batch can end it
    await send(['a']);
    const seen = poll(() => ({ batchItemFailures: [] }), { batchSize: 3, batchingWindowSeconds: 60, visibilityTimeoutSeconds: 120 });
    await until(async () => (await inFlight()) === 1);
    // Act: the rest of the batch comes while the poller holds the first
    await send(['b']);
    await until(async () => (await inFlight()) === 2);
    await send(['c']);
    await until(() => seen.length === 3);
    // Assess
    expect(seen.map((s) => s.body)).toEqual(['a', 'b', 'c']);
    expect(poller?.stats()).toEqual({ invocations: 1, messages: 3, failures: 0 });
  });

  it('with a batching window, invokes with what it holds once the window closes', async () => {
    // Prepare
    await send(['lonely']);
    // Act
    const seen = poll(() => ({ batchItemFailures: [] }), { batchSize: 10, batchingWindowSeconds: 1, visibilityTimeoutSeconds: 30 });
    await until(() => seen.length === 1);
    await send(['later']);
    await until(() => seen.length === 2);
    // Assess: each in an invocation of its own, the batch never full
    expect(seen.map((s) => [s.body, s.call])).toEqual([
      ['lonely', 1],
      ['later', 2],
    ]);
  });

  it('with a batching window, invokes what it holds when stopped rather than leaving it hidden', async () => {
    // Prepare
    await send(['held']);
    const seen = poll(() => ({ batchItemFailures: [] }), { batchSize: 10, batchingWindowSeconds: 60, visibilityTimeoutSeconds: 120 });
    await until(async () => (await inFlight()) === 1);
    // Act
    await poller?.stop();
    // Assess
    expect(seen.map((s) => s.body)).toEqual(['held']);
    expect(await inFlight()).toBe(0);
  });
});
