// The table's keys and indexes, shared by the DynamoDB store, the local runtime that creates the table
// on the emulator, and the CDK stack that creates it on AWS, so the three cannot drift apart.
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const PARTITION_KEY = 'pk';
/** DynamoDB deletes an item after this epoch-seconds time (retention). */
export const TTL_ATTRIBUTE = 'expireAt';

/**
 * Global secondary indexes, all KEYS_ONLY: a status change rewrites no index, and a reader fetches the
 * states it needs by key. `due` is sparse: only notices the sweep must look at carry its keys.
 */
export const INDEXES = {
  byInstitution: { partitionKey: 'instKey', sortKey: 'instSort' },
  byExternalId: { partitionKey: 'extKey', sortKey: 'instSort' },
  due: { partitionKey: 'dueShard', sortKey: 'dueAt' },
  /**
   * The staff console's search by patron address: the institution and a digest of the address, written
   * once with the notice (its address never changes), so no transition writes it again.
   */
  byAddress: { partitionKey: 'addrKey', sortKey: 'instSort' },
} as const;

/** Shards of the due index, so that a consortium's night of notices does not land on one partition. */
export const DUE_SHARDS = 4;

/** The CreateTable request for the emulator (on AWS the CDK stack declares the same keys). */
export const createTableInput = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: 'PAY_PER_REQUEST',
  KeySchema: [{ AttributeName: PARTITION_KEY, KeyType: 'HASH' }],
  AttributeDefinitions: [
    { AttributeName: PARTITION_KEY, AttributeType: 'S' },
    { AttributeName: INDEXES.byInstitution.partitionKey, AttributeType: 'S' },
    { AttributeName: INDEXES.byInstitution.sortKey, AttributeType: 'S' },
    { AttributeName: INDEXES.byExternalId.partitionKey, AttributeType: 'S' },
    { AttributeName: INDEXES.due.partitionKey, AttributeType: 'S' },
    { AttributeName: INDEXES.due.sortKey, AttributeType: 'N' },
    { AttributeName: INDEXES.byAddress.partitionKey, AttributeType: 'S' },
  ],
  GlobalSecondaryIndexes: Object.entries(INDEXES).map(([name, index]) => ({
    IndexName: name,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: 'HASH' },
      { AttributeName: index.sortKey, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'KEYS_ONLY' },
  })),
});
