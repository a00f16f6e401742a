// What one store request costs the JavaScript thread that makes it: the floor under localThroughputRatio.
// npm start runs the API, the queue emulator, the poller and every sender lane on one thread; each
// request the pipeline makes per notice costs that thread the SDK's own work (building, signing and
// sending the request, parsing the answer) however the rest is written. Measured on the runtime's own
// DynamoDB client against its own dynalite, on notices the run just delivered.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { performance } from 'node:perf_hooks';
import { documentsOf } from '../../shared/store/documents';

export interface SdkFloor {
  requests: number;
  /** Event-loop time each UpdateItem took on this thread, in ms. */
  busyMsPerRequest: number;
}

/**
 * Rewrites a probe attribute on each notice, conditionally and returning the whole state item, as the
 * sender's lease and record updates do; `concurrency` lanes at a time, as the sender's.
 */
export const measureSdkFloor = async (client: DynamoDBClient, tableName: string, noticeIds: string[], concurrency: number): Promise<SdkFloor> => {
  const documents = documentsOf(client);
  let next = 0;
  const update = (id: string, probe: number) =>
    documents.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: `notice#${id}` },
        UpdateExpression: 'SET #probe = :probe',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#probe': 'benchProbe', '#pk': 'pk' },
        ExpressionAttributeValues: { ':probe': probe },
        ReturnValues: 'ALL_NEW',
      }),
    );
  // The first pass warms the code paths up; the second is timed.
  const pass = async (probe: number) => {
    next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < noticeIds.length) await update(noticeIds[next++] as string, probe);
      }),
    );
  };
  await pass(1);
  const elu = performance.eventLoopUtilization();
  await pass(2);
  const busy = performance.eventLoopUtilization(elu).active;
  return { requests: noticeIds.length, busyMsPerRequest: busy / noticeIds.length };
};
