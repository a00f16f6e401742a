// Repairs dynalite's indexes after a hard stop. dynalite writes an item's index entries and the item
// itself as separate LevelDB writes, so a SIGKILL in between can leave a notice without its entry in
// the due index, where the sweep would never find it. At start, before anything else runs, every
// notice the sweep may need is written again as it is, which writes its index entries again.
// (DynamoDB itself keeps its indexes; this is for the emulator only.)
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { INDEXES, PARTITION_KEY } from '../../shared/store/table';
import { scanPages } from './scan';
import { documentsOf } from '../../shared/store/documents';

/** Rewrites every notice that carries due-index keys; answers how many. */
export const reindexDueNotices = async (client: DynamoDBClient, tableName: string): Promise<number> => {
  const documents = documentsOf(client);
  let rewritten = 0;
  const input = {
    TableName: tableName,
    FilterExpression: 'attribute_exists(#due) AND begins_with(#pk, :notice)',
    ExpressionAttributeNames: { '#due': INDEXES.due.sortKey, '#pk': PARTITION_KEY },
    ExpressionAttributeValues: { ':notice': 'notice#' },
  };
  await scanPages(documents, input, async (items) => {
    for (const Item of items) {
      await documents.send(new PutCommand({ TableName: tableName, Item }));
      rewritten++;
    }
  });
  return rewritten;
};
