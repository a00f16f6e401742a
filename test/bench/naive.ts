// The baseline of requestsPerNotice and awsCostPer1000: the naive one-request-per-step design, written
// here only to be measured, doing the same work against the same emulators and the same relay.
//   · one DynamoDB item per notice holding everything (body and state), no index;
//   · intake: one HTTP request per notice → PutItem + SendMessage;
//   · sender (batch size 1): ReceiveMessage → GetItem → UpdateItem `sending` → send → UpdateItem `sent`
//     → DeleteMessage. An UpdateItem is billed on the whole item (the larger of before and after), so
//     each status change costs one write unit per KB of the notice.
// It keeps no history, no retries and no logs: everything it leaves out would only cost it more.
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import nodemailer from 'nodemailer';
import { RequestCounter } from './counting';
import { captureStdout, InvocationMeter } from './invocations';
import { API_GATEWAY_REQUEST, type Emulators, type HappyPath, happyPath, sendUntilAllDeleted } from './requests';
import { benchNotices, createQueue, INSTITUTION, type NoticeBody } from './workload';
import { documentsOf } from '../../shared/store/documents';

const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const TABLE = 'naive-notices';

export const measureNaive = async (emulators: Emulators, count: number): Promise<HappyPath> => {
  const dynamodb = new DynamoDBClient({ endpoint: emulators.dynamodb, region: 'us-east-1', credentials });
  const sqs = new SQSClient({ endpoint: emulators.sqs, region: 'us-east-1', credentials });
  await dynamodb.send(
    new CreateTableCommand({ TableName: TABLE, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }] }),
  );
  const { queueUrl, queueArn } = await createQueue(emulators.sqs, 'naive-doorbells', 120);
  const documents = documentsOf(dynamodb);
  const relay = nodemailer.createTransport({ host: emulators.smtp.host, port: emulators.smtp.port, ignoreTLS: true });

  const counter = new RequestCounter();
  counter.instrument(dynamodb, 'DynamoDB');
  counter.instrument(sqs, 'SQS');
  counter.watchWire({ DynamoDB: emulators.dynamodb, SQS: emulators.sqs });
  const meter = new InvocationMeter();

  const intake = meter.wrap('intake', async (notice: NoticeBody) => {
    const id = randomUUID();
    const now = new Date().toISOString();
    await documents.send(new PutCommand({ TableName: TABLE, Item: { id, status: 'queued', createdAt: now, updatedAt: now, ...notice } }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: id }));
    return id;
  });

  const sender = meter.wrap('sender', async (event: SQSEvent): Promise<SQSBatchResponse> => {
    for (const record of event.Records) {
      const id = record.body;
      const { Item: item } = await documents.send(new GetCommand({ TableName: TABLE, Key: { id }, ConsistentRead: true }));
      if (!item || item.status !== 'queued') continue;
      await documents.send(
        new UpdateCommand({ TableName: TABLE, Key: { id }, UpdateExpression: 'SET #status = :sending, updatedAt = :now', ExpressionAttributeNames: { '#status': 'status' }, ExpressionAttributeValues: { ':sending': 'sending', ':now': new Date().toISOString() } }),
      );
      const info = await relay.sendMail({ from: INSTITUTION.from, to: item.to as string, subject: item.subject as string, text: item.text as string, html: item.html as string });
      await documents.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: { id },
          UpdateExpression: 'SET #status = :sent, updatedAt = :now, messageId = :messageId',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':sent': 'sent', ':now': new Date().toISOString(), ':messageId': info.messageId },
        }),
      );
    }
    return { batchItemFailures: [] };
  });

  const stdout = captureStdout();
  // Filled in as the run goes; read once it is over.
  const measured = { logBytes: 0, elapsedMs: 0, ids: [] as string[] };
  const started = performance.now();
  try {
    // One HTTP request, so one intake invocation, per notice.
    for (const notice of benchNotices(count)) {
      measured.ids.push(await intake(notice));
      counter.add(API_GATEWAY_REQUEST);
    }
    // The event source mapping with batch size 1: ReceiveMessage of one message, then a delete of one
    // (DeleteMessageBatch with one entry, billed as one request like DeleteMessage).
    await sendUntilAllDeleted({ counter, meter, stdout, started, measured }, count, `${count} naive doorbells handled`, {
      client: sqs,
      queueUrl,
      queueArn,
      handler: sender,
      batchSize: 1,
      concurrency: 1,
      functionTimeoutSeconds: 60,
      visibilityTimeoutSeconds: 120,
    });
  } finally {
    stdout.restore();
    counter.unwatchWire();
  }

  const unsent = [];
  for (const id of measured.ids) {
    const { Item } = await documents.send(new GetCommand({ TableName: TABLE, Key: { id } }));
    if (Item?.status !== 'sent') unsent.push(id);
  }
  relay.close();
  dynamodb.destroy();
  sqs.destroy();
  if (unsent.length) throw new Error(`bench: the naive design left ${unsent.length} of ${count} notices unsent`);

  return happyPath(count, counter, meter, measured);
};
