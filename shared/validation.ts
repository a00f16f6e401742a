// What every validator shares (the configuration's, the notices', the API's queries): the address rule
// and zod's issues as `{path, message}` details. Kept apart from the configuration's schema so the intake
// does not build that whole schema at start-up only to check an address. The validators a function runs
// on requests are written in zod's functional form (zod/mini), whose parts a bundle carries only when
// used: the full API gives every schema every method, which a cold start loads whether used or not
// (npm run bench times both). The configuration's schema, checked at synth and by npm start, keeps the
// full API; both share zod's core, and so its checks and issues.
import * as z from 'zod/mini';
import type { ErrorDetail } from './errors';

// RFC 5322's dot-atom before the @ (so a&b@, o'neil@ and joe!@ are addresses), and a domain of at least
// two labels whose top level is letters or an internationalized one in its xn-- (punycode) form. The
// OpenAPI document (lambdas/intake/openapi.json, schema Email) states both patterns as they are written
// here: without a lookahead, which not every regular-expression engine of an API client has.
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** An address as the API takes it: a dot-atom, an @ and a domain of two labels or more. */
export const EMAIL_ADDRESS = new RegExp(`^${ATEXT}+(?:\\.${ATEXT}+)*@(?:${LABEL}\\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$`);
/** RFC 5321 §4.5.3.1.1: at most 64 characters before the @. */
export const EMAIL_LOCAL_PART_LENGTH = /^[^@]{1,64}@/;
// eslint-disable-next-line no-control-regex -- anything past ASCII
const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * How many characters a string holds, counted as JSON Schema's minLength and maxLength count them: in
 * Unicode code points, so that an emoji (two UTF-16 units in JavaScript) is one character.
 */
export const characterCount = (value: string): number => {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    count++;
  }
  return count;
};

/** A string of at most `max` characters (code points, as the OpenAPI document counts them). */
export const textOfAtMost = (max: number) =>
  z.string().check(z.refine((value) => value.length <= max || characterCount(value) <= max, { message: `must be at most ${max} characters` }));

/** An RFC 5321 mailbox as a plain address (`user@example.org`). */
export const emailAddress = textOfAtMost(254).check(
  z.superRefine((value, ctx) => {
    if (EMAIL_ADDRESS.test(value) && EMAIL_LOCAL_PART_LENGTH.test(value)) return;
    const international = NON_ASCII.test(value.slice(value.lastIndexOf('@') + 1));
    ctx.addIssue({ code: 'custom', message: `must be an email address like name@example.org${international ? '; write an international domain in its xn-- form' : ''}` });
  }),
);

/** A count of things in words: `1 character`, `3 items`. */
const counted = (count: unknown, one: string, many = `${one}s`): string => `${String(count)} ${Number(count) === 1 ? one : many}`;

/** A size limit's default message, in the words every other message here uses. */
const sizeMessage = (issue: { origin: string; minimum?: unknown; maximum?: unknown; inclusive?: boolean }): string | undefined => {
  const limit = issue.minimum ?? issue.maximum;
  const atLeast = issue.minimum !== undefined;
  if (issue.origin === 'string') return atLeast && Number(limit) === 1 ? 'must not be empty' : `must be ${atLeast ? 'at least' : 'at most'} ${counted(limit, 'character')}`;
  if (issue.origin === 'array') return atLeast && Number(limit) === 1 ? 'must not be an empty list' : `must hold ${atLeast ? 'at least' : 'at most'} ${counted(limit, 'item')}`;
  if (issue.origin === 'number') return `must be ${atLeast ? (issue.inclusive ? 'at least' : 'more than') : issue.inclusive ? 'at most' : 'less than'} ${String(limit)}`;
  return undefined;
};

// The messages of the limits no schema words itself (a schema's own message still wins): what zod says
// by default ("Too small: expected string to have >=1 characters") reads as zod, not as this service.
z.config({
  customError: (issue) => (issue.code === 'too_small' || issue.code === 'too_big' ? sizeMessage(issue as Parameters<typeof sizeMessage>[0]) : undefined),
});

/** Formats a path the way a person reads it in the file: `institutions[1].transport.servers[0].port`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '') || '(root)';

/** zod issues as `{path, message}` details, one per problem. */
export const issuesToDetails = (issues: ReadonlyArray<z.core.$ZodIssue>, prefix: ReadonlyArray<PropertyKey> = []): ErrorDetail[] =>
  issues.flatMap((issue) => {
    // A union reports why each branch failed; the branch meant is the one whose problems lie deepest,
    // and, as deep, one that took the value's type (a list of 11 addresses is a list that is too long,
    // not a string that is a list).
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // No branch took the value's type: say every type that would do.
      const mismatches = issue.errors.map((branch) => (branch.length === 1 && branch[0]?.code === 'invalid_type' && branch[0].path.length === 0 ? branch[0] : undefined));
      if (issue.input !== undefined && mismatches.every(Boolean)) {
        const expected = [...new Set(mismatches.map((mismatch) => article(mismatch?.expected as string)))];
        return [{ path: formatPath([...prefix, ...issue.path]), message: `must be ${expected.join(' or ')}, not ${kindOf(issue.input)}` }];
      }
      const branches = issue.errors.map((branch) => ({ details: issuesToDetails(branch, [...prefix, ...issue.path]), typeMismatch: branch.every((i) => i.code === 'invalid_type') }));
      const fit = ({ details, typeMismatch }: (typeof branches)[number]) => Math.max(...details.map((d) => d.path.length)) * 2 + (typeMismatch ? 0 : 1);
      return branches.reduce((best, next) => (fit(next) > fit(best) ? next : best)).details;
    }
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: formatPath([...prefix, ...issue.path, key]), message: 'is not a known field' }));
    }
    if (issue.code === 'invalid_type' && issue.input !== undefined) {
      return [{ path: formatPath([...prefix, ...issue.path]), message: `must be ${article(issue.expected)}, not ${kindOf(issue.input)}` }];
    }
    return [{ path: formatPath([...prefix, ...issue.path]), message: issue.message }];
  });

const article = (expected: string): string => (expected === 'array' ? 'a list' : /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`);

/** What a JSON value is, in the words of an error message. */
const kindOf = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'boolean') return 'true or false';
  return article(typeof value);
};
