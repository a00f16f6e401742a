// SQS → the sender handler, as Lambda's event source mapping does it: `concurrency` pollers each take up
// to `batchSize` messages (hidden for the visibility timeout), invoke the handler with an SQS event,
// delete what succeeded and leave the batchItemFailures to reappear when their visibility lapses.
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

export interface SqsPollerOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn?: string;
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  batchSize: number;
  concurrency: number;
  /** The function timeout: what the handler's context counts down from. */
  functionTimeoutSeconds: number;
  visibilityTimeoutSeconds: number;
  /** Told about invocations that threw (the whole batch then reappears later). */
  onError?: (error: unknown) => void;
}

export interface SqsPoller {
  /** Invocations so far, and messages handed to them. */
  stats(): { invocations: number; messages: number; failures: number };
  stop(): Promise<void>;
}

const toRecord = (message: Message, queueArn: string) => ({
  messageId: message.MessageId as string,
  receiptHandle: message.ReceiptHandle as string,
  body: message.Body ?? '',
  attributes: {
    ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
    SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
    SenderId: message.Attributes?.SenderId ?? 'local',
    ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  },
  messageAttributes: {},
  md5OfBody: message.MD5OfBody ?? '',
  eventSource: 'aws:sqs',
  eventSourceARN: queueArn,
  awsRegion: 'us-east-1',
});

const lambdaContext = (timeoutSeconds: number): Context => {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'notice-relay-sender',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:notice-relay-sender',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/notice-relay-sender',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

/** Starts polling; `stop()` ends the long polls and waits for the invocations under way. */
export const startSqsPoller = (options: SqsPollerOptions): SqsPoller => {
  const abort = new AbortController();
  const counters = { invocations: 0, messages: 0, failures: 0 };
  const queueArn = options.queueArn ?? 'arn:aws:sqs:us-east-1:000000000000:notice-relay-doorbells';

  const lane = async () => {
    while (!abort.signal.aborted) {
      let messages: Message[];
      try {
        const output = await options.client.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize,
            WaitTimeSeconds: 5,
            VisibilityTimeout: options.visibilityTimeoutSeconds,
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = output.Messages ?? [];
      } catch (error) {
        if (abort.signal.aborted) return;
        options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (messages.length === 0) continue;
      counters.invocations++;
      counters.messages += messages.length;
      let failed = new Set(messages.map((m) => m.MessageId as string));
      try {
        const response = await options.handler({ Records: messages.map((m) => toRecord(m, queueArn)) }, lambdaContext(options.functionTimeoutSeconds));
        failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch (error) {
        counters.failures++;
        options.onError?.(error);
      }
      const done = messages.filter((m) => !failed.has(m.MessageId as string));
      if (done.length) {
        await options.client
          .send(new DeleteMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })) }))
          .catch((error: unknown) => options.onError?.(error));
      }
    }
  };

  const lanes = Array.from({ length: options.concurrency }, () => lane());
  return {
    stats: () => ({ ...counters }),
    stop: async () => {
      abort.abort();
      await Promise.all(lanes);
    },
  };
};
