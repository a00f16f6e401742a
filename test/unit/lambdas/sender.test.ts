import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendRawEmailCommand, SESClient } from '@aws-sdk/client-ses';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { makeSenderHandler } from '../../../lambdas/sender/sender-handler';
import type { Notice } from '../../../shared/notice/model';
import { aConfig, aNotice, sqsEvent } from '../../support/factories';
import { recordingLog } from '../../support/pipeline';
import { testDeps } from '../../support/deps';

const documents = mockClient(DynamoDBDocumentClient);
const ses = mockClient(SESClient);
const sqs = mockClient(SQSClient);

const NOW = new Date('2030-01-01T00:01:00Z');
const ids = ['01JB0000000000000000000001', '01JB0000000000000000000002', '01JB0000000000000000000003'];
// Branch sends through SES, whose client is mocked: no network in unit tests.
const stored = (id: string, overrides: Partial<Notice> = {}) => ({ pk: `notice#${id}`, ...aNotice({ id, institutionId: 'branch', ...overrides }) });
const content = (id: string) => ({ pk: `content#${id}`, to: 'patron@example.org', subject: 'Overdue', text: 'Please return it.' });
const doorbell = (id: string) => JSON.stringify({ id });
const leased = (input: { Key: { pk: string } }, overrides: Partial<Notice> = {}) => ({ Attributes: stored(input.Key.pk.slice(7), { status: 'sending', version: 2, leaseToken: 't', ...overrides }) });

let log: ReturnType<typeof recordingLog>;
let handler: ReturnType<typeof makeSenderHandler>;

beforeEach(() => {
  documents.reset();
  ses.reset();
  sqs.reset();
  log = recordingLog();
  handler = makeSenderHandler(testDeps({ clock: { now: () => NOW }, log, random: () => 0 }));
  documents.on(BatchGetCommand).resolves({ Responses: { notices: ids.flatMap((id) => [stored(id), content(id)]) } });
  // The institution's transport record (pause, last refused login): none yet.
  documents.on(GetCommand).resolves({});
  documents.on(UpdateCommand).callsFake((input) => (input.ExpressionAttributeValues[':s0'] === 'sending' ? leased(input) : leased(input, { status: input.ExpressionAttributeValues[':s0'], version: 3 })));
  ses.on(SendRawEmailCommand).resolves({ MessageId: 'ses-1' });
  sqs.on(SendMessageBatchCommand).resolves({});
});

describe('Handler: sender', () => {
  it('reads the batch in one request, then leases, sends and records each notice', async () => {
    // Act
    const response = await handler(sqsEvent(ids.map(doorbell)));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(documents).toHaveReceivedCommandTimes(BatchGetCommand, 1);
    expect(ses).toHaveReceivedCommandTimes(SendRawEmailCommand, 3);
    expect(ses).toHaveReceivedCommandWith(SendRawEmailCommand, { Source: 'Branch Library <notices@branch.example.edu>', Destinations: ['patron@example.org'], Tags: [{ Name: 'notice-id', Value: ids[0] }] });
    // Lease and record: two conditional writes per notice, each on the version read before.
    expect(documents).toHaveReceivedCommandTimes(UpdateCommand, 6);
    expect(log.lines.filter((l) => l.message === 'notice sent')).toHaveLength(3);
  });

  it('sends nothing for a notice another sender leased first', async () => {
    // Prepare
    documents.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'changed', $metadata: {} }));
    // Act
    const response = await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ses).not.toHaveReceivedCommand(SendRawEmailCommand);
  });

  it('skips a doorbell for a notice already sent', async () => {
    // Prepare
    documents.on(BatchGetCommand).resolves({ Responses: { notices: [stored(ids[0]!, { status: 'sent' }), content(ids[0]!)] } });
    // Act
    const response = await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(documents).not.toHaveReceivedCommand(UpdateCommand);
    expect(ses).not.toHaveReceivedCommand(SendRawEmailCommand);
  });

  it('rings again, with the rest as delay, a doorbell that came early', async () => {
    // Prepare
    documents.on(BatchGetCommand).resolves({ Responses: { notices: [stored(ids[0]!, { nextAttemptAt: '2030-01-01T00:05:00.000Z' }), content(ids[0]!)] } });
    // Act
    await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(ses).not.toHaveReceivedCommand(SendRawEmailCommand);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { Entries: [expect.objectContaining({ MessageBody: doorbell(ids[0]!), DelaySeconds: 240 })] });
  });

  it('drops a message that is not a doorbell instead of retrying it forever', async () => {
    const response = await handler(sqsEvent(['{"hello":"world"}', 'not json']));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(log.lines.filter((l) => l.message === 'message that is not a doorbell dropped')).toHaveLength(2);
  });

  it('hands back only the doorbell whose outcome could not be recorded', async () => {
    // Prepare: the store fails when recording the second notice's outcome
    documents.on(UpdateCommand).callsFake((input) => {
      if (input.Key.pk === `notice#${ids[1]}` && input.ExpressionAttributeValues[':s0'] !== 'sending') throw Object.assign(new Error('store down'), { name: 'InternalServerError', $fault: 'server' });
      return input.ExpressionAttributeValues[':s0'] === 'sending' ? leased(input) : leased(input, { status: 'sent', version: 3 });
    });
    const event = sqsEvent(ids.map(doorbell));
    // Act
    const response = await handler(event);
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]!.messageId }]);
    expect(log.lines.find((l) => l.message === 'delivery not recorded')?.attributes).toEqual({ noticeId: ids[1], code: 'InternalServerError' });
  });

  it('hands doorbells back rather than start an attempt it has no time to finish', async () => {
    // Prepare
    const context = { getRemainingTimeInMillis: () => 5_000 } as Context;
    const event = sqsEvent(ids.map(doorbell));
    // Act
    const run = handler(event, context);
    // Assess: every record failed, so Powertools fails the whole batch for SQS to deliver again
    await expect(run).rejects.toThrow();
    expect(ses).not.toHaveReceivedCommand(SendRawEmailCommand);
  });

  it('records a permanent refusal and creates the report once', async () => {
    // Prepare
    ses.on(SendRawEmailCommand).rejects(Object.assign(new Error('Message length is more than 10485760 bytes long.'), { name: 'MessageRejected', $fault: 'client' }));
    documents.on(UpdateCommand).callsFake((input) => {
      const status = input.ExpressionAttributeValues[':s0'];
      if (status === 'sending') return leased(input);
      if (status === 'failed') return leased(input, { status: 'failed', version: 3, reportPending: true, reportId: '01JBREPORT0000000000000000' });
      return leased(input, { status: 'failed', version: 4 });
    });
    documents.on(PutCommand).resolves({});
    // Act
    const response = await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(documents).toHaveReceivedCommandWith(PutCommand, { Item: expect.objectContaining({ pk: 'notice#01JBREPORT0000000000000000', kind: 'report', to: 'it@branch.example.edu' }), ConditionExpression: 'attribute_not_exists(#pk)' });
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { Entries: [expect.objectContaining({ MessageBody: doorbell('01JBREPORT0000000000000000') })] });
    expect(log.lines.find((l) => l.message === 'notice not sent')?.attributes).toMatchObject({ noticeId: ids[0], code: 'ESESREJECTED', scope: 'message', verdict: 'permanent' });
  });

  it('never logs a patron address or a message body', async () => {
    // Prepare
    ses.on(SendRawEmailCommand).rejects(Object.assign(new Error('Illegal address: patron@example.org'), { name: 'InvalidParameterValue' }));
    // Act
    await handler(sqsEvent(ids.map(doorbell)));
    // Assess
    const logged = JSON.stringify(log.lines);
    expect(logged).not.toContain('patron@example.org');
    expect(logged).not.toContain('Please return it.');
  });

  it("reads the institution's transport record once per batch", async () => {
    await handler(sqsEvent(ids.map(doorbell)));
    expect(documents).toHaveReceivedCommandTimes(GetCommand, 1);
    expect(documents).toHaveReceivedCommandWith(GetCommand, { Key: { pk: 'transport#branch' } });
  });

  const throttled = { pk: 'transport#branch', version: 2, pause: { since: NOW.toISOString(), code: 'ETHROTTLED', reply: 'Throttling: Maximum sending rate exceeded.', server: 'ses', nextProbeAt: new Date(NOW.getTime() + 600_000).toISOString(), backoffSeconds: 600, probes: 0 } };

  it('holds notices back while the institution is paused, without counting an attempt or writing anything', async () => {
    // Prepare
    documents.on(GetCommand).resolves({ Item: throttled });
    // Act
    const response = await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess: left as it was, its doorbell rung again for the probe's time
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ses).not.toHaveReceivedCommand(SendRawEmailCommand);
    expect(documents).not.toHaveReceivedCommand(UpdateCommand);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { Entries: [expect.objectContaining({ MessageBody: doorbell(ids[0]!), DelaySeconds: 600 })] });
  });

  it('defers a notice in the store when the pause outlasts the queue, and still when an event moved its version on meanwhile', async () => {
    // Prepare: the next probe is an hour away; the first deferral finds the version changed (SES appended a delay event), the lease still ours
    const longPause = { ...throttled, pause: { ...throttled.pause, code: 'EQUOTA', nextProbeAt: new Date(NOW.getTime() + 3_600_000).toISOString() } };
    documents.on(GetCommand, { Key: { pk: 'transport#branch' } }).resolves({ Item: longPause });
    documents.on(GetCommand, { Key: { pk: `notice#${ids[0]}` } }).resolves({ Item: stored(ids[0]!, { status: 'sending', version: 3, leaseToken: 't' }) });
    let deferrals = 0;
    documents.on(UpdateCommand).callsFake((input) => {
      if (input.ExpressionAttributeValues[':s0'] === 'sending') return leased(input);
      if (++deferrals === 1) throw new ConditionalCheckFailedException({ message: 'changed', $metadata: {} });
      return leased(input, { status: input.ExpressionAttributeValues[':s0'], version: 4 });
    });
    // Act
    await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess: the second deferral was made on the notice as it now is, with one entry in its history and no attempt counted
    expect(deferrals).toBe(2);
    const deferral = documents.commandCalls(UpdateCommand)[2]?.args[0].input;
    expect(deferral?.ExpressionAttributeValues).toMatchObject({ ':expect': 3, ':s0': 'queued', ':append': [expect.objectContaining({ outcome: 'deferred', code: 'EQUOTA', message: "held while the institution's sending is paused (EQUOTA: a daily sending quota ran out)" })] });
    expect(deferral?.UpdateExpression).not.toContain('attemptCount');
    expect(log.lines.find((line) => line.message === 'notice held')).toBeDefined();
    expect(ses).not.toHaveReceivedCommand(SendRawEmailCommand);
  });

  it('says nothing was discarded when another actor ended the notice first', async () => {
    // Prepare: past its give-up time, and the sweep discards it between our read and our write
    documents.on(BatchGetCommand).resolves({ Responses: { notices: [stored(ids[0]!, { giveUpAt: '2030-01-01T00:00:00.000Z' }), content(ids[0]!)] } });
    documents.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'changed', $metadata: {} }));
    // Act
    await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(log.lines.find((line) => line.message === 'notice discarded')).toBeUndefined();
    expect(documents).not.toHaveReceivedCommand(PutCommand);
  });

  it('sends nothing when the store was so slow that the lease would end before the attempt did', async () => {
    // Prepare: the lease the store gives back ends in 3 s, inside the margin kept to record the outcome
    const leaseExpiresAt = new Date(NOW.getTime() + 3_000).toISOString();
    documents.on(UpdateCommand).callsFake((input) => (input.ExpressionAttributeValues[':s0'] === 'sending' ? leased(input, { leaseExpiresAt }) : leased(input, { status: input.ExpressionAttributeValues[':s0'], version: 3 })));
    // Act
    const response = await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess: retried later like any transient failure, never sent past the lease
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ses).not.toHaveReceivedCommand(SendRawEmailCommand);
    expect(documents).toHaveReceivedCommandWith(UpdateCommand, { ExpressionAttributeValues: expect.objectContaining({ ':s0': 'retrying' }) });
    expect(log.lines.find((l) => l.message === 'notice not sent')?.attributes).toMatchObject({ noticeId: ids[0], code: 'ELEASE' });
  });

  it('waits out a rate-limit slot that comes within a second, and sends in it, never before', async () => {
    // Prepare: 30 a minute; the next slot is 400 ms away
    const config = aConfig();
    config.institutions[1] = { ...config.institutions[1]!, transport: { kind: 'ses', existingIdentity: false, maxPerMinute: 30 } };
    documents.on(GetCommand).resolves({ Item: { pk: 'transport#branch', version: 1, nextSlotAt: NOW.getTime() + 400, day: '2030-01-01', dayCount: 1 } });
    const events: string[] = [];
    const sleep = jest.fn(async (ms: number) => void events.push(`slept ${ms}`));
    ses.on(SendRawEmailCommand).callsFake(() => (events.push('sent'), { MessageId: 'ses-1' }));
    const waiting = makeSenderHandler({ ...testDeps({ config, clock: { now: () => NOW }, log, random: () => 0 }), sleep });
    // Act
    await waiting(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(events).toEqual(['slept 400', 'sent']);
  });
});
