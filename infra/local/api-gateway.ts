// HTTP request → API Gateway REST proxy event → the intake handler → HTTP response: what API Gateway
// does in front of the intake Lambda, on one machine.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { type AddressInfo, isIP } from 'node:net';
import { isBinaryMediaType } from '../../lambdas/intake/gateway-body';
import { GATEWAY_REFUSALS, type GatewayRefusal, refusalBody } from '../../lambdas/intake/gateway-refusals';
import { type IntakeHandlerDeps, makeIntakeHandler } from '../../lambdas/intake/intake-handler';
import { isTransportPath, makeTransportHandler, type TransportHandlerDeps } from '../../lambdas/transport/transport-handler';
import { isConsolePath } from '../../lambdas/console/http';
import { LOOPBACK, type Running } from './emulators';

/** API Gateway refuses larger payloads itself, before the Lambda sees them. */
const GATEWAY_MAX_BYTES = 10 * 1024 * 1024;
/** API Gateway's integration timeout. */
const GATEWAY_TIMEOUT_MS = 29_000;

export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/**
 * The functions behind the API, routed as API Gateway routes them (infra/cdk/constructs/api.ts): the
 * Test Server's paths to the transport function, /console to the console function (when given its
 * dependencies), every other path to the intake.
 */
export const routeApi =
  (functions: { intake: ProxyHandler; transport: ProxyHandler; console?: ProxyHandler }): ProxyHandler =>
  (event) =>
    isTransportPath(event.path) ? functions.transport(event) : functions.console && isConsolePath(event.path) ? functions.console(event) : functions.intake(event);

/** Both API functions made from one set of dependencies (the handlers' unit tests). */
export const apiFunctions = (deps: IntakeHandlerDeps & TransportHandlerDeps): ProxyHandler =>
  routeApi({ intake: makeIntakeHandler(deps), transport: makeTransportHandler(deps) });

/** API Gateway's own refusal, as the deployed stack words it (its gateway responses). */
const gatewayError = (response: ServerResponse, statusCode: number, refusal: GatewayRefusal) => {
  response.writeHead(statusCode, { 'content-type': 'application/json' });
  response.end(refusalBody(refusal));
};

/** Reads the body, or answers 413 as API Gateway does when it is over 10 MB. */
const readBody = (request: IncomingMessage): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > GATEWAY_MAX_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });

const safeDecodeUri = (path: string): string => {
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
};

/** The proxy event API Gateway builds for a `{proxy+}` resource (REST API, payload format 1.0). */
export const toProxyEvent = (request: IncomingMessage, body: Buffer, options: { stage?: string; scheme?: 'http' | 'https' } = {}): APIGatewayProxyEvent => {
  const { stage = 'local', scheme = 'http' } = options;
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i] as string;
    const value = request.rawHeaders[i + 1] as string;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  // API Gateway tells the integration how the client connected, whatever the client said.
  for (const name of Object.keys(headers).filter((header) => header.toLowerCase() === 'x-forwarded-proto')) {
    delete headers[name];
    delete multiValueHeaders[name];
  }
  headers['X-Forwarded-Proto'] = scheme;
  multiValueHeaders['X-Forwarded-Proto'] = [scheme];
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const hasQuery = Object.keys(query).length > 0;
  const path = safeDecodeUri(url.pathname);
  // As the deployed API does (lambdas/intake/gateway-body.ts): bytes in base64, never text decoded here.
  const asBytes = body.length > 0 && isBinaryMediaType(request.headers['content-type']);
  const method = (request.method ?? 'GET').toUpperCase();
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: { proxy: path.replace(/^\//, '') },
    stageVariables: null,
    body: body.length > 0 ? body.toString(asBytes ? 'base64' : 'utf8') : null,
    isBase64Encoded: asBytes,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      domainName: request.headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      extendedRequestId: randomUUID(),
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.socket.remoteAddress ?? LOOPBACK,
        user: null,
        userAgent: request.headers['user-agent'] ?? null,
        userArn: null,
      },
      // The path as the client asked for it: on AWS it starts with the stage; here there is none.
      path,
      protocol: `HTTP/${request.httpVersion}`,
      requestId: randomUUID(),
      requestTime: new Date().toUTCString(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: '/{proxy+}',
      stage,
    },
  };
};

/** The host as a URL names it: every address's clients reach it on loopback; IPv6 goes in brackets. */
const urlHost = (host: string): string => {
  if (host === '0.0.0.0') return LOOPBACK;
  if (host === '::') return '[::1]';
  return isIP(host) === 6 ? `[${host}]` : host;
};

/** A certificate and its private key (PEM), for HTTPS. */
export interface TlsIdentity {
  cert: string | Buffer;
  key: string | Buffer;
}

/** Serves `handler` on `port` (0 picks a free one), over HTTPS when given `tls`. */
export const startApiGateway = async (handler: ProxyHandler, options: { port?: number; host?: string; tls?: TlsIdentity } = {}): Promise<Running> => {
  const scheme = options.tls ? 'https' : 'http';
  const listener: RequestListener = async (request, response) => {
    try {
      const body = await readBody(request);
      if (!body) return gatewayError(response, 413, GATEWAY_REFUSALS.tooLarge);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), GATEWAY_TIMEOUT_MS)));
      const result = await Promise.race([handler(toProxyEvent(request, body, { scheme })), timeout]);
      clearTimeout(timer);
      if (!result) return gatewayError(response, 504, GATEWAY_REFUSALS.unavailable);
      const payload = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body ?? '', 'utf8');
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
      for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) headers[name] = values.map(String);
      // A HEAD answer says the length of the body it leaves out.
      const declared = headers['content-length'];
      const length = request.method === 'HEAD' && typeof declared === 'string' ? declared : String(payload.length);
      response.writeHead(result.statusCode, { ...headers, 'content-length': length });
      response.end(payload);
    } catch {
      // What API Gateway answers when the Lambda itself fails.
      if (!response.headersSent) gatewayError(response, 502, GATEWAY_REFUSALS.unavailable);
      else response.destroy();
    }
  };
  const server: Server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createServer(listener);
  const host = options.host ?? LOOPBACK;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${scheme}://${urlHost(host)}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
};
