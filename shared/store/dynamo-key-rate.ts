// KeyRateCounter on DynamoDB: one small item per key and minute, `keyrate#<key digest>#<minute>`, whose
// count is raised with a conditional ADD (one write unit a request) and which TTL removes after.
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { KeyRateCounter } from '../intake/key-rate';
import { PARTITION_KEY, TTL_ATTRIBUTE } from './table';
import { documentsOf } from './documents';

export class DynamoKeyRateCounter implements KeyRateCounter {
  private readonly documents: DynamoDBDocumentClient;

  public constructor(private readonly options: { client: DynamoDBClient; tableName: string }) {
    this.documents = documentsOf(options.client);
  }

  public async count(keyId: string, windowStart: number, limit: number, expireAt: number): Promise<boolean> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [PARTITION_KEY]: `keyrate#${keyId}#${windowStart}` },
          UpdateExpression: 'ADD #count :one SET #expireAt = :expireAt',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'requests', '#expireAt': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':expireAt': expireAt },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
