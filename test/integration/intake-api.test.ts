// The intake handler behind the local API gateway, with the real SDK clients against dynalite and
// fauxqs: what an ILS sees over HTTP, and what lands in the store and the queue.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Running } from '../../infra/local/emulators';
import { type RunningFunctions, startLocalRuntime } from '../../infra/local/runtime';
import type { Clock } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import { silentLog } from '../../shared/log';
import { ManualClock } from '../support/clock';
import { aConfig, aNoticeInput, BRANCH_KEY, DEMO_KEY } from '../support/factories';
import { startTestQueue, startTestTable, type TestQueue, type TestTable } from '../support/emulators';
import { checkAgainstOpenApi, documentedOperations } from '../support/openapi';
import { documentsOf } from '../../shared/store/documents';

let table: TestTable;
let queue: TestQueue;
let api: Running;
let runtime: RunningFunctions | undefined;

/** The API's two functions, wired as npm start wires them, behind a gateway of their own on a free port. */
const startApi = (config: Config, clock?: Clock) =>
  startLocalRuntime({
    config,
    resources: { dynamodb: table.url, sqs: queue.url, tableName: table.tableName, queueUrl: queue.queueUrl },
    overrides: { random: Math.random, log: silentLog, ...(clock ? { clock } : {}) },
    hosting: { api: { port: 0 } },
  });

interface Answer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON as the API answers it
  /** `METHOD /template` of the OpenAPI document this answer was checked against; none for a gateway's bare 413. */
  operation?: string;
}

/** Calls the API and checks the answer against the OpenAPI document. */
const call = async (method: string, path: string, options: { body?: unknown; raw?: string; key?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> => {
  const headers: Record<string, string> = { ...(options.key === null ? {} : { authorization: `Bearer ${options.key ?? DEMO_KEY}` }), ...options.headers };
  if (options.body !== undefined || options.raw !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${api.url}${path}`, { method, headers, body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)) });
  const text = await response.text();
  const body = text ? JSON.parse(text) : undefined;
  const operation = response.status !== 413 || body?.error ? checkAgainstOpenApi(method, new URL(`${api.url}${path}`).pathname, response.status, body) : undefined;
  return { status: response.status, headers: response.headers, body, operation };
};

/** Notice state items in the table. */
const storedNotices = async () => {
  const documents = documentsOf(table.client);
  const items = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []).filter((item) => String(item.pk).startsWith('notice#')));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
};

beforeAll(async () => {
  [table, queue] = await Promise.all([startTestTable(), startTestQueue()]);
  // No intake jitter here, so that a doorbell is visible at once.
  const config = aConfig({ intake: { spreadSeconds: 0 } });
  runtime = await startApi(config);
  api = runtime.api as Running;
}, 30_000);

afterAll(async () => {
  await runtime?.stop();
  await Promise.all([table?.stop(), queue?.stop()]);
});

describe('Intake API over HTTP', () => {
  it('stores a notice, rings one doorbell carrying only its id, and shows it', async () => {
    // Act
    const accepted = await call('POST', '/v1/notices', { body: aNoticeInput({ externalId: 'loan-1' }) });
    const shown = await call('GET', `/v1/notices/${accepted.body.id}`);
    // Assess
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('location')).toBe(`/v1/notices/${accepted.body.id}`);
    expect(shown.body).toMatchObject({ id: accepted.body.id, status: 'queued', to: 'patron@example.org', externalId: 'loan-1', attempts: [] });
    const messages = await queue.receive(5);
    expect(messages.map((m) => JSON.parse(m.Body as string))).toEqual([{ id: accepted.body.id }]);
  });

  it('accepts a batch of 500: every notice stored, every doorbell rung', async () => {
    // Prepare
    await queue.purge();
    const before = (await storedNotices()).length;
    const notices = Array.from({ length: 500 }, (_, i) => aNoticeInput({ externalId: `batch-${i}` }));
    // Act
    const accepted = await call('POST', '/v1/notices', { body: { notices }, headers: { 'idempotency-key': 'batch-500' } });
    // Assess
    expect(accepted.status).toBe(202);
    expect(accepted.body.notices).toHaveLength(500);
    expect((await storedNotices()).length - before).toBe(500);
    const attributes = await queue.client.send(new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['All'] }));
    const { ApproximateNumberOfMessages = '0', ApproximateNumberOfMessagesDelayed = '0', ApproximateNumberOfMessagesNotVisible = '0' } = attributes.Attributes ?? {};
    expect(Number(ApproximateNumberOfMessages) + Number(ApproximateNumberOfMessagesDelayed) + Number(ApproximateNumberOfMessagesNotVisible)).toBe(500);
  }, 60_000);

  describe('refusals store and queue nothing', () => {
    it.each([
      ['no key', { body: aNoticeInput(), key: null }, 401, 'unauthorized'],
      ['a bad key', { body: aNoticeInput(), key: 'guess-guess-guess-guess' }, 401, 'unauthorized'],
      ['an invalid address', { body: aNoticeInput({ to: 'patron(at)example.org' }) }, 400, 'validation_failed'],
      ['CR/LF in a header field', { body: aNoticeInput({ subject: 'Overdue\r\nBcc: all@example.org' }) }, 400, 'validation_failed'],
      ['CR/LF in replyTo', { body: aNoticeInput({ replyTo: 'desk@example.org\nBcc: all@example.org' }) }, 400, 'validation_failed'],
      ['a missing subject', { body: { to: 'patron@example.org', text: 'x' } }, 400, 'validation_failed'],
      ['a missing body', { body: { to: 'patron@example.org', subject: 'x' } }, 400, 'validation_failed'],
      ['an unknown field', { body: { ...aNoticeInput(), bcc: 'x@example.org' } }, 400, 'validation_failed'],
      ['a sendAt that is not ISO 8601', { body: aNoticeInput({ sendAt: 'next Tuesday' }) }, 400, 'validation_failed'],
      ['an expiresAt that is not ISO 8601', { body: aNoticeInput({ expiresAt: '2031-01-01 noon' }) }, 400, 'validation_failed'],
      ['an expiresAt before sendAt', { body: aNoticeInput({ sendAt: '2031-01-02T00:00:00Z', expiresAt: '2031-01-01T00:00:00Z' }) }, 400, 'validation_failed'],
      ['a sendAt in year 9999', { body: aNoticeInput({ sendAt: '9999-12-31T23:59:59Z' }) }, 400, 'validation_failed'],
      ['a notice over 256 KiB', { body: aNoticeInput({ html: `<p>${'x'.repeat(262_144)}</p>` }) }, 413, 'notice_too_large'],
      ['a batch over 500', { body: { notices: Array.from({ length: 501 }, () => aNoticeInput()) } }, 413, 'batch_too_large'],
      ['a request over 6 MB', { body: { notices: Array.from({ length: 26 }, () => aNoticeInput({ text: 'y'.repeat(250_000) })) } }, 413, 'request_too_large'],
      ['a body that is not JSON', { raw: '<notice/>' }, 400, 'invalid_json'],
      ['a wrong content type', { raw: JSON.stringify(aNoticeInput()), headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
      ['a batch with one bad notice', { body: { notices: [aNoticeInput(), aNoticeInput({ cc: ['ok@example.org', 'bad'] })] } }, 400, 'validation_failed'],
    ])('refuses %s', async (_, options, status, code) => {
      // Prepare
      await queue.purge();
      const before = (await storedNotices()).length;
      // Act
      const answer = await call('POST', '/v1/notices', options);
      // Assess
      expect(answer.status).toBe(status);
      expect(answer.body.error.code).toBe(code);
      expect((await storedNotices()).length).toBe(before);
      expect(await queue.receive()).toEqual([]);
    });
  });

  describe('the bytes of a body, as the gateway hands them on', () => {
    /** Posts bytes as they are, and answers the status, the body and the notices listed under an externalId after. */
    const postBytes = async (bytes: Buffer, externalId: string) => {
      const response = await fetch(`${api.url}/v1/notices`, { method: 'POST', headers: { authorization: `Bearer ${DEMO_KEY}`, 'content-type': 'application/json' }, body: bytes });
      const body = await response.json();
      const listed = await call('GET', `/v1/notices?externalId=${externalId}`);
      return { status: response.status, body, listed: listed.body.notices as Array<{ subject: string }> };
    };

    it('takes UTF-8 as it was sent, and refuses Latin-1 (415 invalid_utf8) and a lone surrogate (400 invalid_unicode), storing neither', async () => {
      // Act
      const utf8 = await postBytes(Buffer.from(JSON.stringify(aNoticeInput({ subject: 'Renée, \u{1F4DA} is due', externalId: 'bytes-utf8' })), 'utf8'), 'bytes-utf8');
      const latin1 = await postBytes(Buffer.from(JSON.stringify(aNoticeInput({ subject: 'Renée, your book is due', externalId: 'bytes-latin1' })), 'latin1'), 'bytes-latin1');
      const surrogate = await postBytes(Buffer.from(JSON.stringify(aNoticeInput({ subject: 'Ren\ud800e', externalId: 'bytes-surrogate' })), 'utf8'), 'bytes-surrogate');
      // Assess
      expect(utf8).toMatchObject({ status: 202, listed: [{ subject: 'Renée, \u{1F4DA} is due' }] });
      expect(latin1).toMatchObject({ status: 415, body: { error: { code: 'invalid_utf8', message: expect.stringMatching(/^The body is not UTF-8: the byte 0xE9 at offset \d+ \(line 1\)/) } }, listed: [] });
      expect(surrogate).toMatchObject({ status: 400, body: { error: { code: 'invalid_unicode', details: [{ path: 'subject' }] } }, listed: [] });
    });
  });

  describe('Idempotency-Key', () => {
    it('gives concurrent duplicates of a batch the same ids and stores it once', async () => {
      // Prepare
      await queue.purge();
      const before = (await storedNotices()).length;
      const body = { notices: Array.from({ length: 50 }, (_, i) => aNoticeInput({ externalId: `dup-${i}` })) };
      // Act
      const answers = await Promise.all(Array.from({ length: 6 }, () => call('POST', '/v1/notices', { body, headers: { 'idempotency-key': 'night-42' } })));
      // Assess
      expect(answers.map((a) => a.status)).toEqual(Array(6).fill(202));
      const idLists = answers.map((a) => a.body.notices.map((n: { id: string }) => n.id).join());
      expect(new Set(idLists).size).toBe(1);
      expect((await storedNotices()).length - before).toBe(50);
      expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(5);
    });

    it('answers 409 to the same key with another body, and stores nothing', async () => {
      // Prepare
      await call('POST', '/v1/notices', { body: aNoticeInput({ externalId: 'k1' }), headers: { 'idempotency-key': 'key-reuse' } });
      const before = (await storedNotices()).length;
      // Act
      const answer = await call('POST', '/v1/notices', { body: aNoticeInput({ externalId: 'k2' }), headers: { 'idempotency-key': 'key-reuse' } });
      // Assess
      expect(answer.status).toBe(409);
      expect(answer.body.error.code).toBe('idempotency_key_reused');
      expect((await storedNotices()).length).toBe(before);
    });

    it('treats the same body with its keys in another order as the same request', async () => {
      // Prepare
      const first = await call('POST', '/v1/notices', { raw: '{"to":"patron@example.org","subject":"Fine due","text":"£2.50"}', headers: { 'idempotency-key': 'reordered' } });
      // Act
      const second = await call('POST', '/v1/notices', { raw: '{"text":"£2.50","subject":"Fine due","to":"patron@example.org"}', headers: { 'idempotency-key': 'reordered' } });
      // Assess
      expect(second.status).toBe(202);
      expect(second.body.id).toBe(first.body.id);
    });
  });

  describe('reading, listing and cancelling', () => {
    it("answers 404 for another institution's notice: read, list and delete", async () => {
      // Prepare
      const { body } = await call('POST', '/v1/notices', { body: aNoticeInput({ externalId: 'branch-only' }), key: BRANCH_KEY });
      // Act
      const read = await call('GET', `/v1/notices/${body.id}`);
      const cancel = await call('DELETE', `/v1/notices/${body.id}`);
      const listed = await call('GET', '/v1/notices?externalId=branch-only');
      // Assess
      expect(read.status).toBe(404);
      expect(cancel.status).toBe(404);
      expect(listed.body.notices).toEqual([]);
      expect((await call('GET', `/v1/notices/${body.id}`, { key: BRANCH_KEY })).body.status).toBe('queued');
    });

    it('cancels a queued notice, answers the same when asked again, and lists it as cancelled', async () => {
      // Prepare
      const { body } = await call('POST', '/v1/notices', { body: aNoticeInput({ externalId: 'returned-item' }) });
      // Act
      const first = await call('DELETE', `/v1/notices/${body.id}`);
      const again = await call('DELETE', `/v1/notices/${body.id}`);
      const listed = await call('GET', '/v1/notices?status=cancelled&externalId=returned-item');
      // Assess
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ status: 'cancelled', nextAttemptAt: null, attempts: [expect.objectContaining({ outcome: 'cancelled' })] });
      expect(again.status).toBe(200);
      expect(listed.body.notices.map((n: { id: string }) => n.id)).toEqual([body.id]);
    });

    it('lists by status: one status, or several comma-separated', async () => {
      // Prepare: two notices of one type, one of them cancelled
      const kept = (await call('POST', '/v1/notices', { body: aNoticeInput({ type: 'status-filter' }) })).body.id;
      const cancelled = (await call('POST', '/v1/notices', { body: aNoticeInput({ type: 'status-filter' }) })).body.id;
      await call('DELETE', `/v1/notices/${cancelled}`);
      const idsListed = async (status: string) => (await call('GET', `/v1/notices?type=status-filter&status=${status}`)).body.notices.map((n: { id: string }) => n.id);
      // Act
      const queued = await idsListed('queued');
      const onlyCancelled = await idsListed('cancelled');
      const both = await idsListed('queued,cancelled');
      const sent = await idsListed('sent');
      // Assess
      expect(queued).toEqual([kept]);
      expect(onlyCancelled).toEqual([cancelled]);
      expect([...both].sort()).toEqual([cancelled, kept].sort());
      expect(sent).toEqual([]);
    });

    it('pages through every notice newest first with the cursor', async () => {
      // Prepare
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await call('POST', '/v1/notices', { body: aNoticeInput({ type: 'paging-test' }) })).body.id);
      // Act
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Answer = await call('GET', `/v1/notices?type=paging-test&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        seen.push(...page.body.notices.map((n: { id: string }) => n.id));
        cursor = page.body.cursor;
      } while (cursor);
      // Assess
      expect(seen).toEqual([...ids].reverse());
    });

    it('answers 400 to a cursor it did not issue', async () => {
      const answer = await call('GET', '/v1/notices?cursor=eyJzIjoiZXZpbCJ9');
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('invalid_cursor');
    });
  });

  it('holds each key to its requests a minute across instances, with 429 and Retry-After, storing nothing over it', async () => {
    // Prepare: two intake instances over the same table, as two Lambda instances, three requests a minute per key
    const limited = aConfig({ intake: { spreadSeconds: 0, requestsPerMinutePerKey: 3 } });
    // Keys of their own: the other tests' requests this minute count against DEMO_KEY and BRANCH_KEY.
    const [demoKey, branchKey] = ['rate-probe-demo-0123456789', 'rate-probe-branch-0123456789'];
    (limited.institutions[0] as { apiKeys?: string[] }).apiKeys = [demoKey];
    (limited.institutions[1] as { apiKeys?: string[] }).apiKeys = [branchKey];
    // The window is a clock minute: both instances' clock stands at its first second, so the four requests
    // fall in one minute however long they take.
    const minuteStart = Math.floor(Date.now() / 60_000) * 60_000;
    const clock = new ManualClock(new Date(minuteStart + 1000));
    const instances = await Promise.all([0, 1].map(() => startApi(limited, clock)));
    const gateways = instances.map((instance) => instance.api as Running);
    const post = (gateway: Running, key: string) =>
      fetch(`${gateway.url}/v1/notices`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(aNoticeInput({ subject: 'Rate probe' })) });
    try {
      // Act
      const answers = [];
      for (const gateway of [gateways[0], gateways[1], gateways[0], gateways[1]] as Running[]) answers.push(await post(gateway, demoKey));
      const otherKey = await post(gateways[0] as Running, branchKey);
      // Assess
      expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 429]);
      const refused = answers[3] as Response;
      expect(refused.headers.get('retry-after')).toBe('59');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
      expect(otherKey.status).toBe(202);
      expect((await storedNotices()).filter((item) => item.subject === 'Rate probe')).toHaveLength(4);
    } finally {
      await Promise.all(instances.map((instance) => instance.stop()));
    }
  }, 30_000);

  it('answers health and its OpenAPI document without a key', async () => {
    expect((await call('GET', '/v1/health', { key: null })).body).toEqual({ status: 'ok', store: 'ok', queue: 'ok' });
    const document = await call('GET', '/v1/openapi.json', { key: null });
    expect(document.status).toBe(200);
    expect(document.body.servers[0].url).toBe(api.url);
  });

  it('answers HEAD through the gateway with the headers and length of GET, and no body', async () => {
    // Act
    const get = await fetch(`${api.url}/v1/openapi.json`);
    const head = await fetch(`${api.url}/v1/openapi.json`, { method: 'HEAD' });
    // Assess
    const body = await get.text();
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
  });

  it('answers every operation of the OpenAPI document as documented', async () => {
    // Prepare: a notice of its own to read, list and cancel
    const accepted = await call('POST', '/v1/notices', { body: aNoticeInput({ externalId: 'openapi-coverage' }) });
    const id = accepted.body.id as string;
    // Act: each operation once, in an order that leaves the notice to cancel until last; every answer
    // is checked against the document as it comes (a status it does not list or a body off its schema throws)
    const answers = [
      accepted,
      await call('GET', `/v1/notices/${id}`),
      await call('GET', '/v1/notices?externalId=openapi-coverage'),
      await call('GET', '/v1/transport'),
      await call('POST', '/v1/transport/test', { body: {} }),
      await call('GET', '/v1/health', { key: null }),
      await call('GET', '/v1/openapi.json', { key: null }),
      await call('PUT', `/v1/suppressions/${encodeURIComponent('moved@example.org')}`, { body: { note: 'patron moved away' } }),
      await call('GET', '/v1/suppressions'),
      await call('DELETE', `/v1/suppressions/${encodeURIComponent('moved@example.org')}`),
      await call('GET', '/v1/webhooks/deliveries'),
      await call('DELETE', `/v1/notices/${id}`),
    ];
    // Assess: every documented operation answered, and answered with success
    expect(answers.map((answer) => answer.operation).sort()).toEqual(documentedOperations().sort());
    expect(answers.map((answer) => [answer.operation, answer.status])).toEqual([
      ['POST /v1/notices', 202],
      ['GET /v1/notices/{id}', 200],
      ['GET /v1/notices', 200],
      ['GET /v1/transport', 200],
      ['POST /v1/transport/test', 200],
      ['GET /v1/health', 200],
      ['GET /v1/openapi.json', 200],
      ['PUT /v1/suppressions/{address}', 200],
      ['GET /v1/suppressions', 200],
      ['DELETE /v1/suppressions/{address}', 200],
      ['GET /v1/webhooks/deliveries', 200],
      ['DELETE /v1/notices/{id}', 200],
    ]);
  });
});
