// When the library's own setup refuses mail: relays on 127.0.0.1 that deny relaying without a login,
// refuse the password, or stall after the data, driven through the whole pipeline as `npm start` hosts
// it. No notice fails for the setup's refusal; the institution pauses with one probe at a time (one
// login per probe); GET /v1/transport shows it; the first send that works resumes; reports go with the
// null sender; every session ends with QUIT; a stall is told once and its end once.
import type { Notice } from '../../shared/notice/model';
import { outcomeOf, SAME_REFUSAL_LIMIT } from '../../shared/transport/classify';
import { aNoticeInput } from '../support/factories';
import { FAST, fastConfig, type Pipeline, recordingLog, startPipeline } from '../support/pipeline';
import { receivedFor, type Relay, type RelayOptions, startRelay } from '../support/smtp-relay';

const BOUNCE_TO = 'circulation@library.example.org';
/** Retries and probes in seconds; notices live long enough to outlast a pause. */
const SLOW_GIVE_UP = { retry: { ...FAST.retry!, maxAgeSeconds: 120 } };

let pipeline: Pipeline | undefined;
let relay: Relay | undefined;

afterEach(async () => {
  await pipeline?.stop();
  pipeline = undefined;
  await relay?.stop();
  relay = undefined;
});

const smtp = (port: number, auth?: { user: string; pass: string }) => ({ kind: 'smtp' as const, servers: [{ host: '127.0.0.1', port, tls: 'none' as const, ...(auth ? { auth } : {}) }] });
const submitted = async (count: number): Promise<string[]> => {
  const { status, body } = await pipeline!.submit({ notices: Array.from({ length: count }, (_, i) => aNoticeInput({ to: `patron${i}@example.org`, externalId: `night-${i}` })) });
  expect(status).toBe(202);
  return body.notices.map((notice: { id: string }) => notice.id);
};
const states = async (ids: string[]): Promise<Notice[]> => [...(await pipeline!.deps.store.getNotices(ids)).values()];
const transport = async () => (await pipeline!.api('GET', '/v1/transport')).body;
const lines = (log: ReturnType<typeof recordingLog>, message: string) => log.lines.filter((line) => line.message === message);
/**
 * Attempts counted against a notice that the setup's refusals account for: none may be. What the
 * history says was about the notice itself (a timeout on a busy machine, say) is counted as usual.
 */
const countedForTheSetup = (notice: Notice): number =>
  notice.attemptCount - notice.attempts.filter((entry) => ['sent', 'transient', 'permanent'].includes(entry.outcome) && outcomeOf(entry.code).scope !== 'institution').length;
/** Copies beyond the first that a relay received for a notice, each explained by an attempt whose data went unconfirmed. */
const unexplainedCopies = (relayed: Relay, notices: Notice[]): string[] =>
  notices.flatMap((notice) => {
    const copies = relayed.received.filter((message) => message.parsed.messageId === `<${notice.id}@library.example.org>`).length;
    const unconfirmed = notice.attempts.filter((entry) => entry.code === 'EUNCONFIRMED').length;
    return copies - 1 > unconfirmed ? [notice.id] : [];
  });

describe('Sending pauses when the setup refuses mail', () => {
  it('holds every notice while the relay denies relaying without a login, shows the pause, and resumes once it relays', async () => {
    // Prepare: Postfix's answer to a client outside mynetworks that did not log in
    const options: RelayOptions = { refuseRelay: true, auth: { user: 'relay', pass: 'relay-password' } };
    relay = await startRelay(options);
    const log = recordingLog();
    pipeline = await startPipeline(fastConfig(smtp(relay.port), SLOW_GIVE_UP), { log });
    // Act: a night's batch meets the refusal
    const ids = await submitted(8);
    const paused = await pipeline.waitFor(async () => {
      const status = await transport();
      return status.state === 'paused' && status.paused.probes >= 1 ? status : undefined;
    }, 60_000, 'the institution to be paused, and a probe to have failed');
    const whilePaused = await states(ids);
    // ...until the relay's admin lets the library's address relay
    options.refuseRelay = false;
    await pipeline.waitFor(async () => ((await states(ids)).every((notice) => notice.status === 'sent') ? true : undefined), 60_000, 'every notice sent');
    const after = await transport();
    await pipeline.stop();
    pipeline = undefined;
    // Assess: no notice failed, none counted an attempt for the refusal, nothing was reported
    expect(whilePaused.map((notice) => notice.status).filter((status) => status === 'failed' || status === 'discarded')).toEqual([]);
    expect(whilePaused.map(countedForTheSetup)).toEqual(Array(8).fill(0));
    expect(paused).toMatchObject({
      state: 'paused',
      paused: { code: 'ERELAYDENIED', scope: 'institution', reply: '554 5.7.1 <address>: Relay access denied', server: `127.0.0.1:${relay.port}`, nextProbeAt: expect.any(String), since: expect.any(String) },
      pausedUntil: paused.paused.nextProbeAt,
    });
    expect(after).toMatchObject({ state: 'sending', paused: null });
    expect(receivedFor(relay, BOUNCE_TO)).toHaveLength(0);
    expect(new Set(relay.received.map((message) => message.envelope.to[0]))).toEqual(new Set(Array.from({ length: 8 }, (_, i) => `patron${i}@example.org`)));
    // One ERROR line for the change of state, one INFO line for the recovery; each held notice is INFO.
    expect(lines(log, 'transport paused')).toEqual([expect.objectContaining({ level: 'error', attributes: expect.objectContaining({ institution: 'demo', code: 'ERELAYDENIED' }) })]);
    expect(lines(log, 'transport resumed')).toEqual([expect.objectContaining({ level: 'info' })]);
    // No notice was reported as not sent for the setup's refusal (only held).
    expect(lines(log, 'notice not sent').filter((line) => outcomeOf(String(line.attributes?.code)).scope === 'institution')).toEqual([]);
    expect(JSON.stringify(log.lines)).not.toMatch(/patron\d+@example\.org/);
    // Every session ended with QUIT: the relay logged no lost connection.
    expect(relay.count('QUIT')).toBe(relay.connections);
  }, 120_000);

  it.each([
    ['in the queue (the probe within 15 minutes)', 600],
    ['in the store (the probe further off)', 1800],
  ])('sends the notices held %s as soon as a Test Server run shows relaying fixed, without waiting for the probe', async (_, probeSeconds) => {
    // Prepare: relaying is denied, and the first probe is `probeSeconds` away
    const options: RelayOptions = { refuseRelay: true, auth: { user: 'relay', pass: 'relay-password' } };
    relay = await startRelay(options);
    const log = recordingLog();
    const retry = { shortRangeSeconds: 4, shortDelaySeconds: [probeSeconds, probeSeconds] as [number, number], longDelaySeconds: [3600, 3600] as [number, number], maxAgeSeconds: 7200 };
    pipeline = await startPipeline(fastConfig(smtp(relay.port), { retry }), { log });
    const ids = await submitted(4);
    // Every notice met the refusal or was held for the probe (held in the queue, a notice is not written to)
    const heldOrRefused = (id: string) => lines(log, 'notice held').some((line) => line.attributes?.noticeId === id);
    await pipeline.waitFor(async () => ids.every(heldOrRefused), 60_000, 'every notice to be held');
    const { paused } = await transport();
    // Act: the relay's admin lets the library relay, and IT presses the Test Server
    options.refuseRelay = false;
    const test = await pipeline.api('POST', '/v1/transport/test', {});
    const sent = await pipeline.waitFor(async () => {
      const all = await states(ids);
      return all.every((notice) => notice.status === 'sent') ? all : undefined;
    }, 60_000, 'every held notice to be sent');
    // Assess: sent long before the probe they were held for, each once, with no attempt counted for the refusal
    expect(test.body.lastTestResult).toMatchObject({ ok: true });
    expect(paused).toMatchObject({ code: 'ERELAYDENIED' });
    expect(sent.filter((notice) => notice.sentAt! >= paused.nextProbeAt)).toEqual([]);
    expect(sent.map(countedForTheSetup)).toEqual([0, 0, 0, 0]);
    const patrons = relay.received.map((message) => message.envelope.to[0]).filter((to) => to !== BOUNCE_TO && !/^it@/.test(to ?? ''));
    expect(patrons.sort()).toEqual(Array.from({ length: 4 }, (_, i) => `patron${i}@example.org`));
    expect(lines(log, 'held notices rung')).toEqual([expect.objectContaining({ attributes: expect.objectContaining({ institution: 'demo' }) })]);
    expect(lines(log, 'transport resumed')).toHaveLength(1);
  }, 120_000);

  it('makes at most one login attempt per probe while the relay refuses the password, and sends everything once it is right', async () => {
    // Prepare: the relay takes another password than the one configured
    const options: RelayOptions = { auth: { user: 'relay', pass: 'the-new-password' } };
    relay = await startRelay(options);
    const log = recordingLog();
    pipeline = await startPipeline(fastConfig(smtp(relay.port, { user: 'relay', pass: 'the-old-password' }), SLOW_GIVE_UP), { log });
    // Act: twenty notices, and three probes
    const ids = await submitted(20);
    const status = await pipeline.waitFor(async () => {
      const current = await transport();
      return current.paused?.probes >= 3 ? current : undefined;
    }, 90_000, 'three failed probes');
    const logins = relay.count('AUTH');
    const probes = lines(log, 'transport probe').length;
    const whilePaused = await states(ids);
    // ...until the relay's admin sets the password the library has
    options.auth!.pass = 'the-old-password';
    await pipeline.waitFor(async () => ((await states(ids)).every((notice) => notice.status === 'sent') ? true : undefined), 90_000, 'every notice sent');
    const after = await transport();
    // Assess
    const concurrency = FAST.sender!.concurrency!;
    console.log(`refused password: ${logins} logins for 20 notices over ${probes} probes (at most ${concurrency} before the pause was recorded)`);
    // Each sender already sending meets the refusal once as the pause begins; then one login per probe.
    expect(logins).toBeLessThanOrEqual(concurrency + probes);
    expect(probes).toBeGreaterThanOrEqual(3);
    expect(status).toMatchObject({ state: 'paused', paused: { code: 'EAUTH', reply: expect.stringMatching(/^535 /) }, lastAuthFailure: { code: 'EAUTH', recoveredAt: null } });
    expect(whilePaused.filter((notice) => notice.status === 'failed' || countedForTheSetup(notice) > 0)).toEqual([]);
    expect(after).toMatchObject({ state: 'sending', lastAuthFailure: { code: 'EAUTH', recoveredAt: expect.any(String) } });
    expect(lines(log, 'transport paused')).toHaveLength(1);
    expect(lines(log, 'transport resumed')).toHaveLength(1);
    // Each notice once; a second copy only where an attempt's data went unconfirmed (a busy machine's deadline).
    expect(new Set(relay.received.map((message) => message.envelope.to[0])).size).toBe(20);
    expect(unexplainedCopies(relay, await states(ids))).toEqual([]);
  }, 180_000);

  it('records a send whose data went unanswered as outcome unknown, reports it with MAIL FROM:<> as perhaps received, and tells of the stall once', async () => {
    // Prepare: the relay takes the patron's message and never answers; the desk's report goes through
    const headerOf = (raw: Buffer) => raw.toString('latin1').split('\r\n\r\n')[0] ?? '';
    relay = await startRelay({ onData: (raw) => (/^To: patron0@example\.org/m.test(headerOf(raw)) ? 'stall' : undefined) });
    const log = recordingLog();
    const config = fastConfig(smtp(relay.port), { retry: { ...FAST.retry!, maxAgeSeconds: 8 }, alerts: { stalledAfterMinutes: 0.05 } });
    pipeline = await startPipeline(config, { log });
    // Act
    const [id] = await submitted(1);
    expect(id).toBeDefined();
    const discarded = await pipeline.waitForStatus(id!, ['discarded', 'failed', 'sent'], 60_000);
    const stalled = await pipeline.waitFor(async () => lines(log, 'transport stalled')[0], 30_000, 'the stall to be told');
    const report = await pipeline.waitFor(async () => {
      const original = await pipeline!.notice(id!);
      const found = original.reportId ? await pipeline!.deps.store.getNotice(original.reportId) : undefined;
      return found?.status === 'sent' ? found : undefined;
    }, 30_000, 'the report to be sent');
    await pipeline.waitFor(async () => lines(log, 'transport stall over')[0], 30_000, 'the end of the stall to be told');
    // Assess: retried, never failed, and the history says the patron may have it
    expect(discarded.status).toBe('discarded');
    const unknown = discarded.attempts.filter((entry) => entry.code === 'EUNCONFIRMED');
    expect(unknown.length).toBeGreaterThanOrEqual(1);
    expect(unknown.every((entry) => entry.outcome === 'transient' && /may have arrived/.test(entry.message ?? ''))).toBe(true);
    expect(discarded.attemptCount).toBe(unknown.length);
    // The report went with the null envelope sender, and says the patron may have received the notice.
    const [dsn] = receivedFor(relay, BOUNCE_TO);
    expect(report.reportFor).toBe(id);
    expect(dsn?.envelope.from).toBe('');
    expect(relay.commands).toContain('MAIL FROM:<>');
    expect(dsn?.parsed.text).toMatch(/^A notice from Demo Public Library may not have been delivered\./);
    expect(dsn?.parsed.text).toContain('The patron may have received it');
    // The stall was told once, with no reply in the log, and its end once.
    expect(stalled).toMatchObject({ level: 'error', attributes: expect.objectContaining({ institution: 'demo' }) });
    expect(lines(log, 'transport stalled')).toHaveLength(1);
    expect(lines(log, 'transport stall over')).toHaveLength(1);
  }, 120_000);

  it("tells IT of a report that waited behind the paused sending until its own give-up time", async () => {
    // Prepare: relaying is denied for good; notices and reports give up after 4 s
    relay = await startRelay({ refuseRelay: true, auth: { user: 'relay', pass: 'relay-password' } });
    const log = recordingLog();
    pipeline = await startPipeline(fastConfig(smtp(relay.port), { retry: { ...FAST.retry!, maxAgeSeconds: 4 }, alerts: { stalledAfterMinutes: 0.05 } }), { log });
    // Act
    const [id] = await submitted(1);
    const discarded = await pipeline.waitForStatus(id!, ['discarded'], 30_000);
    const unsent = await pipeline.waitFor(async () => lines(log, 'return-to-sender report discarded unsent')[0], 30_000, 'the report to be given up');
    // Assess: the notice was held, not failed; its report could not go either, and IT heard of both
    expect(discarded.attempts.some((entry) => entry.code === 'ERELAYDENIED')).toBe(true);
    expect(countedForTheSetup(discarded)).toBe(0);
    expect(unsent).toMatchObject({ level: 'error', attributes: { noticeId: discarded.reportId, reportFor: id } });
    expect(lines(log, 'transport stalled')).toHaveLength(1);
    expect(lines(log, 'transport paused')).toHaveLength(1);
    expect(relay.received).toHaveLength(0);
  }, 90_000);

  it('pauses on the same permanent refusal for three different patrons in a row, failing only the first two', async () => {
    // Prepare: a relay that refuses every recipient with the same 550, as one that refuses the library would
    let refusing = true;
    const options: RelayOptions = { onRcptTo: (address) => (refusing ? { code: 550, message: `5.7.0 <${address}>: Sender not permitted for this recipient` } : undefined) };
    relay = await startRelay(options);
    const log = recordingLog();
    pipeline = await startPipeline(fastConfig(smtp(relay.port), { ...SLOW_GIVE_UP, sender: { ...FAST.sender!, concurrency: 1, batchSize: 1 } }), { log });
    // Act
    const ids = await submitted(6);
    const status = await pipeline.waitFor(async () => {
      const current = await transport();
      return current.paused?.code === 'EREPEATED' ? current : undefined;
    }, 60_000, 'the safety net to pause the institution');
    refusing = false;
    const final = await pipeline.waitFor(async () => {
      const all = await states(ids);
      return all.every((notice) => notice.status === 'sent' || notice.status === 'failed') ? all : undefined;
    }, 90_000, 'every notice sent or failed');
    // Assess
    expect(status.paused).toMatchObject({ code: 'EREPEATED', reply: expect.stringMatching(/^550 5\.7\.0 <address>: Sender not permitted/) });
    // At most the first two of the run fail (a report refused alike may be one of the three); the rest are sent.
    const failed = final.filter((notice) => notice.status === 'failed');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed.length).toBeLessThanOrEqual(SAME_REFUSAL_LIMIT - 1);
    expect(final.filter((notice) => notice.status === 'sent')).toHaveLength(6 - failed.length);
    expect(lines(log, 'transport paused')[0]?.attributes).toMatchObject({ code: 'EREPEATED' });
  }, 150_000);
});
