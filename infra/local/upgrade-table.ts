// Brings the table of a data directory made by an earlier version up to this version's indexes, at start.
// DynamoDB adds an index to a live table (the CDK stack does it on deploy), but dynalite cannot: here the
// table is copied aside, made again with every index, and copied back, each notice given the keys of
// the new indexes (its address key). A stop half-way leaves the copy, which the next start finishes.
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, type DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { chunk } from '../../shared/batching';
import { documentsOf } from '../../shared/store/documents';
import { addressKeyOf } from '../../shared/store/dynamo-notice-store';
import { createTableInput, INDEXES } from '../../shared/store/table';
import { scanPages } from './scan';

const describe = async (client: DynamoDBClient, tableName: string) => {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
};

/** A notice's state with the index keys this version writes and an earlier one did not. */
const withNewKeys = (item: Record<string, unknown>): Record<string, unknown> =>
  String(item.pk).startsWith('notice#') && typeof item.institutionId === 'string' && typeof item.to === 'string'
    ? { ...item, [INDEXES.byAddress.partitionKey]: addressKeyOf(item.institutionId, item.to) }
    : item;

const copy = async (client: DynamoDBClient, from: string, to: string): Promise<number> => {
  const documents = documentsOf(client);
  let copied = 0;
  await scanPages(documents, { TableName: from }, async (items) => {
    for (const batch of chunk(items.map(withNewKeys), 25)) {
      let pending: unknown[] = batch.map((Item) => ({ PutRequest: { Item } }));
      while (pending.length) {
        const output = await documents.send(new BatchWriteCommand({ RequestItems: { [to]: pending as never } }));
        pending = output.UnprocessedItems?.[to] ?? [];
      }
    }
    copied += items.length;
  });
  return copied;
};

/**
 * Gives `tableName` every index of shared/store/table.ts, keeping its items; answers how many items were
 * copied (0 when the table was already up to date).
 */
export const upgradeTable = async (client: DynamoDBClient, tableName: string): Promise<number> => {
  const aside = `${tableName}-upgrade`;
  const wanted = Object.keys(INDEXES);
  const table = await describe(client, tableName);
  const indexes = new Set((table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  const leftover = await describe(client, aside);
  let copied = 0;
  if (table && !wanted.every((name) => indexes.has(name))) {
    if (leftover) await client.send(new DeleteTableCommand({ TableName: aside }));
    await client.send(new CreateTableCommand(createTableInput(aside)));
    copied = await copy(client, tableName, aside);
    await client.send(new DeleteTableCommand({ TableName: tableName }));
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  } else if (!leftover) {
    return 0;
  }
  // The copy aside holds every item (a stop after the table was made again left it here): bring it back.
  copied = Math.max(copied, await copy(client, aside, tableName));
  await client.send(new DeleteTableCommand({ TableName: aside }));
  return copied;
};
