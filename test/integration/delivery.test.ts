// Delivery end to end: intake → store → doorbell → sender → real SMTP relays on 127.0.0.1, with
// retries, the sweep and return-to-sender, hosted as `npm start` hosts them, in seconds not hours.
import { freePort, startSes } from '../../infra/local/emulators';
import { recordFeedback, type SesEventRecord } from '../../shared/delivery/feedback';
import type { SenderFunctionDeps, SweepFunctionDeps } from '../../shared/deps';
import type { Doorbell } from '../../shared/lifecycle/plan';
import type { Notice } from '../../shared/notice/model';
import { NOTICE_ID_TAG } from '../../shared/transport/transport';
import { aNoticeInput, BRANCH_KEY, sqsEvent } from '../support/factories';
import { FAST, fastConfig, type Pipeline, startPipeline } from '../support/pipeline';
import { receivedFor, type Relay, startRelay } from '../support/smtp-relay';
import { makePrivateCa } from '../support/tls';

const PATRON = 'patron@example.org';
const BOUNCE_TO = 'circulation@library.example.org';
const smtp = (port: number, extra: Record<string, unknown> = {}) => ({ kind: 'smtp' as const, servers: [{ host: '127.0.0.1', port, tls: 'none' as const, ...extra }] });
const seconds = (from: string | Date, to: string | Date) => (new Date(to).getTime() - new Date(from).getTime()) / 1000;

let pipeline: Pipeline | undefined;
/** Runs of the sweep so far (its reads of the due index), so a test waits for a sweep, not for a time. */
let sweepReads = 0;
const countingSweeps = (deps: SweepFunctionDeps): SweepFunctionDeps => {
  const store = Object.create(deps.store) as SweepFunctionDeps['store'];
  store.findDue = (...args) => ((sweepReads += 1), deps.store.findDue(...args));
  return { ...deps, store };
};
/** Starts the pipeline with the sweep's runs counted. */
const start = (config: Parameters<typeof startPipeline>[0], options: Parameters<typeof startPipeline>[1] = {}) => startPipeline(config, { ...options, decorate: { ...options.decorate, sweep: countingSweeps } });
/** Waits until the sweep has run `runs` more times: whatever it would do again, it has had the chance. */
const sweepsRun = async (runs: number) => {
  const target = sweepReads + runs;
  await pipeline!.waitFor(async () => sweepReads >= target || undefined, 30_000, `${runs} more sweeps`);
};
const relays: Relay[] = [];
const relay = async (...args: Parameters<typeof startRelay>) => {
  const started = await startRelay(...args);
  relays.push(started);
  return started;
};

afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
  await Promise.all(relays.splice(0).map((r) => r.stop()));
});

describe('Delivery through an SMTP relay', () => {
  it('delivers the notice as submitted: From, subject, text and html, on the institution domain', async () => {
    // Prepare
    const mail = await relay();
    pipeline = await start(fastConfig(smtp(mail.port)));
    // Act
    const { body } = await pipeline.submit(aNoticeInput({ text: 'Please return The Hobbit.', html: '<p>Please return <b>The Hobbit</b>.</p>', replyTo: 'desk@library.example.org' }));
    const sent = await pipeline.waitForStatus(body.id, ['sent']);
    // Assess
    expect(mail.received).toHaveLength(1);
    const [message] = mail.received;
    expect(message?.envelope).toEqual({ from: BOUNCE_TO, to: [PATRON] });
    expect(message?.parsed.from?.text).toBe('"Demo Public Library" <notices@library.example.org>');
    expect(message?.parsed.subject).toBe('Overdue: The Hobbit');
    expect(message?.parsed.text?.trim()).toBe('Please return The Hobbit.');
    expect(message?.parsed.html).toBe('<p>Please return <b>The Hobbit</b>.</p>');
    expect(message?.parsed.replyTo?.text).toBe('desk@library.example.org');
    expect(message?.parsed.messageId).toBe(`<${body.id}@library.example.org>`);
    expect(message?.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(sent).toMatchObject({ status: 'sent', messageId: `<${body.id}@library.example.org>`, attemptCount: 1 });
    expect(sent.attempts).toEqual([expect.objectContaining({ outcome: 'sent', transport: 'smtp', server: `127.0.0.1:${mail.port}`, responseCode: 250, message: expect.stringMatching(/^250 /) })]);
  });

  it('retries after 451 twice, with gaps inside the configured range, and delivers once', async () => {
    // Prepare
    const greylisting = await relay({ onRcptTo: (_address, attempt) => (attempt <= 2 ? { code: 451, message: '4.7.1 Greylisted, try again later' } : undefined) });
    // The sender's doorbells, with the delay each retry was given: the range is checked there, where the
    // sender decides it, and not on how soon a busy machine's poller got to it.
    const rung: Doorbell[] = [];
    const recordingDoorbells = (deps: SenderFunctionDeps): SenderFunctionDeps => ({
      ...deps,
      queue: { ring: (doorbells) => (rung.push(...doorbells), deps.queue.ring(doorbells)), ping: () => deps.queue.ping() },
    });
    pipeline = await start(fastConfig(smtp(greylisting.port)), { decorate: { sender: recordingDoorbells } });
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    const sent = await pipeline.waitForStatus(body.id, ['sent']);
    // Assess
    expect(receivedFor(greylisting, PATRON)).toHaveLength(1);
    expect(sent.attempts.map((a) => [a.outcome, a.responseCode])).toEqual([
      ['transient', 451],
      ['transient', 451],
      ['sent', 250],
    ]);
    const [min, max] = FAST.retry?.shortDelaySeconds as [number, number];
    const delays = rung.filter((doorbell) => doorbell.id === body.id).map((doorbell) => doorbell.delaySeconds);
    const times = greylisting.rcptTimes.get(PATRON) as Date[];
    const gaps = times.slice(1).map((time, i) => seconds(times[i] as Date, time));
    console.log(`451 retries (configured ${min}–${max} s): rung with ${delays.join(', ')} s, came ${gaps.map((g) => g.toFixed(2)).join(', ')} s apart`);
    expect(delays).toHaveLength(2);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(min);
      expect(delay).toBeLessThanOrEqual(max);
    }
    // No retry came before its delay; a busy machine may only make it later.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(min - 0.05);
  }, 30_000);

  it('fails a notice refused with 550 at once, sends one return-to-sender report, and never retries', async () => {
    // Prepare
    const refusing = await relay({ onRcptTo: (address) => (address === PATRON ? { code: 550, message: '5.1.1 <patron@example.org>: Recipient address rejected: User unknown' } : undefined) });
    pipeline = await start(fastConfig(smtp(refusing.port)));
    // Act
    const { body } = await pipeline.submit(aNoticeInput({ externalId: 'loan-550' }));
    const failed = await pipeline.waitForStatus(body.id, ['failed']);
    const report = await pipeline.waitFor(async () => {
      const original = await pipeline!.notice(body.id);
      if (!original.reportId) return undefined;
      // The report is created just after the notice fails: until then there is none to read.
      const found = await pipeline!.deps.store.getNotice(original.reportId);
      return found?.status === 'sent' ? found : undefined;
    });
    await sweepsRun(3);
    // Assess
    expect(refusing.rcptAttempts.get(PATRON)).toBe(1);
    expect(failed.attempts).toEqual([expect.objectContaining({ outcome: 'permanent', responseCode: 550, enhancedStatus: '5.1.1' })]);
    expect(report).toMatchObject({ kind: 'report', reportFor: body.id, to: BOUNCE_TO, type: 'return-to-sender' });
    const reports = receivedFor(refusing, BOUNCE_TO);
    expect(reports).toHaveLength(1);
    const dsn = reports[0]!;
    expect(dsn.raw.toString()).toMatch(/Content-Type: multipart\/report; report-type=delivery-status/);
    expect(dsn.raw.toString()).toMatch(/Final-Recipient: rfc822; patron@example\.org\r\nAction: failed\r\nStatus: 5\.1\.1/);
    expect(dsn.parsed.text).toContain('Patron address:  patron@example.org');
    expect(dsn.parsed.text).toContain('Subject:         Overdue: The Hobbit');
    expect(dsn.parsed.text).toContain('Type:            overdue');
    expect(dsn.parsed.text).toContain('External id:     loan-550');
    expect(dsn.parsed.text).toContain('User unknown');
    expect((await pipeline.notice(body.id)).reportPending).toBeUndefined();
  }, 30_000);

  it('retries while the relay is down, discards at the give-up time, reports once, and never tries after', async () => {
    // Prepare: nothing listens on the relay's port yet
    const port = await freePort();
    pipeline = await start(fastConfig(smtp(port)));
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    const discarded = await pipeline.waitForStatus(body.id, ['discarded'], 30_000);
    const mail = await relay({ port });
    // The report is created just after the notice is discarded: until then there is none to read.
    const report = await pipeline.waitFor(async () => {
      const found = await pipeline!.deps.store.getNotice(discarded.reportId as string);
      return found?.status === 'sent' ? found : undefined;
    }, 20_000, 'the report to be sent');
    await sweepsRun(3);
    // Assess: a relay that cannot be reached is the library's setup: sending paused, one probe at a time,
    // and no attempt counted against the notice
    const attempts = discarded.attempts.filter((a) => a.outcome === 'transient');
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(attempts.map((a) => a.code))).toEqual(new Set(['ECONNECTION']));
    expect(discarded.attemptCount).toBe(0);
    const discardEntry = discarded.attempts.find((a) => a.outcome === 'discarded') as Notice['attempts'][number];
    const lateBy = seconds(discarded.giveUpAt, discardEntry.at);
    console.log(`relay down: ${attempts.length} attempts, discarded ${lateBy.toFixed(2)} s after giveUpAt`);
    // Never before its give-up time; how soon after is the sweep's interval on a machine that may be busy.
    expect(lateBy).toBeGreaterThanOrEqual(0);
    // None began after the give-up time (one begun just before it may be recorded after it on a busy machine).
    expect(attempts.every((a) => (a.startedAt ?? a.at) <= discarded.giveUpAt)).toBe(true);
    // Probes back off: each comes no sooner than the short retry delay (1 s) after the one before, the
    // wait doubling up to the long one (3 s).
    const [shortest] = FAST.retry!.shortDelaySeconds!;
    for (let i = 1; i < attempts.length; i++) expect(seconds(attempts[i - 1]!.at, attempts[i]!.startedAt as string)).toBeGreaterThanOrEqual(shortest - 0.05);
    expect(receivedFor(mail, PATRON)).toHaveLength(0);
    expect(mail.rcptAttempts.get(PATRON)).toBeUndefined();
    expect(receivedFor(mail, BOUNCE_TO)).toHaveLength(1);
    // The report blames the library's setup, not the patron's address, and went with the null sender.
    expect(receivedFor(mail, BOUNCE_TO)[0]?.parsed.text).toMatch(/could not be sent before its give-up time because the library's own sending setup refused mail/);
    expect(receivedFor(mail, BOUNCE_TO)[0]?.envelope.from).toBe('');
    expect(report.reportFor).toBe(body.id);
  }, 60_000);

  it('never sends a notice cancelled before its doorbell rings', async () => {
    // Prepare: the first attempt is 3–4 s away
    const mail = await relay();
    pipeline = await start(fastConfig(smtp(mail.port), { intake: { spreadSeconds: 4 } }));
    const sendAt = Date.now() + 3000;
    const { body } = await pipeline.submit(aNoticeInput({ sendAt: new Date(sendAt).toISOString() }));
    // Act
    const cancelled = await pipeline.api('DELETE', `/v1/notices/${body.id}`);
    // Its doorbell rung, at its sendAt and the intake's spread, and taken off the queue by the sender; then
    // three sweeps more.
    await pipeline.waitFor(async () => (pipeline!.functions.poller!.stats().messages >= 1 && (await pipeline!.queue.held()) === 0) || undefined, 30_000, 'the doorbell to be handled');
    await sweepsRun(3);
    // Assess
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    expect((await pipeline.notice(body.id)).status).toBe('cancelled');
    expect(mail.connections).toBe(0);
  }, 60_000);

  it('sends a scheduled notice no earlier than its sendAt', async () => {
    // Prepare
    const mail = await relay();
    pipeline = await start(fastConfig(smtp(mail.port)));
    const sendAt = new Date(Date.now() + 3000);
    // Act
    const { body } = await pipeline.submit(aNoticeInput({ sendAt: sendAt.toISOString() }));
    const sent = await pipeline.waitForStatus(body.id, ['sent'], 15_000);
    // Assess
    expect(new Date(sent.sentAt as string).getTime()).toBeGreaterThanOrEqual(sendAt.getTime());
    expect(mail.received[0]!.at.getTime()).toBeGreaterThanOrEqual(sendAt.getTime());
  }, 30_000);

  it('discards a notice at its expiresAt, before maxAge', async () => {
    // Prepare
    const port = await freePort();
    pipeline = await start(fastConfig(smtp(port)));
    // Act
    const { body } = await pipeline.submit(aNoticeInput({ expiresAt: new Date(Date.now() + 4000).toISOString() }));
    const discarded = await pipeline.waitForStatus(body.id, ['discarded'], 20_000);
    // Assess
    expect(discarded.giveUpAt).toBe(discarded.expiresAt);
    expect(discarded.attempts.at(-1)?.message).toMatch(/^expired at /);
  }, 30_000);


  it('accepts a batch holding a notice already past its expiresAt: that one is discarded and reported, never sent; the rest are delivered', async () => {
    // Prepare
    const smtpRelay = await relay();
    pipeline = await start(fastConfig(smtp(smtpRelay.port)));
    // Act: a hold-pickup notice whose pickup window closed before the ILS's batch ran
    const { status, body } = await pipeline.submit({
      notices: [aNoticeInput({ to: 'stale@example.org', externalId: 'hold-stale', expiresAt: new Date(Date.now() - 60_000).toISOString() }), aNoticeInput({ to: 'fresh@example.org' })],
    });
    const [stale, fresh] = body.notices as Array<{ id: string }>;
    const discarded = await pipeline.waitForStatus(stale!.id, ['discarded'], 20_000);
    await pipeline.waitForStatus(fresh!.id, ['sent'], 20_000);
    // The report is created just after the notice is discarded: until then there is none to read.
    const report = await pipeline.waitFor(async () => {
      const original = await pipeline!.notice(stale!.id);
      const found = original.reportId ? await pipeline!.deps.store.getNotice(original.reportId) : undefined;
      return found?.status === 'sent' ? found : undefined;
    }, 20_000, 'the report to be sent');
    // Assess
    expect(status).toBe(202);
    expect(discarded.attemptCount).toBe(0);
    expect(discarded.attempts.at(-1)?.message).toMatch(/^expired at /);
    expect(report).toMatchObject({ kind: 'report', reportFor: stale!.id, to: BOUNCE_TO });
    expect(receivedFor(smtpRelay, BOUNCE_TO)[0]?.parsed.text).toContain('External id:     hold-stale');
    expect(smtpRelay.rcptAttempts.get('stale@example.org')).toBeUndefined();
    expect(receivedFor(smtpRelay, 'fresh@example.org')).toHaveLength(1);
  }, 30_000);
  it('sends through the backup in the same attempt when the primary refuses connections', async () => {
    // Prepare
    const closed = await freePort();
    const backup = await relay();
    pipeline = await start(fastConfig({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: closed, tls: 'none' }, { host: '127.0.0.1', port: backup.port, tls: 'none' }] }));
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    const sent = await pipeline.waitForStatus(body.id, ['sent']);
    // Assess
    expect(sent.attemptCount).toBe(1);
    expect(sent.attempts).toEqual([expect.objectContaining({ outcome: 'sent', server: `127.0.0.1:${backup.port}` })]);
    expect(backup.received).toHaveLength(1);
  });

  it('never lets the backup send a copy of a message the primary took but did not confirm', async () => {
    // Prepare: the primary reads the whole message, then drops the connection instead of answering
    const primary = await relay({ onData: () => 'drop' });
    const backup = await relay();
    pipeline = await start(fastConfig({ kind: 'smtp', servers: [smtp(primary.port).servers[0]!, smtp(backup.port).servers[0]!] }));
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    const retrying = await pipeline.waitForFirstAttempt(body.id);
    // Assess
    expect(primary.droppedAfterData).toBeGreaterThanOrEqual(1);
    expect(backup.received).toHaveLength(0);
    expect(retrying.attempts[0]).toMatchObject({ outcome: 'transient', server: `127.0.0.1:${primary.port}`, code: 'EUNCONFIRMED', message: expect.stringMatching(/after taking the message's data, before confirming it: the message may have arrived/) });
  }, 30_000);

  it("sends each cc its copy once, however often the patron's own address is deferred", async () => {
    // Prepare: the patron's mailbox is busy twice; the guardian's takes the copy at once
    const busy = await relay({ onRcptTo: (address, attempt) => (address === PATRON && attempt <= 2 ? { code: 451, message: '4.2.1 Mailbox busy, try again later' } : undefined) });
    pipeline = await start(fastConfig(smtp(busy.port)));
    // Act
    const { body } = await pipeline.submit(aNoticeInput({ cc: ['Guardian@Example.org', 'teacher@example.org'] }));
    const sent = await pipeline.waitForStatus(body.id, ['sent']);
    // Assess
    expect(sent.attemptCount).toBe(3);
    expect(receivedFor(busy, PATRON)).toHaveLength(1);
    expect(busy.received.filter((message) => message.envelope.to.some((to) => to.toLowerCase() === 'guardian@example.org'))).toHaveLength(1);
    expect(receivedFor(busy, 'teacher@example.org')).toHaveLength(1);
    // Every copy carries the same message: the patron's came last, alone.
    expect(new Set(busy.received.map((message) => message.parsed.messageId))).toEqual(new Set([`<${body.id}@library.example.org>`]));
    expect(busy.received.at(-1)?.envelope.to).toEqual([PATRON]);
  }, 30_000);

  it("fails a notice whose own address is refused, written in any case, though a cc was accepted, and reports it once", async () => {
    // Prepare
    const strict = await relay({ onRcptTo: (address) => (address.toLowerCase() === PATRON ? { code: 550, message: '5.1.1 User unknown' } : undefined) });
    pipeline = await start(fastConfig(smtp(strict.port)));
    // Act
    const { body } = await pipeline.submit(aNoticeInput({ to: 'Patron@Example.ORG', cc: ['guardian@example.org'] }));
    const failed = await pipeline.waitForStatus(body.id, ['failed', 'sent']);
    const report = await pipeline.waitFor(async () => {
      const notice = await pipeline!.notice(body.id);
      return notice.reportId ? pipeline!.waitForStatus(notice.reportId, ['sent']) : undefined;
    });
    // Assess
    expect(failed).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect(failed.attempts[0]).toMatchObject({ outcome: 'permanent', responseCode: 550, enhancedStatus: '5.1.1' });
    expect(report.to).toBe(BOUNCE_TO);
  }, 30_000);

  it('never sends to a relay without STARTTLS when it is required; sends with allowNonSecure', async () => {
    // Prepare
    const plainOnly = await relay({ starttls: false });
    const config = fastConfig(smtp(plainOnly.port, { tls: 'starttls' }));
    config.institutions[1] = { ...config.institutions[1]!, transport: { kind: 'smtp', servers: [{ host: '127.0.0.1', port: plainOnly.port, tls: 'starttls', allowNonSecure: true }] } };
    pipeline = await start(config);
    // Act
    const strict = await pipeline.submit(aNoticeInput({ to: 'strict@example.org' }));
    const lenient = await pipeline.submit(aNoticeInput({ to: 'lenient@example.org' }), BRANCH_KEY);
    await pipeline.waitForStatus(lenient.body.id, ['sent']);
    // TLS that cannot be made under a strict setting is the setup's: the notice is held, and probes try again.
    const held = await pipeline.waitFor(async () => {
      const found = await pipeline!.notice(strict.body.id);
      return found.attempts.filter((a) => a.outcome === 'transient').length >= 2 ? found : undefined;
    });
    // Assess
    expect(receivedFor(plainOnly, 'strict@example.org')).toHaveLength(0);
    expect(held.attempts.filter((a) => a.outcome === 'transient').every((a) => a.code === 'ETLS')).toBe(true);
    expect(held.attemptCount).toBe(0);
    // STARTTLS was never sent to a relay that does not offer it.
    expect(plainOnly.count('STARTTLS')).toBe(0);
    // The message that went in plain says so in its history.
    const lenientSent = await pipeline.notice(lenient.body.id);
    expect(lenientSent.attempts.at(-1)?.message).toMatch(/sent without TLS under allowNonSecure/);
    expect(receivedFor(plainOnly, 'lenient@example.org')).toHaveLength(1);
    expect(receivedFor(plainOnly, 'lenient@example.org')[0]?.secure).toBe(false);
  }, 30_000);

  it('sends a doorbell delivered twice at once only once', async () => {
    // Prepare: scheduled far ahead, so no doorbell is rung; then made due, and its doorbell delivered by hand
    const mail = await relay({ dataDelayMs: 300 });
    pipeline = await start(fastConfig(smtp(mail.port)));
    const { body } = await pipeline.submit(aNoticeInput({ sendAt: new Date(Date.now() + 300 * 86_400_000).toISOString() }));
    await pipeline.deps.store.apply({ id: body.id, expectVersion: 1, set: { nextAttemptAt: new Date().toISOString() }, remove: [] });
    const sender = pipeline.functions.handlers.sender;
    const event = sqsEvent([JSON.stringify({ id: body.id })]);
    // Act
    const responses = await Promise.all([sender(event), sender(event), sender(event)]);
    // Assess
    expect(responses.map((r) => r.batchItemFailures)).toEqual([[], [], []]);
    expect(mail.received).toHaveLength(1);
    expect((await pipeline.notice(body.id)).attemptCount).toBe(1);
  });

  /** A relay that holds each message until an SES event is recorded on its notice, as SES feedback can land mid-send. */
  const relayReportingMidSend = async (event: Omit<SesEventRecord, 'mail'>) => {
    const reported: Array<Promise<unknown>> = [];
    const mail = await relay({
      onData: async (raw) => {
        const id = /^Message-ID: <([0-9A-Z]{26})@/im.exec(raw.toString('latin1'))?.[1] as string;
        const recording = recordFeedback(pipeline!.deps, { ...event, mail: { messageId: 'ses-1', timestamp: new Date().toISOString(), tags: { [NOTICE_ID_TAG]: [id] } } });
        reported.push(recording);
        // Confirmed only once the event is recorded, however long that takes on a busy machine.
        await recording.catch(() => undefined);
        return undefined;
      },
    });
    return { mail, reported };
  };

  it('ends a notice as SES reported when the report lands mid-send: delivered, one email, one attempt', async () => {
    // Prepare: the delivery is reported while the relay still holds the message, before the sender records it
    const { mail, reported } = await relayReportingMidSend({ eventType: 'Delivery', delivery: { timestamp: new Date().toISOString(), smtpResponse: '250 2.6.0 Message received' } });
    pipeline = await start(fastConfig(smtp(mail.port)));
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    const delivered = await pipeline.waitForStatus(body.id, ['delivered']);
    // Assess
    await expect(Promise.all(reported)).resolves.toEqual(['recorded']);
    expect(delivered).toMatchObject({ attemptCount: 1, sentAt: expect.any(String), events: [expect.objectContaining({ type: 'delivery' })] });
    expect(delivered.attempts.map((entry) => `${entry.outcome}:${entry.status}`)).toEqual(['delivered:sending', 'sent:delivered']);
    await sweepsRun(2); // nothing is left for a sweep to send again
    expect(mail.received).toHaveLength(1);
  });

  it('records the outcome when feedback lands on the notice mid-send, and sends it once', async () => {
    // Prepare: an event that changes no status
    const { mail, reported } = await relayReportingMidSend({ eventType: 'DeliveryDelay' });
    pipeline = await start(fastConfig(smtp(mail.port)));
    // Act
    const { body } = await pipeline.submit(aNoticeInput());
    const sent = await pipeline.waitForStatus(body.id, ['sent']);
    // Assess: both writes kept, one email, one attempt
    await expect(Promise.all(reported)).resolves.toEqual(['recorded']);
    expect(sent.events).toEqual([expect.objectContaining({ type: 'deliveryDelay' })]);
    expect(sent.attempts).toEqual([expect.objectContaining({ outcome: 'sent' })]);
    expect(sent.attemptCount).toBe(1);
    await sweepsRun(2); // nothing is left `sending` for a sweep to release
    expect(mail.received).toHaveLength(1);
  });

  it('delivers a batch of 500, each notice exactly once', async () => {
    // Prepare
    const mail = await relay();
    // Notices live long enough for a busy machine to deliver them all, and leases outlast its stalls: this is
    // about once each, not about give-up or a lease lapsing while the outcome is recorded.
    pipeline = await start(fastConfig(smtp(mail.port), { sender: { ...FAST.sender, concurrency: 4, attemptTimeoutSeconds: 5, leaseSeconds: 15 }, retry: { ...FAST.retry!, maxAgeSeconds: 600 } }));
    const notices = Array.from({ length: 500 }, (_, i) => aNoticeInput({ to: `patron${i}@example.org`, externalId: `bulk-${i}` }));
    const started = Date.now();
    // Act
    const { status, body } = await pipeline.submit({ notices });
    await pipeline.waitFor(async () => mail.received.length >= 500 || undefined, 200_000, '500 messages at the relay');
    const elapsed = (Date.now() - started) / 1000;
    // The last outcomes are recorded a moment after the relay has the messages (longer on a busy machine).
    const ids = body.notices.map((n: { id: string }) => n.id);
    const { store } = pipeline.deps;
    const states = await pipeline.waitFor(
      async () => {
        const found = await store.getNotices(ids);
        return [...found.values()].every((n) => n.status !== 'sending' && n.status !== 'queued') ? found : undefined;
      },
      30_000,
      'every outcome recorded',
    );
    await sweepsRun(2); // nothing sent again after
    // Assess
    expect(status).toBe(202);
    const messageIds = mail.received.map((r) => r.parsed.messageId);
    expect(new Set(messageIds).size).toBe(500);
    expect(messageIds).toHaveLength(500);
    expect(states.size).toBe(500);
    expect([...states.values()].filter((n) => n.status !== 'sent' || n.attemptCount !== 1).map((n) => `${n.id} ${n.status} ${n.attemptCount}`)).toEqual([]);
    console.log(`batch of 500: delivered in ${elapsed.toFixed(1)} s, ${(500 / elapsed).toFixed(0)} notices/s (npx jest test/integration/delivery.test.ts -t "batch of 500")`);
  }, 260_000);

  it('delivers over STARTTLS and implicit TLS to relays with a private CA when given it, and never without', async () => {
    // Prepare
    const ca = makePrivateCa();
    const starttls = await relay({ tls: ca.issueServerCertificate() });
    const implicit = await relay({ secure: true, tls: ca.issueServerCertificate() });
    const config = fastConfig(smtp(starttls.port, { tls: 'starttls', ca: ca.cert }));
    const variants = [
      ['implicit-ca', { host: '127.0.0.1', port: implicit.port, tls: 'implicit' as const, ca: ca.cert, allowNonSecure: false }],
      ['starttls-no-ca', { host: '127.0.0.1', port: starttls.port, tls: 'starttls' as const, allowNonSecure: false }],
      ['implicit-no-ca', { host: '127.0.0.1', port: implicit.port, tls: 'implicit' as const, allowNonSecure: false }],
    ] as const;
    for (const [id, server] of variants) {
      config.institutions.push({ ...config.institutions[0]!, id, apiKeys: [`${id}-key-0123456789`], transport: { kind: 'smtp', servers: [server] } });
    }
    pipeline = await start(config);
    // Act
    const submitted = { demo: await pipeline.submit(aNoticeInput({ to: 'starttls@example.org' })) } as Record<string, { body: { id: string } }>;
    for (const [id] of variants) submitted[id] = await pipeline.submit(aNoticeInput({ to: `${id}@example.org` }), `${id}-key-0123456789`);
    await pipeline.waitForStatus(submitted.demo!.body.id, ['sent']);
    await pipeline.waitForStatus(submitted['implicit-ca']!.body.id, ['sent']);
    const refused = await Promise.all(
      ['starttls-no-ca', 'implicit-no-ca'].map((id) => pipeline!.waitFor(async () => {
        const found = await pipeline!.notice(submitted[id]!.body.id);
        return found.attempts.filter((a) => a.outcome === 'transient').length >= 2 ? found : undefined;
      })),
    );
    // Assess
    expect(receivedFor(starttls, 'starttls@example.org').map((r) => r.secure)).toEqual([true]);
    expect(receivedFor(implicit, 'implicit-ca@example.org').map((r) => r.secure)).toEqual([true]);
    expect(receivedFor(starttls, 'starttls-no-ca@example.org')).toHaveLength(0);
    expect(receivedFor(implicit, 'implicit-no-ca@example.org')).toHaveLength(0);
    for (const notice of refused) expect(notice.attempts.filter((a) => a.outcome === 'transient').every((a) => a.code === 'ETLS' && /certificate/i.test(a.message ?? ''))).toBe(true);
  }, 30_000);
});

describe('Delivery through SES', () => {
  it('sends through the SES emulator and records the SES message id', async () => {
    // Prepare
    const mail = await relay();
    const ses = await startSes({ forwardTo: { host: '127.0.0.1', port: mail.port } });
    pipeline = await start(fastConfig(smtp(mail.port)), { sesEndpoint: ses.url });
    // Act
    const { body } = await pipeline.submit(aNoticeInput({ to: 'ses-patron@example.org', subject: 'Fine due' }), BRANCH_KEY);
    const sent = await pipeline.waitForStatus(body.id, ['sent']);
    // The emulator forwards to the sink after it answers; let that finish before the sink stops.
    await pipeline.waitFor(async () => mail.received.length > 0 || undefined);
    const store = (await (await fetch(`${ses.url}/store`)).json()) as { emails: Array<{ messageId: string; subject: string; destination: { to: string[] } }> };
    await ses.stop();
    // Assess
    const email = store.emails.find((e) => e.messageId === sent.messageId);
    expect(sent.messageId).toMatch(/^ses-/);
    expect(sent.attempts).toEqual([expect.objectContaining({ outcome: 'sent', transport: 'ses', server: 'ses' })]);
    expect(email).toMatchObject({ subject: 'Fine due', destination: { to: ['ses-patron@example.org'] } });
  });
});

