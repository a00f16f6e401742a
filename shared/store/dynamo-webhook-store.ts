// Webhook deliveries on DynamoDB: one item per event and receiver, each try appended, listed per institution
// (the `byInstitution` index) and per notice (the `byExternalId` index), under partitions of their own, and
// deleted by TTL after `retention.days` like the notices they tell of.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { addSeconds, type Random, toEpochSeconds } from '../clock';
import type { NoticeId } from '../ids';
import { documentsOf } from './documents';
import { pageByIndex } from './index-pages';
import { INDEXES, PARTITION_KEY, TTL_ATTRIBUTE } from './table';
import type { WebhookDelivery, WebhookDeliveryPage, WebhookStore, WebhookTry } from './webhook-store';

export interface DynamoWebhookStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  random: Random;
  retentionDays: number;
}

/** Tries kept per delivery: a day of backoff is about a dozen; the record stays far below an item's size. */
const MAX_TRIES_KEPT = 50;

const keyOf = (institutionId: string, eventId: string, receiver: string) => `webhook#${institutionId}#${eventId}#${receiver}`;

const toDelivery = (item: Record<string, unknown>): WebhookDelivery => {
  const { institutionId, eventId, eventType, noticeId, url, receiver, status, createdAt, updatedAt, nextAttemptAt, tries } = item as unknown as WebhookDelivery;
  return Object.fromEntries(Object.entries({ institutionId, eventId, eventType, noticeId, url, receiver, status, createdAt, updatedAt, nextAttemptAt, tries: (tries ?? []).slice(-MAX_TRIES_KEPT) }).filter(([, v]) => v !== undefined)) as unknown as WebhookDelivery;
};

export class DynamoWebhookStore implements WebhookStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(private readonly options: DynamoWebhookStoreOptions) {
    this.documents = documentsOf(options.client);
  }

  public async recordTry(delivery: Omit<WebhookDelivery, 'tries'>, attempt: WebhookTry): Promise<void> {
    const sortKey = `${delivery.createdAt}#${delivery.eventId}#${delivery.receiver}`;
    const expireAt = toEpochSeconds(addSeconds(new Date(delivery.updatedAt), this.options.retentionDays * 86_400));
    await this.documents.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { [PARTITION_KEY]: keyOf(delivery.institutionId, delivery.eventId, delivery.receiver) },
        UpdateExpression: [
          'SET institutionId = :inst, eventId = :event, eventType = :type, noticeId = :notice, #url = :url, receiver = :receiver, #status = :status',
          'createdAt = if_not_exists(createdAt, :created), updatedAt = :updated, tries = list_append(if_not_exists(tries, :none), :try)',
          '#instKey = :instKey, #instSort = :sort, #extKey = :extKey, #ttl = :ttl',
        ].join(', ') + (delivery.nextAttemptAt ? ', nextAttemptAt = :next' : ' REMOVE nextAttemptAt'),
        ExpressionAttributeNames: { '#url': 'url', '#status': 'status', '#instKey': INDEXES.byInstitution.partitionKey, '#instSort': INDEXES.byInstitution.sortKey, '#extKey': INDEXES.byExternalId.partitionKey, '#ttl': TTL_ATTRIBUTE },
        ExpressionAttributeValues: {
          ':inst': delivery.institutionId,
          ':event': delivery.eventId,
          ':type': delivery.eventType,
          ':notice': delivery.noticeId,
          ':url': delivery.url,
          ':receiver': delivery.receiver,
          ':status': delivery.status,
          ':created': delivery.createdAt,
          ':updated': delivery.updatedAt,
          ':none': [],
          ':try': [attempt],
          ':instKey': `~webhooks#${delivery.institutionId}`,
          ':sort': sortKey,
          ':extKey': `~webhooks#${delivery.institutionId}#${delivery.noticeId}`,
          ':ttl': expireAt,
          ...(delivery.nextAttemptAt ? { ':next': delivery.nextAttemptAt } : {}),
        },
      }),
    );
  }

  public async get(institutionId: string, eventId: string, receiver: string): Promise<WebhookDelivery | undefined> {
    const output = await this.documents.send(new GetCommand({ TableName: this.options.tableName, Key: { [PARTITION_KEY]: keyOf(institutionId, eventId, receiver) }, ConsistentRead: true }));
    return output.Item ? toDelivery(output.Item) : undefined;
  }

  public async list(institutionId: string, query: { limit: number; cursor?: string }): Promise<WebhookDeliveryPage> {
    const page = await pageByIndex(this.documents, this.options.tableName, this.options.random, {
      index: 'byInstitution',
      partition: `~webhooks#${institutionId}`,
      keyPrefix: `webhook#${institutionId}#`,
      limit: query.limit,
      cursor: query.cursor,
      newestFirst: true,
    });
    return { deliveries: page.items.map(toDelivery), ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  public async listForNotice(institutionId: string, noticeId: NoticeId): Promise<WebhookDelivery[]> {
    const page = await pageByIndex(this.documents, this.options.tableName, this.options.random, {
      index: 'byExternalId',
      partition: `~webhooks#${institutionId}#${noticeId}`,
      keyPrefix: `webhook#${institutionId}#`,
      limit: 100,
      newestFirst: false,
    });
    return page.items.map(toDelivery);
  }
}
