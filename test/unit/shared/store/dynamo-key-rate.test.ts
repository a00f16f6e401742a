// DynamoKeyRateCounter's request: one conditional ADD on the key's item for the minute.
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoKeyRateCounter } from '../../../../shared/store/dynamo-key-rate';

const documents = mockClient(DynamoDBDocumentClient);
const counter = new DynamoKeyRateCounter({ client: new DynamoDBClient({ region: 'us-east-1' }), tableName: 'notices' });

beforeEach(() => {
  documents.reset();
});

describe('Class: DynamoKeyRateCounter', () => {
  it("counts a request on the key's item for its minute, unless the limit is reached", async () => {
    // Prepare
    documents.on(UpdateCommand).resolvesOnce({}).rejectsOnce(new ConditionalCheckFailedException({ message: 'full', $metadata: {} }));
    // Act
    const admitted = await counter.count('digest-of-key', 1893456000, 600, 1893456180);
    const refused = await counter.count('digest-of-key', 1893456000, 600, 1893456180);
    // Assess
    expect([admitted, refused]).toEqual([true, false]);
    expect(documents.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: 'keyrate#digest-of-key#1893456000' },
      UpdateExpression: 'ADD #count :one SET #expireAt = :expireAt',
      ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
      ExpressionAttributeValues: { ':one': 1, ':limit': 600, ':expireAt': 1893456180 },
    });
  });
});
