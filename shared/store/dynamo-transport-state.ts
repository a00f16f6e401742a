// One item per institution, `transport#<id>`, shared by every sender, the sweep and the Test Server: the
// institution's transport state (shared/transport/records.ts). This adapter reads it and writes it with a
// compare-and-set on `version`; it decides nothing (the rate limit, the pause and the stall are decided
// in shared/transport).
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TransportChange, TransportState, TransportStates } from '../transport/records';
import { documentsOf } from './documents';
import { transportStateKey, transportStateOf } from './transport-state-item';

export interface DynamoTransportStateOptions {
  client: DynamoDBClient;
  tableName: string;
}

export class DynamoTransportState implements TransportStates {
  private readonly documents: DynamoDBDocumentClient;

  public constructor(private readonly options: DynamoTransportStateOptions) {
    this.documents = documentsOf(options.client);
  }

  private key(institutionId: string) {
    return transportStateKey(institutionId);
  }

  public async read(institutionId: string): Promise<TransportState> {
    const output = await this.documents.send(new GetCommand({ TableName: this.options.tableName, Key: this.key(institutionId), ConsistentRead: true }));
    return transportStateOf(output.Item as Record<string, unknown> | undefined);
  }

  public async write(institutionId: string, expectVersion: number, change: TransportChange): Promise<boolean> {
    const set = Object.entries(change.set ?? {}).filter(([, value]) => value !== undefined);
    const remove = change.remove ?? [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':next': expectVersion + 1 };
    const assignments = ['#version = :next'];
    names['#version'] = 'version';
    set.forEach(([field, value], i) => {
      names[`#s${i}`] = field;
      values[`:s${i}`] = value;
      assignments.push(`#s${i} = :s${i}`);
    });
    remove.forEach((field, i) => (names[`#r${i}`] = field));
    if (expectVersion > 0) values[':seen'] = expectVersion;
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(institutionId),
          UpdateExpression: `SET ${assignments.join(', ')}${remove.length ? ` REMOVE ${remove.map((_, i) => `#r${i}`).join(', ')}` : ''}`,
          // Version 0 is an institution nothing was kept for yet: the first writer creates the item.
          ConditionExpression: expectVersion > 0 ? '#version = :seen' : 'attribute_not_exists(#version)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
