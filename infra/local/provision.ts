// The local runtime's AWS resources (docs/contributing/layout.md): the table, the doorbell queue and the
// webhook queue, each with its dead-letter queue, created on the emulators as the CDK stack creates them on
// AWS, or found after a restart.
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../../shared/config/schema';
import { senderTimings, WEBHOOK_VISIBILITY_TIMEOUT_SECONDS } from '../../shared/config/timing';
import { createTableInput } from '../../shared/store/table';
import { upgradeTable } from './upgrade-table';

export const TABLE_NAME = 'notice-relay';
export const QUEUE_NAME = 'notice-relay-doorbells';
export const DEAD_LETTER_QUEUE_NAME = 'notice-relay-doorbells-dlq';
export const WEBHOOK_QUEUE_NAME = 'notice-relay-webhooks';
export const WEBHOOK_DEAD_LETTER_QUEUE_NAME = 'notice-relay-webhooks-dlq';
/** Receives after which SQS moves a doorbell to the dead-letter queue (the notice itself stays in the store). */
export const MAX_RECEIVE_COUNT = 5;

/** Creates the table and the queues on the emulators, or finds them there after a restart. */
export const provision = async (
  endpoints: { dynamodb: string; sqs: string },
  config: Config,
): Promise<{ queueUrl: string; queueArn: string; webhookQueueUrl: string; webhookQueueArn: string }> => {
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const dynamodb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region: 'us-east-1', credentials });
  const sqs = new SQSClient({ endpoint: endpoints.sqs, region: 'us-east-1', credentials });
  try {
    await dynamodb.send(new CreateTableCommand(createTableInput(TABLE_NAME)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  // A data directory of an earlier version gets the indexes added since, its notices kept.
  await upgradeTable(dynamodb, TABLE_NAME);
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: DEAD_LETTER_QUEUE_NAME, Attributes: { MessageRetentionPeriod: '1209600' } }));
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: QUEUE_NAME,
      Attributes: {
        VisibilityTimeout: String(senderTimings(config.sender).visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: MAX_RECEIVE_COUNT }),
      },
    }),
  );
  const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn as string;
  // The webhook queue: its own, so a receiver that is slow or down never holds up a doorbell.
  const webhookDlq = await sqs.send(new CreateQueueCommand({ QueueName: WEBHOOK_DEAD_LETTER_QUEUE_NAME, Attributes: { MessageRetentionPeriod: '1209600' } }));
  const webhookDlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: webhookDlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  const webhookQueue = await sqs.send(
    new CreateQueueCommand({
      QueueName: WEBHOOK_QUEUE_NAME,
      Attributes: {
        VisibilityTimeout: String(WEBHOOK_VISIBILITY_TIMEOUT_SECONDS),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: webhookDlqArn, maxReceiveCount: MAX_RECEIVE_COUNT }),
      },
    }),
  );
  const webhookQueueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: webhookQueue.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn as string;
  dynamodb.destroy();
  sqs.destroy();
  return { queueUrl: queue.QueueUrl as string, queueArn, webhookQueueUrl: webhookQueue.QueueUrl as string, webhookQueueArn };
};
