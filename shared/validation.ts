// What every validator shares (the configuration's, the notices', the API's queries): the address rule
// and zod's issues as `{path, message}` details. Kept apart from the configuration's schema so the intake
// does not build that whole schema at start-up only to check an address.
import * as z from 'zod';
import type { ErrorDetail } from './errors';

/** An RFC 5321 mailbox as a plain address (`user@example.org`). */
export const emailAddress = z.email({ message: 'must be an email address like name@example.org' }).max(254);

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
