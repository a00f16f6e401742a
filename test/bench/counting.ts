// SDK middleware that counts what the handlers ask of AWS, on the real clients against the emulators:
// requests per service and command, and for DynamoDB the capacity each request consumed (asked for with
// ReturnConsumedCapacity), the items it returned, and an estimate of the index writes it caused.
import type { InitializeHandlerArguments, InitializeHandlerOutput, MiddlewareStack } from '@smithy/types';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { INDEXES, PARTITION_KEY } from '../../shared/store/table';

export type Service = 'DynamoDB' | 'SQS' | 'SES';

/** The write units of one kind of write (`BatchWriteItem state item`, `UpdateItem lease`…). */
export interface WriteShare {
  /** Items written: puts of that kind, or UpdateItem requests. */
  items: number;
  /**
   * Table write units: reported by DynamoDB for a single-item request; for an item of a BatchWriteItem,
   * whose units DynamoDB reports for the whole request only, estimated from the item's size by DynamoDB's
   * rules (see itemBytes), one unit per KB.
   */
  tableUnits: number;
  /** Estimated index write units, by index (see indexEntriesOf, indexWritesOfUpdate). */
  indexUnits: Record<string, number>;
  /** The items' sizes as DynamoDB counts them (itemBytes), summed, for items written whole (puts); 0 for updates. */
  bytes: number;
}

export interface Counts {
  /** Requests by `Service.Command`, e.g. `DynamoDB.BatchWriteItem`. */
  requests: Record<string, number>;
  /** Milliseconds spent waiting for the answers, by `Service.Command` (summed over concurrent requests). */
  waitMs: Record<string, number>;
  /** Read request units DynamoDB reported (table and, for a Query on an index, the index). */
  readUnits: number;
  /** Write request units DynamoDB reported for the table itself. */
  writeUnits: number;
  /**
   * Write request units of the global secondary indexes, estimated here: dynalite reports the table's
   * capacity only. Every index is KEYS_ONLY, so an entry is well under 1 KB: one unit per entry written.
   */
  indexWriteUnits: number;
  /**
   * Write units by what wrote them: `<Command> <what>`, e.g. `BatchWriteItem state item`, `BatchWriteItem
   * content item`, `UpdateItem lease`, `UpdateItem outcome` (see writeKindOf).
   */
  writesBy: Record<string, WriteShare>;
  /** BatchWriteItem's table units as DynamoDB reported them, against which the per-item estimates are checked. */
  batchWriteReportedUnits: number;
  /** Read units added because DynamoDB bills a Query at least 0.5 unit even when it returns nothing. */
  queryFloorUnits: number;
  /** Items returned by Query/Scan (`Items`), BatchGetItem (`Responses`) and GetItem (`Item`). */
  itemsRead: number;
  /** Query/Scan `ScannedCount`: what DynamoDB looked at before a filter. */
  scannedCount: number;
  /** SQS messages deleted (DeleteMessage, DeleteMessageBatch entries that succeeded). */
  messagesDeleted: number;
  /**
   * Requests by `Service.Command` as the emulators received them: every HTTP request this process sent
   * to a watched endpoint, whichever client sent it (see RequestCounter.watchWire). What AWS bills.
   */
  wire: Record<string, number>;
}

const emptyCounts = (): Counts => ({
  requests: {},
  waitMs: {},
  readUnits: 0,
  writeUnits: 0,
  indexWriteUnits: 0,
  writesBy: {},
  batchWriteReportedUnits: 0,
  queryFloorUnits: 0,
  itemsRead: 0,
  scannedCount: 0,
  messagesDeleted: 0,
  wire: {},
});

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

type Loose = Record<string, unknown>;

/** `ConsumedCapacity` is one object, or one per table for the Batch* commands. */
const capacityOf = (consumed: unknown): number => {
  if (!consumed) return 0;
  const list = Array.isArray(consumed) ? consumed : [consumed];
  return list.reduce((sum: number, entry) => sum + (Number((entry as Loose).CapacityUnits) || 0), 0);
};

/**
 * Index entries a new item writes: one per index whose keys it carries (a GSI holds only items that
 * have both its keys). instKey/instSort always, extKey when the notice has an externalId, dueShard/dueAt
 * when it has a sweepAt. Items of other tables (the naive baseline's) carry none of these keys.
 */
const indexEntriesOf = (item: unknown): number => indexesOf(item).length;

/** The names of the indexes an item has an entry in. */
const indexesOf = (item: unknown): string[] => {
  if (!item || typeof item !== 'object') return [];
  return Object.entries(INDEXES)
    .filter(([, index]) => index.partitionKey in item && index.sortKey in item)
    .map(([name]) => name);
};

/**
 * An item's size as DynamoDB counts it for capacity (developer guide, "Item sizes and formats"): each
 * attribute's name and value; a string its UTF-8 bytes, a number about a byte per two digits and one
 * more, a binary its bytes, a list or map 3 bytes plus a byte and the size of each element. Items here
 * are as the DocumentClient takes them, before marshalling.
 */
export const itemBytes = (item: Record<string, unknown>): number => Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value), 0);

const valueBytes = (value: unknown): number => {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return 1 + Math.ceil(String(Math.abs(value)).replace(/[.-]|^0+/g, '').length / 2);
  if (typeof value === 'boolean' || value === null || value === undefined) return 1;
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, element) => sum + 1 + valueBytes(element), 0);
  if (value instanceof Set) return [...value].reduce((sum: number, element) => sum + valueBytes(element), 0);
  if (typeof value === 'object') return 3 + Object.entries(value).reduce((sum, [name, element]) => sum + 1 + Buffer.byteLength(name) + valueBytes(element), 0);
  return 0;
};

/** The write units of writing an item of this size: one per KB, at least one. */
const writeUnitsOfItem = (item: Record<string, unknown>): number => Math.max(1, Math.ceil(itemBytes(item) / 1024));

/** What an item written whole is, by its key: a notice's state, its content, or another item of the table. */
const itemKindOf = (item: Record<string, unknown>): string => {
  const pk = String(item[PARTITION_KEY] ?? '');
  if (pk.startsWith('notice#')) return 'state item';
  if (pk.startsWith('content#')) return 'content item';
  return 'other item';
};

/**
 * What an UpdateItem does for a notice, by the attributes it sets: the sender's lease sets the lease's
 * token (takeLease, shared/lifecycle/transitions.ts); an attempt's outcome counts the attempt (SET
 * attemptCount) or, when it counts none (a deferral), gives the lease back (REMOVE leaseToken). No other
 * transition touches the token.
 */
const updateKindOf = (input: Loose): string => {
  const pk = String((input.Key as Loose | undefined)?.[PARTITION_KEY] ?? '');
  if (!pk.startsWith('notice#')) return `${pk.slice(0, pk.indexOf('#') + 1) || 'other '}item`;
  const { set, remove } = touchedBy(input);
  if (set.has('leaseToken')) return 'lease';
  if (set.has('attemptCount') || remove.has('leaseToken')) return 'outcome';
  return 'other notice change';
};

/** The attribute names an update expression's SET and REMOVE clauses touch, with `#name` placeholders resolved. */
const touchedBy = (input: Loose): { set: Set<string>; remove: Set<string> } => {
  const expression = String(input.UpdateExpression ?? '');
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const resolve = (token: string) => names[token] ?? token;
  const set = new Set<string>();
  const remove = new Set<string>();
  // Clauses are `SET a = b, c = d REMOVE e, f`; list_append(...) has commas too, so take only what
  // stands left of each `=` in SET and every name in REMOVE.
  for (const clause of expression.split(/\b(?=SET\b|REMOVE\b|ADD\b|DELETE\b)/)) {
    const body = clause.replace(/^(SET|REMOVE|ADD|DELETE)\s+/, '');
    if (clause.startsWith('SET')) {
      for (const match of body.matchAll(/(#?[\w]+)\s*=/g)) set.add(resolve(match[1] as string));
    } else if (clause.startsWith('REMOVE')) {
      for (const token of body.split(',')) remove.add(resolve(token.trim()));
    }
  }
  return { set, remove };
};

/**
 * Index writes of an UpdateItem: one that SETs an index's sort key moves the item's entry (a delete and
 * a put: 2, or 1 when the item had none; 2 is counted, to be conservative); one that REMOVEs it deletes
 * the entry (1). Updates that touch no index key write no index (KEYS_ONLY projections).
 */
const indexWritesOfUpdate = (input: Loose): number => Object.values(indexWritesOfUpdateByIndex(input)).reduce((sum, n) => sum + n, 0);

const indexWritesOfUpdateByIndex = (input: Loose): Record<string, number> => {
  const { set, remove } = touchedBy(input);
  const units: Record<string, number> = {};
  for (const [name, index] of Object.entries(INDEXES)) {
    if (set.has(index.sortKey) || set.has(index.partitionKey)) units[name] = 2;
    else if (remove.has(index.sortKey) || remove.has(index.partitionKey)) units[name] = 1;
  }
  return units;
};

const indexWritesOfBatch = (input: Loose): number => {
  let units = 0;
  for (const requests of Object.values((input.RequestItems ?? {}) as Record<string, Loose[]>)) {
    // A DeleteRequest's index deletes depend on the item deleted, which the request does not show; the
    // happy path deletes nothing, so none are counted.
    for (const request of requests) units += indexEntriesOf((request.PutRequest as Loose | undefined)?.Item);
  }
  return units;
};

const itemsReadBy = (command: string, output: Loose): number => {
  if (command === 'GetItem') return output.Item ? 1 : 0;
  if (command === 'BatchGetItem') return Object.values((output.Responses ?? {}) as Record<string, unknown[]>).reduce((sum, items) => sum + items.length, 0);
  return Array.isArray(output.Items) ? output.Items.length : 0;
};

/** The node:http channel every client request of this process is published on as it starts. */
const HTTP_REQUEST_START = 'http.client.request.start';

/** The port a request goes to, from its Host header (`127.0.0.1:4567`). */
const portOf = (request: ClientRequest): number => Number(/:(\d+)$/.exec(String(request.getHeader('host') ?? ''))?.[1] ?? 0);

/**
 * `Service.Command` of a request on the wire: the JSON protocols name the operation in X-Amz-Target
 * (`DynamoDB_20120810.GetItem`, `AmazonSQS.ReceiveMessage`); anything else by method and path.
 */
const wireName = (service: Service, request: ClientRequest): string => {
  const target = String(request.getHeader('x-amz-target') ?? '');
  return `${service}.${target.split('.').pop() || `${request.method} ${request.path}`}`;
};

/** Counts the requests of the clients it instruments, until frozen. */
export class RequestCounter {
  private counts = emptyCounts();
  private frozen = false;
  private freezeAfterDeleted?: { messages: number; resolve: () => void };
  private unwatch?: () => void;

  /** Starts again from zero (and counting). */
  public reset(): void {
    this.counts = emptyCounts();
    this.frozen = false;
  }

  /** Stops counting: what the handlers do after the measured work (idle polls, the checks) is not counted. */
  public freeze(): void {
    this.frozen = true;
  }

  /**
   * Resolves, and freezes the counts, the moment `messages` SQS messages have been deleted: the last
   * step of the last notice's happy path, as Lambda's event source mapping ends it.
   */
  public frozenAfterDeleted(messages: number): Promise<void> {
    return new Promise((resolve) => (this.freezeAfterDeleted = { messages, resolve }));
  }

  /** Adds a write of `kind` to the breakdown by what writes. */
  private share(kind: string, tableUnits: number, indexUnits: Record<string, number>, bytes = 0): void {
    const share = (this.counts.writesBy[kind] ??= { items: 0, tableUnits: 0, indexUnits: {}, bytes: 0 });
    share.items += 1;
    share.tableUnits += tableUnits;
    share.bytes += bytes;
    for (const [index, n] of Object.entries(indexUnits)) share.indexUnits[index] = (share.indexUnits[index] ?? 0) + n;
  }

  /** A write request's units, by what it wrote (Counts.writesBy). */
  private shareWrites(command: string, input: Loose, reportedUnits: number): void {
    const entries = (item: unknown) => Object.fromEntries(indexesOf(item).map((name) => [name, 1]));
    if (command === 'PutItem') {
      const item = (input.Item ?? {}) as Record<string, unknown>;
      this.share(`PutItem ${itemKindOf(item)}`, reportedUnits, entries(item), itemBytes(item));
    } else if (command === 'UpdateItem') {
      this.share(`UpdateItem ${updateKindOf(input)}`, reportedUnits, indexWritesOfUpdateByIndex(input));
    } else if (command === 'BatchWriteItem') {
      this.counts.batchWriteReportedUnits += reportedUnits;
      for (const requests of Object.values((input.RequestItems ?? {}) as Record<string, Loose[]>)) {
        for (const request of requests) {
          const item = (request.PutRequest as Loose | undefined)?.Item as Record<string, unknown> | undefined;
          // A delete's units depend on the item deleted, which the request does not show: 1 is counted.
          if (item) this.share(`BatchWriteItem ${itemKindOf(item)}`, writeUnitsOfItem(item), entries(item), itemBytes(item));
          else this.share('BatchWriteItem delete', 1, {});
        }
      }
    } else {
      this.share(command, reportedUnits, {});
    }
  }

  /** Requests made outside the SDK clients (API Gateway). */
  public add(name: string, count = 1): void {
    if (!this.frozen) this.counts.requests[name] = (this.counts.requests[name] ?? 0) + count;
  }

  public snapshot(): Counts {
    const writesBy = Object.fromEntries(Object.entries(this.counts.writesBy).map(([kind, share]) => [kind, { ...share, indexUnits: { ...share.indexUnits } }]));
    return { ...this.counts, requests: { ...this.counts.requests }, waitMs: { ...this.counts.waitMs }, wire: { ...this.counts.wire }, writesBy };
  }

  /**
   * Also counts, into `wire`, every HTTP request this process sends to the emulators at `endpoints`, as
   * node:http starts it: a check on the middleware's counts that no client was left uninstrumented
   * (a client built elsewhere, a second store), since AWS would bill its requests all the same.
   */
  public watchWire(endpoints: Partial<Record<Service, string>>): void {
    this.unwatch?.();
    const services = new Map(Object.entries(endpoints).map(([service, url]) => [Number(new URL(url as string).port), service as Service]));
    const onStart = (message: unknown) => {
      if (this.frozen) return;
      const { request } = message as { request: ClientRequest };
      const service = services.get(portOf(request));
      if (service) this.counts.wire[wireName(service, request)] = (this.counts.wire[wireName(service, request)] ?? 0) + 1;
    };
    subscribe(HTTP_REQUEST_START, onStart);
    this.unwatch = () => unsubscribe(HTTP_REQUEST_START, onStart);
  }

  /** Stops watching the wire (the counts stay). */
  public unwatchWire(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /**
   * Adds the counting middleware to a real SDK client (DynamoDBClient, SQSClient, SESClient). With
   * `capacity: false` it leaves the requests as they are (no ReturnConsumedCapacity) and only counts
   * and times them: for the throughput run, which must measure the pipeline unchanged.
   */
  public instrument<Input extends object, Output extends object>(client: { middlewareStack: MiddlewareStack<Input, Output> }, service: Service, options: { capacity?: boolean } = {}): void {
    client.middlewareStack.add(
      (next, context) =>
        async (args: InitializeHandlerArguments<Input>): Promise<InitializeHandlerOutput<Output>> => {
          if (this.frozen) return next(args);
          const command = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
          const name = `${service}.${command}`;
          this.add(name);
          const dynamoData = options.capacity !== false && service === 'DynamoDB' && (READS.has(command) || WRITES.has(command));
          const input = (dynamoData ? { ...args.input, ReturnConsumedCapacity: 'TOTAL' } : args.input) as Loose;
          const started = performance.now();
          const result = await next({ ...args, input: input as Input });
          if (this.frozen) return result;
          this.counts.waitMs[name] = (this.counts.waitMs[name] ?? 0) + (performance.now() - started);
          const output = result.output as Loose;
          if (dynamoData) {
            const units = capacityOf(output.ConsumedCapacity);
            if (READS.has(command)) {
              this.counts.readUnits += units;
              if ((command === 'Query' || command === 'Scan') && units === 0) this.counts.queryFloorUnits += 0.5;
              this.counts.itemsRead += itemsReadBy(command, output);
              this.counts.scannedCount += Number(output.ScannedCount ?? 0);
            } else {
              this.counts.writeUnits += units;
              if (command === 'PutItem') this.counts.indexWriteUnits += indexEntriesOf(input.Item);
              if (command === 'BatchWriteItem') this.counts.indexWriteUnits += indexWritesOfBatch(input);
              if (command === 'UpdateItem') this.counts.indexWriteUnits += indexWritesOfUpdate(input);
              this.shareWrites(command, input, units);
            }
          }
          if (service === 'SQS' && command === 'DeleteMessageBatch') {
            this.counts.messagesDeleted += ((input.Entries as unknown[] | undefined)?.length ?? 0) - ((output.Failed as unknown[] | undefined)?.length ?? 0);
          }
          if (service === 'SQS' && command === 'DeleteMessage') this.counts.messagesDeleted += 1;
          if (this.freezeAfterDeleted && this.counts.messagesDeleted >= this.freezeAfterDeleted.messages) {
            this.frozen = true;
            this.freezeAfterDeleted.resolve();
            this.freezeAfterDeleted = undefined;
          }
          return result;
        },
      { step: 'initialize', name: 'benchCount' },
    );
  }
}

const serviceOf = (name: string) => name.split('.')[0] as string;

/**
 * The requests AWS would bill, by `Service.Command`: for a service whose emulator was watched, what
 * reached it on the wire (retries and every client included); for the rest (API Gateway, counted by
 * hand), what was counted.
 */
export const billedRequests = (counts: Counts): Record<string, number> => {
  const onWire = new Set(Object.keys(counts.wire).map(serviceOf));
  return { ...Object.fromEntries(Object.entries(counts.requests).filter(([name]) => !onWire.has(serviceOf(name)))), ...counts.wire };
};

/** All requests AWS would bill. */
export const totalRequests = (counts: Counts): number => Object.values(billedRequests(counts)).reduce((sum, n) => sum + n, 0);

/** Requests of one service (the prefix of `Service.Command`) that AWS would bill. */
export const requestsOf = (counts: Counts, service: string): number =>
  Object.entries(billedRequests(counts))
    .filter(([name]) => serviceOf(name) === service)
    .reduce((sum, [, n]) => sum + n, 0);
