// The one DocumentClient of each DynamoDB client, with the marshalling this service uses everywhere:
// undefined values are left out (an optional field absent, not an error). The SDK keeps these options on
// the base client's shared configuration, so a second `DynamoDBDocumentClient.from()` with other options
// would silently change them for every DocumentClient of the same client.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const documentClients = new WeakMap<DynamoDBClient, DynamoDBDocumentClient>();

export const documentsOf = (client: DynamoDBClient): DynamoDBDocumentClient => {
  let documents = documentClients.get(client);
  if (!documents) {
    documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    documentClients.set(client, documents);
  }
  return documents;
};
