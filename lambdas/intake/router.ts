// The API's routing, shared by the functions behind it (the intake: notices, health, the document; the
// transport function: the Test Server): path and method → route, authentication, and what every
// answer carries (OPTIONS, HEAD, 405, 404, the request id, errors as JSON).
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { KeyRing } from '../../shared/auth';
import type { Clock } from '../../shared/clock';
import type { Config, InstitutionConfig } from '../../shared/config/schema';
import { NotFoundError } from '../../shared/errors';
import { admitRequest, type KeyRateCounter } from '../../shared/intake/key-rate';
import type { Log } from '../../shared/log';
import { apiKeyOf, errorResponse, MethodNotAllowedError } from './http';

/** What authenticating a request takes. */
export interface AuthDeps {
  config: Pick<Config, 'intake'>;
  keyRing: KeyRing;
  keyRates: KeyRateCounter;
  clock: Clock;
}

/** The institution of the request's key, once the key is known and within its rate (else 401 or 429). */
export const authenticated = async (deps: AuthDeps, event: APIGatewayProxyEvent): Promise<InstitutionConfig> => {
  const { institution, keyId } = deps.keyRing.authenticate(apiKeyOf(event));
  await admitRequest(deps.keyRates, keyId, deps.config.intake.requestsPerMinutePerKey, deps.clock.now());
  return institution;
};

export type Route<D> = (deps: D, event: APIGatewayProxyEvent, params: string[]) => Promise<APIGatewayProxyResult>;

/** A path (its groups are the route's params, decoded) and what each method does there. */
export interface RouteTable<D> {
  pattern: RegExp;
  methods: Record<string, Route<D>>;
}

/** A path segment decoded; one that is not valid percent-encoding stays as it is (and matches no notice). */
const safeDecode = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/** A GET's answer as HEAD gives it: the headers, the length of the body, and no body. */
const withoutBody = (result: APIGatewayProxyResult): APIGatewayProxyResult => ({
  ...result,
  headers: { ...result.headers, 'content-length': String(Buffer.byteLength(result.body, result.isBase64Encoded ? 'base64' : 'utf8')) },
  body: '',
});

/** The path of the request without a trailing slash. */
const pathOf = (event: APIGatewayProxyEvent): string => (event.path.length > 1 ? event.path.replace(/\/+$/, '') : event.path);

/**
 * A proxy handler that serves `routes` with `deps`.
 * @example
 * export const makeIntakeHandler = (deps: IntakeHandlerDeps) => routeRequests(routes, deps);
 */
export const routeRequests =
  <D extends { log: Log }>(routes: Array<RouteTable<D>>, deps: D) =>
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
        // HEAD is GET without the body (its length still said): what uptime monitors and link checkers send.
        const method = route.methods[verb === 'HEAD' ? 'GET' : verb];
        if (!method) throw new MethodNotAllowedError(allowed);
        const result = await method(deps, event, match.slice(1).map(safeDecode));
        return withRequestId(verb === 'HEAD' ? withoutBody(result) : result);
      }
      throw new NotFoundError(`There is no ${event.httpMethod} ${path.slice(0, 200)}; see GET /v1/openapi.json.`);
    } catch (error) {
      return withRequestId(errorResponse(error, deps.log, requestId));
    }
  };
