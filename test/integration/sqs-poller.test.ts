// The local event source mapping against fauxqs: what the sender handler answers decides which doorbells
// are deleted and which come back, as on Lambda with ReportBatchItemFailures.
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { startSqsPoller, type SqsPoller } from '../../infra/local/sqs-poller';
import { startTestQueue, type TestQueue } from '../support/emulators';

let queue: TestQueue;
let poller: SqsPoller | undefined;

beforeAll(async () => {
  queue = await startTestQueue('poller');
});

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
  await queue.purge();
});

afterAll(async () => {
  await queue.stop();
});

const send = (bodies: string[]) =>
  queue.client.send(new SendMessageBatchCommand({ QueueUrl: queue.queueUrl, Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: body })) }));

/** Polls with a one-second visibility timeout, recording each body the handler is given and its receive count. */
const poll = (answer: (event: SQSEvent, call: number) => SQSBatchResponse) => {
  const seen: Array<{ body: string; receiveCount: string }> = [];
  let calls = 0;
  poller = startSqsPoller({
    client: queue.client,
    queueUrl: queue.queueUrl,
    handler: async (event) => {
      seen.push(...event.Records.map((r) => ({ body: r.body, receiveCount: r.attributes.ApproximateReceiveCount })));
      return answer(event, ++calls);
    },
    batchSize: 10,
    concurrency: 1,
    functionTimeoutSeconds: 5,
    visibilityTimeoutSeconds: 1,
    onError: () => undefined,
  });
  return seen;
};

const until = async (condition: () => boolean, seconds = 15) => {
  const end = Date.now() + seconds * 1000;
  while (!condition() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 100));
};

describe('Local SQS poller', () => {
  it('deletes the doorbells the handler settled and delivers again only those it handed back', async () => {
    // Prepare
    await send(['a', 'b', 'c']);
    // Act: the first invocation hands back b only
    const seen = poll((event, call) => ({
      batchItemFailures: call === 1 ? event.Records.filter((r) => r.body === 'b').map((r) => ({ itemIdentifier: r.messageId })) : [],
    }));
    await until(() => seen.filter((s) => s.body === 'b').length === 2);
    // Let any wrongly kept doorbell come back too before looking
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    // Assess
    expect(seen.map((s) => s.body).sort()).toEqual(['a', 'b', 'b', 'c']);
    expect(seen.filter((s) => s.body === 'b').map((s) => s.receiveCount)).toEqual(['1', '2']);
    expect(await queue.receive()).toEqual([]);
  });

  it('delivers the whole batch again when the handler throws', async () => {
    // Prepare
    await send(['x', 'y']);
    // Act
    const seen = poll((_event, call) => {
      if (call === 1) throw new Error('the function crashed');
      return { batchItemFailures: [] };
    });
    await until(() => seen.length >= 4);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    // Assess
    expect(seen.map((s) => s.body).sort()).toEqual(['x', 'x', 'y', 'y']);
    expect(await queue.receive()).toEqual([]);
  });
});
