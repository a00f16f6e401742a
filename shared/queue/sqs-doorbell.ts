// DoorbellQueue on SQS: SendMessageBatch, ten doorbells a request, each with its own DelaySeconds.
import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { chunk, inParallel } from '../batching';
import type { NoticeId } from '../ids';
import type { Doorbell } from '../lifecycle/plan';
import { SQS_MAX_DELAY_SECONDS } from '../lifecycle/scheduling';
import { type DoorbellQueue, doorbellBody } from './doorbell';

export interface SqsDoorbellOptions {
  client: SQSClient;
  queueUrl: string;
}

const SEND_BATCH_MAX = 10;
const PARALLEL_REQUESTS = 4;

export class SqsDoorbell implements DoorbellQueue {
  public constructor(private readonly options: SqsDoorbellOptions) {}

  public async ring(doorbells: Doorbell[]): Promise<NoticeId[]> {
    const failed = await inParallel(chunk(doorbells, SEND_BATCH_MAX), PARALLEL_REQUESTS, async (batch) => {
      try {
        const output = await this.options.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: batch.map((doorbell, index) => ({
              Id: String(index),
              MessageBody: doorbellBody(doorbell.id),
              DelaySeconds: Math.min(SQS_MAX_DELAY_SECONDS, Math.max(0, Math.ceil(doorbell.delaySeconds))),
            })),
          }),
        );
        return (output.Failed ?? []).map((entry) => (batch[Number(entry.Id)] as Doorbell).id);
      } catch {
        // The notices are in the store with a sweepAt: the sweep rings them again.
        return batch.map((doorbell) => doorbell.id);
      }
    });
    return failed.flat();
  }

  public async ping(): Promise<void> {
    await this.options.client.send(new GetQueueAttributesCommand({ QueueUrl: this.options.queueUrl, AttributeNames: ['QueueArn'] }));
  }
}
