// IdempotencyStore on DynamoDB, in the notice table: one item per key, `idem#<institution>#<sha256 of
// key>` (the key itself is the client's and never stored), holding the request's hash, the ids it chose,
// its state and two clocks: `leaseUntil` (epoch ms) and `expireAt` (epoch s, DynamoDB's TTL).
//
// One key's life, and the condition that decides each step (t0: the first claim; lease 60 s, expiry 24 h):
//
//   t0 ─────────────── t0 + lease ───────────────────────────── t0 + expiry ──────▶
//   │ in-progress       │ in-progress, lapsed                    │ expired
//   │ a repeat waits    │ a repeat takes over, with the same ids │ a claim starts anew
//   │ (in-progress)     │ (Update if leaseUntil = the one read   │ (Put if the item is absent
//   │                   │  AND state = in-progress: one wins)    │  OR expireAt < now)
//   ├─ complete ──────────────────────────────────────────────── ┤
//   │  state = complete: every repeat replays the ids            │
//   ├─ release (its write failed): leaseUntil = 0, a retry takes over at once
//   └─ another body with the key, at any time before expiry: mismatch
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import type { NoticeId } from '../ids';
import type { IdempotencyClaim, IdempotencyRequest, IdempotencyStore } from './idempotency-store';
import { documentsOf } from './documents';
import { PARTITION_KEY, TTL_ATTRIBUTE } from './table';

export interface DynamoIdempotencyStoreOptions {
  /** Built once in shared/deps.ts; dynalite's in integration tests. */
  client: DynamoDBClient;
  tableName: string;
  /** How long a key is remembered. */
  expirySeconds?: number;
  /** How long a request holds its key before a retry may take it over (> the intake's timeout). */
  leaseSeconds?: number;
}

interface IdempotencyItem {
  requestHash: string;
  ids: NoticeId[];
  batch: boolean;
  state: 'in-progress' | 'complete';
  leaseUntil: number;
  expireAt: number;
}

export class DynamoIdempotencyStore implements IdempotencyStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly expirySeconds: number;
  private readonly leaseMs: number;

  public constructor(options: DynamoIdempotencyStoreOptions) {
    this.documents = documentsOf(options.client);
    this.table = options.tableName;
    this.expirySeconds = options.expirySeconds ?? 86_400;
    this.leaseMs = (options.leaseSeconds ?? 60) * 1000;
  }

  private keyOf(request: Pick<IdempotencyRequest, 'institutionId' | 'key'>) {
    return { [PARTITION_KEY]: `idem#${request.institutionId}#${createHash('sha256').update(request.key).digest('hex')}` };
  }

  public async claim(request: IdempotencyRequest): Promise<IdempotencyClaim> {
    const nowMs = request.now.getTime();
    const Key = this.keyOf(request);
    const item: IdempotencyItem = {
      requestHash: request.requestHash,
      ids: request.ids,
      batch: request.batch,
      state: 'in-progress',
      leaseUntil: nowMs + this.leaseMs,
      expireAt: Math.floor(nowMs / 1000) + this.expirySeconds,
    };
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...Key, ...item },
          // A record past its expiry may linger until DynamoDB's TTL removes it; it no longer counts.
          ConditionExpression: 'attribute_not_exists(#pk) OR #expireAt < :nowSeconds',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#expireAt': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':nowSeconds': Math.floor(nowMs / 1000) },
        }),
      );
      return { kind: 'proceed', ids: request.ids, takeover: false };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const existing = (await this.documents.send(new GetCommand({ TableName: this.table, Key, ConsistentRead: true }))).Item as IdempotencyItem | undefined;
    // Gone between the Put and the Get (TTL removed it): claim again.
    if (!existing) return this.claim(request);
    if (existing.requestHash !== request.requestHash) return { kind: 'mismatch' };
    if (existing.state === 'complete') return { kind: 'replay', ids: existing.ids, batch: existing.batch };
    if (existing.leaseUntil > nowMs) return { kind: 'in-progress' };
    // The request that held the key died or gave up: take it over, with the ids it chose.
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key,
          UpdateExpression: 'SET leaseUntil = :lease',
          ConditionExpression: 'leaseUntil = :seen AND #state = :inProgress',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':lease': nowMs + this.leaseMs, ':seen': existing.leaseUntil, ':inProgress': 'in-progress' },
        }),
      );
      return { kind: 'proceed', ids: existing.ids, takeover: true };
    } catch (error) {
      // Another retry took it over first.
      if (error instanceof ConditionalCheckFailedException) return { kind: 'in-progress' };
      throw error;
    }
  }

  public async complete(request: IdempotencyRequest): Promise<void> {
    await this.documents.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.keyOf(request),
        UpdateExpression: 'SET #state = :complete',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':complete': 'complete' },
      }),
    );
  }

  public async release(request: IdempotencyRequest): Promise<void> {
    await this.documents.send(
      new UpdateCommand({
        TableName: this.table,
        Key: this.keyOf(request),
        UpdateExpression: 'SET leaseUntil = :zero',
        ConditionExpression: '#state = :inProgress',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':zero': 0, ':inProgress': 'in-progress' },
      }),
    );
  }
}
