// Property-based fuzz of the HTTP API (fast-check): random and hostile requests — bodies, headers,
// methods, paths — always get a 2xx or 4xx JSON answer, never a 5xx; a refused request stores and
// queues nothing; and no header field of an accepted notice can add a header to the message on the wire.
import * as fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { apiFunctions } from '../../../infra/local/api-gateway';
import { composeMessage } from '../../../shared/mime/compose';
import type { NewNotice } from '../../../shared/notice/model';
import { fakeDeps } from '../../support/fake-deps';
import { aConfig, aConfigInput, aNotice, apiEvent, BRANCH_KEY, DEMO_KEY } from '../../support/factories';
import { checkAgainstOpenApi, isDocumented, operationPointer } from '../../support/openapi';
import { fromDocument } from '../../support/openapi-arbitraries';

// No per-key limit: thousands of requests arrive within the same minute of the fakes' clock.
const config = aConfig({ ...aConfigInput(), intake: { requestsPerMinutePerKey: 1_000_000 } });
const fakes = fakeDeps({ config, random: () => 0.5 });
// Both functions behind the API, routed as API Gateway routes them.
const handler = apiFunctions(fakes.deps);
const KNOWN_ID = '01JB0000000000000000000001';
const WRITES = ['createNotices', 'deleteNotices', 'apply', 'createReport'] as const;

/** Headers a composed notice may carry; anything else would have come from a field of the request. */
const ALLOWED_HEADERS = new Set(['from', 'to', 'cc', 'reply-to', 'subject', 'message-id', 'date', 'mime-version', 'content-type', 'content-transfer-encoding', 'auto-submitted', 'x-notice-id']);

beforeAll(() => {
  fakes.store.seed({ notice: aNotice({ id: KNOWN_ID }), content: { to: 'patron@example.org', subject: 'Overdue: The Hobbit', text: 'x' } });
});

// Strings an attacker or a broken ILS sends: line breaks, control and zero-width characters, quotes,
// encoded-word lookalikes, very long runs, and ordinary text.
const hostile = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\r\nBcc: all@example.org', 'x\nX-Injected: 1', '=?utf-8?q?=0D=0ABcc:_a@b?=', '\u0000', '\u2028', '\u200b', '"quoted" <a@b>', 'a@b.c\r\n', ' '.repeat(999), 'Ω≈ç√∫', '<script>', ''),
  fc.string({ minLength: 990, maxLength: 1100 }),
);
const address = fc.oneof(fc.constantFrom('patron@example.org', 'a.b+c@library.example.edu', 'x@y', '@example.org', 'patron@example.org\r\nBcc: x@y.z'), fc.emailAddress(), hostile);
const timestamp = fc.oneof(fc.constantFrom('2031-01-01T00:00:00Z', '2031-01-01T00:00:00', 'tomorrow', '2030-13-45T99:99:99Z', '2020-01-01T00:00:00Z'), hostile);

/** Notice-shaped objects with any field valid, hostile or missing, and sometimes an extra field. */
const noticeLike = fc.record(
  {
    to: address,
    subject: fc.oneof(fc.constantFrom('Overdue: The Hobbit', 'Fine due'), hostile),
    text: fc.oneof(fc.string({ maxLength: 200 }), hostile),
    html: fc.oneof(fc.constantFrom('<p>Due Friday</p>'), hostile),
    replyTo: address,
    cc: fc.oneof(address, fc.array(address, { maxLength: 12 })),
    type: fc.oneof(fc.constantFrom('overdue', 'hold-pickup'), hostile),
    externalId: fc.oneof(fc.constantFrom('loan-1'), hostile),
    sendAt: timestamp,
    expiresAt: timestamp,
    attachments: fc.array(fc.record({ filename: hostile, contentType: fc.oneof(fc.constantFrom('application/pdf'), hostile), contentBase64: fc.oneof(fc.base64String(), hostile) }, { requiredKeys: [] }), { maxLength: 3 }),
    from: fc.constant('evil@elsewhere.example.com'),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);

/** Valid notices whose header fields carry hostile but legal text, to reach the composer. */
const legalHeaderText = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 200 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }),
    fc.constantFrom('Due\u2028Bcc: all@example.org', '=?utf-8?q?=0D=0ABcc:_a@b?=', 'Überfällig: Der Hobbit', '返却期限', 'a'.repeat(998)),
  )
  // eslint-disable-next-line no-control-regex -- the characters validation refuses
  .filter((s) => !/[\r\n\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s));

const acceptable = fc.record({
  to: fc.constantFrom('patron@example.org', 'a.b+c@library.example.edu'),
  subject: legalHeaderText,
  text: fc.string({ minLength: 1, maxLength: 200 }),
  type: fc.constantFrom('overdue', 'fine'),
  externalId: legalHeaderText.filter((s) => s.length <= 200),
  replyTo: fc.constantFrom('desk@library.example.org'),
});

// Bodies the OpenAPI document allows, and bodies that break it by one constraint: drawn from its schemas.
const fromTheDocument = fromDocument();
const NOTICES_BODY = operationPointer('post', '/v1/notices', 'requestBody', 'content', 'application/json', 'schema');

const body = fc.oneof(
  { weight: 3, arbitrary: noticeLike },
  { weight: 2, arbitrary: acceptable },
  { weight: 1, arbitrary: fromTheDocument.valid(NOTICES_BODY) },
  { weight: 1, arbitrary: fromTheDocument.violating(NOTICES_BODY).map((violation) => violation.value) },
  { weight: 2, arbitrary: fc.record({ notices: fc.array(fc.oneof(noticeLike, acceptable), { maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.jsonValue() },
  { weight: 1, arbitrary: fc.anything() },
);

const request = fc.record({
  method: fc.oneof({ weight: 8, arbitrary: fc.constant('POST') }, { weight: 2, arbitrary: fc.constantFrom('GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS') }),
  path: fc.oneof(
    { weight: 8, arbitrary: fc.constant('/v1/notices') },
    { weight: 2, arbitrary: fc.constantFrom('/v1/notices/', `/v1/notices/${KNOWN_ID}`, '/v1/notices/../../etc/passwd', '/v1/health', '/v1/openapi.json', '/v1/transport', '/v1/notices/%E0%A4%A') },
    { weight: 1, arbitrary: fc.webPath() },
  ),
  key: fc.oneof({ weight: 6, arbitrary: fc.constant(DEMO_KEY) }, { weight: 1, arbitrary: fc.constantFrom(BRANCH_KEY, 'wrong-key-wrong-key', null, `${DEMO_KEY}\r\n`) }),
  contentType: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
    { weight: 1, arbitrary: fc.constantFrom('application/json; charset=latin1', 'text/plain', 'application/problem+json', '', 'application/json\r\nX-Injected: 1') },
  ),
  idempotencyKey: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hostile }),
  query: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('status', 'limit', 'cursor', 'since', 'type', 'externalId', 'evil'), hostile, { maxKeys: 3 }) }),
  raw: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.oneof(fc.string(), fc.constantFrom('{', '[]', 'null', '{"to":')) }),
  body,
});

describe('Reliability: fuzz of the HTTP API', () => {
  it('answers every request with a 2xx or 4xx JSON body, stores nothing it refuses, and lets no field add a header', async () => {
    const statuses = new Map<number, number>();
    let composed = 0;
    let checkedAgainstDocument = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        // Prepare: what the fakes were asked before this request is not this request's
        for (const fake of [fakes.store, fakes.queue]) fake.calls.length = 0;
        const keysBefore = fakes.idempotency.size;
        const event = apiEvent({
          method: r.method,
          path: r.path,
          key: r.key,
          query: r.query,
          rawBody: r.raw ?? JSON.stringify(r.body) ?? '',
          headers: { 'Content-Type': r.contentType, ...(r.idempotencyKey === undefined ? {} : { 'Idempotency-Key': r.idempotencyKey }) },
        });
        // Act
        const result = await handler(event);
        // Assess
        statuses.set(result.statusCode, (statuses.get(result.statusCode) ?? 0) + 1);
        expect(result.statusCode).toBeLessThan(500);
        // Every answer is JSON but OPTIONS on a path the API has: 204 with the Allow header alone.
        if (r.method === 'OPTIONS' && result.statusCode === 204) {
          expect(result.body).toBe('');
          expect(result.headers?.allow).toMatch(/OPTIONS$/);
          return;
        }
        const answer = JSON.parse(result.body) as { error?: { code: unknown; message: unknown; details: unknown } };
        // An answer of a documented operation is one the OpenAPI document lists, with a body of its schema.
        if (isDocumented(r.method, r.path)) {
          checkAgainstOpenApi(r.method, r.path, result.statusCode, answer);
          checkedAgainstDocument++;
        }
        if (result.statusCode >= 400) {
          expect(answer.error).toEqual({ code: expect.any(String), message: expect.any(String), details: expect.any(Array) });
          for (const method of WRITES) expect(fakes.store.timesCalled(method)).toBe(0);
          expect(fakes.queue.timesCalled('ring')).toBe(0);
          expect(fakes.idempotency.size).toBe(keysBefore);
        }
        // What was accepted goes on the wire with only the headers a notice has.
        const written = fakes.store.argsOf('createNotices').flatMap(([records]) => records as NewNotice[]);
        for (const { notice, content } of written.slice(0, 2)) {
          const message = await composeMessage(notice, content, config.institutions[0]!, { now: new Date('2031-01-01T00:00:00Z') });
          const parsed = await simpleParser(message.raw);
          expect([...parsed.headers.keys()].filter((name) => !ALLOWED_HEADERS.has(name))).toEqual([]);
          // The same mailbox: its local part exactly, its domain in any case (DNS names are case-insensitive).
          const atDomain = content.to.lastIndexOf('@');
          const mailbox = (parsed.to as { value: Array<{ address: string }> }).value.map(({ address }) => `${address.slice(0, address.lastIndexOf('@'))}${address.slice(address.lastIndexOf('@')).toLowerCase()}`);
          expect(mailbox).toEqual([`${content.to.slice(0, atDomain)}${content.to.slice(atDomain).toLowerCase()}`]);
          composed++;
        }
      }),
      { numRuns: 3000, seed: 20301, endOnFailure: true },
    );
    console.log(`API fuzz: 3000 requests, answers by status ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, ${composed} accepted notices composed and parsed, ${checkedAgainstDocument} answers checked against the OpenAPI document`);
    expect(statuses.get(202) ?? 0).toBeGreaterThan(100);
    expect(checkedAgainstDocument).toBeGreaterThan(1500);
  }, 120_000);
});
