// The transport desk (README: Using the API): GET /v1/transport (the configuration, the last test, the last
// refused login; never a secret) and the Test Server of POST /v1/transport/test and `notice-relay
// send-test`, which sends a test email now through each configured server in turn.
import { addSeconds, type Clock } from '../clock';
import { domainOf } from '../config/domains';
import type { InstitutionConfig } from '../config/schema';
import { DeliveryError, errorCode } from '../errors';
import type { IdSource } from '../ids';
import { AUTH_FAILURE_LOG, type Log } from '../log';
import { buildMail, type OutgoingMessage } from '../mime/compose';
import { openTransport, type TransportDeps } from './factory';
import type { TransportRecord, TransportRecords, TransportTest, TransportTestResult } from './records';
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
  lastAuthFailure: (NonNullable<TransportRecord['lastAuthFailure']> & { recoveredAt: string | null }) | null;
  pausedUntil: string | null;
  pauseReason: string | null;
}

export interface DeskDeps {
  transports: TransportDeps;
  /** Where results are kept; absent for `notice-relay send-test` run on its own. */
  records?: TransportRecords;
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

/** The configuration as GET /v1/transport shows it. */
export const describeTransport = (institution: InstitutionConfig, record: TransportRecord, now: Date): TransportStatus => {
  const transport = institution.transport;
  // A pause that has ended is history, not the state of the transport.
  const paused = record.pausedUntil !== undefined && new Date(record.pausedUntil) > now;
  const common = {
    from: institution.from.text,
    maxPerMinute: transport.maxPerMinute ?? null,
    maxPerDay: transport.maxPerDay ?? null,
    lastTestedAt: record.lastTestedAt ?? null,
    lastTestResult: record.lastTestResult ?? null,
    lastAuthFailure: record.lastAuthFailure ? { ...record.lastAuthFailure, recoveredAt: record.authRecoveredAt ?? null } : null,
    pausedUntil: paused ? (record.pausedUntil ?? null) : null,
    pauseReason: paused ? (record.pauseReason ?? null) : null,
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
const testMessage = async (institution: InstitutionConfig, to: string, via: string, id: string, now: Date): Promise<OutgoingMessage> => {
  const messageId = `<test-${id}@${domainOf(institution.from.address)}>`;
  const raw = await buildMail({
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
  /** One server (or SES) on its own, so the result says which answered and what. */
  const tryOne = async (institution: InstitutionConfig, to: string, serverIndex: number | undefined, via: string, seconds: number, tries: ServerTry[]) => {
    const now = deps.clock.now();
    let transport;
    try {
      transport = await openTransport(institution, deps.transports, serverIndex);
      await transport.send(await testMessage(institution, to, via, deps.newId(), now), { deadline: addSeconds(now, seconds), tries });
    } catch (error) {
      const failure = error instanceof DeliveryError ? error : undefined;
      // A failure before any server was tried (a missing secret, a refused OAuth2 grant) is this server's too.
      if (!tries.some((attempt) => attempt.server.startsWith(via))) tries.push({ server: via, ok: false, reply: oneLine(failure?.message ?? errorCode(error)) });
      if (failure?.facts.authFailure) {
        const server = failure.facts.server ?? via;
        // The same line the sender writes, so the alarm on refused logins hears of it from a test too.
        deps.log.error(AUTH_FAILURE_LOG, { institution: institution.id, server, code: failure.facts.code, responseCode: failure.facts.responseCode, test: true });
        await deps.records?.recordAuthFailure(institution.id, { at: now.toISOString(), server, code: failure.facts.code, message: failure.message.slice(0, 300) });
      }
    } finally {
      await transport?.close();
    }
  };

  return {
    status: async (institution) => describeTransport(institution, deps.records ? await deps.records.get(institution.id) : {}, deps.clock.now()),

    test: async (institution, to) => {
      const recipient = to ?? institution.testTo ?? institution.bounceTo;
      const tries: ServerTry[] = [];
      const transport = institution.transport;
      const targets = transport.kind === 'ses' ? [{ index: undefined, via: 'ses' }] : transport.servers.map((server, index) => ({ index, via: `${server.host}:${server.port}` }));
      const endsAt = deps.budgetSeconds === undefined ? undefined : addSeconds(deps.clock.now(), deps.budgetSeconds).getTime();
      for (const [position, target] of targets.entries()) {
        // Each server left gets an even share of what remains of the budget, and never more than an attempt.
        const share = endsAt === undefined ? Infinity : (endsAt - deps.clock.now().getTime()) / 1000 / (targets.length - position);
        const seconds = Math.min(deps.attemptTimeoutSeconds, share);
        if (seconds < MIN_SERVER_SECONDS) tries.push({ server: target.via, ok: false, reply: 'not tried: the test ran out of time on the servers before it' });
        else await tryOne(institution, recipient, target.index, target.via, seconds, tries);
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
      if (deps.records) await deps.records.recordTest(institution.id, test);
      deps.log.info('transport tested', { institution: institution.id, ok: result.ok, servers: tries.map((t) => `${t.server}:${t.ok ? 'ok' : 'failed'}`) });
      return test;
    },
  };
};
