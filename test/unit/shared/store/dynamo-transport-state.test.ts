// DynamoTransportState's requests: one item per institution, read consistently, written with a
// compare-and-set on its version; the state's own fields only.
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoTransportState } from '../../../../shared/store/dynamo-transport-state';

const documents = mockClient(DynamoDBDocumentClient);
const state = new DynamoTransportState({ client: new DynamoDBClient({ region: 'us-east-1' }), tableName: 'notices' });
const pause = { since: '2030-01-01T00:00:00.000Z', code: 'EAUTH', reply: '535 5.7.8 refused', server: 'relay.library.example.org:587', nextProbeAt: '2030-01-01T00:03:00.000Z', backoffSeconds: 180, probes: 0 };

beforeEach(() => {
  documents.reset();
});

describe('Class: DynamoTransportState', () => {
  it("reads an institution's state consistently from its own item, leaving out what is not the state's", async () => {
    // Prepare: an item as an older version left it, with its relay pause in retired attributes
    documents.on(GetCommand).resolves({ Item: { pk: 'transport#branch', version: 3, pause, nextSlotAt: 1_893_456_000_000, pausedUntil: 1_893_456_060_000, pauseReason: '421 from ses' } });
    // Act
    const read = await state.read('branch');
    // Assess
    expect(documents).toHaveReceivedCommandWith(GetCommand, { TableName: 'notices', Key: { pk: 'transport#branch' }, ConsistentRead: true });
    expect(read).toEqual({ version: 3, pause, nextSlotAt: 1_893_456_000_000 });
  });

  it('creates the item only where none has a version, and otherwise writes only on the version read', async () => {
    // Prepare
    documents.on(UpdateCommand).resolves({});
    // Act
    await state.write('branch', 0, { set: { pause } });
    await state.write('branch', 1, { set: { probe: { token: 'p1', until: '2030-01-01T00:04:30.000Z' } }, remove: ['refusals'] });
    // Assess
    const [create, update] = documents.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(create).toMatchObject({
      TableName: 'notices',
      Key: { pk: 'transport#branch' },
      UpdateExpression: 'SET #version = :next, #s0 = :s0',
      ConditionExpression: 'attribute_not_exists(#version)',
      ExpressionAttributeNames: { '#version': 'version', '#s0': 'pause' },
      ExpressionAttributeValues: { ':next': 1, ':s0': pause },
    });
    expect(update).toMatchObject({
      UpdateExpression: 'SET #version = :next, #s0 = :s0 REMOVE #r0',
      ConditionExpression: '#version = :seen',
      ExpressionAttributeNames: { '#version': 'version', '#s0': 'probe', '#r0': 'refusals' },
      ExpressionAttributeValues: { ':next': 2, ':seen': 1 },
    });
  });

  it('answers false when another writer came first, and throws what else the table answers', async () => {
    // Prepare
    documents.on(UpdateCommand).rejectsOnce(new ConditionalCheckFailedException({ message: 'changed', $metadata: {} })).rejectsOnce(Object.assign(new Error('down'), { name: 'InternalServerError' }));
    // Act
    const lost = await state.write('branch', 4, { set: { firstUnsentAt: '2030-01-01T00:00:00.000Z' } });
    const failed = state.write('branch', 4, { set: { firstUnsentAt: '2030-01-01T00:00:00.000Z' } });
    // Assess
    expect(lost).toBe(false);
    await expect(failed).rejects.toThrow('down');
  });
});
