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
    // A union reports why each branch failed; the branch whose problems lie deepest is the one meant.
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branches = issue.errors.map((branch) => issuesToDetails(branch, [...prefix, ...issue.path]));
      const depth = (details: ErrorDetail[]) => Math.max(...details.map((d) => d.path.length));
      return branches.reduce((best, next) => (depth(next) > depth(best) ? next : best));
    }
    return [{ path: formatPath([...prefix, ...issue.path]), message: issue.message }];
  });
