// sweepScaling: items one sweep reads with 10 due notices in a table of 100,000 kept notices, divided by
// the same with 1,000 kept. The sweep must read only what is due (the sparse `due` index), so the
// notices kept for retention (sent, no sweepAt, hence no due-index entry) must cost it nothing.
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ulid } from 'ulid';
import { startDynamo } from '../../infra/local/emulators';
import { makeSweepHandler } from '../../lambdas/sweep/sweep-handler';
import { chunk, inParallel } from '../../shared/batching';
import { createSweepDeps } from '../../shared/deps';
import { newNotice } from '../../shared/lifecycle/transitions';
import { silentLog } from '../../shared/log';
import { INDEXES, PARTITION_KEY, TTL_ATTRIBUTE, createTableInput } from '../../shared/store/table';
import { type Counts, RequestCounter } from './counting';
import { aBenchNotice, benchConfig, createQueue, INSTITUTION, progress, FULL_BATCHES } from './workload';
import { documentsOf } from '../../shared/store/documents';

export interface SweepSample {
  kept: number;
  due: number;
  /** Items returned by the sweep's Query and BatchGetItem calls. */
  itemsRead: number;
  /** What its Queries looked at (ScannedCount). */
  scannedCount: number;
  /** Read request units reported (and the Query floor). */
  readUnits: number;
  examined: number;
  rung: number;
  ms: number;
  counts: Counts;
}

export interface SweepScaling {
  small: SweepSample;
  large: SweepSample;
  ratio: number;
  fillMs: number;
}

const DUE = 10;
const PARALLEL_WRITES = 8;

/**
 * A notice kept after it was sent, as the store keeps it (the attributes toStateItem writes): listed by
 * institution and externalId, no sweepAt so not in the due index, deleted by TTL after retention.
 */
const keptItem = (i: number, now: Date): Record<string, unknown> => {
  const id = ulid(now.getTime() - i);
  const notice = aBenchNotice(i);
  const createdAt = new Date(now.getTime() - 86_400_000 - i).toISOString();
  const sentAt = new Date(Date.parse(createdAt) + 2000).toISOString();
  const retainUntil = new Date(Date.parse(sentAt) + 30 * 86_400_000).toISOString();
  return {
    [PARTITION_KEY]: `notice#${id}`,
    [INDEXES.byInstitution.partitionKey]: INSTITUTION.id,
    [INDEXES.byInstitution.sortKey]: `${createdAt}#${id}`,
    [INDEXES.byExternalId.partitionKey]: `${INSTITUTION.id}#${notice.externalId}`,
    [TTL_ATTRIBUTE]: Math.floor(Date.parse(retainUntil) / 1000),
    id,
    institutionId: INSTITUTION.id,
    kind: 'notice',
    version: 3,
    status: 'sent',
    to: notice.to,
    subject: notice.subject,
    type: notice.type,
    externalId: notice.externalId,
    createdAt,
    updatedAt: sentAt,
    giveUpAt: new Date(Date.parse(createdAt) + 360_000_000).toISOString(),
    sentAt,
    messageId: `<${id.toLowerCase()}@library.example.org>`,
    retainUntil,
    attemptCount: 1,
    attempts: [{ at: sentAt, startedAt: createdAt, outcome: 'sent', status: 'sent', transport: 'smtp', server: 'relay.example.edu:25', message: '250 2.0.0 Ok: queued' }],
    events: [],
  };
};

export const measureSweepScaling = async (sqsEndpoint: string): Promise<SweepScaling> => {
  const dynamo = await startDynamo();
  const tableName = 'sweep-notices';
  const { queueUrl } = await createQueue(sqsEndpoint, 'sweep-doorbells');
  const config = benchConfig({ host: '127.0.0.1', port: 25 }, { ...FULL_BATCHES, batchSize: 10, concurrency: 1 });
  const deps = createSweepDeps(
    { AWS_REGION: 'us-east-1', NOTICE_RELAY_TABLE: tableName, NOTICE_RELAY_QUEUE_URL: queueUrl, NOTICE_RELAY_DYNAMODB_ENDPOINT: dynamo.url, NOTICE_RELAY_SQS_ENDPOINT: sqsEndpoint },
    { config, log: silentLog },
  );
  await deps.clients.dynamodb.send(new CreateTableCommand(createTableInput(tableName)));
  const counter = new RequestCounter();
  counter.instrument(deps.clients.dynamodb, 'DynamoDB');
  counter.instrument(deps.clients.sqs, 'SQS');
  counter.freeze();
  // Filling uses a client of its own, never counted.
  const filler = documentsOf(deps.clients.dynamodb);
  const now = new Date();
  let kept = 0;
  let fillMs = 0;

  const keep = async (total: number) => {
    const started = performance.now();
    const indexes = Array.from({ length: total - kept }, (_, n) => kept + n);
    await inParallel(chunk(indexes, 25), PARALLEL_WRITES, async (batch) => {
      const output = await filler.send(new BatchWriteCommand({ RequestItems: { [tableName]: batch.map((i) => ({ PutRequest: { Item: keptItem(i, now) } })) } }));
      if (Object.keys(output.UnprocessedItems ?? {}).length) throw new Error('bench: dynalite left writes unprocessed');
    });
    kept = total;
    fillMs += performance.now() - started;
  };

  const sweepWithDue = async (): Promise<SweepSample> => {
    // Accepted an hour ago, never rung: due, as after a crash that lost their doorbells.
    const acceptedAt = new Date(now.getTime() - 3_600_000);
    const records = Array.from({ length: DUE }, (_, i) =>
      newNotice(aBenchNotice(1_000_000 + i), { id: ulid(acceptedAt.getTime()), institutionId: INSTITUTION.id, now: acceptedAt, random: () => 0, settings: deps.settings }).record,
    );
    await deps.store.createNotices(records);
    counter.reset();
    const started = performance.now();
    const result = await makeSweepHandler(deps)();
    const ms = performance.now() - started;
    counter.freeze();
    const counts = counter.snapshot();
    if (result.examined !== DUE || result.rung !== DUE) throw new Error(`bench: the sweep examined ${result.examined} and rang ${result.rung} of ${DUE} due notices`);
    // Out of the way of the next sample: its own 10 due notices are the only ones due then.
    await deps.store.deleteNotices(records.map((record) => record.notice.id));
    return {
      kept,
      due: DUE,
      itemsRead: counts.itemsRead,
      scannedCount: counts.scannedCount,
      readUnits: counts.readUnits + counts.queryFloorUnits,
      examined: result.examined,
      rung: result.rung,
      ms,
      counts,
    };
  };

  try {
    await keep(1_000);
    const small = await sweepWithDue();
    progress('sweep: filling the table to 100,000 kept notices');
    await keep(100_000);
    const large = await sweepWithDue();
    return { small, large, ratio: large.itemsRead / small.itemsRead, fillMs };
  } finally {
    deps.close();
    await dynamo.stop();
  }
};
