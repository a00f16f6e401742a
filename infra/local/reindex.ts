// What npm start does at start for notices a previous run left, before anything else runs:
// - repairs dynalite's indexes after a hard stop. dynalite writes an item's index entries and the item
//   itself as separate LevelDB writes, so a SIGKILL in between can leave a notice without its entry in
//   the due index, where the sweep would never find it. Every notice the sweep may need is written
//   again as it is, which writes its index entries again;
// - rings the doorbells the in-memory queue lost, so a notice due now is not left to wait out the
//   sweep's grace for a doorbell presumed lost.
// (DynamoDB and SQS keep their own; this is for the emulators only.)
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Doorbell } from '../../shared/lifecycle/plan';
import { doorbellAfterQueueLoss } from '../../shared/lifecycle/scheduling';
import type { Notice } from '../../shared/notice/model';
import { INDEXES, PARTITION_KEY } from '../../shared/store/table';
import { scanPages } from './scan';
import { documentsOf } from '../../shared/store/documents';

/** Rewrites every notice that carries due-index keys; answers how many, and the doorbells they are owed. */
export const reindexDueNotices = async (client: DynamoDBClient, tableName: string, now: Date): Promise<{ rewritten: number; doorbells: Doorbell[] }> => {
  const documents = documentsOf(client);
  let rewritten = 0;
  const doorbells: Doorbell[] = [];
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
      const doorbell = doorbellAfterQueueLoss(Item as unknown as Notice, now);
      if (doorbell) doorbells.push(doorbell);
    }
  });
  return { rewritten, doorbells };
};
