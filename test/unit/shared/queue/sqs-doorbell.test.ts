// SqsDoorbell's requests: SendMessageBatch, ten doorbells a request, each with its own delay.
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SqsDoorbell } from '../../../../shared/queue/sqs-doorbell';

const sqs = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/doorbells';
const queue = new SqsDoorbell({ client: new SQSClient({ region: 'us-east-1' }), queueUrl: QUEUE_URL });
const idOf = (i: number) => `01JB${String(i).padStart(22, '0')}`;

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

describe('Class: SqsDoorbell', () => {
  it('rings a doorbell as a message carrying only the id, with its delay in whole seconds', async () => {
    // Act
    await queue.ring([{ id: idOf(1), delaySeconds: 29.2 }]);
    // Assess
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: QUEUE_URL, Entries: [{ Id: '0', MessageBody: JSON.stringify({ id: idOf(1) }), DelaySeconds: 30 }] });
  });

  it('rings in SendMessageBatch requests of 10', async () => {
    await queue.ring(Array.from({ length: 30 }, (_, i) => ({ id: idOf(i), delaySeconds: 0 })));
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 3);
  });

  it('answers the ids SQS did not take, and every id of a request that failed, without throwing', async () => {
    // Prepare
    sqs.on(SendMessageBatchCommand).resolvesOnce({ Successful: [], Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] }).rejectsOnce(new Error('queue down'));
    const doorbells = Array.from({ length: 12 }, (_, i) => ({ id: idOf(i), delaySeconds: 0 }));
    // Act
    const unrung = await queue.ring(doorbells);
    // Assess
    expect(unrung.sort()).toEqual([idOf(1), idOf(10), idOf(11)]);
  });

  it('answers ping with GetQueueAttributes', async () => {
    sqs.on(GetQueueAttributesCommand).resolves({});
    await queue.ping();
    expect(sqs).toHaveReceivedCommandWith(GetQueueAttributesCommand, { QueueUrl: QUEUE_URL });
  });
});
