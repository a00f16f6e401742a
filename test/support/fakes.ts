// In-memory fakes of the ports the handlers are built on (store, Idempotency-Keys, queue, transport,
// transport state, key rates, suppression list, webhook deliveries and queue), for unit tests that test behaviour rather than DynamoDB's wire format.
// Each honours the contract of the real adapter (test/support/store-contract.ts runs the same tests on
// both): compare-and-set on versions, a report created once, cursors only the store issued, doorbell
// delays within SQS's 15 minutes. Any method can be made to fail, as a store or a queue does.
import type { SESClient } from '@aws-sdk/client-ses';
import type { Clock } from '../../shared/clock';
import type { InstitutionConfig } from '../../shared/config/schema';
import { DeliveryError, InvalidCursorError, StaleNoticeError } from '../../shared/errors';
import type { NoticeId } from '../../shared/ids';
import type { KeyRateCounter } from '../../shared/intake/key-rate';
import type { Doorbell, Transition } from '../../shared/lifecycle/plan';
import { SQS_MAX_DELAY_SECONDS } from '../../shared/lifecycle/scheduling';
import type { OutgoingMessage } from '../../shared/mime/compose';
import type { NewNotice, Notice, NoticeContent } from '../../shared/notice/model';
import type { DoorbellQueue } from '../../shared/queue/doorbell';
import type { IdempotencyClaim, IdempotencyRequest, IdempotencyStore } from '../../shared/store/idempotency-store';
import type { DigestDayMarker, ListPage, ListQuery, NoticeStore } from '../../shared/store/notice-store';
import { deliveryFailure } from '../../shared/transport/classify';
import type { TransportChange, TransportState, TransportStates } from '../../shared/transport/records';
import type { SendOptions, SendReceipt, Transport } from '../../shared/transport/transport';
import type { WebhookMessage, WebhookQueue } from '../../shared/queue/webhook-queue';
import { type BatchLookupRequest, type BatchLookupResult, type BatchLookups, suppressionLookupKey } from '../../shared/store/batch-lookups';
import type { SuppressionEntry, SuppressionPage, SuppressionStore } from '../../shared/store/suppression-store';
import type { WebhookDelivery, WebhookDeliveryPage, WebhookStore, WebhookTry } from '../../shared/store/webhook-store';

/** A copy as a store keeps it: what was written, without undefined fields, never shared with the caller. */
const stored = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** DynamoDB's largest item: a notice's state or content must fit in one. */
const MAX_ITEM_BYTES = 400 * 1024;

/** Calls counted by method, and failures queued by method: what a test prepares and assesses on a fake. */
class Recorded<M extends string> {
  public readonly calls: Array<{ method: M; args: unknown[] }> = [];
  private readonly failures = new Map<M, Array<{ error: unknown; remaining: number; when?: (...args: never[]) => boolean }>>();
  private readonly interceptors = new Map<M, Array<(...args: never[]) => void>>();

  /** The next `times` calls of `method` (those that `when` picks, if given) throw `error`, before they change anything. */
  public failNext(method: M, error: unknown, times = 1, when?: (...args: never[]) => boolean): this {
    this.failures.set(method, [...(this.failures.get(method) ?? []), { error, remaining: times, when }]);
    return this;
  }

  /** Every later call of `method` that `when` picks (all, without it) throws `error`. */
  public failAlways(method: M, error: unknown, when?: (...args: never[]) => boolean): this {
    return this.failNext(method, error, Infinity, when);
  }

  /** Runs `action` with the arguments of the next call of `method`, before the call: what happens meanwhile elsewhere. */
  public interceptNext(method: M, action: (...args: never[]) => void): this {
    this.interceptors.set(method, [...(this.interceptors.get(method) ?? []), action]);
    return this;
  }

  public timesCalled(method: M): number {
    return this.calls.filter((call) => call.method === method).length;
  }

  public argsOf(method: M): unknown[][] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  protected enter(method: M, ...args: unknown[]): void {
    this.calls.push({ method, args });
    this.interceptors.get(method)?.shift()?.(...(args as never[]));
    const queued = this.failures.get(method) ?? [];
    const index = queued.findIndex((failure) => !failure.when || failure.when(...(args as never[])));
    const failure = queued[index];
    if (!failure) return;
    if (--failure.remaining <= 0) queued.splice(index, 1);
    throw failure.error;
  }
}

/** An error as the AWS SDK throws it for a service fault (503 territory at the API). */
export const serviceFault = (message = 'injected: the service did not answer') => Object.assign(new Error(message), { name: 'InternalServerError', $fault: 'server' as const });

type NoticeStoreMethod = keyof NoticeStore;

/** NoticeStore in memory: the state and content of each notice, and the due index as a query over them. */
export class InMemoryNoticeStore extends Recorded<NoticeStoreMethod> implements NoticeStore {
  private readonly states = new Map<NoticeId, Notice>();
  private readonly contents = new Map<NoticeId, NoticeContent>();
  private readonly emptyDigestDays = new Map<NoticeId, DigestDayMarker>();

  /** Puts notices in the store as they would be after earlier writes (Prepare). */
  public seed(...entries: Array<{ notice: Notice; content?: NoticeContent }>): this {
    for (const { notice, content } of entries) {
      this.states.set(notice.id, stored(notice));
      if (content) this.contents.set(notice.id, stored(content));
    }
    return this;
  }

  /** A notice as stored now, or undefined (Assess). */
  public peek(id: NoticeId): Notice | undefined {
    const notice = this.states.get(id);
    return notice && stored(notice);
  }

  /** Content as stored now (Assess). */
  public peekContent(id: NoticeId): NoticeContent | undefined {
    const content = this.contents.get(id);
    return content && stored(content);
  }

  /** Every notice stored, oldest first. */
  public all(): Notice[] {
    return [...this.states.values()].map(stored);
  }

  public async createNotices(records: NewNotice[]): Promise<void> {
    this.enter('createNotices', records);
    for (const record of records) {
      for (const item of [record.notice, record.content]) {
        if (Buffer.byteLength(JSON.stringify(item)) > MAX_ITEM_BYTES) throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException' });
      }
    }
    for (const record of records) {
      this.states.set(record.notice.id, stored(record.notice));
      this.contents.set(record.notice.id, stored(record.content));
    }
  }

  public async deleteNotices(ids: NoticeId[]): Promise<void> {
    this.enter('deleteNotices', ids);
    for (const id of ids) {
      this.states.delete(id);
      this.contents.delete(id);
    }
  }

  public async existingIds(ids: NoticeId[]): Promise<Set<NoticeId>> {
    this.enter('existingIds', ids);
    return new Set(ids.filter((id) => this.states.has(id)));
  }

  public async getNotice(id: NoticeId): Promise<Notice | undefined> {
    this.enter('getNotice', id);
    return this.peek(id);
  }

  public async getNotices(ids: NoticeId[]): Promise<Map<NoticeId, Notice>> {
    this.enter('getNotices', ids);
    return new Map(ids.flatMap((id) => (this.states.has(id) ? [[id, this.peek(id) as Notice] as const] : [])));
  }

  public async getForDelivery(ids: NoticeId[]): Promise<Map<NoticeId, { notice: Notice; content?: NoticeContent }>> {
    this.enter('getForDelivery', ids);
    return new Map(ids.flatMap((id) => (this.states.has(id) ? [[id, { notice: this.peek(id) as Notice, content: this.peekContent(id) }] as const] : [])));
  }

  public async listNotices(institutionId: string, query: ListQuery): Promise<ListPage> {
    this.enter('listNotices', institutionId, query);
    const sortKey = (notice: Notice) => `${notice.createdAt}#${notice.id}`;
    let after: string | undefined;
    if (query.cursor !== undefined) {
      const match = /^in-memory:(.+#[0-9A-Z]{26})$/.exec(query.cursor);
      if (!match) throw new InvalidCursorError();
      after = match[1];
    }
    const matching = [...this.states.values()]
      .filter((notice) => notice.institutionId === institutionId)
      .filter((notice) => query.externalId === undefined || notice.externalId === query.externalId)
      .filter((notice) => query.since === undefined || notice.createdAt >= query.since)
      .filter((notice) => query.before === undefined || notice.createdAt < query.before)
      .filter((notice) => !query.status || query.status.includes(notice.status))
      .filter((notice) => query.type === undefined || notice.type === query.type)
      .sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : -1))
      .filter((notice) => after === undefined || sortKey(notice) < after);
    const page = matching.slice(0, query.limit).map(stored);
    const last = page[page.length - 1];
    return matching.length > query.limit && last ? { notices: page, cursor: `in-memory:${sortKey(last)}` } : { notices: page };
  }

  public async apply(transition: Transition): Promise<Notice> {
    this.enter('apply', transition);
    const current = this.states.get(transition.id);
    if (!current || current.version !== transition.expectVersion) {
      throw new StaleNoticeError(`notice ${transition.id} changed since version ${transition.expectVersion} was read`);
    }
    const next: Record<string, unknown> = { ...stored(current) };
    for (const [attribute, value] of Object.entries(transition.set)) if (value !== undefined) next[attribute] = stored(value);
    for (const attribute of transition.remove) delete next[attribute];
    if (transition.append?.length) next.attempts = [...((next.attempts as unknown[]) ?? []), ...stored(transition.append)];
    if (transition.appendEvents?.length) next.events = [...((next.events as unknown[]) ?? []), ...stored(transition.appendEvents)];
    if (transition.appendOutbox?.length) next.outbox = [...((next.outbox as unknown[]) ?? []), ...stored(transition.appendOutbox)];
    if (transition.countAttempt) next.attemptCount = (next.attemptCount as number) + 1;
    next.version = current.version + 1;
    this.states.set(transition.id, next as unknown as Notice);
    return this.peek(transition.id) as Notice;
  }

  public async clearOutbox(id: NoticeId, relayed: number): Promise<boolean> {
    this.enter('clearOutbox', id, relayed);
    const current = this.states.get(id);
    if (!current?.outbox || current.outbox.length !== relayed) return false;
    const next: Notice = { ...current };
    delete next.outbox;
    if (!next.reportPending) delete next.sweepAt;
    this.states.set(id, next);
    return true;
  }

  public async createReport(record: NewNotice): Promise<boolean> {
    this.enter('createReport', record);
    this.contents.set(record.notice.id, stored(record.content));
    if (this.states.has(record.notice.id)) return false;
    this.states.set(record.notice.id, stored(record.notice));
    return true;
  }

  public async settledDigestDays(ids: NoticeId[]): Promise<{ made: Set<NoticeId>; empty: Set<NoticeId> }> {
    this.enter('settledDigestDays', ids);
    return { made: new Set(ids.filter((id) => this.states.has(id))), empty: new Set(ids.filter((id) => this.emptyDigestDays.has(id))) };
  }

  public async markDigestDayEmpty(marker: DigestDayMarker): Promise<void> {
    this.enter('markDigestDayEmpty', marker);
    this.emptyDigestDays.set(marker.id, stored(marker));
  }

  /** The marker of a digest's empty day, or undefined (Assess). */
  public peekEmptyDigestDay(id: NoticeId): DigestDayMarker | undefined {
    return this.emptyDigestDays.get(id);
  }

  public async findDue(now: Date, limit: number): Promise<NoticeId[]> {
    this.enter('findDue', now, limit);
    // The due index keeps whole seconds, as DynamoDB's does.
    const nowSeconds = Math.floor(now.getTime() / 1000);
    return [...this.states.values()]
      .filter((notice) => notice.sweepAt !== undefined && Math.floor(Date.parse(notice.sweepAt) / 1000) <= nowSeconds)
      .slice(0, limit)
      .map((notice) => notice.id);
  }

  public async ping(): Promise<void> {
    this.enter('ping');
  }
}

/** IdempotencyStore in memory, with the lease and expiry of DynamoIdempotencyStore. */
export class InMemoryIdempotencyStore extends Recorded<keyof IdempotencyStore> implements IdempotencyStore {
  private readonly keys = new Map<string, { requestHash: string; ids: NoticeId[]; batch: boolean; state: 'in-progress' | 'complete'; leaseUntil: number; expireAt: number }>();

  public constructor(private readonly options: { expirySeconds?: number; leaseSeconds?: number } = {}) {
    super();
  }

  private get leaseMs() {
    return (this.options.leaseSeconds ?? 60) * 1000;
  }

  /** How many keys are remembered (Assess: a refused request claimed none). */
  public get size(): number {
    return this.keys.size;
  }

  /** The record of a key (Assess): its state and the ids it holds. */
  public peek(institutionId: string, key: string) {
    const record = this.keys.get(`${institutionId}#${key}`);
    return record && stored(record);
  }

  public async claim(request: IdempotencyRequest): Promise<IdempotencyClaim> {
    this.enter('claim', request);
    const nowMs = request.now.getTime();
    const name = `${request.institutionId}#${request.key}`;
    const existing = this.keys.get(name);
    if (!existing || existing.expireAt < Math.floor(nowMs / 1000)) {
      const expireAt = Math.floor(nowMs / 1000) + (this.options.expirySeconds ?? 86_400);
      this.keys.set(name, { requestHash: request.requestHash, ids: [...request.ids], batch: request.batch, state: 'in-progress', leaseUntil: nowMs + this.leaseMs, expireAt });
      return { kind: 'proceed', ids: [...request.ids], takeover: false };
    }
    if (existing.requestHash !== request.requestHash) return { kind: 'mismatch' };
    if (existing.state === 'complete') return { kind: 'replay', ids: [...existing.ids], batch: existing.batch };
    if (existing.leaseUntil > nowMs) return { kind: 'in-progress' };
    existing.leaseUntil = nowMs + this.leaseMs;
    return { kind: 'proceed', ids: [...existing.ids], takeover: true };
  }

  public async complete(request: IdempotencyRequest): Promise<void> {
    this.enter('complete', request);
    const record = this.keys.get(`${request.institutionId}#${request.key}`);
    if (record) record.state = 'complete';
  }

  public async release(request: IdempotencyRequest): Promise<void> {
    this.enter('release', request);
    const record = this.keys.get(`${request.institutionId}#${request.key}`);
    if (record?.state === 'in-progress') record.leaseUntil = 0;
  }
}

/** DoorbellQueue in memory: what was rung, in order. A delay beyond SQS's 15 minutes is refused, as SQS would. */
export class InMemoryDoorbellQueue extends Recorded<keyof DoorbellQueue> implements DoorbellQueue {
  public readonly rung: Doorbell[] = [];
  private losing = 0;

  /** The next `count` doorbells are not sent (the queue reports them back, as SendMessageBatch's Failed entries). */
  public loseNext(count: number): this {
    this.losing += count;
    return this;
  }

  public async ring(doorbells: Doorbell[]): Promise<NoticeId[]> {
    this.enter('ring', doorbells);
    const tooLong = doorbells.find((doorbell) => doorbell.delaySeconds < 0 || doorbell.delaySeconds > SQS_MAX_DELAY_SECONDS);
    if (tooLong) throw new RangeError(`doorbell ${tooLong.id} asks for a delay of ${tooLong.delaySeconds} s; SQS takes 0 to ${SQS_MAX_DELAY_SECONDS}`);
    const lost = doorbells.slice(0, this.losing);
    this.losing -= lost.length;
    this.rung.push(...doorbells.slice(lost.length).map((doorbell) => ({ ...doorbell })));
    return lost.map((doorbell) => doorbell.id);
  }

  public async ping(): Promise<void> {
    this.enter('ping');
  }
}

/** What a fake relay answers one message: a receipt, or a classified refusal. */
export type Answer = (message: OutgoingMessage) => Partial<SendReceipt> | DeliveryError;

/**
 * The transports of every institution in memory: each message sent is kept, and answered as `answer`
 * says (accepted by default). Plugged in through TransportDeps.decorate, in place of SES or SMTP.
 */
export class InMemoryTransports {
  public readonly sent: Array<{ institutionId: string; message: OutgoingMessage; deadline: Date }> = [];
  private answer: Answer = () => ({});

  public constructor(private readonly clock: Clock) {}

  /** How every later message is answered. */
  public answerWith(answer: Answer): this {
    this.answer = answer;
    return this;
  }

  /** Refuses every later message with `error` (a DeliveryError, as the transports classify them). */
  public refuseWith(error: DeliveryError): this {
    return this.answerWith(() => error);
  }

  /** The transport of `institution`, recording into this fake. */
  public for(institution: InstitutionConfig): Transport {
    const kind = institution.transport.kind;
    const first = institution.transport.kind === 'smtp' ? institution.transport.servers[0] : undefined;
    const server = first ? `${first.host}:${first.port}` : 'ses';
    return {
      kind,
      close: async () => undefined,
      send: async (message: OutgoingMessage, options: SendOptions): Promise<SendReceipt> => {
        if (options.deadline.getTime() <= this.clock.now().getTime()) {
          throw deliveryFailure('ETIMEDOUT', 'the attempt deadline passed before the message was sent', { transport: kind, server });
        }
        this.sent.push({ institutionId: institution.id, message, deadline: options.deadline });
        const answer = this.answer(message);
        if (answer instanceof DeliveryError) {
          options.tries?.push({ server: answer.facts.server ?? server, ok: false, reply: answer.message });
          throw answer;
        }
        const receipt: SendReceipt = { transport: kind, server, messageId: message.messageId, response: '250 2.0.0 Ok: queued', ...(kind === 'smtp' ? { responseCode: 250, enhancedStatus: '2.0.0' } : {}), ...answer };
        options.tries?.push({ server: receipt.server, ok: true, reply: receipt.response });
        return receipt;
      },
    };
  }

  /** An SES client that must never be reached: these fakes stand in for every transport. */
  public static readonly unreachableSes = new Proxy(
    {},
    {
      get: () => () => {
        throw new Error('SES was called, but the in-memory transports stand in for it');
      },
    },
  ) as SESClient;
}

/**
 * Each institution's transport state in memory (rate-limit slots, a pause and its probe, the run of
 * refusals, a stall, what GET /v1/transport shows), with DynamoTransportState's compare-and-set on the
 * version: a write planned from an older version is refused and changes nothing.
 */
export class InMemoryTransportState extends Recorded<keyof TransportStates> implements TransportStates {
  private readonly states = new Map<string, TransportState>();
  /** Writes that took effect (Assess). */
  public writes = 0;

  /**
   * Sets an institution's state as earlier writes left it (Prepare). Its version moves on, so a write
   * planned before it, as another sender's would be, is refused.
   */
  public seed(institutionId: string, state: Omit<TransportState, 'version'>): this {
    this.states.set(institutionId, stored({ ...state, version: (this.states.get(institutionId)?.version ?? 0) + 1 }));
    return this;
  }

  /** The state as stored now (Assess). */
  public peek(institutionId: string): TransportState {
    return stored(this.states.get(institutionId) ?? { version: 0 });
  }

  public async read(institutionId: string): Promise<TransportState> {
    this.enter('read', institutionId);
    return this.peek(institutionId);
  }

  public async write(institutionId: string, expectVersion: number, change: TransportChange): Promise<boolean> {
    this.enter('write', institutionId, expectVersion, change);
    const current = this.peek(institutionId);
    if (current.version !== expectVersion) return false;
    const next: Record<string, unknown> = { ...current, version: current.version + 1 };
    for (const [field, value] of Object.entries(change.set ?? {})) if (value !== undefined) next[field] = value;
    for (const field of change.remove ?? []) delete next[field];
    this.states.set(institutionId, stored(next as unknown as TransportState));
    this.writes++;
    return true;
  }
}

/** The per-key request counter in memory: a count per key and minute. */
export class InMemoryKeyRateCounter extends Recorded<'count'> implements KeyRateCounter {
  private readonly counts = new Map<string, number>();

  /** Fills a key's minute (Prepare), as if it had made `requests` already. */
  public seed(keyId: string, windowStart: number, requests: number): this {
    this.counts.set(`${keyId}#${windowStart}`, requests);
    return this;
  }

  public async count(keyId: string, windowStart: number, limit: number, expireAt: number): Promise<boolean> {
    this.enter('count', keyId, windowStart, limit, expireAt);
    const name = `${keyId}#${windowStart}`;
    const count = this.counts.get(name) ?? 0;
    if (count >= limit) return false;
    this.counts.set(name, count + 1);
    return true;
  }
}

/** SuppressionStore in memory: entries by institution and address, lapsing at their `expiresAt`. */
export class InMemorySuppressionStore extends Recorded<keyof SuppressionStore> implements SuppressionStore {
  private readonly entries = new Map<string, SuppressionEntry>();

  public async add(entry: SuppressionEntry): Promise<void> {
    this.enter('add', entry);
    this.entries.set(`${entry.institutionId}#${entry.address}`, stored(entry));
  }

  public async remove(institutionId: string, address: string): Promise<boolean> {
    this.enter('remove', institutionId, address);
    return this.entries.delete(`${institutionId}#${address}`);
  }

  /** The entry in force for the address at `now`, without recording a call (for InMemoryBatchLookups, and Assess). */
  public peek(institutionId: string, address: string, now: Date): SuppressionEntry | undefined {
    const entry = this.entries.get(`${institutionId}#${address}`);
    return entry && (!entry.expiresAt || new Date(entry.expiresAt) > now) ? stored(entry) : undefined;
  }

  public async list(institutionId: string, query: { limit: number; cursor?: string; now: Date }): Promise<SuppressionPage> {
    this.enter('list', institutionId, query);
    const sortKey = (entry: SuppressionEntry) => `${entry.createdAt}#${entry.address}`;
    if (query.cursor !== undefined && !query.cursor.startsWith('in-memory:')) throw new InvalidCursorError();
    const after = query.cursor?.slice('in-memory:'.length);
    const matching = [...this.entries.values()]
      .filter((entry) => entry.institutionId === institutionId && (!entry.expiresAt || new Date(entry.expiresAt) > query.now))
      .sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : -1))
      .filter((entry) => after === undefined || sortKey(entry) < after);
    const page = matching.slice(0, query.limit).map(stored);
    const last = page[page.length - 1];
    return matching.length > query.limit && last ? { suppressions: page, cursor: `in-memory:${sortKey(last)}` } : { suppressions: page };
  }
}

/**
 * BatchLookups in memory, over the in-memory transport states and suppression list it is given: what
 * DynamoBatchLookups reads in one request, answered from the same stores the rest of a test sees.
 */
export class InMemoryBatchLookups extends Recorded<keyof BatchLookups> implements BatchLookups {
  public constructor(
    private readonly transportStates: InMemoryTransportState,
    private readonly suppressions: InMemorySuppressionStore,
  ) {
    super();
  }

  public async lookup(request: BatchLookupRequest): Promise<BatchLookupResult> {
    this.enter('lookup', request);
    const transportStates = new Map([...new Set(request.institutionIds)].map((id) => [id, this.transportStates.peek(id)] as const));
    const suppressions = new Map<string, SuppressionEntry>();
    for (const { institutionId, address } of request.addresses) {
      const entry = this.suppressions.peek(institutionId, address, request.now);
      if (entry) suppressions.set(suppressionLookupKey(institutionId, address), entry);
    }
    return { transportStates, suppressions };
  }
}

/** WebhookStore in memory: one record per event and receiver, each try appended. */
export class InMemoryWebhookStore extends Recorded<keyof WebhookStore> implements WebhookStore {
  private readonly records = new Map<string, WebhookDelivery>();

  public async recordTry(delivery: Omit<WebhookDelivery, 'tries'>, attempt: WebhookTry): Promise<void> {
    this.enter('recordTry', delivery, attempt);
    const key = `${delivery.institutionId}#${delivery.eventId}#${delivery.receiver}`;
    const before = this.records.get(key);
    const next: WebhookDelivery = { ...stored(delivery), createdAt: before?.createdAt ?? delivery.createdAt, tries: [...(before?.tries ?? []), stored(attempt)] };
    if (!delivery.nextAttemptAt) delete next.nextAttemptAt;
    this.records.set(key, next);
  }

  public async get(institutionId: string, eventId: string, receiver: string): Promise<WebhookDelivery | undefined> {
    this.enter('get', institutionId, eventId, receiver);
    const found = this.records.get(`${institutionId}#${eventId}#${receiver}`);
    return found && stored(found);
  }

  public async list(institutionId: string, query: { limit: number; cursor?: string }): Promise<WebhookDeliveryPage> {
    this.enter('list', institutionId, query);
    const sortKey = (delivery: WebhookDelivery) => `${delivery.createdAt}#${delivery.eventId}#${delivery.receiver}`;
    if (query.cursor !== undefined && !query.cursor.startsWith('in-memory:')) throw new InvalidCursorError();
    const after = query.cursor?.slice('in-memory:'.length);
    const matching = [...this.records.values()]
      .filter((delivery) => delivery.institutionId === institutionId)
      .sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : -1))
      .filter((delivery) => after === undefined || sortKey(delivery) < after);
    const page = matching.slice(0, query.limit).map(stored);
    const last = page[page.length - 1];
    return matching.length > query.limit && last ? { deliveries: page, cursor: `in-memory:${sortKey(last)}` } : { deliveries: page };
  }

  public async listForNotice(institutionId: string, noticeId: NoticeId): Promise<WebhookDelivery[]> {
    this.enter('listForNotice', institutionId, noticeId);
    return [...this.records.values()].filter((delivery) => delivery.institutionId === institutionId && delivery.noticeId === noticeId).sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1)).map(stored);
  }
}

/** WebhookQueue in memory: what was sent, with its delay, for a test to hand to the webhook function. */
export class InMemoryWebhookQueue extends Recorded<keyof WebhookQueue> implements WebhookQueue {
  public readonly sent: Array<{ message: WebhookMessage; delaySeconds: number }> = [];

  public async send(messages: Array<{ message: WebhookMessage; delaySeconds: number }>): Promise<void> {
    this.enter('send', messages);
    for (const entry of messages) {
      if (entry.delaySeconds > SQS_MAX_DELAY_SECONDS) throw new Error(`SQS refuses a delay of ${entry.delaySeconds} s`);
      this.sent.push(stored(entry));
    }
  }

  /** Takes every message sent so far. */
  public take(): WebhookMessage[] {
    return this.sent.splice(0).map((entry) => entry.message);
  }
}
