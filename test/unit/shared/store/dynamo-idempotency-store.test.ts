// DynamoIdempotencyStore's requests: the item a claim writes and the conditions of the lease timeline.
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createHash } from 'node:crypto';
import { DynamoIdempotencyStore } from '../../../../shared/store/dynamo-idempotency-store';
import type { IdempotencyRequest } from '../../../../shared/store/idempotency-store';

const documents = mockClient(DynamoDBDocumentClient);
const store = new DynamoIdempotencyStore({ client: new DynamoDBClient({ region: 'us-east-1' }), tableName: 'notices' });
const NOW = new Date('2030-01-01T00:00:00Z');
const request: IdempotencyRequest = { institutionId: 'demo', key: 'night-2030-01-01', requestHash: 'hash-a', ids: ['01JB0000000000000000000001'], batch: false, now: NOW };
const KEY = { pk: `idem#demo#${createHash('sha256').update('night-2030-01-01').digest('hex')}` };
const conditionFailed = () => new ConditionalCheckFailedException({ message: 'exists', $metadata: {} });

beforeEach(() => {
  documents.reset();
});

describe('Class: DynamoIdempotencyStore', () => {
  it('claims a new key with a conditional Put of an in-progress item, by the digest of the key', async () => {
    // Prepare
    documents.on(PutCommand).resolves({});
    // Act
    const claim = await store.claim(request);
    // Assess
    expect(claim).toEqual({ kind: 'proceed', ids: request.ids, takeover: false });
    const put = documents.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put).toMatchObject({
      Item: { ...KEY, state: 'in-progress', requestHash: 'hash-a', ids: request.ids, batch: false, leaseUntil: NOW.getTime() + 60_000, expireAt: NOW.getTime() / 1000 + 86_400 },
      ConditionExpression: 'attribute_not_exists(#pk) OR #expireAt < :nowSeconds',
      ExpressionAttributeValues: { ':nowSeconds': NOW.getTime() / 1000 },
    });
    expect(JSON.stringify(put)).not.toContain('night-2030-01-01');
  });

  it('replays a completed key with the same body and refuses another body', async () => {
    // Prepare
    documents.on(PutCommand).rejects(conditionFailed());
    documents.on(GetCommand).resolves({ Item: { ...KEY, state: 'complete', requestHash: 'hash-a', ids: ['01JB0000000000000000000009'], batch: true, leaseUntil: 0, expireAt: 0 } });
    // Act
    const replay = await store.claim(request);
    const mismatch = await store.claim({ ...request, requestHash: 'hash-b' });
    // Assess
    expect(replay).toEqual({ kind: 'replay', ids: ['01JB0000000000000000000009'], batch: true });
    expect(mismatch).toEqual({ kind: 'mismatch' });
    expect(documents).toHaveReceivedCommandWith(GetCommand, { Key: KEY, ConsistentRead: true });
  });

  it('takes over a lapsed lease only if no one else did since it was read', async () => {
    // Prepare
    documents.on(PutCommand).rejects(conditionFailed());
    documents.on(GetCommand).resolves({ Item: { ...KEY, state: 'in-progress', requestHash: 'hash-a', ids: ['01JB0000000000000000000009'], batch: false, leaseUntil: NOW.getTime() - 1, expireAt: 0 } });
    documents.on(UpdateCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
    // Act
    const first = await store.claim(request);
    const second = await store.claim(request);
    // Assess
    expect(first).toEqual({ kind: 'proceed', ids: ['01JB0000000000000000000009'], takeover: true });
    expect(second).toEqual({ kind: 'in-progress' });
    expect(documents).toHaveReceivedCommandWith(UpdateCommand, { ConditionExpression: 'leaseUntil = :seen AND #state = :inProgress', ExpressionAttributeValues: expect.objectContaining({ ':seen': NOW.getTime() - 1 }) });
  });

  it('marks a key complete, and releases one still in progress', async () => {
    // Prepare
    documents.on(UpdateCommand).resolves({});
    // Act
    await store.complete(request);
    await store.release(request);
    // Assess
    const [complete, release] = documents.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(complete).toMatchObject({ Key: KEY, UpdateExpression: 'SET #state = :complete', ExpressionAttributeValues: { ':complete': 'complete' } });
    expect(release).toMatchObject({ Key: KEY, UpdateExpression: 'SET leaseUntil = :zero', ConditionExpression: '#state = :inProgress' });
  });
});
