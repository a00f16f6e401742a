// Emulators for integration tests, each on 127.0.0.1 on a free port, started and stopped by the test.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startDynamo } from '../../infra/local/emulators';
import { createTableInput } from '../../shared/store/table';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface TestTable {
  client: DynamoDBClient;
  tableName: string;
  url: string;
  stop(): Promise<void>;
}

/** dynalite in memory with the notice table created. */
export const startTestTable = async (tableName = 'notices'): Promise<TestTable> => {
  const dynamo = await startDynamo();
  const client = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials });
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  return {
    client,
    tableName,
    url: dynamo.url,
    stop: async () => {
      client.destroy();
      await dynamo.stop();
    },
  };
};

export interface TestQueue {
  client: SQSClient;
  url: string;
  queueUrl: string;
  /** Receives what is visible now (and waits up to `waitSeconds` for the first message). */
  receive(waitSeconds?: number): Promise<Message[]>;
  purge(): Promise<void>;
  /**
   * How many messages `url` (this queue unless given) still holds: visible, taken and not yet deleted, or
   * delayed. None means every message sent has been received and deleted, so none can come again.
   */
  held(url?: string): Promise<number>;
  stop(): Promise<void>;
}

const HELD = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;

/** fauxqs in a child process, with one queue. */
export const startTestQueue = async (queueName = 'doorbells'): Promise<TestQueue> => {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), 'test/support/emulator-process.ts'], {
    cwd: `${__dirname}/../..`,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (first) => {
      lines.close();
      resolve(first);
    });
    child.once('exit', (code) => reject(new Error(`the SQS emulator exited with ${code}`)));
  });
  const { url } = JSON.parse(line) as { url: string };
  const client = new SQSClient({ endpoint: url, region: 'us-east-1', credentials });
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: queueName, Attributes: { VisibilityTimeout: '30' } }));
  const queueUrl = QueueUrl as string;
  return {
    client,
    url,
    queueUrl,
    receive: async (waitSeconds = 0) => {
      const messages: Message[] = [];
      for (;;) {
        const output = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: messages.length ? 0 : waitSeconds }));
        if (!output.Messages?.length) return messages;
        messages.push(...output.Messages);
      }
    },
    purge: async () => {
      await client.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    },
    held: async (url = queueUrl) => {
      const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [...HELD] }));
      return HELD.reduce((sum, name) => sum + Number(Attributes?.[name] ?? 0), 0);
    },
    stop: async () => {
      client.destroy();
      child.stdin?.end();
      await exited;
    },
  };
};
