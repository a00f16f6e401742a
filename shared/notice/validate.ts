// Validation of what the ILS submits (docs/integrator/api.md): one notice or a batch, checked whole, every
// problem reported with its path (`notices[3].to`). Nothing here touches the store.
import * as z from 'zod/mini';
import { type ErrorDetail, TooLargeError, ValidationError } from '../errors';
import { emailAddress, formatPath, issuesToDetails, textOfAtMost } from '../validation';
import type { NoticeInput } from './model';

import { MAX_BATCH_NOTICES, MAX_NOTICE_BYTES, MAX_REQUEST_BYTES, MAX_SCHEDULE_DAYS } from './limits';

export { MAX_BATCH_NOTICES, MAX_NOTICE_BYTES, MAX_REQUEST_BYTES, MAX_SCHEDULE_DAYS };

const LINE_BREAK = /[\r\n]/;
// C0 controls other than TAB, and DEL: never meaningful in a header, and a way to confuse parsers.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** A string that will become (part of) a mail header: CR or LF would let it inject headers of its own. */
const headerText = (max: number) =>
  textOfAtMost(max).check(
    z.superRefine((value, ctx) => {
      if (LINE_BREAK.test(value)) ctx.addIssue({ code: 'custom', message: 'must not contain CR or LF: rejected as header injection' });
      else if (CONTROL.test(value)) ctx.addIssue({ code: 'custom', message: 'must not contain control characters' });
    }),
  );

const address = z.pipe(headerText(254), emailAddress);

// An RFC 3339 date-time with seconds and a time zone (Z or ±hh:mm), whose date exists (29 February only
// in a leap year). The OpenAPI document states this pattern (schema Timestamp).
const DATE = String.raw`(?:\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))|(?:\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[048]|[2468][048]|[13579][26])00)-02-29)`;
const TIME = String.raw`(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?`;
/** A date-time as notices and queries take it, like 2030-01-31T09:00:00Z or 2030-01-31T09:00:00-05:00. */
export const ISO_TIMESTAMP = new RegExp(`^${DATE}T${TIME}(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)$`);
export const TIMESTAMP_MESSAGE = 'must be an ISO 8601 date-time with a time zone, like 2030-01-31T09:00:00Z';

const EARLIEST = Date.parse('0000-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * A date-time in UTC, as it is stored and compared. Within a day of year 0000 or 9999 an offset can carry
 * the instant past what four digits of year hold ("9999-12-31T23:59:59-05:00", an ILS's "never"); it is
 * held at the nearest such instant, which means the same to a notice (long past, or never), so that every
 * time kept compares as text and reads as RFC 3339.
 */
export const utcTimestamp = (value: string): string => new Date(Math.min(LATEST, Math.max(EARLIEST, Date.parse(value)))).toISOString();

const isoTimestamp = z.pipe(z.pipe(headerText(40), z.string().check(z.regex(ISO_TIMESTAMP, { message: TIMESTAMP_MESSAGE }))), z.transform(utcTimestamp));

/** Padded base64 without line breaks: whole groups of four, the last perhaps ending in = or ==. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const attachment = z.strictObject({
  filename: headerText(255).check(
    z.minLength(1),
    z.refine((name) => !/[/\\]/.test(name), { message: 'must be a file name without a path' }),
  ),
  contentType: headerText(127).check(z.regex(/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i, { message: 'must be a MIME type like application/pdf' })),
  contentBase64: z.string().check(z.minLength(1), z.regex(BASE64, { message: 'must be base64, padded with =, without line breaks' })),
});

const noticeSchema = z
  .strictObject({
    to: address,
    subject: headerText(998).check(z.minLength(1, { message: 'must not be empty' })),
    text: z.optional(z.string().check(z.minLength(1))),
    html: z.optional(z.string().check(z.minLength(1))),
    replyTo: z.optional(address),
    cc: z.optional(z.union([z.pipe(address, z.transform((one: string) => [one])), z.array(address).check(z.maxLength(10, { message: 'takes at most 10 addresses' }))])),
    type: z.optional(headerText(64).check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, { message: 'must be a word like overdue or hold-pickup' }))),
    externalId: z.optional(headerText(200).check(z.minLength(1))),
    sendAt: z.optional(isoTimestamp),
    expiresAt: z.optional(isoTimestamp),
    attachments: z.optional(z.array(attachment).check(z.maxLength(20, { message: 'takes at most 20 attachments' }))),
  })
  .check(
    z.superRefine((notice, ctx) => {
      if (notice.text === undefined && notice.html === undefined) {
        ctx.addIssue({ code: 'custom', path: ['text'], message: 'a notice needs text, html or both' });
      }
      if (notice.sendAt && notice.expiresAt && notice.expiresAt <= notice.sendAt) {
        ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'must be later than sendAt' });
      }
    }),
  );

/** zod issues as details: one per unknown key so the path names it, and "is required" for a missing field. */
const toDetails = (issues: ReadonlyArray<z.core.$ZodIssue>, prefix: PropertyKey[]): ErrorDetail[] =>
  issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: formatPath([...prefix, ...issue.path, key]),
        message: key === 'from' ? "is set by the institution's configuration: a notice cannot choose its sender" : 'is not a field of a notice',
      }));
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      return [{ path: formatPath([...prefix, ...issue.path]), message: 'is required' }];
    }
    return issuesToDetails([issue], prefix);
  });

/** A submission: the notices and whether they came as a batch (which shapes the answer). */
export interface Submission {
  notices: NoticeInput[];
  batch: boolean;
}

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');

/**
 * Validates a parsed request body: a notice, or `{"notices": […]}` of up to 500. An `expiresAt` already in
 * the past is accepted: the lifecycle discards that notice at once and reports it to the desk, where a
 * refusal would have thrown out the whole batch for one stale notice. A `sendAt` more than
 * MAX_SCHEDULE_DAYS after `now` is refused: no notice is planned that far ahead, and a date in year 9999
 * is a mistake whose give-up time would not even be a date.
 * @throws TooLargeError for a batch over 500 or a notice over 256 KiB, ValidationError otherwise.
 * @example
 * const { notices, batch } = validateSubmission(JSON.parse(body), clock.now());
 */
export const validateSubmission = (body: unknown, now: Date): Submission => {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('The body must be a JSON object: one notice, or {"notices": [...]}.', [{ path: '(root)', message: 'must be a JSON object' }]);
  }
  const batch = 'notices' in body;
  const prefix = (index: number): PropertyKey[] => (batch ? ['notices', index] : []);
  let items: unknown[];
  if (batch) {
    const { notices, ...rest } = body as { notices: unknown };
    const extra = Object.keys(rest);
    if (extra.length > 0) {
      throw new ValidationError('A batch is {"notices": [...]} and nothing else.', extra.map((key) => ({ path: key, message: 'is not a field of a batch' })));
    }
    if (!Array.isArray(notices) || notices.length === 0) {
      throw new ValidationError('"notices" must be a non-empty array.', [{ path: 'notices', message: 'must be a non-empty array of notices' }]);
    }
    if (notices.length > MAX_BATCH_NOTICES) {
      throw new TooLargeError(`A batch holds at most ${MAX_BATCH_NOTICES} notices; this one has ${notices.length}. Split it.`, 'batch_too_large', [
        { path: 'notices', message: `has ${notices.length} notices; the limit is ${MAX_BATCH_NOTICES}` },
      ]);
    }
    items = notices;
  } else {
    items = [body];
  }

  const oversized = items.flatMap((item, index) => {
    const bytes = jsonBytes(item);
    return bytes > MAX_NOTICE_BYTES ? [{ path: formatPath(prefix(index)), message: `is ${bytes} bytes; a notice is at most ${MAX_NOTICE_BYTES} bytes (256 KiB)` }] : [];
  });
  if (oversized.length > 0) {
    throw new TooLargeError('A notice is at most 256 KiB, attachments included; nothing was accepted.', 'notice_too_large', oversized);
  }

  const details: ErrorDetail[] = [];
  const notices: NoticeInput[] = [];
  items.forEach((item, index) => {
    const result = noticeSchema.safeParse(item, { reportInput: true });
    if (!result.success) {
      details.push(...toDetails(result.error.issues, prefix(index)));
      return;
    }
    const notice = result.data;
    if (notice.sendAt && new Date(notice.sendAt).getTime() > now.getTime() + MAX_SCHEDULE_DAYS * 86_400_000) {
      details.push({ path: formatPath([...prefix(index), 'sendAt']), message: `must be at most ${MAX_SCHEDULE_DAYS} days from now` });
      return;
    }
    notices.push(stripUndefined(notice));
  });
  if (details.length > 0) {
    const count = batch ? new Set(details.map((d) => /^notices\[(\d+)\]/.exec(d.path)?.[1])).size : 1;
    const verb = count === 1 ? 'is' : 'are';
    throw new ValidationError(batch ? `${count} of ${items.length} notices ${verb} invalid; nothing was accepted.` : 'The notice is invalid; nothing was accepted.', details);
  }
  return { notices, batch };
};

const stripUndefined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
