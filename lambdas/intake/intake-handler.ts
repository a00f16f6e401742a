// API Gateway proxy event → intake, notices, suppressions, webhook deliveries, health (shared) → JSON response. Every path but the
// Test Server's (lambdas/transport), which holds the mail credentials this function never sees.
import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import { InvalidCursorError, ValidationError } from '../../shared/errors';
import { acceptNotices, type IntakeDeps } from '../../shared/intake/accept-notices';
import { cancelNotice, getNotice, health, type HealthDeps, listNotices, type ManageDeps } from '../../shared/intake/manage-notices';
import { NOTICE_STATUSES } from '../../shared/notice/model';
import { ISO_TIMESTAMP, utcTimestamp } from '../../shared/notice/validate';
import type { WebhookStore } from '../../shared/store/webhook-store';
import { deleteSuppression, listSuppressions, putSuppression } from '../../shared/suppression/manage';
import type { SuppressionDeps } from '../../shared/suppression/suppress';
import { listWebhookDeliveries } from '../../shared/webhooks/deliveries';
import { formatPath, issuesToDetails, textOfAtMost } from '../../shared/validation';
import { header, json, jsonBody } from './http';
import { type AuthDeps, authenticated, routeRequests, type RouteTable } from './router';

export type IntakeHandlerDeps = IntakeDeps & ManageDeps & HealthDeps & AuthDeps & SuppressionDeps & { deliveries: WebhookStore };

// Each filter as the OpenAPI document states it (GET /v1/notices): `status` a comma-separated list of
// statuses, `since` a date-time as notices take it.
const listQuery = z.strictObject({
  status: z.optional(
    z.pipe(
      z.pipe(
        z.string(),
        z.transform((value: string) => value.split(',')),
      ),
      z.array(z.enum(NOTICE_STATUSES, { message: `must be one or more of ${NOTICE_STATUSES.join(', ')}, comma-separated` })),
    ),
  ),
  type: z.optional(textOfAtMost(64).check(z.minLength(1))),
  externalId: z.optional(textOfAtMost(200).check(z.minLength(1))),
  since: z.optional(
    z.pipe(
      z.pipe(
        z.pipe(
          z.string(),
          // An offset's + left unencoded in a URL arrives as a space; nothing else can stand there.
          z.transform((value: string) => value.replace(/ (?=\d{2}:\d{2}$)/, '+')),
        ),
        z.string().check(z.regex(ISO_TIMESTAMP, { message: 'must be an ISO 8601 date-time with a time zone (in a URL, write + as %2B)' })),
      ),
      z.transform(utcTimestamp),
    ),
  ),
  limit: z.optional(
    z.pipe(
      z.pipe(z.string().check(z.regex(/^\d+$/, { message: 'must be a whole number from 1 to 200' })), z.transform(Number)),
      z.number().check(z.int(), z.gte(1, { message: 'must be a whole number from 1 to 200' }), z.lte(200, { message: 'must be a whole number from 1 to 200' })),
    ),
  ),
  cursor: z.optional(textOfAtMost(2000).check(z.minLength(1))),
});

// The query of the other lists (GET /v1/suppressions, GET /v1/webhooks/deliveries): pages as the notices'.
const pageQuery = z.pick(listQuery, { limit: true, cursor: true });
const deliveriesQuery = z.extend(pageQuery, { noticeId: z.optional(z.string().check(z.regex(/^[0-9A-Za-z]{26}$/, { message: 'must be a notice id' }))) });

/** A list's query, or a 400 naming each mistake (an unknown parameter, a limit out of range). */
const parsePageQuery = <S extends z.ZodMiniType<{ limit?: number }>>(schema: S, event: APIGatewayProxyEvent, list: string): z.output<S> & { limit: number } => {
  const result = schema.safeParse(event.queryStringParameters ?? {});
  if (!result.success) {
    throw new ValidationError(
      'The query string is invalid.',
      result.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys' ? issue.keys.map((key) => ({ path: key, message: `is not a parameter of ${list}` })) : [{ path: formatPath(issue.path.slice(0, 1)), message: issue.message }],
      ),
      'invalid_query',
    );
  }
  return { ...result.data, limit: result.data.limit ?? 50 };
};

/** A list read with a cursor the store cannot read: a mistake in the query, said as the query's other ones are. */
const withCursorCheck = async <T>(list: string, read: () => Promise<T>): Promise<T> => {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof InvalidCursorError)) throw error;
    throw new ValidationError('The cursor is not one this API issued.', [{ path: 'cursor', message: `is not a cursor returned by ${list}` }], 'invalid_cursor');
  }
};

/** PUT /v1/suppressions/{address}'s body: none, or `{"note": "…"}`. */
const suppressionBody = z.strictObject({ note: z.optional(textOfAtMost(200)) });

const parseListQuery = (event: APIGatewayProxyEvent) => {
  const result = listQuery.safeParse(event.queryStringParameters ?? {});
  if (!result.success) {
    throw new ValidationError(
      'The query string is invalid.',
      result.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ path: key, message: 'is not a filter of GET /v1/notices (status, type, externalId, since, limit, cursor)' }))
          : [{ path: formatPath(issue.path.slice(0, 1)), message: issue.message }],
      ),
      'invalid_query',
    );
  }
  return { ...result.data, limit: result.data.limit ?? 50 };
};

/**
 * What comes before the API's own paths in the URL the client called: `/prod` on API Gateway's default
 * endpoint (the stage), a custom domain's base path, nothing locally; undefined when it cannot be told.
 */
const basePathOf = (event: APIGatewayProxyEvent): string | undefined => {
  const requested = event.requestContext.path ?? event.path;
  return requested.endsWith(event.path) ? requested.slice(0, requested.length - event.path.length) : undefined;
};

/** The OpenAPI document (32 KB), read for the first GET /v1/openapi.json rather than at every cold start. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const openapiDocument = (): typeof import('./openapi.json') => require('./openapi.json');

/**
 * The API's own base URL, as the client reached it: on AWS the stage (or a custom domain's base path)
 * comes before /v1, and a relative "/" would lose it. The document in the repo keeps "/".
 */
const serversOf = (event: APIGatewayProxyEvent): Array<{ url: string; description: string }> => {
  const host = header(event, 'host') ?? event.requestContext.domainName;
  const basePath = basePathOf(event);
  if (!host || basePath === undefined) return openapiDocument().servers;
  const scheme = header(event, 'x-forwarded-proto') === 'http' ? 'http' : 'https';
  return [{ url: `${scheme}://${host}${basePath}`, description: 'This deployment, as this request reached it' }];
};

const routes: Array<RouteTable<IntakeHandlerDeps>> = [
  {
    pattern: /^\/v1\/health$/,
    methods: {
      GET: async (deps) => {
        const result = await health(deps);
        return json(result.ok ? 200 : 503, { status: result.ok ? 'ok' : 'unavailable', store: result.store, queue: result.queue });
      },
    },
  },
  {
    pattern: /^\/v1\/openapi\.json$/,
    methods: { GET: async (_deps, event) => json(200, { ...openapiDocument(), servers: serversOf(event) }, { 'cache-control': 'public, max-age=300' }) },
  },
  {
    pattern: /^\/v1\/notices$/,
    methods: {
      POST: async (deps, event) => {
        const institution = await authenticated(deps, event);
        const body = jsonBody(event);
        const result = await acceptNotices(deps, institution, body, header(event, 'idempotency-key'));
        const replayHeader: Record<string, string> = result.replayed ? { 'idempotent-replayed': 'true' } : {};
        const first = result.notices[0] as { id: string; status: string };
        return result.batch
          ? json(202, { notices: result.notices }, replayHeader)
          : json(202, first, { ...replayHeader, location: `${basePathOf(event) ?? ''}/v1/notices/${first.id}` });
      },
      GET: async (deps, event) => {
        const institution = await authenticated(deps, event);
        try {
          return json(200, await listNotices(deps, institution, parseListQuery(event)));
        } catch (error) {
          // A cursor the store cannot read is a mistake in the query, said as the query's other ones are.
          if (!(error instanceof InvalidCursorError)) throw error;
          throw new ValidationError('The cursor is not one this API issued.', [{ path: 'cursor', message: 'is not a cursor returned by GET /v1/notices' }], 'invalid_cursor');
        }
      },
    },
  },
  {
    pattern: /^\/v1\/notices\/([^/]+)$/,
    methods: {
      GET: async (deps, event, [id]) => json(200, await getNotice(deps, await authenticated(deps, event), id as string)),
      DELETE: async (deps, event, [id]) => json(200, await cancelNotice(deps, await authenticated(deps, event), id as string)),
    },
  },
  {
    pattern: /^\/v1\/suppressions$/,
    methods: {
      GET: async (deps, event) => {
        const institution = await authenticated(deps, event);
        const query = parsePageQuery(pageQuery, event, 'GET /v1/suppressions (limit, cursor)');
        return json(200, await withCursorCheck('GET /v1/suppressions', () => listSuppressions(deps, institution, query)));
      },
    },
  },
  {
    pattern: /^\/v1\/suppressions\/([^/]+)$/,
    methods: {
      PUT: async (deps, event, [address]) => {
        const institution = await authenticated(deps, event);
        const raw = event.body ? jsonBody(event) : {};
        const body = suppressionBody.safeParse(raw);
        // Worded and placed as a notice's problems are: an unknown field is named by its own path.
        if (!body.success) throw new ValidationError('The body is invalid.', issuesToDetails(body.error.issues));
        return json(200, await putSuppression(deps, institution, address as string, body.data.note));
      },
      DELETE: async (deps, event, [address]) => json(200, await deleteSuppression(deps, await authenticated(deps, event), address as string)),
    },
  },
  {
    pattern: /^\/v1\/webhooks\/deliveries$/,
    methods: {
      GET: async (deps, event) => {
        const institution = await authenticated(deps, event);
        const query = parsePageQuery(deliveriesQuery, event, 'GET /v1/webhooks/deliveries (limit, cursor, noticeId)');
        return json(200, await withCursorCheck('GET /v1/webhooks/deliveries', () => listWebhookDeliveries(deps, institution, query)));
      },
    },
  },
];

/**
 * Makes the intake handler from its dependencies.
 * @example
 * export const handler = makeIntakeHandler(createIntakeDeps(process.env));
 */
export const makeIntakeHandler = (deps: IntakeHandlerDeps) => routeRequests(routes, deps);
