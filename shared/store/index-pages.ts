// One page of items listed by a partition of a KEYS_ONLY index (the suppression list and webhook deliveries
// share the notices' `byInstitution` and `byExternalId` indexes under partitions of their own), read whole
// with one BatchGetItem, with a cursor that names the last item so the next page goes on after it.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Random } from '../clock';
import { InvalidCursorError } from '../errors';
import { batchGetItems } from './batch-get';
import { INDEXES, PARTITION_KEY } from './table';

const encodeCursor = (pk: string, sortKey: string) => Buffer.from(JSON.stringify({ k: pk, s: sortKey })).toString('base64url');

const decodeCursor = (cursor: string, prefix: string): { k: string; s: string } => {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown; s?: unknown };
    if (typeof parsed.k === 'string' && typeof parsed.s === 'string' && parsed.k.startsWith(prefix) && parsed.k.length < 1100 && parsed.s.length < 1100) return { k: parsed.k, s: parsed.s };
  } catch {
    // falls through to the error below
  }
  throw new InvalidCursorError();
};

export interface IndexPageQuery {
  index: 'byInstitution' | 'byExternalId';
  partition: string;
  /** Every item of this listing has a partition key that starts so: a cursor naming another is refused. */
  keyPrefix: string;
  limit: number;
  cursor?: string;
  newestFirst: boolean;
  /** Drops an item that should not show (an expired entry TTL has not yet deleted). */
  keep?: (item: Record<string, unknown>) => boolean;
}

/** A page of whole items, in the index's order, and the cursor of the next page when there is one. */
export const pageByIndex = async (
  documents: DynamoDBDocumentClient,
  table: string,
  random: Random,
  query: IndexPageQuery,
): Promise<{ items: Array<Record<string, unknown>>; cursor?: string }> => {
  const index = INDEXES[query.index];
  let start = query.cursor ? decodeCursor(query.cursor, query.keyPrefix) : undefined;
  const items: Array<Record<string, unknown>> = [];
  for (;;) {
    const page = await documents.send(
      new QueryCommand({
        TableName: table,
        IndexName: query.index,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': index.partitionKey },
        ExpressionAttributeValues: { ':pk': query.partition },
        ScanIndexForward: !query.newestFirst,
        // One past the page tells whether another exists, so the last page carries no cursor.
        Limit: query.limit + 1 - items.length,
        ExclusiveStartKey: start ? { [PARTITION_KEY]: start.k, [index.partitionKey]: query.partition, [index.sortKey]: start.s } : undefined,
      }),
    );
    const keys = (page.Items ?? []).map((item) => ({ k: item[PARTITION_KEY] as string, s: item[index.sortKey] as string }));
    const found = await batchGetItems(documents, table, keys.map((key) => key.k), random);
    for (const key of keys) {
      const item = found.get(key.k);
      if (item && (query.keep?.(item) ?? true)) {
        if (items.length === query.limit) {
          const last = items[items.length - 1] as Record<string, unknown>;
          return { items, cursor: encodeCursor(last[PARTITION_KEY] as string, last[index.sortKey] as string) };
        }
        items.push(item);
      }
      start = key;
    }
    if (!page.LastEvaluatedKey) return { items };
  }
};
