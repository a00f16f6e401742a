// API Gateway proxy event → the staff console (shared/console) → HTML page. Reads the session and the
// form, checks CSRF on every state-changing request, calls one domain function, renders its page.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Config, InstitutionConfig } from '../../shared/config/schema';
import { type ActivityDeps, type ActivityQuery, noticePage, parseActivityQuery, searchNotices } from '../../shared/console/activity';
import { type AttentionDeps, attentionCsv, needsAttention } from '../../shared/console/attention';
import { type DnsDeps, dnsPage } from '../../shared/console/dns';
import type { OverviewReader } from '../../shared/console/overview';
import { type ConsoleSession, closeSession, sameToken, sessionFor } from '../../shared/console/sessions';
import { emailSettings, type Deployment } from '../../shared/console/settings';
import { signIn, type SignInDeps } from '../../shared/console/sign-in';
import { sendAgain, type SendAgainDeps } from '../../shared/console/send-again';
import { domainOf } from '../../shared/config/domains';
import { errorCode, NoticeRelayError, type RateLimitedError, ValidationError } from '../../shared/errors';
import { cancelNotice } from '../../shared/intake/manage-notices';
import { emailAddress } from '../../shared/validation';
import { ASSETS } from './assets';
import {
  clearSessionCookie,
  consoleBase,
  cookieNames,
  cookieOf,
  download,
  field,
  formOf,
  htmlPage,
  isConsolePath,
  isHttps,
  redirect,
  sameOrigin,
  securityHeaders,
  sessionCookie,
  setCookie,
  sourceOf,
} from './http';
import { activityPage } from './views/activity';
import { attentionPage } from './views/attention';
import { dnsPageView } from './views/dns';
import { errorPage } from './views/error';
import type { PageContext, Section } from './views/layout';
import { noticePageView } from './views/notice';
import { overviewPage } from './views/overview';
import { settingsPage } from './views/settings';
import { signInPage } from './views/sign-in';

export type ConsoleHandlerDeps = SignInDeps &
  SendAgainDeps &
  AttentionDeps &
  ActivityDeps & {
    config: Config;
    institutions: ReadonlyMap<string, InstitutionConfig>;
    overview: OverviewReader;
    dns: Omit<DnsDeps, 'config' | 'log'>;
    deployment: Deployment;
  };

/** A request of a signed-in member of staff. */
interface Signed {
  event: APIGatewayProxyEvent;
  ctx: PageContext;
  session: ConsoleSession;
  institution: InstitutionConfig;
  form: Record<string, string | string[]>;
}

type SignedRoute = (deps: ConsoleHandlerDeps, request: Signed, params: string[]) => Promise<APIGatewayProxyResult>;

/** What a redirect's `done=` says on the page it lands on: fixed words, never data, in the URL. */
const DONE: Record<string, string> = {
  cancelled: 'The notice is cancelled: it will not be sent.',
  resent: 'Sent again: this is the new notice, on its way. The original links to it.',
  'resent-listed': 'Sent again as a new notice; the original links to it.',
  tested: 'The Test Server finished: Last Test Results show what happened.',
  'signed-out': 'You are signed out.',
  expired: 'Your session has ended; sign in again.',
};

const messageOf = (event: APIGatewayProxyEvent): PageContext['message'] => {
  const done = event.queryStringParameters?.done;
  return done && DONE[done] ? { kind: done === 'expired' ? 'info' : 'ok', text: DONE[done] } : undefined;
};

const page = (section: Section | undefined, request: Signed): PageContext => ({ ...request.ctx, current: section, message: request.ctx.message });

const query = (event: APIGatewayProxyEvent, name: string): string | undefined => event.queryStringParameters?.[name] || undefined;

/** An address staff typed (send again to a corrected address, the Test Server's recipient), or ValidationError. */
const typedAddress = (form: Record<string, string | string[]>, name: string): string | undefined => {
  const value = field(form, name)?.trim();
  if (!value) return undefined;
  const parsed = emailAddress.safeParse(value);
  if (!parsed.success) throw new ValidationError('That email address is not valid.', [{ path: name, message: 'is not a valid email address' }], 'invalid_address');
  return parsed.data;
};

const SIGNED_ROUTES: Array<{ pattern: RegExp; methods: Record<string, SignedRoute> }> = [
  { pattern: /^$/, methods: { GET: async (_deps, { event, ctx }) => redirect(event, `${ctx.base}/activity`) } },
  {
    pattern: /^\/activity$/,
    methods: {
      GET: async (deps, request) => {
        const found = await searchNotices(deps, request.institution, {});
        return htmlPage(request.event, 200, activityPage(page('activity', request), { query: {}, notices: found.notices, cursor: found.cursor, searched: false }));
      },
      // A search is posted: the patron's address it may hold stays out of URLs, browser history and logs.
      POST: async (deps, request) => {
        let searched: ActivityQuery = {};
        try {
          searched = parseActivityQuery(request.form);
          const found = await searchNotices(deps, request.institution, searched);
          return htmlPage(request.event, 200, activityPage(page('activity', request), { query: searched, notices: found.notices, cursor: found.cursor, searched: true }));
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          return htmlPage(request.event, 400, activityPage(page('activity', request), { query: searched, notices: [], errors: error.details, searched: true }));
        }
      },
    },
  },
  {
    pattern: /^\/notices\/([0-9A-Za-z]{1,40})$/,
    methods: { GET: async (deps, request, [id]) => htmlPage(request.event, 200, noticePageView(page('activity', request), await noticePage(deps, request.institution, id as string))) },
  },
  {
    pattern: /^\/notices\/([0-9A-Za-z]{1,40})\/cancel$/,
    methods: {
      POST: async (deps, request, [id]) => {
        const cancelled = await cancelNotice(deps, request.institution, id as string, 'console');
        deps.log.info('notice cancelled from the console', { noticeId: cancelled.id, institution: request.institution.id });
        return redirect(request.event, `${request.ctx.base}/notices/${cancelled.id}?done=cancelled`);
      },
    },
  },
  {
    pattern: /^\/notices\/([0-9A-Za-z]{1,40})\/send-again$/,
    methods: {
      POST: async (deps, request, [id]) => {
        const newId = await sendAgain(deps, request.institution, id as string, { to: typedAddress(request.form, 'to') });
        return field(request.form, 'back') === 'attention'
          ? redirect(request.event, `${request.ctx.base}/attention?done=resent-listed`)
          : redirect(request.event, `${request.ctx.base}/notices/${newId}?done=resent`);
      },
    },
  },
  {
    pattern: /^\/attention$/,
    methods: {
      GET: async (deps, request) =>
        htmlPage(request.event, 200, attentionPage(page('attention', request), await needsAttention(deps, request.institution, { problems: query(request.event, 'problems'), waiting: query(request.event, 'waiting') }))),
    },
  },
  {
    pattern: /^\/attention\.csv$/,
    methods: {
      GET: async (deps, request) => {
        const csv = await attentionCsv(deps, request.institution);
        return download(request.event, csv, 'text/csv; charset=utf-8', `needs-attention-${request.institution.id}-${deps.clock.now().toISOString().slice(0, 10)}.csv`);
      },
    },
  },
  { pattern: /^\/overview$/, methods: { GET: async (deps, request) => htmlPage(request.event, 200, overviewPage(page('overview', request), await deps.overview.read(request.institution))) } },
  {
    pattern: /^\/settings$/,
    methods: { GET: async (deps, request) => htmlPage(request.event, 200, settingsPage(page('settings', request), await emailSettings(deps, request.institution))) },
  },
  {
    pattern: /^\/settings\/test$/,
    methods: {
      POST: async (deps, request) => {
        let to: string | undefined;
        try {
          to = typedAddress(request.form, 'to');
        } catch (error) {
          const ctx = { ...page('settings', request), message: { kind: 'error' as const, text: (error as Error).message } };
          return htmlPage(request.event, 400, settingsPage(ctx, await emailSettings(deps, request.institution), field(request.form, 'to')));
        }
        await deps.desk.test(request.institution, to);
        return redirect(request.event, `${request.ctx.base}/settings?done=tested#test-server`);
      },
    },
  },
  {
    pattern: /^\/dns$/,
    methods: {
      GET: async (deps, request) =>
        htmlPage(request.event, 200, dnsPageView(page('dns', request), await dnsPage({ ...deps.dns, config: deps.config, log: deps.log }, request.institution), domainOf(request.institution.from.address))),
    },
  },
  {
    pattern: /^\/sign-out$/,
    methods: {
      POST: async (deps, request) => {
        await closeSession(deps, cookieOf(request.event, cookieNames(isHttps(request.event)).session));
        deps.log.info('console sign-out', { institution: request.institution.id });
        return redirect(request.event, `${request.ctx.base}/sign-in?done=signed-out`, { cookies: [clearSessionCookie(request.event)] });
      },
    },
  },
];

/** The sign-in form's token (double-submit: the same value in a cookie and in the form), new unless the browser has one. */
const signInToken = (deps: ConsoleHandlerDeps, event: APIGatewayProxyEvent): { token: string; cookie: string } => {
  const name = cookieNames(isHttps(event)).signIn;
  const existing = cookieOf(event, name);
  const token = existing && /^[A-Za-z0-9_-]{22,128}$/.test(existing) ? existing : deps.newToken();
  return { token, cookie: setCookie(event, name, token, 3600) };
};

const showSignIn = (deps: ConsoleHandlerDeps, event: APIGatewayProxyEvent, statusCode: number, ctx: PageContext, institutionId?: string, headers: Record<string, string> = {}) => {
  const { token, cookie } = signInToken(deps, event);
  return htmlPage(event, statusCode, signInPage(ctx, { institutionId, signInToken: token, configured: deps.staffKeys.anyConfigured }), { cookies: [cookie], headers });
};

const signInRoute = async (deps: ConsoleHandlerDeps, event: APIGatewayProxyEvent, ctx: PageContext): Promise<APIGatewayProxyResult> => {
  if (event.httpMethod === 'GET' || event.httpMethod === 'HEAD') return showSignIn(deps, event, 200, { ...ctx, message: messageOf(event) }, query(event, 'institution'));
  if (event.httpMethod !== 'POST') return methodNotAllowed(event, ctx, ['GET', 'POST']);
  const form = formOf(event);
  const institutionId = field(form, 'institution')?.trim() ?? '';
  const expected = cookieOf(event, cookieNames(isHttps(event)).signIn);
  if (!sameOrigin(event) || !expected || !sameToken(expected, field(form, 'signin'))) {
    return showSignIn(deps, event, 403, { ...ctx, message: { kind: 'error', text: 'The sign-in form had expired or did not come from this console. Sign in again.' } }, institutionId);
  }
  try {
    const { token } = await signIn(deps, { institutionId, key: field(form, 'key') ?? '', source: sourceOf(event) });
    // A session this browser had before ends: one browser, one session, never one chosen by someone else.
    await closeSession(deps, cookieOf(event, cookieNames(isHttps(event)).session));
    return redirect(event, `${ctx.base}/activity`, { cookies: [sessionCookie(event, token), setCookie(event, cookieNames(isHttps(event)).signIn, '', 0)] });
  } catch (error) {
    const name = error instanceof NoticeRelayError ? error.name : undefined;
    if (name === 'UnauthorizedError') return showSignIn(deps, event, 401, { ...ctx, message: { kind: 'error', text: (error as Error).message } }, institutionId);
    if (name === 'RateLimitedError') {
      const limited = error as RateLimitedError;
      return showSignIn(deps, event, 429, { ...ctx, message: { kind: 'error', text: limited.message } }, institutionId, { 'retry-after': String(limited.retryAfterSeconds) });
    }
    throw error;
  }
};

const methodNotAllowed = (event: APIGatewayProxyEvent, ctx: PageContext, allow: string[]) =>
  htmlPage(event, 405, errorPage(ctx, 'Not allowed', `This page takes ${allow.join(' and ')}.`), { headers: { allow: allow.join(', ') } });

/** The one map from errors to pages: known errors say what they are; anything else is a 500 with a fixed message. */
const errorResponse = (deps: ConsoleHandlerDeps, event: APIGatewayProxyEvent, ctx: PageContext, error: unknown): APIGatewayProxyResult => {
  const name = error instanceof NoticeRelayError ? error.name : undefined;
  const message = (error as Error)?.message ?? '';
  switch (name) {
    case 'ValidationError':
      return htmlPage(event, 400, errorPage(ctx, 'That did not work', `${message} ${(error as ValidationError).details.map((d) => `${d.path}: ${d.message}`).join('; ')}`));
    case 'NotFoundError':
      return htmlPage(event, 404, errorPage(ctx, 'Not found', 'There is no such notice for this library.'));
    case 'ConflictError':
      return htmlPage(event, 409, errorPage(ctx, 'That cannot be done now', message));
    case 'TooLargeError':
      return htmlPage(event, 413, errorPage(ctx, 'Too large', message));
    case 'UnsupportedMediaTypeError':
      return htmlPage(event, 415, errorPage(ctx, 'Not a form', message));
    case 'UnavailableError':
      return htmlPage(event, 503, errorPage(ctx, 'Try again', 'The store did not answer. Try again in a moment.'), { headers: { 'retry-after': '5' } });
    default:
      deps.log.error('console request failed', { requestId: event.requestContext?.requestId, code: errorCode(error) });
      return htmlPage(event, 500, errorPage(ctx, 'Something went wrong', 'The console could not answer. Try again; if it keeps happening, tell IT the time it happened.'));
  }
};

const pathOf = (event: APIGatewayProxyEvent): string => (event.path.length > 1 ? event.path.replace(/\/+$/, '') : event.path);

const withoutBody = (result: APIGatewayProxyResult): APIGatewayProxyResult => ({ ...result, headers: { ...result.headers, 'content-length': String(Buffer.byteLength(result.body)) }, body: '' });

const serve = async (deps: ConsoleHandlerDeps, event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const path = pathOf(event);
  const base = consoleBase(event);
  const ctx: PageContext = { base };
  if (!isConsolePath(path)) return htmlPage(event, 404, errorPage(ctx, 'Not found', 'There is no such page.'));
  const rest = path.slice('/console'.length);
  const method = event.httpMethod.toUpperCase() === 'HEAD' ? 'GET' : event.httpMethod.toUpperCase();

  const asset = /^\/assets\/([A-Za-z0-9.]+)$/.exec(rest);
  if (asset) {
    const found = ASSETS.get(asset[1] as string);
    if (!found) return htmlPage(event, 404, errorPage(ctx, 'Not found', 'There is no such file.'));
    if (method !== 'GET') return methodNotAllowed(event, ctx, ['GET']);
    return { statusCode: 200, headers: { ...securityHeaders(isHttps(event)), 'content-type': found.contentType, 'cache-control': 'public, max-age=31536000, immutable' }, body: found.body };
  }
  if (rest === '/sign-in') return signInRoute(deps, { ...event, httpMethod: method }, ctx);

  const route = SIGNED_ROUTES.map((candidate) => ({ candidate, match: candidate.pattern.exec(rest) })).find(({ match }) => match);
  if (!route?.match) return htmlPage(event, 404, errorPage(ctx, 'Not found', 'There is no such page.'));
  const handle = route.candidate.methods[method];
  if (!handle) return methodNotAllowed(event, ctx, Object.keys(route.candidate.methods));

  const token = cookieOf(event, cookieNames(isHttps(event)).session);
  const session = await sessionFor(deps, token);
  const institution = session ? deps.institutions.get(session.institutionId) : undefined;
  if (!session || !institution) {
    // Whatever it asked for, it must sign in first; a cookie that names no session is cleared.
    return redirect(event, `${base}/sign-in${token ? '?done=expired' : ''}`, token ? { cookies: [clearSessionCookie(event)] } : {});
  }
  const form = method === 'POST' ? formOf(event) : {};
  const signed: Signed = { event, session, institution, form, ctx: { base, institution, csrfToken: session.csrfToken, message: messageOf(event) } };
  // Every state-changing request carries the session's CSRF token and comes from this console's pages.
  if (method === 'POST' && (!sameOrigin(event) || !sameToken(session.csrfToken, field(form, 'csrf')))) {
    deps.log.warn('console request refused: CSRF token missing or wrong', { institution: institution.id });
    return htmlPage(event, 403, errorPage(signed.ctx, 'Refused', 'This form did not come from this console, or it is older than your session. Reload the page and try again.'));
  }
  try {
    return await handle(deps, signed, route.match.slice(1));
  } catch (error) {
    return errorResponse(deps, event, signed.ctx, error);
  }
};

/**
 * Makes the console handler from its dependencies.
 * @example
 * export const handler = makeConsoleHandler(createConsoleDeps(process.env));
 */
export const makeConsoleHandler =
  (deps: ConsoleHandlerDeps) =>
  async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    let result: APIGatewayProxyResult;
    try {
      result = await serve(deps, event);
    } catch (error) {
      result = errorResponse(deps, event, { base: consoleBase(event) }, error);
    }
    const requestId = event.requestContext?.requestId;
    const withId = requestId ? { ...result, headers: { ...result.headers, 'x-request-id': requestId } } : result;
    return event.httpMethod.toUpperCase() === 'HEAD' ? withoutBody(withId) : withId;
  };
