// One item per institution, `transport#<id>`, shared by every sender: the rate limiter's slots and pause
// (a compare-and-set on `version`) and what GET /v1/transport shows (plain updates of other attributes).
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { nextSlot, type RateGate, type RateLimits, type RateState, type Slot } from '../transport/rate-gate';
import type { AuthFailure, TransportRecord, TransportRecords, TransportTest, TransportTestResult } from '../transport/records';
import { PARTITION_KEY } from './table';
import { documentsOf } from './documents';

export interface DynamoTransportStateOptions {
  client: DynamoDBClient;
  tableName: string;
}

interface StateItem extends Partial<RateState> {
  version?: number;
  lastTestedAt?: string;
  lastTestResult?: TransportTestResult;
  lastAuthFailure?: AuthFailure;
  authRecoveredAt?: string;
}

/** Tries of one reservation when other senders take slots at the same moment. */
const RESERVE_TRIES = 8;

export class DynamoTransportState implements RateGate, TransportRecords {
  private readonly documents: DynamoDBDocumentClient;

  public constructor(private readonly options: DynamoTransportStateOptions) {
    this.documents = documentsOf(options.client);
  }

  private key(institutionId: string) {
    return { [PARTITION_KEY]: `transport#${institutionId}` };
  }

  private async read(institutionId: string): Promise<StateItem> {
    const output = await this.documents.send(new GetCommand({ TableName: this.options.tableName, Key: this.key(institutionId), ConsistentRead: true }));
    return (output.Item ?? {}) as StateItem;
  }

  public async reserve(institutionId: string, limits: RateLimits, now: Date, recipients = 1): Promise<Slot> {
    for (let attempt = 1; ; attempt++) {
      const item = await this.read(institutionId);
      const version = item.version ?? 0;
      const { slot, next } = nextSlot({ nextSlotAt: item.nextSlotAt ?? 0, day: item.day, dayCount: item.dayCount ?? 0, pausedUntil: item.pausedUntil, pauseReason: item.pauseReason }, limits, now, recipients);
      try {
        await this.documents.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: this.key(institutionId),
            UpdateExpression: 'SET nextSlotAt = :next, #day = :day, dayCount = :count, version = :version',
            ConditionExpression: version === 0 ? 'attribute_not_exists(version)' : 'version = :seen',
            ExpressionAttributeNames: { '#day': 'day' },
            ExpressionAttributeValues: { ':next': next.nextSlotAt, ':day': next.day, ':count': next.dayCount, ':version': version + 1, ...(version === 0 ? {} : { ':seen': version }) },
          }),
        );
        return slot;
      } catch (error) {
        // Another sender took a slot between our read and our write: read again and take the next.
        if (!(error instanceof ConditionalCheckFailedException) || attempt >= RESERVE_TRIES) throw error;
      }
    }
  }

  public async pause(institutionId: string, until: Date, reason: string): Promise<void> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(institutionId),
          UpdateExpression: 'SET pausedUntil = :until, pauseReason = :reason',
          // A longer pause already in force stays.
          ConditionExpression: 'attribute_not_exists(pausedUntil) OR pausedUntil < :until',
          ExpressionAttributeValues: { ':until': until.getTime(), ':reason': reason },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  public async get(institutionId: string): Promise<TransportRecord> {
    const item = await this.read(institutionId);
    return {
      lastTestedAt: item.lastTestedAt,
      lastTestResult: item.lastTestResult,
      lastAuthFailure: item.lastAuthFailure,
      authRecoveredAt: item.authRecoveredAt,
      pausedUntil: item.pausedUntil ? new Date(item.pausedUntil).toISOString() : undefined,
      pauseReason: item.pausedUntil ? item.pauseReason : undefined,
    };
  }

  private async set(institutionId: string, values: Record<string, unknown>, remove: string[] = []): Promise<void> {
    const names = Object.fromEntries([...Object.keys(values), ...remove].map((key, i) => [`#a${i}`, key]));
    const placeholders = Object.keys(names);
    const sets = Object.keys(values).map((_, i) => `${placeholders[i]} = :v${i}`);
    const removes = placeholders.slice(Object.keys(values).length);
    await this.documents.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: this.key(institutionId),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: Object.fromEntries(Object.values(values).map((value, i) => [`:v${i}`, value])),
      }),
    );
  }

  public recordTest(institutionId: string, test: TransportTest): Promise<void> {
    return this.set(institutionId, { lastTestedAt: test.lastTestedAt, lastTestResult: test.lastTestResult });
  }

  public recordAuthFailure(institutionId: string, failure: AuthFailure): Promise<void> {
    return this.set(institutionId, { lastAuthFailure: failure }, ['authRecoveredAt']);
  }

  public recordAuthRecovered(institutionId: string, at: Date): Promise<void> {
    return this.set(institutionId, { authRecoveredAt: at.toISOString() });
  }
}
