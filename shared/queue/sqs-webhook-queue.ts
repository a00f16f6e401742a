// WebhookQueue on SQS: SendMessageBatch, ten messages a request, each with its own DelaySeconds.
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { chunk, inParallel } from '../batching';
import { UnavailableError } from '../errors';
import { SQS_MAX_DELAY_SECONDS } from '../lifecycle/scheduling';
import type { WebhookMessage, WebhookQueue } from './webhook-queue';

export interface SqsWebhookQueueOptions {
  client: SQSClient;
  queueUrl: string;
}

const SEND_BATCH_MAX = 10;
const PARALLEL_REQUESTS = 4;

export class SqsWebhookQueue implements WebhookQueue {
  public constructor(private readonly options: SqsWebhookQueueOptions) {}

  public async send(messages: Array<{ message: WebhookMessage; delaySeconds: number }>): Promise<void> {
    const failed = await inParallel(chunk(messages, SEND_BATCH_MAX), PARALLEL_REQUESTS, async (batch) => {
      const output = await this.options.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: batch.map((entry, index) => ({
            Id: String(index),
            MessageBody: JSON.stringify(entry.message),
            DelaySeconds: Math.min(SQS_MAX_DELAY_SECONDS, Math.max(0, Math.ceil(entry.delaySeconds))),
          })),
        }),
      );
      return (output.Failed ?? []).length;
    });
    const count = failed.reduce((sum, n) => sum + n, 0);
    if (count > 0) throw new UnavailableError(`the webhook queue refused ${count} message(s)`);
  }
}
