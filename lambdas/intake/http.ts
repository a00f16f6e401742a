// HTTP edges of the intake: reading an API Gateway proxy event, and the one map from domain errors
// to statuses. Known errors are exposed with their code; anything else is a 500 with a fixed message.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { isUtf8 } from 'node:buffer';
import {
  errorCode,
  type ErrorDetail,
  MalformedJsonError,
  NoticeRelayError,
  TooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
  type ConflictError,
  type RateLimitedError,
  type UnavailableError,
} from '../../shared/errors';
import { jsonMistake } from '../../shared/json-mistake';
import type { Log } from '../../shared/log';
import { MAX_REQUEST_BYTES } from '../../shared/notice/limits';
import { formatPath } from '../../shared/validation';

/** A path that exists but not for this method. */
export class MethodNotAllowedError extends NoticeRelayError {
  public constructor(public readonly allow: string[]) {
    super(`This path accepts ${allow.join(', ')}.`);
    this.name = 'MethodNotAllowedError';
  }
}

/** A header, whatever the case the client sent it in. */
export const header = (event: APIGatewayProxyEvent, name: string): string | undefined => {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
};

/** The API key from `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export const apiKeyOf = (event: APIGatewayProxyEvent): string | undefined => {
  const authorization = header(event, 'authorization');
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  return bearer ?? header(event, 'x-api-key')?.trim() ?? undefined;
};

/** How many bytes may follow a UTF-8 lead byte, and the range the first of them must fall in (Unicode's table 3-7). */
const continuationOf = (lead: number): [count: number, low: number, high: number] | undefined => {
  if (lead >= 0xc2 && lead <= 0xdf) return [1, 0x80, 0xbf];
  if (lead === 0xe0) return [2, 0xa0, 0xbf]; // no overlong form
  if (lead === 0xed) return [2, 0x80, 0x9f]; // no surrogate
  if (lead >= 0xe1 && lead <= 0xef) return [2, 0x80, 0xbf];
  if (lead === 0xf0) return [3, 0x90, 0xbf]; // no overlong form
  if (lead >= 0xf1 && lead <= 0xf3) return [3, 0x80, 0xbf];
  if (lead === 0xf4) return [3, 0x80, 0x8f]; // nothing past U+10FFFF
  return undefined;
};

/** Where the first byte that is not well-formed UTF-8 (RFC 3629) stands, or -1 when every byte is. */
export const firstNonUtf8Byte = (bytes: Uint8Array): number => {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i] as number;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const continuation = continuationOf(lead);
    if (!continuation) return i;
    const [count, low, high] = continuation;
    for (let k = 1; k <= count; k++) {
      const next = bytes[i + k];
      if (next === undefined || next < (k === 1 ? low : 0x80) || next > (k === 1 ? high : 0xbf)) return i;
    }
    i += count + 1;
  }
  return -1;
};

/** The body's bytes as text, refusing bytes that are not UTF-8 (415) rather than reading them as U+FFFD. */
const utf8Text = (bytes: Buffer): string => {
  const at = isUtf8(bytes) ? -1 : firstNonUtf8Byte(bytes);
  if (at >= 0) {
    const line = bytes.subarray(0, at).filter((byte) => byte === 0x0a).length + 1;
    throw new UnsupportedMediaTypeError(
      `The body is not UTF-8: the byte 0x${(bytes[at] as number).toString(16).toUpperCase().padStart(2, '0')} at offset ${at} (line ${line}) begins no character. Send the JSON in UTF-8; text kept as Latin-1 or Windows-1252 must be converted first.`,
      'invalid_utf8',
    );
  }
  return bytes.toString('utf8');
};

// In a regular expression with the u flag a pair of surrogates is one code point, so \p{Cs} matches only
// a lone one: what a JSON escape such as "\ud800" makes, and what no UTF-8 text can hold.
const LONE_SURROGATE = /\p{Cs}/u;

/** Where strings and names in a parsed body hold a lone surrogate, in the order they come, at most `limit`. */
const loneSurrogates = (value: unknown, limit = 10): ErrorDetail[] => {
  const found: ErrorDetail[] = [];
  const pending: Array<[unknown, PropertyKey[]]> = [[value, []]];
  while (pending.length > 0 && found.length < limit) {
    const [item, path] = pending.pop() as [unknown, PropertyKey[]];
    const name = path[path.length - 1];
    if (typeof name === 'string' && LONE_SURROGATE.test(name)) found.push({ path: formatPath(path), message: 'is a name holding a lone surrogate, which is no character' });
    if (typeof item === 'string' && LONE_SURROGATE.test(item)) {
      found.push({ path: formatPath(path), message: 'holds a lone surrogate (an unpaired \\ud800–\\udfff escape), which is no character' });
    } else if (item !== null && typeof item === 'object') {
      // Onto the stack last first, so that problems are named in the order of the body.
      const children = Object.entries(item).map(([key, child]): [unknown, PropertyKey[]] => [child, [...path, Array.isArray(item) ? Number(key) : key]]);
      pending.push(...children.reverse());
    }
  }
  return found.slice(0, limit);
};

/**
 * The body as JSON, after the checks that come before validation: size (413), media type (415),
 * encoding (415 unless UTF-8), syntax (400), and text that is Unicode (400, no lone surrogate).
 */
export const jsonBody = (event: APIGatewayProxyEvent): unknown => {
  const raw = event.body ?? '';
  // The deployed API hands every body on as bytes (base64), so that one not in UTF-8 is seen as such here
  // (infra/cdk/constructs/api.ts); a body handed on as text has had any bad bytes replaced already.
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_REQUEST_BYTES) {
    throw new TooLargeError(`A request is at most ${MAX_REQUEST_BYTES} bytes (6 MB); this one is ${bytes.length}. Send smaller batches.`, 'request_too_large');
  }
  const contentType = header(event, 'content-type');
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(mediaType ?? '')) {
    throw new UnsupportedMediaTypeError(`Send the body as JSON with "Content-Type: application/json"${contentType ? `, not ${contentType.slice(0, 100)}` : ''}.`);
  }
  const charset = /;\s*charset="?([^";]+)"?/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    throw new UnsupportedMediaTypeError(`JSON bodies must be UTF-8, not ${charset.slice(0, 40)}.`);
  }
  // API Gateway passes a compressed body on as it came; parsed as JSON it would only read as garbage.
  const encoding = header(event, 'content-encoding')?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new UnsupportedMediaTypeError(`Send the JSON uncompressed: Content-Encoding ${encoding.slice(0, 40)} is not accepted.`);
  }
  // A byte order mark is allowed before JSON (RFC 8259 §8.1), and some Windows software writes one.
  const text = utf8Text(bytes).replace(/^\uFEFF/, '');
  if (text.trim() === '') throw new MalformedJsonError('The body is empty; send a notice as JSON.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MalformedJsonError(`The body is not valid JSON: ${jsonMistake(text, error as Error)}.`);
  }
  if (nestingDepth(parsed) > MAX_JSON_DEPTH) {
    throw new MalformedJsonError(`The body nests more than ${MAX_JSON_DEPTH} levels deep; a batch of notices needs 5.`);
  }
  // RFC 8259 §8.2: a string with a lone surrogate escape is JSON its readers disagree on; stored, it would
  // be mailed as U+FFFD. Refused with every place named, as validation names a notice's problems.
  const surrogates = loneSurrogates(parsed);
  if (surrogates.length > 0) {
    throw new ValidationError('The body holds text that is not Unicode: a lone surrogate escape stands for no character. Send each character in UTF-8, or as a pair of escapes; nothing was accepted.', surrogates, 'invalid_unicode');
  }
  return parsed;
};

/** Far more than any request of the API needs, and far less than would exhaust the stack of what walks it. */
const MAX_JSON_DEPTH = 32;

/** How deeply arrays and objects nest in `value`, counted without recursion, stopping past MAX_JSON_DEPTH. */
const nestingDepth = (value: unknown): number => {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop() as [unknown, number];
    if (item === null || typeof item !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return deepest;
};

const BASE_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult => ({
  statusCode,
  headers: { ...BASE_HEADERS, ...headers },
  body: JSON.stringify(body),
});

/** An AWS server fault or throttling, or a network failure reaching the service: worth a retry. */
const isDependencyFailure = (error: unknown): boolean => {
  if (!error || typeof error !== 'object') return false;
  const { $fault, code, name } = error as { $fault?: unknown; code?: unknown; name?: unknown };
  return (
    $fault === 'server' ||
    /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|TimeoutError/.test(String(name)) ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'].includes(String(code))
  );
};

const errorBody = (code: string, message: string, details: ErrorDetail[] = []) => ({ error: { code, message, details } });

/** The answer for a thrown error: its status and code when it is one of ours, else a generic 500. */
export const errorResponse = (error: unknown, log: Log, requestId: string | undefined): APIGatewayProxyResult => {
  const name = error instanceof NoticeRelayError ? error.name : undefined;
  switch (name) {
    case 'ValidationError': {
      const e = error as ValidationError;
      return json(400, errorBody(e.code, e.message, e.details));
    }
    case 'MalformedJsonError':
      return json(400, errorBody('invalid_json', (error as Error).message));
    case 'UnauthorizedError':
      return json(401, errorBody('unauthorized', (error as Error).message), { 'www-authenticate': 'Bearer' });
    case 'NotFoundError':
      return json(404, errorBody('not_found', (error as Error).message));
    case 'MethodNotAllowedError': {
      const e = error as MethodNotAllowedError;
      return json(405, errorBody('method_not_allowed', e.message), { allow: e.allow.join(', ') });
    }
    case 'ConflictError': {
      const e = error as ConflictError;
      return json(409, errorBody(e.code, e.message));
    }
    case 'TooLargeError': {
      const e = error as TooLargeError;
      return json(413, errorBody(e.code, e.message, e.details));
    }
    case 'UnsupportedMediaTypeError': {
      const e = error as UnsupportedMediaTypeError;
      return json(415, errorBody(e.code, e.message));
    }
    case 'RateLimitedError': {
      const e = error as RateLimitedError;
      return json(429, errorBody('rate_limited', e.message), { 'retry-after': String(e.retryAfterSeconds) });
    }
    case 'UnavailableError': {
      const e = error as UnavailableError;
      log.warn('request failed: a dependency is unavailable', { requestId, code: errorCode(e.cause) });
      return json(503, errorBody('unavailable', e.message), { 'retry-after': String(e.retryAfterSeconds) });
    }
    default:
      if (isDependencyFailure(error)) {
        log.warn('request failed: a dependency is unavailable', { requestId, code: errorCode(error) });
        return json(503, errorBody('unavailable', 'The store or the queue did not answer. Retry the request.'), { 'retry-after': '5' });
      }
      log.error('request failed', { requestId, code: errorCode(error) });
      return json(500, errorBody('internal_error', 'An internal error occurred. Retry later; if it persists, tell the relay operator the request id.'));
  }
};
