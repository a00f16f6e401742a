// DynamoDB's TTL on one machine: dynalite does not delete expired items, so the local runtime does,
// hourly, for the same `expireAt` attribute the AWS table's TTL uses (retention of patron data).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { chunk } from '../../shared/batching';
import { PARTITION_KEY, TTL_ATTRIBUTE } from '../../shared/store/table';
import { scanPages } from './scan';
import { documentsOf } from '../../shared/store/documents';

/** Deletes every item whose `expireAt` has passed; answers how many. */
export const deleteExpired = async (client: DynamoDBClient, tableName: string, now: Date): Promise<number> => {
  const documents = documentsOf(client);
  let deleted = 0;
  const input = {
    TableName: tableName,
    ProjectionExpression: '#pk',
    FilterExpression: '#ttl < :now',
    ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#ttl': TTL_ATTRIBUTE },
    ExpressionAttributeValues: { ':now': Math.floor(now.getTime() / 1000) },
  };
  await scanPages(documents, input, async (keys) => {
    for (const batch of chunk(keys, 25)) {
      await documents.send(new BatchWriteCommand({ RequestItems: { [tableName]: batch.map((Key) => ({ DeleteRequest: { Key } })) } }));
      deleted += batch.length;
    }
  });
  return deleted;
};
