// DynamoNoticeStore's requests to DynamoDB, item by item: the wire format the handler tests no longer see.
import { ConditionalCheckFailedException, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { StaleNoticeError } from '../../../../shared/errors';
import { newNotice } from '../../../../shared/lifecycle/transitions';
import { DynamoNoticeStore } from '../../../../shared/store/dynamo-notice-store';
import { aNotice, aNoticeInput, settingsOf } from '../../../support/factories';

const documents = mockClient(DynamoDBDocumentClient);
const dynamodb = mockClient(DynamoDBClient);
const ID = '01JB0000000000000000000001';
const store = new DynamoNoticeStore({ client: new DynamoDBClient({ region: 'us-east-1' }), tableName: 'notices', random: () => 0 });
const record = (id = ID, overrides: Parameters<typeof aNoticeInput>[0] = {}) =>
  newNotice(aNoticeInput(overrides), { id, institutionId: 'demo', now: new Date('2030-01-01T00:00:00Z'), random: () => 0.5, settings: settingsOf() }).record;
const idOf = (i: number) => `01JB${String(i).padStart(22, '0')}`;

beforeEach(() => {
  documents.reset();
  dynamodb.reset();
  documents.on(BatchWriteCommand).resolves({});
});

describe('Class: DynamoNoticeStore', () => {
  it('writes a notice as a state item, with its index keys, and a content item with its TTL', async () => {
    // Act
    await store.createNotices([record()]);
    // Assess
    const written = documents.commandCalls(BatchWriteCommand)[0]?.args[0].input.RequestItems?.notices?.map((r) => r.PutRequest?.Item);
    expect(written).toEqual([
      expect.objectContaining({ pk: `notice#${ID}`, status: 'queued', institutionId: 'demo', instKey: 'demo', instSort: `2030-01-01T00:00:00.000Z#${ID}`, extKey: 'demo#loan-81234', dueShard: expect.any(String), dueAt: expect.any(Number) }),
      expect.objectContaining({ pk: `content#${ID}`, text: aNoticeInput().text, expireAt: expect.any(Number) }),
    ]);
  });

  it('writes in BatchWriteItem requests of 25 items', async () => {
    // Act: 30 notices, 60 items
    await store.createNotices(Array.from({ length: 30 }, (_, i) => record(idOf(i))));
    // Assess
    expect(documents).toHaveReceivedCommandTimes(BatchWriteCommand, 3);
    expect(documents.commandCalls(BatchWriteCommand).map((call) => call.args[0].input.RequestItems?.notices?.length).sort()).toEqual([10, 25, 25]);
  });

  it('retries the writes DynamoDB leaves unprocessed', async () => {
    // Prepare
    documents.on(BatchWriteCommand).callsFakeOnce((input) => ({ UnprocessedItems: { notices: input.RequestItems.notices.slice(1) } })).resolves({});
    // Act
    await store.createNotices([record()]);
    // Assess
    expect(documents).toHaveReceivedCommandTimes(BatchWriteCommand, 2);
    expect(documents.commandCalls(BatchWriteCommand)[1]?.args[0].input.RequestItems?.notices).toHaveLength(1);
  });

  it('deletes both items of each notice', async () => {
    await store.deleteNotices([ID]);
    expect(documents.commandCalls(BatchWriteCommand)[0]?.args[0].input.RequestItems?.notices).toEqual([{ DeleteRequest: { Key: { pk: `notice#${ID}` } } }, { DeleteRequest: { Key: { pk: `content#${ID}` } } }]);
  });

  it('reads a state consistently by its key, without the attributes only the indexes use', async () => {
    // Prepare
    documents.on(GetCommand).resolves({ Item: { pk: `notice#${ID}`, instKey: 'demo', instSort: 'x', dueShard: '1', dueAt: 1, expireAt: 2, ...aNotice({ id: ID }) } });
    // Act
    const notice = await store.getNotice(ID);
    // Assess
    expect(documents).toHaveReceivedCommandWith(GetCommand, { TableName: 'notices', Key: { pk: `notice#${ID}` }, ConsistentRead: true });
    expect(notice).toEqual(aNotice({ id: ID }));
  });

  it('reads the states and contents of a batch in one consistent BatchGetItem', async () => {
    // Prepare
    const ids = [idOf(1), idOf(2)];
    documents.on(BatchGetCommand).resolves({ Responses: { notices: ids.flatMap((id) => [{ pk: `notice#${id}`, ...aNotice({ id }) }, { pk: `content#${id}`, to: 'patron@example.org', subject: 'x', text: 'y' }]) } });
    // Act
    const found = await store.getForDelivery(ids);
    // Assess
    expect(documents).toHaveReceivedCommandTimes(BatchGetCommand, 1);
    expect(documents).toHaveReceivedCommandWith(BatchGetCommand, { RequestItems: { notices: { Keys: ids.flatMap((id) => [{ pk: `notice#${id}` }, { pk: `content#${id}` }]), ConsistentRead: true } } });
    expect(found.get(idOf(2))).toEqual({ notice: aNotice({ id: idOf(2) }), content: { to: 'patron@example.org', subject: 'x', text: 'y' } });
  });

  it('applies a transition as one conditional UpdateItem on the version read', async () => {
    // Prepare
    documents.on(UpdateCommand).resolves({ Attributes: { pk: `notice#${ID}`, ...aNotice({ id: ID, status: 'retrying', version: 4 }) } });
    // Act
    const updated = await store.apply({
      id: ID,
      expectVersion: 3,
      set: { status: 'retrying', nextAttemptAt: '2030-01-01T00:05:00.000Z', sweepAt: '2030-01-01T00:25:00.000Z', messageId: undefined },
      remove: ['leaseToken'],
      append: [{ at: '2030-01-01T00:01:00.000Z', outcome: 'transient', status: 'retrying', responseCode: 451 }],
      countAttempt: true,
    });
    // Assess
    const input = documents.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ Key: { pk: `notice#${ID}` }, ConditionExpression: '#version = :expect', ReturnValues: 'ALL_NEW' });
    expect(input?.ExpressionAttributeValues).toMatchObject({ ':expect': 3, ':s0': 'retrying', ':append': [expect.objectContaining({ responseCode: 451 })] });
    expect(Object.values(input?.ExpressionAttributeNames ?? {})).toEqual(expect.arrayContaining(['status', 'nextAttemptAt', 'sweepAt', 'dueShard', 'dueAt', 'leaseToken', 'attempts', 'attemptCount']));
    expect(Object.values(input?.ExpressionAttributeNames ?? {})).not.toContain('messageId');
    expect(input?.UpdateExpression).toMatch(/^SET #version = #version \+ :one, .*#attempts = list_append\(if_not_exists\(#attempts, :empty\), :append\), #attemptCount = #attemptCount \+ :one REMOVE #r\d+$/);
    expect(updated).toEqual(aNotice({ id: ID, status: 'retrying', version: 4 }));
  });

  it('takes a notice out of the due index with its sweepAt, and appends SES events', async () => {
    // Prepare
    documents.on(UpdateCommand).resolves({ Attributes: aNotice({ id: ID }) });
    // Act
    await store.apply({ id: ID, expectVersion: 1, set: { status: 'delivered', retainUntil: '2030-01-31T00:00:00.000Z' }, remove: ['sweepAt'], appendEvents: [{ at: '2030-01-01T00:00:01Z', type: 'delivery' }] });
    // Assess
    const input = documents.commandCalls(UpdateCommand)[0]?.args[0].input;
    const removed = (input?.UpdateExpression?.split(' REMOVE ')[1] ?? '').split(', ').map((name) => input?.ExpressionAttributeNames?.[name]);
    expect(removed).toEqual(['sweepAt', 'dueShard', 'dueAt']);
    expect(input?.ExpressionAttributeValues).toMatchObject({ ':appendEvents': [{ at: '2030-01-01T00:00:01Z', type: 'delivery' }] });
    expect(Object.entries(input?.ExpressionAttributeNames ?? {}).find(([, name]) => name === 'expireAt')).toBeDefined();
  });

  it('says a notice changed when the version condition fails', async () => {
    // Prepare
    documents.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'changed', $metadata: {} }));
    // Act
    const applying = store.apply({ id: ID, expectVersion: 1, set: { status: 'cancelled' }, remove: [] });
    // Assess
    await expect(applying).rejects.toThrow(StaleNoticeError);
  });

  it('creates a report with its content first and its state only if none exists', async () => {
    // Prepare
    documents.on(PutCommand).resolvesOnce({}).rejectsOnce(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    const report = record('01JBREPORT0000000000000000');
    // Act
    const created = await store.createReport(report);
    // Assess
    expect(created).toBe(false);
    const [content, state] = documents.commandCalls(PutCommand).map((call) => call.args[0].input);
    expect(content?.Item).toMatchObject({ pk: 'content#01JBREPORT0000000000000000' });
    expect(state).toMatchObject({ Item: expect.objectContaining({ pk: 'notice#01JBREPORT0000000000000000' }), ConditionExpression: 'attribute_not_exists(#pk)' });
  });

  it('reads only the due index, one Query per shard, and never scans', async () => {
    // Prepare
    documents.on(QueryCommand).callsFake((input) => ({ Items: input.ExpressionAttributeValues[':shard'] === '0' ? [{ pk: `notice#${ID}` }] : [] }));
    // Act
    const due = await store.findDue(new Date('2030-01-01T00:10:00Z'), 500);
    // Assess
    expect(due).toEqual([ID]);
    expect(documents).toHaveReceivedCommandTimes(QueryCommand, 4);
    expect(documents).toHaveReceivedCommandWith(QueryCommand, { IndexName: 'due', KeyConditionExpression: '#shard = :shard AND #due <= :now', ExpressionAttributeValues: { ':shard': '0', ':now': 1893456600 } });
    expect(documents).not.toHaveReceivedCommand(ScanCommand);
  });

  it("lists an institution's notices newest first from its index, then reads their states", async () => {
    // Prepare
    documents.on(QueryCommand).resolves({ Items: [{ pk: `notice#${ID}`, instKey: 'demo', instSort: `2030-01-01T00:00:00.000Z#${ID}` }] });
    documents.on(BatchGetCommand).resolves({ Responses: { notices: [{ pk: `notice#${ID}`, ...aNotice({ id: ID }) }] } });
    // Act
    const page = await store.listNotices('demo', { limit: 10 });
    const since = await store.listNotices('demo', { limit: 10, since: '2030-01-01T08:00:00.000Z' });
    const byExternalId = await store.listNotices('demo', { limit: 10, externalId: 'loan-81234' });
    // Assess
    expect(page).toEqual({ notices: [aNotice({ id: ID })] });
    expect([since.notices, byExternalId.notices]).toEqual([[aNotice({ id: ID })], [aNotice({ id: ID })]]);
    const queries = documents.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries[0]).toMatchObject({ IndexName: 'byInstitution', ScanIndexForward: false, ExpressionAttributeValues: { ':pk': 'demo' } });
    expect(queries[1]).toMatchObject({ IndexName: 'byInstitution', ExpressionAttributeValues: { ':pk': 'demo', ':since': '2030-01-01T08:00:00.000Z' } });
    expect(queries[2]).toMatchObject({ IndexName: 'byExternalId', ExpressionAttributeValues: { ':pk': 'demo#loan-81234' } });
  });

  it('answers ping with DescribeTable', async () => {
    dynamodb.on(DescribeTableCommand).resolves({});
    await store.ping();
    expect(dynamodb).toHaveReceivedCommandWith(DescribeTableCommand, { TableName: 'notices' });
  });
});
