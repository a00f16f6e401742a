// The transport desk (docs/integrator/api.md): GET /v1/transport (the configuration, whether sending is paused
// and why, a stall, the last test, the last refused login; never a secret) and the Test Server of
// POST /v1/transport/test and `notice-relay send-test`, which sends a test email now through each
// configured server in turn. A test that the first server (or SES) takes shows the setup works: a pause
// ends at once.
import { addSeconds, type Clock } from '../clock';
import { domainOf } from '../config/domains';
import type { InstitutionConfig } from '../config/schema';
import { DeliveryError, errorCode } from '../errors';
import type { IdSource } from '../ids';
import { AUTH_FAILURE_LOG, type Log, TRANSPORT_RESUMED_LOG } from '../log';
import type { OutgoingMessage } from '../mime/compose';
import { withoutAddresses } from '../privacy';
import { outcomeOf } from './classify';
import { openTransport, type TransportDeps } from './factory';
import { afterTestSent } from './pause';
import { type AuthFailure, changeState, type TransportChange, type TransportState, type TransportStates, type TransportTest, type TransportTestResult } from './records';
import type { ServerTry } from './transport';

export type { ServerTestResult, TransportTest, TransportTestResult } from './records';

export interface TransportDesk {
  status(institution: InstitutionConfig): Promise<TransportStatus>;
  test(institution: InstitutionConfig, to?: string): Promise<TransportTest>;
}

/** GET /v1/transport: what IT needs to see, and nothing secret. */
export interface TransportStatus {
  kind: 'smtp' | 'ses';
  from: string;
  servers?: Array<{ host: string; port: number; tls: string; allowNonSecure: boolean; privateCa: boolean; auth: 'none' | 'password' | 'oauth2'; user?: string; oauth2Provider?: string }>;
  dkim?: { selector: string; domain: string } | null;
  mailFromDomain?: string;
  configurationSet?: string | null;
  maxPerMinute: number | null;
  maxPerDay: number | null;
  lastTestedAt: string | null;
  lastTestResult: TransportTestResult | null;
  lastAuthFailure: (AuthFailure & { recoveredAt: string | null }) | null;
  /** `paused` while the institution's own setup refuses mail (docs/it/mail-systems.md, When sending pauses). */
  state: 'sending' | 'paused';
  paused: { since: string; code: string; scope: 'institution'; summary: string; reply: string; server: string; nextProbeAt: string; probes: number } | null;
  /** Since when notices have waited with none getting through, once that has lasted alerts.stalledAfterMinutes. */
  stalledSince: string | null;
  /** The next probe while paused (the name GET /v1/transport has always used for a pause's end). */
  pausedUntil: string | null;
  pauseReason: string | null;
}

export interface DeskDeps {
  transports: TransportDeps;
  /** Where results are kept; absent for `notice-relay send-test` run on its own. */
  records?: TransportStates;
  /** Told when a result could not be recorded, which is then not thrown (`notice-relay send-test` says so and goes on). */
  recordFailed?: (error: unknown) => void;
  clock: Clock;
  newId: IdSource;
  log: Log;
  attemptTimeoutSeconds: number;
  /**
   * How long one test may take in all, when it answers an HTTP request (API Gateway gives up after 29 s):
   * the servers share it, so the result is recorded and returned before the caller is cut off.
   */
  budgetSeconds?: number;
}

/** A server is not tried with less time than this left: it could not even greet. */
const MIN_SERVER_SECONDS = 2;

/** The configuration and the state as GET /v1/transport shows them. */
export const describeTransport = (institution: InstitutionConfig, record: Omit<TransportState, 'version'>): TransportStatus => {
  const transport = institution.transport;
  const { pause } = record;
  const common = {
    from: institution.from.text,
    maxPerMinute: transport.maxPerMinute ?? null,
    maxPerDay: transport.maxPerDay ?? null,
    lastTestedAt: record.lastTestedAt ?? null,
    lastTestResult: record.lastTestResult ?? null,
    lastAuthFailure: record.lastAuthFailure ? { ...record.lastAuthFailure, recoveredAt: record.authRecoveredAt ?? null } : null,
    state: pause ? ('paused' as const) : ('sending' as const),
    paused: pause
      ? { since: pause.since, code: pause.code, scope: 'institution' as const, summary: outcomeOf(pause.code).summary, reply: pause.reply, server: pause.server, nextProbeAt: pause.nextProbeAt, probes: pause.probes }
      : null,
    stalledSince: record.stall?.since ?? null,
    pausedUntil: pause?.nextProbeAt ?? null,
    pauseReason: pause ? `${pause.code} from ${pause.server}` : null,
  };
  if (transport.kind === 'ses') {
    return { kind: 'ses', mailFromDomain: transport.mailFromDomain ?? `bounce.${domainOf(institution.from.address)}`, configurationSet: transport.configurationSet ?? null, ...common };
  }
  return {
    kind: 'smtp',
    servers: transport.servers.map((server) => ({
      host: server.host,
      port: server.port,
      tls: server.tls,
      allowNonSecure: server.allowNonSecure,
      privateCa: server.ca !== undefined,
      auth: !server.auth ? 'none' : 'type' in server.auth ? 'oauth2' : 'password',
      ...(server.auth ? { user: server.auth.user } : {}),
      ...(server.auth && 'type' in server.auth ? { oauth2Provider: server.auth.provider } : {}),
    })),
    dkim: transport.dkim ? { selector: transport.dkim.selector, domain: domainOf(institution.from.address) } : null,
    ...common,
  };
};

/** The test email: plain text that says what it proves. */
/**
 * The MIME composer (Nodemailer's, with its table of media types) is loaded for the first test, not at a
 * cold start: the console and the transport function mostly answer reads. A `require`, as the SMTP stack's
 * (./factory.ts).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadComposer = (): typeof import('../mime/compose') => require('../mime/compose');

const testMessage = async (institution: InstitutionConfig, to: string, via: string, id: string, now: Date): Promise<OutgoingMessage> => {
  const messageId = `<test-${id}@${domainOf(institution.from.address)}>`;
  const raw = await loadComposer().buildMail({
    from: { name: institution.from.name ?? '', address: institution.from.address },
    to,
    subject: `Notice Relay test: ${institution.name ?? institution.id} through ${via}`,
    text: [
      `This is a test email from Notice Relay for ${institution.name ?? institution.id}.`,
      '',
      `It was sent at ${now.toISOString()} through ${via}, as notices are.`,
      'If it reached this mailbox, and not its spam folder, notices sent this way arrive too.',
      '',
    ].join('\n'),
    messageId,
    date: now,
    headers: { 'Auto-Submitted': 'auto-generated' },
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return { noticeId: `test-${id}`, messageId, from: institution.from.text, envelope: { from: institution.bounceTo, to: [to] }, raw };
};

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

export const makeDesk = (deps: DeskDeps): TransportDesk => {
  /**
   * One server (or SES) on its own, so the result says which answered and what. Returns whether it took
   * the message, and the refused login it met, if any.
   */
  const tryOne = async (institution: InstitutionConfig, to: string, serverIndex: number | undefined, via: string, seconds: number, tries: ServerTry[]): Promise<{ sent: boolean; refusedLogin?: AuthFailure }> => {
    const now = deps.clock.now();
    let transport;
    try {
      transport = await openTransport(institution, deps.transports, serverIndex);
      await transport.send(await testMessage(institution, to, via, deps.newId(), now), { deadline: addSeconds(now, seconds), tries });
      return { sent: true };
    } catch (error) {
      const failure = error instanceof DeliveryError ? error : undefined;
      // A failure before any server was tried (a missing secret, a refused OAuth2 grant) is this server's too.
      if (!tries.some((attempt) => attempt.server.startsWith(via))) tries.push({ server: via, ok: false, reply: oneLine(failure?.message ?? errorCode(error)) });
      if (!failure || !outcomeOf(failure.facts.code).login) return { sent: false };
      const server = failure.facts.server ?? via;
      // Its own line for the alarm on refused logins, which hears of it from a test too.
      deps.log.error(AUTH_FAILURE_LOG, { institution: institution.id, server, code: failure.facts.code, responseCode: failure.facts.responseCode, test: true });
      return { sent: false, refusedLogin: { at: now.toISOString(), server, code: failure.facts.code, message: withoutAddresses(failure.message) } };
    } finally {
      await transport?.close();
    }
  };

  /** Keeps the result, and what it shows of the setup: a refused login, or a send that ends a pause. */
  const record = async (institution: InstitutionConfig, test: TransportTest, firstSent: boolean, refusedLogin: AuthFailure | undefined): Promise<void> => {
    if (!deps.records) return;
    const now = deps.clock.now();
    try {
      const { result: event } = await changeState(deps.records, institution.id, (state) => {
        const verdict = firstSent ? afterTestSent(state, now) : {};
        const set: NonNullable<TransportChange['set']> = { ...verdict.change?.set, lastTestedAt: test.lastTestedAt, lastTestResult: test.lastTestResult };
        const remove = [...(verdict.change?.remove ?? [])];
        if (refusedLogin) {
          // A backup's refused login outweighs the primary's success: IT must still fix it.
          delete set.authRecoveredAt;
          set.lastAuthFailure = refusedLogin;
          if (state.authRecoveredAt) remove.push('authRecoveredAt');
        }
        const change: TransportChange = { set, remove };
        return { change, result: verdict.event ? { pausedSince: state.pause?.since, code: state.pause?.code } : undefined };
      });
      if (event) deps.log.info(TRANSPORT_RESUMED_LOG, { institution: institution.id, code: event.code, pausedSince: event.pausedSince, by: 'test' });
    } catch (error) {
      if (!deps.recordFailed) throw error;
      deps.recordFailed(error);
    }
  };

  return {
    status: async (institution) => describeTransport(institution, deps.records ? await deps.records.read(institution.id) : {}),

    test: async (institution, to) => {
      const recipient = to ?? institution.testTo ?? institution.bounceTo;
      const tries: ServerTry[] = [];
      const transport = institution.transport;
      const targets = transport.kind === 'ses' ? [{ index: undefined, via: 'ses' }] : transport.servers.map((server, index) => ({ index, via: `${server.host}:${server.port}` }));
      const endsAt = deps.budgetSeconds === undefined ? undefined : addSeconds(deps.clock.now(), deps.budgetSeconds).getTime();
      const outcomes: Array<{ sent: boolean; refusedLogin?: AuthFailure }> = [];
      for (const [position, target] of targets.entries()) {
        // Each server left gets an even share of what remains of the budget, and never more than an attempt.
        const share = endsAt === undefined ? Infinity : (endsAt - deps.clock.now().getTime()) / 1000 / (targets.length - position);
        const seconds = Math.min(deps.attemptTimeoutSeconds, share);
        if (seconds < MIN_SERVER_SECONDS) {
          tries.push({ server: target.via, ok: false, reply: 'not tried: the test ran out of time on the servers before it' });
          outcomes.push({ sent: false });
        } else outcomes.push(await tryOne(institution, recipient, target.index, target.via, seconds, tries));
      }
      // Every target leaves a try, so there is always one to name.
      const named = (tries.find((attempt) => attempt.ok) ?? tries.at(-1)) as ServerTry;
      const result: TransportTestResult = {
        ok: named.ok,
        server: named.server.replace(/ \((TLS|plain)\)$/, ''),
        reply: named.reply,
        servers: tries,
        to: recipient,
      };
      const test: TransportTest = { lastTestedAt: deps.clock.now().toISOString(), lastTestResult: result };
      // Notices go to the primary first: only its taking the message shows that they would go too.
      await record(institution, test, outcomes[0]?.sent ?? false, outcomes.find((outcome) => outcome.refusedLogin)?.refusedLogin);
      deps.log.info('transport tested', { institution: institution.id, ok: result.ok, servers: tries.map((t) => `${t.server}:${t.ok ? 'ok' : 'failed'}`) });
      return test;
    },
  };
};
