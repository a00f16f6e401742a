import { createHash } from 'node:crypto';
import { makeIntakeHandler } from '../../../lambdas/intake/intake-handler';
import { canonicalJson } from '../../../shared/intake/accept-notices';
import type { Transition } from '../../../shared/lifecycle/plan';
import type { NewNotice, Notice } from '../../../shared/notice/model';
import { fakeDeps } from '../../support/fake-deps';
import { aNotice, aNoticeInput, apiEvent, BRANCH_KEY, DEMO_KEY } from '../../support/factories';
import { serviceFault } from '../../support/fakes';
import { recordingLog } from '../../support/pipeline';

const NOW = new Date('2030-01-01T00:00:00Z');
let fakes: ReturnType<typeof fakeDeps>;
let handler: ReturnType<typeof makeIntakeHandler>;
const body = (result: { body: string }) => JSON.parse(result.body);
const written = () => fakes.store.argsOf('createNotices').flatMap(([records]) => (records as NewNotice[]).map((record) => record.notice.id));

/** Nothing reached the store or the queue, and no Idempotency-Key was taken. */
const expectNothingStoredOrQueued = () => {
  for (const method of ['createNotices', 'deleteNotices', 'apply', 'createReport'] as const) expect(fakes.store.timesCalled(method)).toBe(0);
  expect(fakes.queue.timesCalled('ring')).toBe(0);
  expect(fakes.idempotency.size).toBe(0);
};

beforeEach(() => {
  fakes = fakeDeps({ now: NOW, random: () => 0.5 });
  handler = makeIntakeHandler(fakes.deps);
});

describe('Handler: intake, POST /v1/notices', () => {
  it("points Location at the notice through the URL the client called, API Gateway's stage included", async () => {
    // Prepare: API Gateway's default endpoint puts the stage before the API's own path
    const event = apiEvent({ method: 'POST', path: '/v1/notices', body: aNoticeInput() });
    event.requestContext = { ...event.requestContext, path: '/prod/v1/notices' };
    // Act
    const result = await handler(event);
    // Assess
    expect(result.headers?.location).toBe(`/prod/v1/notices/${body(result).id}`);
  });

  it('stores a notice, rings its doorbell and answers 202 with its id', async () => {
    // Act
    const result = await handler(apiEvent({ method: 'POST', path: '/v1/notices', body: aNoticeInput() }));
    // Assess
    expect(result.statusCode).toBe(202);
    const { id, status } = body(result);
    expect(status).toBe('queued');
    expect(result.headers?.location).toBe(`/v1/notices/${id}`);
    expect(fakes.store.peek(id)).toMatchObject({ id, status: 'queued', institutionId: 'demo', externalId: 'loan-81234', version: 1, sweepAt: expect.any(String) });
    expect(fakes.store.peekContent(id)).toMatchObject({ to: 'patron@example.org', text: aNoticeInput().text });
    expect(fakes.queue.rung).toEqual([{ id, delaySeconds: 30 }]);
  });

  it('writes a batch in one call to the store and rings its doorbells in one call to the queue', async () => {
    // Prepare
    const notices = Array.from({ length: 30 }, (_, i) => aNoticeInput({ externalId: `loan-${i}` }));
    // Act
    const result = await handler(apiEvent({ method: 'POST', path: '/v1/notices', body: { notices } }));
    // Assess
    expect(result.statusCode).toBe(202);
    const ids = body(result).notices.map((notice: { id: string }) => notice.id);
    expect(ids).toHaveLength(30);
    expect(fakes.store.timesCalled('createNotices')).toBe(1);
    expect(written()).toEqual(ids);
    expect(fakes.queue.timesCalled('ring')).toBe(1);
    expect(fakes.queue.rung.map((doorbell) => doorbell.id)).toEqual(ids);
  });

  it('answers 503 and rings nothing when the store fails, and removes what it wrote', async () => {
    // Prepare
    fakes.store.failNext('createNotices', serviceFault('down'));
    // Act
    const result = await handler(apiEvent({ method: 'POST', path: '/v1/notices', body: aNoticeInput() }));
    // Assess
    expect(result.statusCode).toBe(503);
    expect(body(result).error.code).toBe('unavailable');
    expect(result.headers?.['retry-after']).toBe('5');
    expect(fakes.queue.timesCalled('ring')).toBe(0);
    expect(fakes.store.argsOf('deleteNotices')).toEqual([[written()]]);
    expect(written()).toHaveLength(1);
  });

  it('says so in the 503, and logs the ids, when what it wrote could not be removed either', async () => {
    // Prepare
    const log = recordingLog();
    fakes = fakeDeps({ now: NOW, random: () => 0.5, log });
    fakes.store.failAlways('createNotices', serviceFault('down')).failAlways('deleteNotices', serviceFault('down'));
    const logging = makeIntakeHandler(fakes.deps);
    // Act
    const result = await logging(apiEvent({ method: 'POST', path: '/v1/notices', body: aNoticeInput() }));
    // Assess
    expect(result.statusCode).toBe(503);
    expect(body(result).error.message).toMatch(/some may still be sent/);
    expect(written()).toHaveLength(1);
    expect(log.lines.find((l) => l.message === 'notices of a refused request may be left stored and sent')?.attributes).toMatchObject({ ids: written() });
  });

  it('answers 202 even when the doorbell cannot be rung: the notice is stored and the sweep rings it', async () => {
    // Prepare: the queue reports the doorbell back, as SendMessageBatch's Failed entries do
    fakes.queue.loseNext(1);
    // Act
    const result = await handler(apiEvent({ method: 'POST', path: '/v1/notices', body: aNoticeInput() }));
    // Assess
    expect(result.statusCode).toBe(202);
    expect(fakes.store.peek(body(result).id)).toMatchObject({ status: 'queued', sweepAt: expect.any(String) });
    expect(fakes.queue.rung).toEqual([]);
  });

  it.each([
    ['no key', { key: null as string | null }, 401, 'unauthorized'],
    ['an unknown key', { key: 'not-a-key-of-anyone' }, 401, 'unauthorized'],
    ['a body that is not JSON', { rawBody: '{"to": "patron@example.org",' }, 400, 'invalid_json'],
    ['an empty body', { rawBody: '' }, 400, 'invalid_json'],
    ['a form instead of JSON', { rawBody: 'to=patron@example.org', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }, 415, 'unsupported_media_type'],
    ['no content type', { rawBody: JSON.stringify(aNoticeInput()), headers: { 'Content-Type': '' } }, 415, 'unsupported_media_type'],
    ['JSON in Latin-1', { rawBody: JSON.stringify(aNoticeInput()), headers: { 'Content-Type': 'application/json; charset=iso-8859-1' } }, 415, 'unsupported_media_type'],
    ['an invalid address', { body: aNoticeInput({ to: 'patron-at-example.org' }) }, 400, 'validation_failed'],
    ['CR/LF in the subject', { body: aNoticeInput({ subject: 'Overdue\r\nBcc: everyone@example.org' }) }, 400, 'validation_failed'],
    ['CR/LF in an attachment name', { body: aNoticeInput({ attachments: [{ filename: 'a\n.pdf', contentType: 'application/pdf', contentBase64: 'JVBERg==' }] }) }, 400, 'validation_failed'],
    ['no subject', { body: { to: 'patron@example.org', text: 'x' } }, 400, 'validation_failed'],
    ['no text and no html', { body: { to: 'patron@example.org', subject: 'x' } }, 400, 'validation_failed'],
    ['an unknown field', { body: { ...aNoticeInput(), priority: 'high' } }, 400, 'validation_failed'],
    ['a sendAt that is not ISO 8601', { body: aNoticeInput({ sendAt: '03/01/2030' }) }, 400, 'validation_failed'],
    ['an expiresAt that is not ISO 8601', { body: aNoticeInput({ expiresAt: '2030-03-01T12:00' }) }, 400, 'validation_failed'],
    ['an expiresAt before sendAt', { body: aNoticeInput({ sendAt: '2030-02-01T00:00:00Z', expiresAt: '2030-01-15T00:00:00Z' }) }, 400, 'validation_failed'],
    ['a notice over 256 KiB', { body: aNoticeInput({ text: 'x'.repeat(262_144) }) }, 413, 'notice_too_large'],
    ['a batch over 500 notices', { body: { notices: Array.from({ length: 501 }, () => aNoticeInput()) } }, 413, 'batch_too_large'],
    ['a request over 6 MB', { rawBody: JSON.stringify({ notices: Array.from({ length: 26 }, () => aNoticeInput({ text: 'x'.repeat(250_000) })) }) }, 413, 'request_too_large'],
    ['a batch with one bad notice among good ones', { body: { notices: [aNoticeInput(), aNoticeInput({ to: 'bad' }), aNoticeInput()] } }, 400, 'validation_failed'],
    ['a malformed Idempotency-Key', { body: aNoticeInput(), headers: { 'Idempotency-Key': 'has spaces in it' } }, 400, 'invalid_idempotency_key'],
    ['a compressed body', { rawBody: JSON.stringify(aNoticeInput()), headers: { 'Content-Encoding': 'gzip' } }, 415, 'unsupported_media_type'],
    ['JSON nested deeper than any notice', { rawBody: `{"to":"patron@example.org","subject":"x","text":${'['.repeat(10_000)}${']'.repeat(10_000)}}` }, 400, 'invalid_json'],
  ])('refuses %s, storing and queuing nothing', async (_, options, status, code) => {
    // Act
    const result = await handler(apiEvent({ method: 'POST', path: '/v1/notices', ...options }));
    // Assess
    expect(result.statusCode).toBe(status);
    expect(body(result).error.code).toBe(code);
    expect(body(result).error.message).toEqual(expect.any(String));
    expectNothingStoredOrQueued();
  });

  it('says where a body stops being JSON without quoting it, and takes a byte order mark before the JSON', async () => {
    // Act
    const broken = await handler(apiEvent({ method: 'POST', path: '/v1/notices', rawBody: '{\n  "to": "patron@example.org",\n  "subject": Overdue\n}' }));
    const withMark = await handler(apiEvent({ method: 'POST', path: '/v1/notices', rawBody: `\uFEFF${JSON.stringify(aNoticeInput())}` }));
    // Assess
    expect(body(broken).error.message).toBe('The body is not valid JSON: unexpected character at line 3, column 14.');
    expect(body(broken).error.message).not.toContain('patron@example.org');
    expect(withMark.statusCode).toBe(202);
  });

  it('names every bad notice of a batch by its path', async () => {
    // Act
    const result = await handler(apiEvent({ method: 'POST', path: '/v1/notices', body: { notices: [aNoticeInput(), aNoticeInput({ to: 'bad' }), aNoticeInput({ subject: 'a\nb' })] } }));
    // Assess
    expect(body(result).error).toEqual({
      code: 'validation_failed',
      message: '2 of 3 notices are invalid; nothing was accepted.',
      details: [
        { path: 'notices[1].to', message: 'must be an email address like name@example.org' },
        { path: 'notices[2].subject', message: 'must not contain CR or LF: rejected as header injection' },
      ],
    });
  });

  it('accepts the key as x-api-key too', async () => {
    const result = await handler(apiEvent({ method: 'POST', path: '/v1/notices', body: aNoticeInput(), key: null, headers: { 'x-api-key': BRANCH_KEY } }));
    expect(result.statusCode).toBe(202);
  });
});

describe('Handler: intake, Idempotency-Key', () => {
  const KEY = 'night-2030-01-01';
  /** What the store remembers of an earlier request with the key (Prepare). */
  const earlier = async (requestHash: string, state: 'in-progress' | 'complete', ids = ['01JB0000000000000000000001']) => {
    const request = { institutionId: 'demo', key: KEY, requestHash, ids, batch: false, now: NOW };
    await fakes.idempotency.claim(request);
    if (state === 'complete') await fakes.idempotency.complete(request);
    fakes.idempotency.calls.length = 0;
  };
  const post = () => handler(apiEvent({ method: 'POST', path: '/v1/notices', body: aNoticeInput(), headers: { 'Idempotency-Key': KEY } }));

  it('answers a repeated request with the ids of the first, writing nothing', async () => {
    // Prepare
    await earlier(hashOf(aNoticeInput()), 'complete');
    // Act
    const result = await post();
    // Assess
    expect(result.statusCode).toBe(202);
    expect(body(result)).toEqual({ id: '01JB0000000000000000000001', status: 'queued' });
    expect(result.headers?.['idempotent-replayed']).toBe('true');
    expect(fakes.store.timesCalled('createNotices')).toBe(0);
    expect(fakes.queue.timesCalled('ring')).toBe(0);
  });

  it('answers 409 when the key was used with another body', async () => {
    // Prepare
    await earlier('another', 'complete');
    // Act
    const result = await post();
    // Assess
    expect(result.statusCode).toBe(409);
    expect(body(result).error.code).toBe('idempotency_key_reused');
    expect(fakes.store.timesCalled('createNotices')).toBe(0);
  });

  it('waits for the first request with the key, then answers 409 while it is still in progress', async () => {
    // Prepare
    await earlier(hashOf(aNoticeInput()), 'in-progress');
    // Act
    const result = await post();
    // Assess: polled for ten seconds of the clock, then gave up without writing
    expect(result.statusCode).toBe(409);
    expect(body(result).error.code).toBe('idempotency_in_progress');
    expect(fakes.slept.reduce((sum, ms) => sum + ms, 0)).toBeGreaterThanOrEqual(10_000);
    expect(fakes.store.timesCalled('createNotices')).toBe(0);
  });

  it('claims a new key with the ids it will write, stores, then marks the key complete', async () => {
    // Act
    const result = await post();
    // Assess
    expect(result.statusCode).toBe(202);
    const { id } = body(result);
    expect(fakes.idempotency.argsOf('claim')).toEqual([[expect.objectContaining({ institutionId: 'demo', key: KEY, requestHash: hashOf(aNoticeInput()), ids: [id] })]]);
    expect(fakes.idempotency.peek('demo', KEY)).toMatchObject({ state: 'complete', ids: [id] });
    expect(written()).toEqual([id]);
  });

  it('lets a retry take the key over, with the same ids, once the first request could not store its notices', async () => {
    // Prepare
    fakes.store.failNext('createNotices', serviceFault('down'));
    const failed = await post();
    // Act
    const retried = await post();
    // Assess
    expect(failed.statusCode).toBe(503);
    expect(retried.statusCode).toBe(202);
    expect(fakes.idempotency.timesCalled('release')).toBe(1);
    expect(written()).toEqual([body(retried).id, body(retried).id]);
  });
});

describe('Handler: intake, reading and cancelling', () => {
  const ID = '01JB0000000000000000000001';
  const stored = (overrides: Partial<Notice> = {}) =>
    aNotice({ id: ID, version: 3, subject: 'Overdue', type: undefined, externalId: undefined, leaseToken: 'internal', ...overrides });
  const seed = (notice: Notice) => fakes.store.seed({ notice, content: { to: notice.to, subject: notice.subject, text: 'x' } });
  const cancellation = () => fakes.store.argsOf('apply')[0]?.[0] as Transition | undefined;

  it('finds a notice by its id in lower case too, as ULIDs are case-insensitive', async () => {
    // Prepare
    seed(stored());
    // Act
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/notices/01jb0000000000000000000001' }));
    // Assess
    expect(result.statusCode).toBe(200);
    expect(body(result).id).toBe('01JB0000000000000000000001');
    expect(fakes.store.argsOf('getNotice')).toEqual([[ID]]);
  });

  it('answers a notice with nulls for what is unset, and no internal field', async () => {
    // Prepare
    seed(stored());
    // Act
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/notices/01JB0000000000000000000001' }));
    // Assess
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({
      id: '01JB0000000000000000000001',
      kind: 'notice',
      status: 'queued',
      to: 'patron@example.org',
      subject: 'Overdue',
      type: null,
      externalId: null,
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-01T00:00:00.000Z',
      sendAt: null,
      nextAttemptAt: '2030-01-01T00:00:30.000Z',
      sentAt: null,
      messageId: null,
      expiresAt: null,
      giveUpAt: '2030-01-05T04:00:00.000Z',
      attemptCount: 0,
      returnToSender: null,
      reportFor: null,
      resentFrom: null,
      resentAs: null,
      attempts: [],
      events: [],
    });
  });

  it.each([
    ['GET', '/v1/notices/01JB0000000000000000000001'],
    ['DELETE', '/v1/notices/01JB0000000000000000000001'],
  ])("answers 404 to %s of another institution's notice", async (method, path) => {
    // Prepare
    seed(stored({ institutionId: 'branch' }));
    // Act
    const result = await handler(apiEvent({ method, path, key: DEMO_KEY }));
    // Assess
    expect(result.statusCode).toBe(404);
    expect(body(result).error.code).toBe('not_found');
    expect(fakes.store.timesCalled('apply')).toBe(0);
  });

  it('answers 404 to an id this service never issues, without asking the store', async () => {
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/notices/..%2F..%2Fetc' }));
    expect(result.statusCode).toBe(404);
    expect(fakes.store.timesCalled('getNotice')).toBe(0);
  });

  it('cancels a queued notice with a compare-and-set on its version', async () => {
    // Prepare
    seed(stored());
    // Act
    const result = await handler(apiEvent({ method: 'DELETE', path: '/v1/notices/01JB0000000000000000000001' }));
    // Assess
    expect(result.statusCode).toBe(200);
    expect(body(result).status).toBe('cancelled');
    expect(cancellation()).toMatchObject({ id: ID, expectVersion: 3, set: expect.objectContaining({ status: 'cancelled' }) });
    expect(fakes.store.peek(ID)).toMatchObject({ status: 'cancelled', version: 4 });
  });

  it('answers 409 to cancelling a notice already sent', async () => {
    // Prepare
    seed(stored({ status: 'sent' }));
    // Act
    const result = await handler(apiEvent({ method: 'DELETE', path: '/v1/notices/01JB0000000000000000000001' }));
    // Assess
    expect(result.statusCode).toBe(409);
    expect(body(result).error.code).toBe('not_cancellable');
  });

  it('answers 409 to cancelling a notice being sent, and leaves it alone', async () => {
    // Prepare
    seed(stored({ status: 'sending', leaseExpiresAt: '2030-01-01T00:01:30.000Z' }));
    // Act
    const result = await handler(apiEvent({ method: 'DELETE', path: '/v1/notices/01JB0000000000000000000001' }));
    // Assess
    expect(result.statusCode).toBe(409);
    expect(body(result).error.code).toBe('not_cancellable');
    expect(fakes.store.timesCalled('apply')).toBe(0);
    expect(fakes.store.peek(ID)?.status).toBe('sending');
  });

  it('cancels a retrying notice with a compare-and-set on its version', async () => {
    // Prepare
    seed(stored({ status: 'retrying', attemptCount: 1 }));
    // Act
    const result = await handler(apiEvent({ method: 'DELETE', path: '/v1/notices/01JB0000000000000000000001' }));
    // Assess
    expect(result.statusCode).toBe(200);
    expect(body(result).status).toBe('cancelled');
    expect(fakes.store.timesCalled('apply')).toBe(1);
    expect(cancellation()).toMatchObject({ id: ID, expectVersion: 3, set: expect.objectContaining({ status: 'cancelled' }) });
    expect(fakes.store.peek(ID)).toMatchObject({ status: 'cancelled', attemptCount: 1 });
  });

  it("lists only the caller's notices, newest first", async () => {
    // Prepare
    seed(stored());
    seed(stored({ id: '01JB0000000000000000000002', createdAt: '2030-01-01T00:05:00.000Z' }));
    seed(stored({ id: '01JB0000000000000000000003', institutionId: 'branch' }));
    // Act
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/notices', query: { limit: '10' } }));
    // Assess
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({ notices: [expect.objectContaining({ id: '01JB0000000000000000000002' }), expect.objectContaining({ id: ID })], cursor: null });
    expect(fakes.store.argsOf('listNotices')).toEqual([['demo', { limit: 10 }]]);
  });

  it('reads a since whose + offset arrived as a space, as an unencoded + in a URL does', async () => {
    // Prepare
    // Act
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/notices', query: { since: '2030-01-01T09:00:00 01:00' } }));
    // Assess
    expect(result.statusCode).toBe(200);
    expect(fakes.store.argsOf('listNotices')).toEqual([['demo', { limit: 50, since: '2030-01-01T08:00:00.000Z' }]]);
  });

  it.each([
    [{ status: 'lost' }, 'status'],
    [{ limit: '0' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ since: 'yesterday' }, 'since'],
    [{ cursor: 'not-a-cursor' }, 'cursor'],
    [{ sort: 'asc' }, 'sort'],
  ])('refuses the list query %p', async (query, path) => {
    // Act
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/notices', query }));
    // Assess
    expect(result.statusCode).toBe(400);
    expect(body(result).error.details[0].path).toBe(path);
  });

  it('answers a cursor the store did not issue as invalid_cursor, found only by the store', async () => {
    // Act
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/notices', query: { cursor: 'not-a-cursor' } }));
    // Assess
    expect(fakes.store.timesCalled('listNotices')).toBe(1);
    expect(result.statusCode).toBe(400);
    expect(body(result).error).toEqual({ code: 'invalid_cursor', message: 'The cursor is not one this API issued.', details: [{ path: 'cursor', message: 'is not a cursor returned by GET /v1/notices' }] });
  });
});

describe('Handler: intake, the per-key request rate', () => {
  it('counts each request of a key in its minute, by the key’s digest, never the key', async () => {
    // Act
    await handler(apiEvent({ method: 'GET', path: '/v1/notices' }));
    // Assess
    expect(fakes.keyRates.argsOf('count')).toEqual([[createHash('sha256').update(DEMO_KEY).digest('hex'), NOW.getTime() / 1000, 600, NOW.getTime() / 1000 + 180]]);
    expect(JSON.stringify(fakes.keyRates.calls)).not.toContain(DEMO_KEY);
  });

  it('answers 429 with Retry-After until the minute ends once the key used its requests, and stores nothing', async () => {
    // Prepare: the counter of this minute is full
    fakes = fakeDeps({ now: '2030-01-01T00:00:42.500Z', random: () => 0.5 });
    fakes.keyRates.seed(createHash('sha256').update(DEMO_KEY).digest('hex'), NOW.getTime() / 1000, 600);
    const later = makeIntakeHandler(fakes.deps);
    // Act
    const result = await later(apiEvent({ method: 'POST', path: '/v1/notices', body: aNoticeInput() }));
    // Assess
    expect(result.statusCode).toBe(429);
    expect(result.headers?.['retry-after']).toBe('18');
    expect(body(result).error).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('600 requests this minute') });
    expectNothingStoredOrQueued();
  });

  it('does not count a request without a valid key', async () => {
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/notices', key: 'not-a-key-0123456789' }));
    expect(result.statusCode).toBe(401);
    expect(fakes.keyRates.timesCalled('count')).toBe(0);
  });
});

describe('Handler: intake, service endpoints', () => {
  it('answers health 200 when the store and the queue answer, without a key', async () => {
    // Act
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/health', key: null }));
    // Assess
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({ status: 'ok', store: 'ok', queue: 'ok' });
  });

  it('answers health 503 when the store does not answer', async () => {
    // Prepare
    fakes.store.failAlways('ping', new Error('down'));
    // Act
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/health', key: null }));
    // Assess
    expect(result.statusCode).toBe(503);
    expect(body(result)).toEqual({ status: 'unavailable', store: 'unavailable', queue: 'ok' });
  });

  it('answers health 503 when the queue does not answer', async () => {
    // Prepare
    fakes.queue.failAlways('ping', new Error('down'));
    // Act
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/health', key: null }));
    // Assess
    expect(result.statusCode).toBe(503);
    expect(body(result)).toEqual({ status: 'unavailable', store: 'ok', queue: 'unavailable' });
  });

  it('serves its OpenAPI document without a key', async () => {
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/openapi.json', key: null }));
    expect(result.statusCode).toBe(200);
    expect(body(result).openapi).toBe('3.1.0');
  });

  it('names itself in the document as the request reached it, stage included', async () => {
    // Prepare: what API Gateway hands over for https://abc123.execute-api.us-east-1.amazonaws.com/prod/v1/openapi.json
    const event = apiEvent({ method: 'GET', path: '/v1/openapi.json', key: null, headers: { Host: 'abc123.execute-api.us-east-1.amazonaws.com', 'X-Forwarded-Proto': 'https' } });
    event.requestContext = { ...event.requestContext, path: '/prod/v1/openapi.json', domainName: 'abc123.execute-api.us-east-1.amazonaws.com' };
    // Act
    const result = await handler(event);
    // Assess: a client built from the document calls https://…/prod/v1/notices
    expect(body(result).servers).toEqual([{ url: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod', description: expect.any(String) }]);
  });

  it('answers 404 to an unknown path and 405 to an unknown method', async () => {
    expect((await handler(apiEvent({ method: 'GET', path: '/v2/notices' }))).statusCode).toBe(404);
    const wrongMethod = await handler(apiEvent({ method: 'PUT', path: '/v1/notices' }));
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers?.allow).toBe('POST, GET, HEAD, OPTIONS');
  });

  it('answers HEAD as GET without the body, and OPTIONS with the methods a path takes', async () => {
    // Act
    const head = await handler(apiEvent({ method: 'HEAD', path: '/v1/openapi.json', key: null }));
    const options = await handler(apiEvent({ method: 'OPTIONS', path: '/v1/notices/01JB0000000000000000000001', key: null }));
    // Assess
    expect(head).toMatchObject({ statusCode: 200, body: '' });
    expect(head.headers?.['content-type']).toBe('application/json; charset=utf-8');
    expect(options).toMatchObject({ statusCode: 204, body: '', headers: { allow: 'GET, DELETE, HEAD, OPTIONS' } });
  });

  it('answers a 500 without the error text when something unexpected fails', async () => {
    // Prepare
    fakes.store.failAlways('getNotice', new Error('secret internals: patron@example.org'));
    // Act
    const result = await handler(apiEvent({ method: 'GET', path: '/v1/notices/01JB0000000000000000000001' }));
    // Assess
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain('patron@example.org');
    expect(body(result).error.code).toBe('internal_error');
  });
});

const hashOf = (value: unknown) => createHash('sha256').update(canonicalJson(value)).digest('hex');

describe('Handler: intake, PUT and DELETE /v1/suppressions/{address}', () => {
  it('names an unknown field of the body by its own path, as a notice’s is named', async () => {
    // Act
    const result = await handler(apiEvent({ method: 'PUT', path: '/v1/suppressions/moved%40example.org', body: { note: 'moved away', reason: 'bounce' } }));
    // Assess
    expect(result.statusCode).toBe(400);
    expect(body(result).error.details).toEqual([{ path: 'reason', message: 'is not a known field' }]);
  });

  it.each(['PUT', 'DELETE'])('%s refuses an address with a space or line break around it, as the OpenAPI document’s Email does', async (method) => {
    // Act
    const results = await Promise.all(['%20moved%40example.org', 'moved%40example.org%0D'].map((address) => handler(apiEvent({ method, path: `/v1/suppressions/${address}` }))));
    // Assess
    expect(results.map((result) => [result.statusCode, body(result).error.details[0].path])).toEqual([
      [400, 'address'],
      [400, 'address'],
    ]);
  });
});
