// SQS → the sender handler, as Lambda's event source mapping does it: `concurrency` pollers each take up
// to `batchSize` messages (hidden for the visibility timeout), gathering them for up to the batching
// window once the first has come, invoke the handler with an SQS event, delete what succeeded and leave
// the batchItemFailures to reappear when their visibility lapses.
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
  /**
   * Lambda's MaximumBatchingWindowInSeconds: once a poller holds a message it goes on receiving until it
   * holds `batchSize` or this many seconds have passed, then invokes. 0 (the default) invokes with what
   * one receive returned.
   */
  batchingWindowSeconds?: number;
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

/** How long one receive waits for a first message: long polling, ended early by `stop()`. */
const LONG_POLL_SECONDS = 5;
/**
 * How often a batch being gathered looks for more: a few receives per window at most, and a batch that
 * fills early is invoked within this long of filling.
 */
const GATHER_STEP_MS = 2000;
/** SQS's most messages a ReceiveMessage returns, and its longest wait. */
const SQS_MAX_MESSAGES = 10;
const SQS_MAX_WAIT_SECONDS = 20;

/** Resolves after `ms`, or at once when `signal` aborts. */
const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });

/** Starts polling; `stop()` ends the long polls and waits for the invocations under way. */
export const startSqsPoller = (options: SqsPollerOptions): SqsPoller => {
  const abort = new AbortController();
  const counters = { invocations: 0, messages: 0, failures: 0 };
  const queueArn = options.queueArn ?? 'arn:aws:sqs:us-east-1:000000000000:notice-relay-doorbells';
  const windowMs = Math.max(0, options.batchingWindowSeconds ?? 0) * 1000;

  const receive = async (maxMessages: number, waitSeconds: number): Promise<Message[]> => {
    const output = await options.client.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: Math.min(SQS_MAX_MESSAGES, maxMessages),
        WaitTimeSeconds: Math.min(SQS_MAX_WAIT_SECONDS, waitSeconds),
        VisibilityTimeout: options.visibilityTimeoutSeconds,
        MessageSystemAttributeNames: ['All'],
      }),
      { abortSignal: abort.signal },
    );
    return output.Messages ?? [];
  };

  /**
   * With a batching window: receives more until the batch is full or the window, opened by the first
   * message, closes. It looks every GATHER_STEP_MS with a receive that does not wait, rather than long
   * polling: a long poll returns as soon as one message is there, so doorbells coming one at a time would
   * cost a receive each, and the event source mapping's receives are billed as any others. A failed
   * receive, or `stop()`, closes the window early: what is held is invoked, not left hidden for the
   * visibility timeout.
   */
  const gather = async (batch: Message[]): Promise<Message[]> => {
    const closesAt = performance.now() + windowMs;
    while (batch.length < options.batchSize && !abort.signal.aborted) {
      const leftMs = closesAt - performance.now();
      if (leftMs <= 0) break;
      await pause(Math.min(leftMs, GATHER_STEP_MS), abort.signal);
      try {
        batch.push(...(await receive(options.batchSize - batch.length, 0)));
      } catch (error) {
        if (!abort.signal.aborted) options.onError?.(error);
        break;
      }
    }
    return batch;
  };

  const lane = async () => {
    while (!abort.signal.aborted) {
      let messages: Message[];
      try {
        messages = await receive(options.batchSize, LONG_POLL_SECONDS);
      } catch (error) {
        if (abort.signal.aborted) return;
        options.onError?.(error);
        await pause(1000, abort.signal);
        continue;
      }
      if (messages.length === 0) continue;
      if (windowMs > 0 && messages.length < options.batchSize) messages = await gather(messages);
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
