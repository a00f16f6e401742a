// HTTP edges of the console: reading API Gateway proxy events (cookies, forms, where the console lives),
// and the responses every page carries: the security headers, the session cookie, redirects.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { SESSION_SECONDS } from '../../shared/console/sessions';
import { TooLargeError, UnsupportedMediaTypeError } from '../../shared/errors';
import { header } from '../intake/http';

/** The console's paths; API Gateway (infra/cdk/constructs/api.ts) sends everything under it to this function. */
export const CONSOLE_PATH = '/console';

/** Whether API Gateway hands `path` to the console function. */
export const isConsolePath = (path: string): boolean => path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);

/** A form is a few fields; a bigger body is not one of ours. */
const MAX_FORM_BYTES = 16 * 1024;

/**
 * Whether the browser reached the console over HTTPS. API Gateway says so in X-Forwarded-Proto (and only
 * ever answers HTTPS); the local gateway sets it from how it listens, whatever the client sent.
 */
export const isHttps = (event: APIGatewayProxyEvent): boolean => header(event, 'x-forwarded-proto') === 'https';

/**
 * The console's own URL path as the browser sees it: on AWS the stage comes first (`/prod/console`),
 * locally nothing. Links and redirects are built on it, so they work behind either.
 */
export const consoleBase = (event: APIGatewayProxyEvent): string => {
  const requested = event.requestContext?.path ?? event.path;
  const stage = requested.endsWith(event.path) ? requested.slice(0, requested.length - event.path.length) : '';
  return `${/^(\/[A-Za-z0-9._~-]+)*$/.test(stage) ? stage : ''}${CONSOLE_PATH}`;
};

/** Cookie names: `__Host-` over HTTPS, which browsers accept only Secure, for path /, from this host alone. */
export const cookieNames = (https: boolean) =>
  https ? { session: '__Host-notice-relay-console', signIn: '__Host-notice-relay-sign-in' } : { session: 'notice-relay-console', signIn: 'notice-relay-sign-in' };

/** The value of a cookie the browser sent. */
export const cookieOf = (event: APIGatewayProxyEvent, name: string): string | undefined => {
  const headers = [...(event.multiValueHeaders?.cookie ?? event.multiValueHeaders?.Cookie ?? []), header(event, 'cookie') ?? ''];
  for (const line of headers) {
    for (const part of line.split(';')) {
      const separator = part.indexOf('=');
      if (separator > 0 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
    }
  }
  return undefined;
};

/** A Set-Cookie line for the console: HttpOnly, SameSite=Strict, Secure over HTTPS, for `maxAgeSeconds` (0 removes it). */
export const setCookie = (event: APIGatewayProxyEvent, name: string, value: string, maxAgeSeconds: number): string => {
  const https = isHttps(event);
  const path = https ? '/' : consoleBase(event);
  return `${name}=${value}; Path=${path}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${https ? '; Secure' : ''}`;
};

export const sessionCookie = (event: APIGatewayProxyEvent, token: string): string => setCookie(event, cookieNames(isHttps(event)).session, token, SESSION_SECONDS);
export const clearSessionCookie = (event: APIGatewayProxyEvent): string => setCookie(event, cookieNames(isHttps(event)).session, '', 0);

/** A form the browser posted (application/x-www-form-urlencoded): each field once, or a list when repeated. */
export const formOf = (event: APIGatewayProxyEvent): Record<string, string | string[]> => {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_FORM_BYTES) throw new TooLargeError(`A form is at most ${MAX_FORM_BYTES} bytes.`, 'request_too_large');
  const mediaType = header(event, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (bytes.length > 0 && mediaType !== 'application/x-www-form-urlencoded') throw new UnsupportedMediaTypeError('The console takes forms (application/x-www-form-urlencoded).');
  const fields: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(bytes.toString('utf8'))) {
    const seen = fields[name];
    fields[name] = seen === undefined ? value : [seen, value].flat();
  }
  return fields;
};

/** One field of a form, the first when repeated. */
export const field = (form: Record<string, string | string[]>, name: string): string | undefined => {
  const value = form[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Whether a state-changing request came from a page of this console: a browser names the page's origin
 * in Origin on every POST; one from another site is refused even before its CSRF token is looked at.
 */
export const sameOrigin = (event: APIGatewayProxyEvent): boolean => {
  const origin = header(event, 'origin');
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === (header(event, 'host') ?? '');
  } catch {
    return false;
  }
};

/**
 * What every page answers with: a strict Content-Security-Policy (the console's own script and style
 * only, no inline code, no framing), no sniffing, no referrer beyond the console itself (a notice's URL
 * names its id; `no-referrer` would also make browsers send `Origin: null` on the console's own forms),
 * HSTS over HTTPS, and no caching of pages that show patron data.
 */
export const securityHeaders = (https: boolean): Record<string, string> => ({
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  ...(https ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
});

export interface PageOptions {
  headers?: Record<string, string>;
  cookies?: string[];
}

const withCookies = (result: APIGatewayProxyResult, cookies: string[] = []): APIGatewayProxyResult => (cookies.length ? { ...result, multiValueHeaders: { 'set-cookie': cookies } } : result);

/** An HTML page. */
export const htmlPage = (event: APIGatewayProxyEvent, statusCode: number, body: string, options: PageOptions = {}): APIGatewayProxyResult =>
  withCookies(
    { statusCode, headers: { ...securityHeaders(isHttps(event)), 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...options.headers }, body },
    options.cookies,
  );

/** 303 See Other: after a form, the browser GETs the page that shows its result (a reload repeats nothing). */
export const redirect = (event: APIGatewayProxyEvent, location: string, options: PageOptions = {}): APIGatewayProxyResult =>
  withCookies({ statusCode: 303, headers: { ...securityHeaders(isHttps(event)), location, 'cache-control': 'no-store', ...options.headers }, body: '' }, options.cookies);

/** A download (the CSV export). */
export const download = (event: APIGatewayProxyEvent, body: string, contentType: string, filename: string): APIGatewayProxyResult => ({
  statusCode: 200,
  headers: { ...securityHeaders(isHttps(event)), 'content-type': contentType, 'content-disposition': `attachment; filename="${filename}"`, 'cache-control': 'no-store' },
  body,
});

/** Where the browser connected from: API Gateway's view of it, which a client cannot set. */
export const sourceOf = (event: APIGatewayProxyEvent): string => event.requestContext?.identity?.sourceIp ?? 'unknown';
