import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { makeSweepHandler } from '../../../lambdas/sweep/sweep-handler';
import type { Notice } from '../../../shared/notice/model';
import { aNotice } from '../../support/factories';
import { testDeps } from '../../support/deps';

const documents = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const NOW = new Date('2030-01-01T00:10:00Z');
const stored = (overrides: Partial<Notice>) => ({ pk: `notice#${overrides.id}`, ...aNotice(overrides) });
const handler = makeSweepHandler(testDeps({ clock: { now: () => NOW } }));

const due = (...notices: Array<ReturnType<typeof stored>>) => {
  documents.on(QueryCommand).callsFake((input) => ({ Items: input.ExpressionAttributeValues[':shard'] === '0' ? notices.map((n) => ({ pk: n.pk })) : [] }));
  documents.on(BatchGetCommand).resolves({ Responses: { notices } });
};

beforeEach(() => {
  documents.reset();
  sqs.reset();
  sqs.on(SendMessageBatchCommand).resolves({});
  documents.on(UpdateCommand).callsFake((input) => ({ Attributes: { ...stored({ id: input.Key.pk.slice(7) }), version: 2 } }));
});

describe('Handler: sweep', () => {
  it('reads only the due index, by shard, and never scans', async () => {
    // Prepare
    due();
    // Act
    const result = await handler();
    // Assess
    expect(result.examined).toBe(0);
    expect(documents).toHaveReceivedCommandTimes(QueryCommand, 4);
    expect(documents).toHaveReceivedCommandWith(QueryCommand, { IndexName: 'due', KeyConditionExpression: '#shard = :shard AND #due <= :now', ExpressionAttributeValues: { ':shard': '0', ':now': 1893456600 } });
    expect(documents).not.toHaveReceivedCommand(ScanCommand);
  });

  it('rings a notice whose doorbell was lost', async () => {
    // Prepare
    due(stored({ id: '01JB0000000000000000000001' }));
    // Act
    const result = await handler();
    // Assess
    expect(result).toMatchObject({ examined: 1, rung: 1 });
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { Entries: [expect.objectContaining({ MessageBody: '{"id":"01JB0000000000000000000001"}', DelaySeconds: 0 })] });
  });

  it('rings nothing when an overlapping sweep changed the notice first', async () => {
    // Prepare
    due(stored({ id: '01JB0000000000000000000001' }));
    documents.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'changed', $metadata: {} }));
    // Act
    const result = await handler();
    // Assess
    expect(result).toMatchObject({ examined: 1, rung: 0, raced: 1 });
    expect(sqs).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });

  it('rings every doorbell it committed when the store refuses one notice, then fails the run for the alarm', async () => {
    // Prepare: three notices whose doorbells were lost; the store refuses to update the middle one
    const ids = ['01JB0000000000000000000001', '01JB0000000000000000000002', '01JB0000000000000000000003'];
    due(...ids.map((id) => stored({ id })));
    documents.on(UpdateCommand).callsFake((input) => {
      if (input.Key.pk === `notice#${ids[1]}`) throw Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' });
      return { Attributes: { ...stored({ id: input.Key.pk.slice(7) }), version: 2 } };
    });
    // Act
    const run = handler();
    // Assess
    await expect(run).rejects.toThrow('the sweep could not handle 1 notice(s); the next sweep tries them again');
    const rung = sqs.commandCalls(SendMessageBatchCommand).flatMap((call) => call.args[0].input.Entries ?? []).map((entry) => JSON.parse(entry.MessageBody ?? '{}').id);
    expect(rung.sort()).toEqual([ids[0], ids[2]]);
  });

  it('discards a notice past its give-up time and creates its report', async () => {
    // Prepare
    due(stored({ id: '01JB0000000000000000000001', status: 'retrying', giveUpAt: '2030-01-01T00:09:00.000Z', sweepAt: '2030-01-01T00:09:00.000Z' }));
    documents.on(UpdateCommand).callsFake(() => ({
      Attributes: { ...stored({ id: '01JB0000000000000000000001', status: 'discarded', reportPending: true, reportId: '01JBREPORT0000000000000000' }), version: 2 },
    }));
    documents.on(PutCommand).resolves({});
    // Act
    const result = await handler();
    // Assess
    expect(result).toMatchObject({ discarded: 1, reportsCreated: 1 });
    expect(documents).toHaveReceivedCommandWith(PutCommand, { Item: expect.objectContaining({ pk: 'notice#01JBREPORT0000000000000000', kind: 'report', reportFor: '01JB0000000000000000000001' }) });
  });
});
