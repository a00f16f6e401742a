// The suppression list on DynamoDB: one item per institution and address, listed through the `byInstitution`
// index under a partition of its own, and deleted by TTL once it lapses (read-time checks cover TTL's delay).
// Addresses come normalised by the caller (shared/suppression/address.ts).
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Random } from '../clock';
import { documentsOf } from './documents';
import { suppressionEntryOf, suppressionInForce, suppressionPartition } from './suppression-item';
import { pageByIndex } from './index-pages';
import type { SuppressionEntry, SuppressionPage, SuppressionStore } from './suppression-store';
import { INDEXES, PARTITION_KEY, TTL_ATTRIBUTE } from './table';

export interface DynamoSuppressionStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  random: Random;
}

const keyOf = suppressionPartition;
// `~` is in no institution id, so these partitions never meet a notice's.
const listPartition = (institutionId: string) => `~suppressions#${institutionId}`;
const inForce = suppressionInForce;
const toEntry = suppressionEntryOf;

export class DynamoSuppressionStore implements SuppressionStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly random: Random;

  constructor(options: DynamoSuppressionStoreOptions) {
    this.documents = documentsOf(options.client);
    this.table = options.tableName;
    this.random = options.random;
  }

  public async add(entry: SuppressionEntry): Promise<void> {
    const { address } = entry;
    await this.documents.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...entry,
          address,
          [PARTITION_KEY]: keyOf(entry.institutionId, address),
          [INDEXES.byInstitution.partitionKey]: listPartition(entry.institutionId),
          [INDEXES.byInstitution.sortKey]: `${entry.createdAt}#${address}`,
          ...(entry.expiresAt ? { [TTL_ATTRIBUTE]: Math.floor(new Date(entry.expiresAt).getTime() / 1000) } : {}),
        },
      }),
    );
  }

  public async remove(institutionId: string, address: string): Promise<boolean> {
    try {
      await this.documents.send(
        new DeleteCommand({ TableName: this.table, Key: { [PARTITION_KEY]: keyOf(institutionId, address) }, ConditionExpression: 'attribute_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY } }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  public async list(institutionId: string, query: { limit: number; cursor?: string; now: Date }): Promise<SuppressionPage> {
    const page = await pageByIndex(this.documents, this.table, this.random, {
      index: 'byInstitution',
      partition: listPartition(institutionId),
      keyPrefix: `suppression#${institutionId}#`,
      limit: query.limit,
      cursor: query.cursor,
      newestFirst: true,
      keep: (item) => inForce(item, query.now),
    });
    return { suppressions: page.items.map(toEntry), ...(page.cursor ? { cursor: page.cursor } : {}) };
  }
}
