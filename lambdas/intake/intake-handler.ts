// API Gateway proxy event → intake, notices, health (shared) → JSON response
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import * as z from 'zod';
import type { KeyRing } from '../../shared/auth';
import type { Config, InstitutionConfig } from '../../shared/config/schema';
import { NotFoundError, ValidationError } from '../../shared/errors';
import { acceptNotices, type IntakeDeps } from '../../shared/intake/accept-notices';
import { admitRequest, type KeyRateCounter } from '../../shared/intake/key-rate';
import { cancelNotice, getNotice, health, type HealthDeps, listNotices, type ManageDeps } from '../../shared/intake/manage-notices';
import { NOTICE_STATUSES } from '../../shared/notice/model';
import type { TransportDesk } from '../../shared/transport/desk';
import { emailAddress, formatPath, issuesToDetails } from '../../shared/validation';
import openapi from './openapi.json';
import { apiKeyOf, errorResponse, header, json, jsonBody, MethodNotAllowedError } from './http';

export type IntakeHandlerDeps = IntakeDeps &
  ManageDeps &
  HealthDeps & {
    config: Pick<Config, 'intake'>;
    keyRing: KeyRing;
    keyRates: KeyRateCounter;
    desk: TransportDesk;
  };

type Route = (deps: IntakeHandlerDeps, event: APIGatewayProxyEvent, params: string[]) => Promise<APIGatewayProxyResult>;

/** The institution of the request's key, once the key is known and within its rate (else 401 or 429). */
const authenticated = async (deps: IntakeHandlerDeps, event: APIGatewayProxyEvent): Promise<InstitutionConfig> => {
  const { institution, keyId } = deps.keyRing.authenticate(apiKeyOf(event));
  await admitRequest(deps.keyRates, keyId, deps.config.intake.requestsPerMinutePerKey, deps.clock.now());
  return institution;
};

const listQuery = z.strictObject({
  status: z
    .string()
    .transform((value) => value.split(',').map((s) => s.trim()))
    .pipe(z.array(z.enum(NOTICE_STATUSES, { message: `must be one or more of ${NOTICE_STATUSES.join(', ')}, comma-separated` })))
    .optional(),
  type: z.string().min(1).max(64).optional(),
  externalId: z.string().min(1).max(200).optional(),
  since: z
    .string()
    // An offset's + left unencoded in a URL arrives as a space; nothing else can stand there.
    .transform((value) => value.replace(/ (\d{2}(?::?\d{2})?)$/, '+$1'))
    .pipe(z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone (in a URL, write + as %2B)' }))
    .transform((value) => new Date(value).toISOString())
    .optional(),
  limit: z
    .string()
    .regex(/^\d+$/, { message: 'must be a whole number from 1 to 200' })
    .transform(Number)
    .pipe(z.number().int().min(1, { message: 'must be a whole number from 1 to 200' }).max(200, { message: 'must be a whole number from 1 to 200' }))
    .optional(),
  cursor: z.string().min(1).max(2000).optional(),
});

const transportTestBody = z.strictObject({ to: emailAddress.optional() });

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

/**
 * The API's own base URL, as the client reached it: on AWS the stage (or a custom domain's base path)
 * comes before /v1, and a relative "/" would lose it. The document in the repo keeps "/".
 */
const serversOf = (event: APIGatewayProxyEvent): Array<{ url: string; description: string }> => {
  const host = header(event, 'host') ?? event.requestContext.domainName;
  const basePath = basePathOf(event);
  if (!host || basePath === undefined) return openapi.servers;
  const scheme = header(event, 'x-forwarded-proto') === 'http' ? 'http' : 'https';
  return [{ url: `${scheme}://${host}${basePath}`, description: 'This deployment, as this request reached it' }];
};

const routes: Array<{ pattern: RegExp; methods: Record<string, Route> }> = [
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
    methods: { GET: async (_deps, event) => json(200, { ...openapi, servers: serversOf(event) }, { 'cache-control': 'public, max-age=300' }) },
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
        return json(200, await listNotices(deps, institution, parseListQuery(event)));
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
    pattern: /^\/v1\/transport$/,
    methods: { GET: async (deps, event) => json(200, await deps.desk.status(await authenticated(deps, event))) },
  },
  {
    pattern: /^\/v1\/transport\/test$/,
    methods: {
      POST: async (deps, event) => {
        const institution = await authenticated(deps, event);
        const body = transportTestBody.safeParse(event.body ? jsonBody(event) : {});
        if (!body.success) {
          throw new ValidationError('The body of a transport test is {} or {"to": "address"}.', issuesToDetails(body.error.issues), 'validation_failed');
        }
        return json(200, await deps.desk.test(institution, body.data.to));
      },
    },
  },
];

/** A path segment decoded; one that is not valid percent-encoding stays as it is (and matches no notice). */
const safeDecode = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/** The path of the request without a trailing slash. */
const pathOf = (event: APIGatewayProxyEvent): string => (event.path.length > 1 ? event.path.replace(/\/+$/, '') : event.path);

/**
 * Makes the intake handler from its dependencies.
 * @example
 * export const handler = makeIntakeHandler(createIntakeDeps(process.env));
 */
export const makeIntakeHandler =
  (deps: IntakeHandlerDeps) =>
  async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const requestId = event.requestContext?.requestId;
    const withRequestId = (result: APIGatewayProxyResult): APIGatewayProxyResult =>
      requestId ? { ...result, headers: { ...result.headers, 'x-request-id': requestId } } : result;
    try {
      const path = pathOf(event);
      for (const route of routes) {
        const match = route.pattern.exec(path);
        if (!match) continue;
        const verb = event.httpMethod.toUpperCase();
        const allowed = [...Object.keys(route.methods), ...('GET' in route.methods ? ['HEAD'] : []), 'OPTIONS'];
        if (verb === 'OPTIONS') return withRequestId({ statusCode: 204, headers: { allow: allowed.join(', '), 'cache-control': 'no-store' }, body: '' });
        // HEAD is GET without the body: what uptime monitors and link checkers send.
        const method = route.methods[verb === 'HEAD' ? 'GET' : verb];
        if (!method) throw new MethodNotAllowedError(allowed);
        const result = await method(deps, event, match.slice(1).map(safeDecode));
        return withRequestId(verb === 'HEAD' ? { ...result, body: '' } : result);
      }
      throw new NotFoundError(`There is no ${event.httpMethod} ${path.slice(0, 200)}; see GET /v1/openapi.json.`);
    } catch (error) {
      return withRequestId(errorResponse(error, deps.log, requestId));
    }
  };
