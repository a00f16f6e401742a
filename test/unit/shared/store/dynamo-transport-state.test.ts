// DynamoTransportState's reads: one item per institution, its pause kept as epoch milliseconds.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoTransportState } from '../../../../shared/store/dynamo-transport-state';

const documents = mockClient(DynamoDBDocumentClient);
const state = new DynamoTransportState({ client: new DynamoDBClient({ region: 'us-east-1' }), tableName: 'notices' });

beforeEach(() => {
  documents.reset();
});

describe('Class: DynamoTransportState', () => {
  it("reads an institution's record consistently from its own item, and gives a pause as a time", async () => {
    // Prepare
    documents.on(GetCommand).resolves({ Item: { pk: 'transport#branch', pausedUntil: Date.parse('2030-01-01T00:10:00Z'), pauseReason: '421 from ses' } });
    // Act
    const record = await state.get('branch');
    // Assess
    expect(documents).toHaveReceivedCommandWith(GetCommand, { TableName: 'notices', Key: { pk: 'transport#branch' }, ConsistentRead: true });
    expect(record).toMatchObject({ pausedUntil: '2030-01-01T00:10:00.000Z', pauseReason: '421 from ses' });
  });
});
