// Reading many items by key from one table, as BatchGetItem allows (100 keys a request), with its
// unprocessed keys retried after a jittered backoff: shared by every DynamoDB store of the table.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { chunk, inParallel } from '../batching';
import type { Random } from '../clock';
import { UnavailableError } from '../errors';
import { PARTITION_KEY } from './table';

const BATCH_GET_MAX = 100;
const PARALLEL_REQUESTS = 4;
const MAX_BATCH_TRIES = 8;

/** Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
export const backoff = (attempt: number, random: Random) => new Promise((resolve) => setTimeout(resolve, random() * Math.min(2000, 25 * 2 ** attempt)));

/** The items under these partition keys, by key; a key without an item is absent from the map. */
export const batchGetItems = async (
  documents: DynamoDBDocumentClient,
  table: string,
  keys: string[],
  random: Random,
  read: { consistent: boolean; attributes?: string[] } = { consistent: true },
): Promise<Map<string, Record<string, unknown>>> => {
  const projection = read.attributes
    ? { ProjectionExpression: [PARTITION_KEY, ...read.attributes].map((_, i) => `#p${i}`).join(', '), ExpressionAttributeNames: Object.fromEntries([PARTITION_KEY, ...read.attributes].map((name, i) => [`#p${i}`, name])) }
    : {};
  const found = new Map<string, Record<string, unknown>>();
  const unique = [...new Set(keys)];
  await inParallel(chunk(unique, BATCH_GET_MAX), PARALLEL_REQUESTS, async (batch) => {
    let pending: Array<Record<string, unknown>> = batch.map((pk) => ({ [PARTITION_KEY]: pk }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_BATCH_TRIES) throw new UnavailableError(`the store left ${pending.length} reads unprocessed after ${MAX_BATCH_TRIES} tries`);
      if (attempt > 0) await backoff(attempt, random);
      const output = await documents.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: read.consistent, ...projection } } }));
      for (const item of output.Responses?.[table] ?? []) found.set(item[PARTITION_KEY] as string, item);
      pending = (output.UnprocessedKeys?.[table]?.Keys ?? []) as Array<Record<string, unknown>>;
    }
  });
  return found;
};
