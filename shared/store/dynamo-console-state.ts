// The staff console's own items in the notice table, each removed by TTL:
//   console-session#<digest of the cookie's token>   a session (one write at sign-in, one delete at sign-out)
//   console-signin#…#<window>                         wrong staff keys counted per source and institution
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ConsoleSession, SessionStore } from '../console/sessions';
import type { FailureCounter } from '../console/sign-in';
import { PARTITION_KEY, TTL_ATTRIBUTE } from './table';
import { documentsOf } from './documents';

interface Options {
  client: DynamoDBClient;
  tableName: string;
}

const sessionKey = (id: string) => ({ [PARTITION_KEY]: `console-session#${id}` });

export class DynamoConsoleSessions implements SessionStore {
  private readonly documents: DynamoDBDocumentClient;

  public constructor(private readonly options: Options) {
    this.documents = documentsOf(options.client);
  }

  public async put(session: ConsoleSession): Promise<void> {
    // TTL a day after expiry: DynamoDB deletes expired items within days; the session's own time decides.
    const expireAt = Math.floor(new Date(session.expiresAt).getTime() / 1000) + 86_400;
    await this.documents.send(new PutCommand({ TableName: this.options.tableName, Item: { ...sessionKey(session.id), ...session, [TTL_ATTRIBUTE]: expireAt } }));
  }

  public async get(id: string): Promise<ConsoleSession | undefined> {
    // Consistent: the page after sign-in must find the session written a moment before.
    const output = await this.documents.send(new GetCommand({ TableName: this.options.tableName, Key: sessionKey(id), ConsistentRead: true }));
    const item = output.Item;
    return item ? { id: item.id, institutionId: item.institutionId, csrfToken: item.csrfToken, createdAt: item.createdAt, expiresAt: item.expiresAt } : undefined;
  }

  public async delete(id: string): Promise<void> {
    await this.documents.send(new DeleteCommand({ TableName: this.options.tableName, Key: sessionKey(id) }));
  }
}

const failureKey = (key: string, windowStart: number) => ({ [PARTITION_KEY]: `${key}#${windowStart}` });

export class DynamoSignInFailures implements FailureCounter {
  private readonly documents: DynamoDBDocumentClient;

  public constructor(private readonly options: Options) {
    this.documents = documentsOf(options.client);
  }

  public async read(keys: string[], windowStart: number): Promise<number[]> {
    const output = await this.documents.send(
      new BatchGetCommand({ RequestItems: { [this.options.tableName]: { Keys: keys.map((key) => failureKey(key, windowStart)), ConsistentRead: true } } }),
    );
    const found = new Map((output.Responses?.[this.options.tableName] ?? []).map((item) => [item[PARTITION_KEY] as string, Number(item.failures ?? 0)]));
    return keys.map((key) => found.get(failureKey(key, windowStart)[PARTITION_KEY]) ?? 0);
  }

  public async add(keys: string[], windowStart: number, expireAt: number): Promise<void> {
    await Promise.all(
      keys.map((key) =>
        this.documents.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: failureKey(key, windowStart),
            UpdateExpression: 'ADD failures :one SET #expireAt = :expireAt',
            ExpressionAttributeNames: { '#expireAt': TTL_ATTRIBUTE },
            ExpressionAttributeValues: { ':one': 1, ':expireAt': expireAt },
          }),
        ),
      ),
    );
  }
}
