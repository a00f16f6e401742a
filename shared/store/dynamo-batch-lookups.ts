// BatchLookups on DynamoDB: the transport states and suppression entries a sender's batch needs, read as
// one BatchGetItem (strongly consistent, as each store's own reads are).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Random } from '../clock';
import type { TransportState } from '../transport/records';
import { batchGetItems } from './batch-get';
import { type BatchLookupRequest, type BatchLookupResult, type BatchLookups, suppressionLookupKey } from './batch-lookups';
import { documentsOf } from './documents';
import { suppressionEntryOf, suppressionInForce, suppressionPartition } from './suppression-item';
import type { SuppressionEntry } from './suppression-store';
import { transportStateOf, transportStatePartition } from './transport-state-item';

export interface DynamoBatchLookupsOptions {
  client: DynamoDBClient;
  tableName: string;
  random: Random;
}

export class DynamoBatchLookups implements BatchLookups {
  private readonly documents: DynamoDBDocumentClient;

  public constructor(private readonly options: DynamoBatchLookupsOptions) {
    this.documents = documentsOf(options.client);
  }

  public async lookup(request: BatchLookupRequest): Promise<BatchLookupResult> {
    const institutions = [...new Set(request.institutionIds)];
    const stateKeys = institutions.map(transportStatePartition);
    const suppressionKeys = request.addresses.map(({ institutionId, address }) => suppressionPartition(institutionId, address));
    const items = stateKeys.length + suppressionKeys.length > 0 ? await batchGetItems(this.documents, this.options.tableName, [...stateKeys, ...suppressionKeys], this.options.random) : new Map();
    const transportStates = new Map<string, TransportState>(institutions.map((id, i) => [id, transportStateOf(items.get(stateKeys[i] as string))]));
    const suppressions = new Map<string, SuppressionEntry>();
    request.addresses.forEach(({ institutionId, address }, i) => {
      const item = items.get(suppressionKeys[i] as string);
      if (item && suppressionInForce(item, request.now)) suppressions.set(suppressionLookupKey(institutionId, address), suppressionEntryOf(item));
    });
    return { transportStates, suppressions };
  }
}
