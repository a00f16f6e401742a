// The body as the intake reads it (lambdas/intake/http.ts): bytes that are not UTF-8 are a 415, a lone
// surrogate is a 400, each named; and the characters a length counts are code points, as the OpenAPI
// document counts them. Through the real handlers, with the store, queue and key counter stubbed at
// their ports, so nothing here depends on how the store writes DynamoDB.
import { isUtf8 } from 'node:buffer';
import * as fc from 'fast-check';
import { firstNonUtf8Byte } from '../../../lambdas/intake/http';
import { makeIntakeHandler } from '../../../lambdas/intake/intake-handler';
import { makeTransportHandler } from '../../../lambdas/transport/transport-handler';
import type { TransportDesk } from '../../../shared/transport/desk';
import { aNoticeInput, apiEvent } from '../../support/factories';
import { fakeDeps } from '../../support/fake-deps';

const NOW = new Date('2030-01-01T00:00:00Z');
const { deps } = fakeDeps({ now: NOW });
const handler = makeIntakeHandler(deps);
const desk: TransportDesk = {
  status: async () => {
    throw new Error('not used');
  },
  test: jest.fn(async () => ({ lastTestedAt: NOW.toISOString(), lastTestResult: { ok: true, server: 'ses', reply: '250 Ok', servers: [], to: 'it@library.example.org' } })),
};
const transport = makeTransportHandler({ ...deps, desk });
const answer = (result: { statusCode: number; body: string }) => ({ status: result.statusCode, ...(JSON.parse(result.body) as { error?: { code: string; message: string; details: Array<{ path: string; message: string }> } }) });
const post = (bytes: Buffer) => handler(apiEvent({ method: 'POST', path: '/v1/notices', bytes }));

let created: jest.SpyInstance;

beforeEach(() => {
  created = jest.spyOn(deps.store, 'createNotices').mockResolvedValue();
  jest.spyOn(deps.queue, 'ring').mockResolvedValue([]);
  jest.spyOn(deps.keyRates, 'count').mockResolvedValue(true);
});

afterEach(() => jest.restoreAllMocks());

describe('Function: firstNonUtf8Byte', () => {
  it('finds a bad byte exactly when Node finds the bytes are not UTF-8', () => {
    // Valid UTF-8 with a byte changed here and there, and bytes at random.
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 24 }),
      fc.tuple(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([text, at, byte]) => {
        const encoded = Buffer.from(text, 'utf8');
        if (encoded.length > 0) encoded[at % encoded.length] = byte;
        return new Uint8Array(encoded);
      }),
    );
    fc.assert(
      fc.property(bytes, (value) => {
        expect(firstNonUtf8Byte(value) === -1).toBe(isUtf8(value));
      }),
      { numRuns: 2000, seed: 22 },
    );
  });

  it.each([
    ['Latin-1 é', [0x52, 0x65, 0x6e, 0xe9, 0x65], 3],
    ['a continuation byte alone', [0x61, 0x80], 1],
    ['an overlong slash', [0xc0, 0xaf], 0],
    ['an encoded surrogate', [0x61, 0xed, 0xa0, 0x80], 1],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['a euro sign cut short at the end', [0x31, 0xe2, 0x82], 1],
    ['é, € and 😀, where there is none', [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80], -1],
  ])('finds the first bad byte of %s', (_, bytes, offset) => {
    expect(firstNonUtf8Byte(new Uint8Array(bytes))).toBe(offset);
  });
});

describe('Handler: intake, the body as text', () => {
  it('answers 415 invalid_utf8 to a notice in Latin-1, naming the byte, its offset and line but not the text, and stores nothing', async () => {
    // Prepare: "Renée" as a Windows export writes it
    const text = `{"to":"patron@example.org",\n"subject":"Overdue","text":"Dear Ren\u00e9e"}`;
    const bytes = Buffer.from(text, 'latin1');
    // Act
    const result = answer(await post(bytes));
    // Assess
    expect(result.status).toBe(415);
    expect(result.error).toEqual({
      code: 'invalid_utf8',
      message: `The body is not UTF-8: the byte 0xE9 at offset ${text.indexOf('\u00e9')} (line 2) begins no character. Send the JSON in UTF-8; text kept as Latin-1 or Windows-1252 must be converted first.`,
      details: [],
    });
    expect(created).not.toHaveBeenCalled();
  });

  it('takes the same notice in UTF-8, as bytes or as text, with a byte order mark or without', async () => {
    // Prepare
    const text = JSON.stringify(aNoticeInput({ text: 'Dear Ren\u00e9e \u{1F4DA}' }));
    // Act
    const results = [
      await post(Buffer.from(text, 'utf8')),
      await post(Buffer.from(`\uFEFF${text}`, 'utf8')),
      await handler(apiEvent({ method: 'POST', path: '/v1/notices', rawBody: text })),
    ];
    // Assess
    expect(results.map((result) => result.statusCode)).toEqual([202, 202, 202]);
    expect(created.mock.calls.map(([records]) => records[0].content.text)).toEqual(['Dear Ren\u00e9e \u{1F4DA}', 'Dear Ren\u00e9e \u{1F4DA}', 'Dear Ren\u00e9e \u{1F4DA}']);
  });

  it('answers 400 invalid_unicode to a lone surrogate, naming each place in the order of the body, and stores nothing', async () => {
    // Prepare: escapes as JSON writes them; a pair (the emoji) is one character and is fine
    const raw = '{"notices":[{"to":"patron@example.org","subject":"Overdue \\ud83d\\ude00","text":"x"},{"to":"patron@example.org","subject":"Over\\ud800due","text":"x\\udc00","\\udfffkey":1}]}';
    // Act
    const result = answer(await handler(apiEvent({ method: 'POST', path: '/v1/notices', rawBody: raw })));
    // Assess
    expect(result.status).toBe(400);
    expect(result.error?.code).toBe('invalid_unicode');
    expect(result.error?.details.map((detail) => detail.path)).toEqual(['notices[1].subject', 'notices[1].text', 'notices[1].\udfffkey']);
    expect(created).not.toHaveBeenCalled();
  });

  it('refuses a lone surrogate in a Test Server body too, and tests nothing', async () => {
    // Act
    const result = answer(await transport(apiEvent({ method: 'POST', path: '/v1/transport/test', rawBody: '{"to":"it\\ud800@library.example.org"}' })));
    // Assess
    expect(result).toMatchObject({ status: 400, error: { code: 'invalid_unicode', details: [{ path: 'to' }] } });
    expect(desk.test).not.toHaveBeenCalled();
  });

  it('counts a subject in characters, as the OpenAPI document does: 998 emoji are a subject, 999 are not', async () => {
    // Act
    const atTheLimit = await handler(apiEvent({ method: 'POST', path: '/v1/notices', body: aNoticeInput({ subject: '\u{1F4DA}'.repeat(998) }) }));
    const over = answer(await handler(apiEvent({ method: 'POST', path: '/v1/notices', body: aNoticeInput({ subject: '\u{1F4DA}'.repeat(999) }) })));
    // Assess
    expect(atTheLimit.statusCode).toBe(202);
    expect(over.error?.details).toEqual([{ path: 'subject', message: 'must be at most 998 characters' }]);
  });
});

describe('Handler: intake, the list query as the OpenAPI document states it', () => {
  it.each([
    ['a status list with a space after its comma', { status: 'failed, discarded' }, 'status'],
    ['an empty status', { status: '' }, 'status'],
    ['a cursor over 2000 characters', { cursor: 'x'.repeat(2001) }, 'cursor'],
    ['an empty type', { type: '' }, 'type'],
    ['a since without seconds', { since: '2030-01-01T00:00Z' }, 'since'],
  ])('refuses %s with 400 invalid_query naming it', async (_, query, path) => {
    // Act
    const result = answer(await handler(apiEvent({ method: 'GET', path: '/v1/notices', query })));
    // Assess
    expect(result).toMatchObject({ status: 400, error: { code: 'invalid_query', details: [{ path }] } });
  });

  it('reads a since whose + arrived as a space, and one past year 9999 in UTC as the last instant of it', async () => {
    // Prepare
    const listed = jest.spyOn(deps.store, 'listNotices').mockResolvedValue({ notices: [] });
    // Act
    await handler(apiEvent({ method: 'GET', path: '/v1/notices', query: { since: '2030-01-01T09:00:00 01:00' } }));
    await handler(apiEvent({ method: 'GET', path: '/v1/notices', query: { since: '9999-12-31T23:00:00-05:00' } }));
    // Assess
    expect(listed.mock.calls.map(([, query]) => query.since)).toEqual(['2030-01-01T08:00:00.000Z', '9999-12-31T23:59:59.999Z']);
  });
});
