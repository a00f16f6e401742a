// NoticeStore on DynamoDB. One table, items keyed by `pk`:
//   notice#<id>   the state: small, rewritten on every transition (a write unit per KB written)
//   content#<id>  what is mailed: written once, never rewritten; its bulky fields compressed (content-item.ts)
//   digest-empty#<id>  a daily digest's day that had nothing to say, under the id its digest would have
// (Idempotency-Keys share the table, as `idem#…` items: see dynamo-idempotency-store.ts.)
// Indexes (see table.ts) are KEYS_ONLY, so a status change costs no index write unless it moves the
// notice in or out of the sweep's sparse `due` index.
import { ConditionalCheckFailedException, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { chunk, inParallel } from '../batching';
import type { Random } from '../clock';
import { InvalidCursorError, StaleNoticeError, UnavailableError } from '../errors';
import type { NoticeId } from '../ids';
import type { Transition } from '../lifecycle/plan';
import type { NewNotice, Notice, NoticeContent } from '../notice/model';
import type { DigestDayMarker, ListPage, ListQuery, NoticeLookups, NoticeStore, NoticeTally } from './notice-store';
import { DUE_SHARDS, INDEXES, PARTITION_KEY, TTL_ATTRIBUTE } from './table';
import { backoff, batchGetItems } from './batch-get';
import { contentAttributes, contentOfItem } from './content-item';
import { documentsOf } from './documents';

export interface DynamoNoticeStoreOptions {
  /** Built once in shared/deps.ts; dynalite's in integration tests. */
  client: DynamoDBClient;
  tableName: string;
  /** Jitter for the backoff between retries of unprocessed batch items; none when absent. */
  random?: Random;
}

const BATCH_WRITE_MAX = 25;
const BATCH_GET_MAX = 100;
const PARALLEL_REQUESTS = 4;
const MAX_BATCH_TRIES = 8;
/** Keys examined at most for one page of a filtered list, so one request stays bounded. */
const MAX_EXAMINED_PER_PAGE = 1000;

const noticeKey = (id: NoticeId) => `notice#${id}`;
const contentKey = (id: NoticeId) => `content#${id}`;
const emptyDigestDayKey = (id: NoticeId) => `digest-empty#${id}`;
const idFromKey = (pk: string) => pk.slice(pk.indexOf('#') + 1);
const epochSeconds = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);

/** The due-index shard of a notice: spread by the random tail of its id. */
export const dueShardOf = (id: NoticeId): string => String(id.charCodeAt(id.length - 1) % DUE_SHARDS);

/**
 * The byAddress index's partition of an institution's notices to `address`: a digest, so that the
 * address is matched in any case and the index holds no copy of it.
 */
export const addressKeyOf = (institutionId: string, address: string): string =>
  `${institutionId}#${createHash('sha256').update(address.trim().toLowerCase(), 'utf8').digest('hex')}`;

/** Attributes that exist only for the indexes and TTL; not part of the domain's Notice. */
const DERIVED = new Set([PARTITION_KEY, 'instKey', 'instSort', 'extKey', 'dueShard', 'dueAt', TTL_ATTRIBUTE, INDEXES.byAddress.partitionKey]);

/** The sort key of the listing indexes: newest first is descending order of creation, then id. */
const sortKeyOf = (notice: Pick<Notice, 'createdAt' | 'id'>) => `${notice.createdAt}#${notice.id}`;
const idOfSortKey = (sortKey: string) => sortKey.slice(sortKey.lastIndexOf('#') + 1);

const toStateItem = (notice: Notice): Record<string, unknown> => ({
  ...notice,
  [PARTITION_KEY]: noticeKey(notice.id),
  [INDEXES.byInstitution.partitionKey]: notice.institutionId,
  [INDEXES.byInstitution.sortKey]: sortKeyOf(notice),
  [INDEXES.byAddress.partitionKey]: addressKeyOf(notice.institutionId, notice.to),
  ...(notice.externalId ? { [INDEXES.byExternalId.partitionKey]: `${notice.institutionId}#${notice.externalId}` } : {}),
  ...(notice.sweepAt ? { [INDEXES.due.partitionKey]: dueShardOf(notice.id), [INDEXES.due.sortKey]: epochSeconds(notice.sweepAt) } : {}),
  ...(notice.retainUntil ? { [TTL_ATTRIBUTE]: epochSeconds(notice.retainUntil) } : {}),
});

/** An item without what only the table uses (its keys, the indexes' keys, the TTL). */
const withoutDerived = (item: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(item).filter(([key]) => !DERIVED.has(key)));

/** A stored state as the domain sees it. */
const fromItem = (item: Record<string, unknown>): Notice => withoutDerived(item) as unknown as Notice;

/** A stored content item as the domain sees it, in either of the forms content-item.ts writes and reads. */
const fromContentItem = (item: Record<string, unknown>): NoticeContent => contentOfItem(withoutDerived(item));

const toContentItem = (record: NewNotice): Record<string, unknown> => ({
  ...contentAttributes(record.content),
  [PARTITION_KEY]: contentKey(record.notice.id),
  [TTL_ATTRIBUTE]: epochSeconds(record.retainContentUntil),
});

const encodeCursor = (sortKey: string) => Buffer.from(JSON.stringify({ s: sortKey })).toString('base64url');
const decodeCursor = (cursor: string): string => {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { s?: unknown };
    if (typeof parsed.s === 'string' && /^\d{4}-\d\d-\d\dT[\d:.]+Z#[0-9A-Z]{26}$/.test(parsed.s)) return parsed.s;
  } catch {
    // falls through to the error below
  }
  throw new InvalidCursorError();
};

export class DynamoNoticeStore implements NoticeStore, NoticeLookups {
  private readonly documents: DynamoDBDocumentClient;
  private readonly random: Random;

  public constructor(private readonly options: DynamoNoticeStoreOptions) {
    this.documents = documentsOf(options.client);
    this.random = options.random ?? (() => 0.5);
  }

  private get table() {
    return this.options.tableName;
  }

  public async createNotices(records: NewNotice[]): Promise<void> {
    const items = records.flatMap((record) => [toStateItem(record.notice), toContentItem(record)]);
    await this.batchWrite(items.map((Item) => ({ PutRequest: { Item } })));
  }

  public async deleteNotices(ids: NoticeId[]): Promise<void> {
    const keys = ids.flatMap((id) => [noticeKey(id), contentKey(id)]);
    await this.batchWrite(keys.map((pk) => ({ DeleteRequest: { Key: { [PARTITION_KEY]: pk } } })));
  }

  /** BatchWriteItem in chunks of 25, retrying what DynamoDB leaves unprocessed (it does under throttling). */
  private async batchWrite(requests: Array<Record<string, unknown>>): Promise<void> {
    await inParallel(chunk(requests, BATCH_WRITE_MAX), PARALLEL_REQUESTS, async (batch) => {
      let pending = batch;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= MAX_BATCH_TRIES) throw new UnavailableError(`the store left ${pending.length} writes unprocessed after ${MAX_BATCH_TRIES} tries`);
        if (attempt > 0) await backoff(attempt, this.random);
        const output = await this.documents.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending as never } }));
        pending = (output.UnprocessedItems?.[this.table] ?? []) as Array<Record<string, unknown>>;
      }
    });
  }

  /** BatchGetItem (consistent unless told) in chunks of 100 keys, retrying unprocessed keys. */
  private async batchGet(keys: string[], read: { consistent: boolean; attributes?: string[] } = { consistent: true }): Promise<Map<string, Record<string, unknown>>> {
    return batchGetItems(this.documents, this.table, keys, this.random, read);
  }

  public async existingIds(ids: NoticeId[]): Promise<Set<NoticeId>> {
    const found = await this.batchGet(ids.map(noticeKey));
    return new Set([...found.keys()].map(idFromKey));
  }

  public async getNotice(id: NoticeId): Promise<Notice | undefined> {
    const output = await this.documents.send(new GetCommand({ TableName: this.table, Key: { [PARTITION_KEY]: noticeKey(id) }, ConsistentRead: true }));
    return output.Item ? fromItem(output.Item) : undefined;
  }

  public async getNotices(ids: NoticeId[]): Promise<Map<NoticeId, Notice>> {
    const found = await this.batchGet(ids.map(noticeKey));
    return new Map([...found.values()].map((item) => [idFromKey(item[PARTITION_KEY] as string), fromItem(item)]));
  }

  public async getForDelivery(ids: NoticeId[]): Promise<Map<NoticeId, { notice: Notice; content?: NoticeContent }>> {
    const found = await this.batchGet(ids.flatMap((id) => [noticeKey(id), contentKey(id)]));
    const result = new Map<NoticeId, { notice: Notice; content?: NoticeContent }>();
    for (const id of ids) {
      const state = found.get(noticeKey(id));
      if (!state) continue;
      const content = found.get(contentKey(id));
      result.set(id, { notice: fromItem(state), content: content ? fromContentItem(content) : undefined });
    }
    return result;
  }

  public async listNotices(institutionId: string, query: ListQuery): Promise<ListPage> {
    return query.externalId !== undefined
      ? this.listFrom('byExternalId', `${institutionId}#${query.externalId}`, institutionId, { ...query, externalId: undefined })
      : this.listFrom('byInstitution', institutionId, institutionId, query);
  }

  public async listNoticesTo(institutionId: string, address: string, query: ListQuery): Promise<ListPage> {
    return this.listFrom('byAddress', addressKeyOf(institutionId, address), institutionId, query);
  }

  /**
   * A page of one partition of a listing index (all sorted newest first by `instSort`), its states read
   * by key and filtered by what the partition does not already select.
   */
  private async listFrom(indexName: 'byInstitution' | 'byExternalId' | 'byAddress', partition: string, institutionId: string, query: ListQuery): Promise<ListPage> {
    const index = INDEXES[indexName];
    const filtered = query.status !== undefined || query.type !== undefined || query.externalId !== undefined;
    const matches = (notice: Notice) =>
      notice.institutionId === institutionId &&
      (!query.status || query.status.includes(notice.status)) &&
      (query.type === undefined || notice.type === query.type) &&
      (query.externalId === undefined || notice.externalId === query.externalId);

    let startSortKey = query.cursor ? decodeCursor(query.cursor) : undefined;
    // Newest first, a cursor already older than `since` (the filter moved on between pages) has nothing
    // left after it; DynamoDB would refuse a start key outside the key condition.
    if (startSortKey !== undefined && query.since !== undefined && startSortKey < query.since) return { notices: [] };
    if (startSortKey !== undefined && query.before !== undefined && startSortKey >= query.before) startSortKey = undefined;
    if (query.since !== undefined && query.before !== undefined && query.since >= query.before) return { notices: [] };
    // Sort keys are `<createdAt>#<id>`: `before` itself sorts ahead of every key of that instant.
    const range = query.since && query.before ? '#pk = :pk AND #sk BETWEEN :since AND :before' : query.since ? '#pk = :pk AND #sk >= :since' : query.before ? '#pk = :pk AND #sk < :before' : '#pk = :pk';
    const bounded = query.since !== undefined || query.before !== undefined;
    // One match past the page tells whether another page exists, so the last page carries no cursor
    // even when it is exactly full.
    const notices: Notice[] = [];
    let lastOnPage: string | undefined;
    let examined = 0;
    for (;;) {
      const page: QueryCommandOutput = await this.documents.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: indexName,
          KeyConditionExpression: range,
          ExpressionAttributeNames: { '#pk': index.partitionKey, ...(bounded ? { '#sk': index.sortKey } : {}) },
          ExpressionAttributeValues: { ':pk': partition, ...(query.since ? { ':since': query.since } : {}), ...(query.before ? { ':before': query.before } : {}) },
          ScanIndexForward: false,
          Limit: filtered ? Math.min(BATCH_GET_MAX, MAX_EXAMINED_PER_PAGE - examined) : query.limit + 1 - notices.length,
          ExclusiveStartKey: startSortKey
            ? { [PARTITION_KEY]: noticeKey(idOfSortKey(startSortKey)), [index.partitionKey]: partition, [index.sortKey]: startSortKey }
            : undefined,
        }),
      );
      const keys = (page.Items ?? []).map((item) => item[index.sortKey] as string);
      const states = await this.batchGet(keys.map((sortKey) => noticeKey(idOfSortKey(sortKey))));
      for (const sortKey of keys) {
        const state = states.get(noticeKey(idOfSortKey(sortKey)));
        const notice = state && fromItem(state);
        if (notice && matches(notice)) {
          if (notices.length === query.limit) return { notices, cursor: encodeCursor(lastOnPage as string) };
          notices.push(notice);
          lastOnPage = sortKey;
        }
        examined++;
        startSortKey = sortKey;
      }
      if (!page.LastEvaluatedKey) return { notices };
      // Reading stops somewhere on a sparse filter: the next page goes on from the last notice read.
      if (examined >= MAX_EXAMINED_PER_PAGE) return { notices, cursor: encodeCursor(notices.length === query.limit ? (lastOnPage as string) : (startSortKey as string)) };
    }
  }

  public async talliesSince(institutionId: string, since: string, limit: number): Promise<{ notices: NoticeTally[]; complete: boolean }> {
    const keys: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.documents.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: 'byInstitution',
          KeyConditionExpression: '#pk = :pk AND #sk >= :since',
          ExpressionAttributeNames: { '#pk': INDEXES.byInstitution.partitionKey, '#sk': INDEXES.byInstitution.sortKey },
          ExpressionAttributeValues: { ':pk': institutionId, ':since': since },
          ScanIndexForward: false,
          Limit: limit + 1 - keys.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) keys.push(item[PARTITION_KEY] as string);
      startKey = page.LastEvaluatedKey;
    } while (startKey && keys.length <= limit);
    const complete = keys.length <= limit;
    const states = await this.batchGet(keys.slice(0, limit), { consistent: false, attributes: ['id', 'kind', 'status', 'createdAt'] });
    const notices = keys.flatMap((key) => {
      const item = states.get(key);
      return item ? [{ id: item.id, kind: item.kind, status: item.status, createdAt: item.createdAt } as NoticeTally] : [];
    });
    return { notices, complete };
  }

  public async apply(transition: Transition): Promise<Notice> {
    const names: Record<string, string> = { '#version': 'version' };
    const values: Record<string, unknown> = { ':expect': transition.expectVersion, ':one': 1 };
    const sets: string[] = ['#version = #version + :one'];
    const removes: string[] = [];
    let n = 0;
    const setAttribute = (attribute: string, value: unknown) => {
      const name = `#s${n}`;
      const placeholder = `:s${n++}`;
      names[name] = attribute;
      values[placeholder] = value;
      sets.push(`${name} = ${placeholder}`);
    };
    const removeAttribute = (attribute: string) => {
      const name = `#r${n++}`;
      names[name] = attribute;
      removes.push(name);
    };
    for (const [attribute, value] of Object.entries(transition.set)) {
      if (value === undefined) continue;
      setAttribute(attribute, value);
      if (attribute === 'sweepAt') {
        setAttribute(INDEXES.due.partitionKey, dueShardOf(transition.id));
        setAttribute(INDEXES.due.sortKey, epochSeconds(value as string));
      }
      if (attribute === 'retainUntil') setAttribute(TTL_ATTRIBUTE, epochSeconds(value as string));
    }
    for (const attribute of transition.remove) {
      removeAttribute(attribute);
      if (attribute === 'sweepAt') {
        removeAttribute(INDEXES.due.partitionKey);
        removeAttribute(INDEXES.due.sortKey);
      }
    }
    if (transition.append?.length) {
      names['#attempts'] = 'attempts';
      values[':append'] = transition.append;
      values[':empty'] = [];
      sets.push('#attempts = list_append(if_not_exists(#attempts, :empty), :append)');
    }
    if (transition.appendEvents?.length) {
      names['#events'] = 'events';
      values[':appendEvents'] = transition.appendEvents;
      values[':empty'] = [];
      sets.push('#events = list_append(if_not_exists(#events, :empty), :appendEvents)');
    }
    if (transition.appendOutbox?.length) {
      names['#outbox'] = 'outbox';
      values[':appendOutbox'] = transition.appendOutbox;
      values[':empty'] = [];
      sets.push('#outbox = list_append(if_not_exists(#outbox, :empty), :appendOutbox)');
    }
    if (transition.countAttempt) {
      names['#attemptCount'] = 'attemptCount';
      sets.push('#attemptCount = #attemptCount + :one');
    }
    try {
      const output = await this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { [PARTITION_KEY]: noticeKey(transition.id) },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: '#version = :expect',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(output.Attributes as Record<string, unknown>);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new StaleNoticeError(`notice ${transition.id} changed since version ${transition.expectVersion} was read`, { cause: error });
      }
      throw error;
    }
  }

  public async clearOutbox(id: NoticeId, relayed: number): Promise<boolean> {
    // Not a versioned change: the outbox is no part of the lifecycle's decisions, and a transition racing this
    // one changes the outbox's size, which fails the condition and leaves its events for the next relay.
    const names = { '#outbox': 'outbox', '#sweepAt': 'sweepAt', '#shard': INDEXES.due.partitionKey, '#dueAt': INDEXES.due.sortKey, '#reportPending': 'reportPending' };
    const clear = async (withSweep: boolean): Promise<boolean> => {
      try {
        await this.documents.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { [PARTITION_KEY]: noticeKey(id) },
            // Outbox events are written only as a notice becomes final: once they are relayed, the sweep has
            // nothing left to do with it unless a report is still owed.
            UpdateExpression: withSweep ? 'REMOVE #outbox, #sweepAt, #shard, #dueAt' : 'REMOVE #outbox',
            ConditionExpression: withSweep ? 'size(#outbox) = :n AND attribute_not_exists(#reportPending)' : 'size(#outbox) = :n',
            ExpressionAttributeNames: withSweep ? names : { '#outbox': 'outbox' },
            ExpressionAttributeValues: { ':n': relayed },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    };
    return (await clear(true)) || (await clear(false));
  }

  public async createReport(record: NewNotice): Promise<boolean> {
    // The content first: a report state never exists without the content it sends.
    await this.documents.send(new PutCommand({ TableName: this.table, Item: toContentItem(record) }));
    try {
      await this.documents.send(
        new PutCommand({ TableName: this.table, Item: toStateItem(record.notice), ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY } }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  public async settledDigestDays(ids: NoticeId[]): Promise<{ made: Set<NoticeId>; empty: Set<NoticeId> }> {
    // Digests and markers together in one BatchGetItem, only their keys read back.
    const found = ids.length ? await this.batchGet([...ids.map(noticeKey), ...ids.map(emptyDigestDayKey)], { consistent: true, attributes: [] }) : new Map();
    return { made: new Set(ids.filter((id) => found.has(noticeKey(id)))), empty: new Set(ids.filter((id) => found.has(emptyDigestDayKey(id)))) };
  }

  public async markDigestDayEmpty(marker: DigestDayMarker): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.table,
        Item: { [PARTITION_KEY]: emptyDigestDayKey(marker.id), institutionId: marker.institutionId, date: marker.date, [TTL_ATTRIBUTE]: epochSeconds(marker.retainUntil) },
      }),
    );
  }

  public async findDue(now: Date, limit: number): Promise<NoticeId[]> {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const perShard = await Promise.all(
      Array.from({ length: DUE_SHARDS }, async (_, shard) => {
        const ids: NoticeId[] = [];
        let startKey: Record<string, unknown> | undefined;
        do {
          const page: QueryCommandOutput = await this.documents.send(
            new QueryCommand({
              TableName: this.table,
              IndexName: 'due',
              KeyConditionExpression: '#shard = :shard AND #due <= :now',
              ExpressionAttributeNames: { '#shard': INDEXES.due.partitionKey, '#due': INDEXES.due.sortKey },
              ExpressionAttributeValues: { ':shard': String(shard), ':now': nowSeconds },
              Limit: limit - ids.length,
              ExclusiveStartKey: startKey,
            }),
          );
          for (const item of page.Items ?? []) ids.push(idFromKey(item[PARTITION_KEY] as string));
          startKey = page.LastEvaluatedKey;
        } while (startKey && ids.length < limit);
        return ids;
      }),
    );
    return perShard.flat();
  }

  public async ping(): Promise<void> {
    await this.options.client.send(new DescribeTableCommand({ TableName: this.table }));
  }
}
