// The OpenAPI document as a contract, read at test time: inputs generated from its schemas (fast-check,
// test/support/openapi-arbitraries.ts) go through the API's real handler functions against dynalite and
// fauxqs, for every operation that takes more than a notice's id (notices, the lists' queries, the
// suppression list's addresses and bodies, the Test Server). Every input the document allows is accepted
// (a notice stored as it was sent); every input that breaks one of its constraints is refused with a 4xx
// naming where. Bounded in count; a failure prints its seed, and CONTRACT_SEED=<seed> replays it.
import * as fc from 'fast-check';
import { makeIntakeHandler } from '../../lambdas/intake/intake-handler';
import { makeTransportHandler } from '../../lambdas/transport/transport-handler';
import type { IntakeFunctionDeps } from '../../shared/deps';
import type { NoticeInput } from '../../shared/notice/model';
import { MAX_SCHEDULE_DAYS, utcTimestamp } from '../../shared/notice/validate';
import type { TransportDesk } from '../../shared/transport/desk';
import { formatPath } from '../../shared/validation';
import { aConfig, aNoticeInput, apiEvent } from '../support/factories';
import { startTestQueue, startTestTable, type TestQueue, type TestTable } from '../support/emulators';
import { intakeDepsFor } from '../support/intake-deps';
import { checkAgainstOpenApi, operationPointer, schemaAt } from '../support/openapi';
import { fromDocument, type Violation } from '../support/openapi-arbitraries';

const NOW = new Date('2030-06-01T00:00:00Z');
const SEED = Number(process.env.CONTRACT_SEED ?? 22_2030);
const NOTICES_BODY = operationPointer('post', '/v1/notices', 'requestBody', 'content', 'application/json', 'schema');
const TEST_BODY = operationPointer('post', '/v1/transport/test', 'requestBody', 'content', 'application/json', 'schema');
const IDEMPOTENCY_KEY = '#/components/parameters/IdempotencyKey/schema';
const LIST_PARAMETERS = operationPointer('get', '/v1/notices', 'parameters');
const SUPPRESSION_LIST_PARAMETERS = operationPointer('get', '/v1/suppressions', 'parameters');
const DELIVERY_LIST_PARAMETERS = operationPointer('get', '/v1/webhooks/deliveries', 'parameters');
const SUPPRESSION_BODY = operationPointer('put', '/v1/suppressions/{address}', 'requestBody', 'content', 'application/json', 'schema');
/** The `{address}` of PUT and of DELETE /v1/suppressions/{address}. */
const addressAt = (method: 'put' | 'delete') => operationPointer(method, '/v1/suppressions/{address}', 'parameters', '0', 'schema');

type Json = Record<string, unknown>;
type Answer = { statusCode: number; body: any }; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON as the API answers it

// What the document says of a notice only in words: sendAt at most 366 days ahead, expiresAt later than
// sendAt (both as the instants it stores). A client reading the document keeps to them too.
const scheduledAsDescribed = (value: unknown): boolean => {
  const { sendAt, expiresAt } = value as NoticeInput;
  return (
    (sendAt === undefined || Date.parse(utcTimestamp(sendAt)) <= NOW.getTime() + MAX_SCHEDULE_DAYS * 86_400_000) &&
    (sendAt === undefined || expiresAt === undefined || utcTimestamp(expiresAt) > utcTimestamp(sendAt))
  );
};

const { valid, violating } = fromDocument({ described: { '#/components/schemas/NoticeInput': scheduledAsDescribed } });

let table: TestTable;
let queue: TestQueue;
let deps: IntakeFunctionDeps;
let intake: ReturnType<typeof makeIntakeHandler>;
let transport: ReturnType<typeof makeTransportHandler>;
/**
 * A cursor of each list, the one value of its `cursor` the API takes (the document: "the cursor of the
 * previous page"), by the list's path.
 */
const issuedCursors = new Map<string, string>();

const parsed = (result: { statusCode: number; body: string }): Answer => ({ statusCode: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined });

/** Sends a body as the deployed API hands it on (bytes, in base64), and checks the answer against the document. */
const send = async (handler: typeof intake, method: string, path: string, bytes?: Buffer, headers: Record<string, string> = {}): Promise<Answer> => {
  const answer = parsed(await handler(apiEvent({ method, path, bytes, headers })));
  checkAgainstOpenApi(method, path, answer.statusCode, answer.body);
  return answer;
};

const post = (handler: typeof intake, path: string, bytes: Buffer | undefined, headers: Record<string, string> = {}): Promise<Answer> => send(handler, 'POST', path, bytes, headers);

const utf8 = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');

/** What a refusal must say: a 4xx whose details name one of the violation's paths. */
const expectRefused = (answer: Answer, violation: Violation, statuses: number[] = [400, 413]): void => {
  const named = ((answer.body.error?.details ?? []) as Array<{ path: string }>).map((detail) => detail.path);
  // One comparison, so that a failure shows the case whole: what was broken, where, and what was answered.
  expect({ refused: statuses.includes(answer.statusCode), namesThePath: named.some((path) => violation.paths.includes(path)), status: answer.statusCode, named, violation }).toMatchObject({
    refused: true,
    namesThePath: true,
  });
};

/** An object without its undefined fields: what toMatchObject compares a stored notice with. */
const defined = (value: Json): Json => Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined));

/** A notice's content as the store must hold it: as it was sent, but cc always a list. */
const asStored = (notice: Omit<NoticeInput, 'cc'> & { cc?: string | string[] }) => ({
  to: notice.to,
  subject: notice.subject,
  ...(notice.text === undefined ? {} : { text: notice.text }),
  ...(notice.html === undefined ? {} : { html: notice.html }),
  ...(notice.replyTo === undefined ? {} : { replyTo: notice.replyTo }),
  ...(notice.cc === undefined ? {} : { cc: typeof notice.cc === 'string' ? [notice.cc] : notice.cc }),
  ...(notice.attachments === undefined ? {} : { attachments: notice.attachments }),
});

/** A Test Server that answers at once and sends nothing: the contract is about what the API takes. */
const answeringDesk: TransportDesk = {
  status: async () => {
    throw new Error('not used');
  },
  test: async (_institution, to) => ({
    lastTestedAt: NOW.toISOString(),
    lastTestResult: { ok: true, server: 'ses', reply: '250 Ok', servers: [{ server: 'ses', ok: true, reply: '250 Ok' }], to: to ?? 'it@library.example.org' },
  }),
};

beforeAll(async () => {
  [table, queue] = await Promise.all([startTestTable(), startTestQueue()]);
  // Every request of a run falls in one minute of this clock: the key's rate must not be what answers.
  const config = aConfig({ intake: { spreadSeconds: 0, requestsPerMinutePerKey: 1_000_000 } });
  deps = intakeDepsFor({ config, clock: { now: () => NOW }, endpoints: { dynamodb: table.url, sqs: queue.url }, tableName: table.tableName, queueUrl: queue.queueUrl, random: Math.random });
  intake = makeIntakeHandler(deps);
  transport = makeTransportHandler({ ...deps, desk: answeringDesk });
  // Two of each listed thing, so that a page of one has a cursor.
  await post(intake, '/v1/notices', utf8({ notices: [aNoticeInput(), aNoticeInput()] }));
  for (const address of ['first.listed@example.org', 'second.listed@example.org']) await send(intake, 'PUT', `/v1/suppressions/${address}`);
  for (const eventId of ['01JB0000000000000000000EV1', '01JB0000000000000000000EV2']) {
    const at = NOW.toISOString();
    await deps.deliveries.recordTry(
      { institutionId: 'demo', eventId, eventType: 'notice.sent', noticeId: '01JB00000000000000000000N1', url: 'https://ils.example.org/events', receiver: 'r1', status: 'delivered', createdAt: at, updatedAt: at },
      { at, statusCode: 200, durationMs: 12 },
    );
  }
  for (const path of ['/v1/notices', '/v1/suppressions', '/v1/webhooks/deliveries']) {
    const page = parsed(await intake(apiEvent({ method: 'GET', path, query: { limit: '1' } })));
    issuedCursors.set(path, page.body.cursor);
  }
}, 30_000);

afterAll(async () => {
  deps?.close();
  await Promise.all([table?.stop(), queue?.stop()]);
});

afterEach(() => jest.restoreAllMocks());

describe('Contract: the OpenAPI document says exactly what the API accepts', () => {
  it('accepts every notice and batch the document allows, with or without an Idempotency-Key, and stores each as it was sent', async () => {
    const bodies = new Map<string, string>();
    let notices = 0;
    await fc.assert(
      fc.asyncProperty(valid(NOTICES_BODY), fc.option(valid(IDEMPOTENCY_KEY) as fc.Arbitrary<string>, { nil: undefined }), async (body, key) => {
        // Act
        const answer = await post(intake, '/v1/notices', utf8(body), key === undefined ? {} : { 'Idempotency-Key': key });
        // Assess: a key used before with another body is the documented 409; anything else is accepted
        const earlier = key === undefined ? undefined : bodies.get(key);
        if (earlier !== undefined && earlier !== JSON.stringify(body)) {
          expect(answer.body.error.code).toBe('idempotency_key_reused');
          return;
        }
        if (key !== undefined) bodies.set(key, JSON.stringify(body));
        expect({ status: answer.statusCode, error: answer.body.error }).toEqual({ status: 202, error: undefined });
        const submitted = ('notices' in (body as Json) ? (body as { notices: NoticeInput[] }).notices : [body]) as NoticeInput[];
        const ids = ('notices' in answer.body ? answer.body.notices : [answer.body]).map((accepted: { id: string }) => accepted.id);
        const stored = await deps.store.getForDelivery(ids);
        ids.forEach((id: string, index: number) => {
          const input = submitted[index] as NoticeInput;
          const { notice, content } = stored.get(id) ?? {};
          expect(content).toEqual(asStored(input));
          expect(notice).toMatchObject(
            defined({
              type: input.type,
              externalId: input.externalId,
              sendAt: input.sendAt === undefined ? undefined : utcTimestamp(input.sendAt),
              expiresAt: input.expiresAt === undefined ? undefined : utcTimestamp(input.expiresAt),
            }),
          );
        });
        notices += ids.length;
      }),
      { numRuns: 120, seed: SEED, endOnFailure: true },
    );
    console.log(`Contract: 120 requests the document allows, ${notices} notices accepted and read back from the store`);
  }, 120_000);

  it('refuses every notice, batch or Idempotency-Key that breaks one constraint of the document, naming where, and stores nothing', async () => {
    const byKeyword = new Map<string, number>();
    const request = fc.oneof(
      { weight: 6, arbitrary: fc.record({ violation: violating(NOTICES_BODY), key: fc.constant<string | undefined>(undefined) }) },
      // A header is text: a "wrong type" of one cannot be sent.
      {
        weight: 1,
        arbitrary: violating(IDEMPOTENCY_KEY, ['Idempotency-Key'])
          .filter((violation) => violation.keyword !== 'type')
          .map((violation) => ({ violation, key: violation.value as string | undefined })),
      },
    );
    await fc.assert(
      fc.asyncProperty(request, valid(NOTICES_BODY), async ({ violation, key }, goodBody) => {
        // Prepare
        const created = jest.spyOn(deps.store, 'createNotices');
        const body = key === undefined ? violation.value : goodBody;
        // Act
        const answer = await post(intake, '/v1/notices', utf8(body), key === undefined ? {} : { 'Idempotency-Key': key });
        // Assess
        expectRefused(answer, violation);
        expect(created).not.toHaveBeenCalled();
        created.mockRestore();
        byKeyword.set(violation.keyword, (byKeyword.get(violation.keyword) ?? 0) + 1);
      }),
      { numRuns: 300, seed: SEED, endOnFailure: true },
    );
    console.log(`Contract: 300 refused requests by the constraint they broke ${JSON.stringify(Object.fromEntries([...byKeyword].sort()))}`);
    expect([...byKeyword.keys()]).toEqual(expect.arrayContaining(['pattern', 'maxLength', 'minLength', 'required', 'additionalProperties', 'type', 'maxItems', 'minItems', 'anyOf', 'x-max-json-bytes']));
  }, 120_000);

  it.each([
    ['/v1/notices', LIST_PARAMETERS, 200],
    ['/v1/suppressions', SUPPRESSION_LIST_PARAMETERS, 60],
    ['/v1/webhooks/deliveries', DELIVERY_LIST_PARAMETERS, 100],
  ])('lists GET %s with every query the document allows, and refuses every parameter that breaks it, naming the parameter', async (path, parametersAt, numRuns) => {
    const parameters = schemaAt(parametersAt) as unknown as Array<{ name: string; explode?: boolean; schema: Json }>;
    const at = (index: number) => `${parametersAt}/${index}/schema`;
    /** A query value as a URL carries it: a list comma-separated (style form, explode false), anything else as text. */
    const onTheWire = (value: unknown): string => (Array.isArray(value) ? value.join(',') : String(value));
    const allowed = fc.record(
      Object.fromEntries(parameters.map((parameter, index) => [parameter.name, parameter.name === 'cursor' ? fc.constant(issuedCursors.get(path) as string) : valid(at(index))])),
      { requiredKeys: [] },
    );
    const broken = fc.oneof(
      ...parameters.map((parameter, index) =>
        fc.tuple(
          fc.constant(parameter.name),
          // Every query value is text: a string parameter's "wrong type" is text all the same.
          violating(at(index)).filter((violation) => !(violation.keyword === 'type' && parameter.schema.type === 'string')),
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(allowed, fc.option(broken, { nil: undefined }), async (query, violation) => {
        // Prepare
        const values = Object.fromEntries(Object.entries({ ...query, ...(violation ? { [violation[0]]: violation[1].value } : {}) }).map(([name, value]) => [name, onTheWire(value)]));
        // Act
        const answer = parsed(await intake(apiEvent({ method: 'GET', path, query: values })));
        // Assess
        checkAgainstOpenApi('GET', path, answer.statusCode, answer.body);
        if (!violation) {
          expect({ query: values, status: answer.statusCode }).toEqual({ query: values, status: 200 });
          return;
        }
        expect({ query: values, status: answer.statusCode, code: answer.body.error?.code }).toEqual({ query: values, status: 400, code: 'invalid_query' });
        expect(answer.body.error.details.map((detail: { path: string }) => detail.path)).toContain(violation[0]);
      }),
      { numRuns, seed: SEED, endOnFailure: true },
    );
  }, 120_000);

  it('puts every address the document allows on the suppression list, with any body it allows, and takes it off again', async () => {
    await fc.assert(
      fc.asyncProperty(valid(addressAt('put')) as fc.Arbitrary<string>, fc.option(valid(SUPPRESSION_BODY) as fc.Arbitrary<{ note?: string }>, { nil: undefined }), async (address, body) => {
        // Prepare
        const path = `/v1/suppressions/${encodeURIComponent(address)}`;
        // Act
        const put = await send(intake, 'PUT', path, body === undefined ? undefined : utf8(body));
        const deleted = await send(intake, 'DELETE', path);
        const again = await send(intake, 'DELETE', path);
        // Assess: one entry, under the address in lower case
        expect({ status: put.statusCode, error: put.body.error }).toEqual({ status: 200, error: undefined });
        expect(put.body).toMatchObject({ address: address.toLowerCase(), reason: 'manual', ...(body?.note ? { detail: body.note } : {}) });
        expect(deleted).toEqual({ statusCode: 200, body: { address: address.toLowerCase(), removed: true } });
        expect(again.statusCode).toBe(404);
      }),
      { numRuns: 80, seed: SEED, endOnFailure: true },
    );
  }, 60_000);

  it('refuses every address or suppression body that breaks the document, naming where, and changes nothing', async () => {
    const request = fc.oneof(
      fc.constantFrom('PUT', 'DELETE').chain((method) =>
        violating(addressAt(method === 'PUT' ? 'put' : 'delete'), ['address'])
          // A path segment is text: a "wrong type" of one cannot be sent, and an empty one is another path.
          .filter((violation) => violation.keyword !== 'type' && violation.value !== '')
          .map((violation) => ({ method, violation, bytes: undefined as Buffer | undefined })),
      ),
      violating(SUPPRESSION_BODY).map((violation) => ({ method: 'PUT', violation, bytes: utf8(violation.value) as Buffer | undefined })),
    );
    await fc.assert(
      fc.asyncProperty(request, valid(addressAt('put')) as fc.Arbitrary<string>, async ({ method, violation, bytes }, goodAddress) => {
        // Prepare
        const added = jest.spyOn(deps.suppressions, 'add');
        const removed = jest.spyOn(deps.suppressions, 'remove');
        const address = bytes === undefined ? (violation.value as string) : goodAddress;
        // Act
        const answer = await send(intake, method, `/v1/suppressions/${encodeURIComponent(address)}`, bytes);
        // Assess
        expectRefused(answer, violation, [400]);
        expect([added, removed].map((spy) => spy.mock.calls.length)).toEqual([0, 0]);
        added.mockRestore();
        removed.mockRestore();
      }),
      { numRuns: 120, seed: SEED, endOnFailure: true },
    );
  }, 60_000);

  it('takes every Test Server body the document allows, none at all too, and refuses every one that breaks it, naming where', async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(valid(TEST_BODY), { nil: undefined }), violating(TEST_BODY), async (body, violation) => {
        // Act
        const accepted = await post(transport, '/v1/transport/test', body === undefined ? undefined : utf8(body));
        const refused = await post(transport, '/v1/transport/test', utf8(violation.value));
        // Assess
        expect(accepted.statusCode).toBe(200);
        expectRefused(refused, violation, [400]);
      }),
      { numRuns: 100, seed: SEED, endOnFailure: true },
    );
  }, 60_000);

  it('answers 415 invalid_utf8 to a body whose bytes are not UTF-8, naming the offset of the first bad one, and stores nothing', async () => {
    // Bytes no UTF-8 text holds: Latin-1's é, a stray continuation byte, an overlong /, an encoded surrogate, past U+10FFFF, a cut-off €.
    const badBytes = fc.constantFrom([0xe9], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff]);
    await fc.assert(
      fc.asyncProperty(valid(NOTICES_BODY), badBytes, fc.nat(), async (body, bad, position) => {
        // Prepare: the bad bytes between two characters of a body the document allows
        const text = JSON.stringify(body);
        const characters = Array.from(text);
        const cut = Buffer.byteLength(characters.slice(0, position % (characters.length + 1)).join(''), 'utf8');
        const bytes = Buffer.concat([Buffer.from(text, 'utf8').subarray(0, cut), Buffer.from(bad), Buffer.from(text, 'utf8').subarray(cut)]);
        const created = jest.spyOn(deps.store, 'createNotices');
        // Act
        const answer = await post(intake, '/v1/notices', bytes);
        // Assess
        expect(answer.statusCode).toBe(415);
        expect(answer.body.error.code).toBe('invalid_utf8');
        expect(answer.body.error.message).toContain(`at offset ${cut} `);
        expect(created).not.toHaveBeenCalled();
        created.mockRestore();
      }),
      { numRuns: 100, seed: SEED, endOnFailure: true },
    );
  }, 60_000);

  it('answers 400 invalid_unicode to a string or name holding a lone surrogate, naming where, and stores nothing', async () => {
    const lone = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', '\udc00\ud800');
    await fc.assert(
      fc.asyncProperty(valid(NOTICES_BODY), lone, fc.nat(), fc.nat(), async (body, surrogate, which, position) => {
        // Prepare: one string of a body the document allows given a lone surrogate
        const strings: Array<{ path: PropertyKey[]; set: (value: string) => void; value: string }> = [];
        const collect = (node: unknown, path: PropertyKey[]) => {
          if (!node || typeof node !== 'object') return;
          for (const [key, child] of Object.entries(node)) {
            const childPath = [...path, Array.isArray(node) ? Number(key) : key];
            if (typeof child === 'string') strings.push({ path: childPath, value: child, set: (value) => ((node as Json)[key] = value) });
            else collect(child, childPath);
          }
        };
        collect(body, []);
        const target = strings[which % strings.length] as (typeof strings)[number];
        const at = position % (target.value.length + 1);
        target.set(`${target.value.slice(0, at)}${surrogate}${target.value.slice(at)}`);
        // JSON.stringify writes a lone surrogate as an escape: the body itself is ASCII-safe UTF-8
        const created = jest.spyOn(deps.store, 'createNotices');
        // Act
        const answer = await post(intake, '/v1/notices', utf8(body));
        // Assess
        expect(answer.statusCode).toBe(400);
        expect(answer.body.error).toMatchObject({ code: 'invalid_unicode', details: [{ path: formatPath(target.path) }] });
        expect(created).not.toHaveBeenCalled();
        created.mockRestore();
      }),
      { numRuns: 100, seed: SEED, endOnFailure: true },
    );
  }, 60_000);
});
