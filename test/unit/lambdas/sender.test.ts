import type { BatchLookupRequest } from '../../../shared/store/batch-lookups';
import type { Context } from 'aws-lambda';
import { makeSenderHandler } from '../../../lambdas/sender/sender-handler';
import { StaleNoticeError } from '../../../shared/errors';
import type { Transition } from '../../../shared/lifecycle/plan';
import type { Notice } from '../../../shared/notice/model';
import { TRANSPORT_PAUSED_LOG, TRANSPORT_RESUMED_LOG } from '../../../shared/log';
import { classifySesFailure } from '../../../shared/transport/classify';
import type { Pause } from '../../../shared/transport/records';
import { fakeDeps } from '../../support/fake-deps';
import { aConfig, aNotice, sqsEvent } from '../../support/factories';
import { serviceFault } from '../../support/fakes';
import { recordingLog } from '../../support/pipeline';

const NOW = new Date('2030-01-01T00:01:00Z');
const ids = ['01JB0000000000000000000001', '01JB0000000000000000000002', '01JB0000000000000000000003'];
// Branch sends through SES; the in-memory transports stand in for it: no network in unit tests.
const stored = (id: string, overrides: Partial<Notice> = {}) => aNotice({ id, institutionId: 'branch', ...overrides });
const content = { to: 'patron@example.org', subject: 'Overdue', text: 'Please return it.' };
const doorbell = (id: string) => JSON.stringify({ id });
const sesRefusal = (name: string, message: string) => classifySesFailure(Object.assign(new Error(message), { name, $fault: 'client' }));
const transitions = () => fakes.store.argsOf('apply').map(([transition]) => transition as Transition);

let fakes: ReturnType<typeof fakeDeps>;
let log: ReturnType<typeof recordingLog>;
let handler: ReturnType<typeof makeSenderHandler>;

beforeEach(() => {
  log = recordingLog();
  fakes = fakeDeps({ now: NOW, log, random: () => 0 });
  fakes.store.seed(...ids.map((id) => ({ notice: stored(id), content })));
  handler = makeSenderHandler(fakes.deps);
});

describe('Handler: sender', () => {
  it('reads the batch in one request, then leases, sends and records each notice', async () => {
    // Act
    const response = await handler(sqsEvent(ids.map(doorbell)));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(fakes.store.argsOf('getForDelivery')).toEqual([[ids]]);
    expect(fakes.transports.sent.map((sent) => sent.message.noticeId)).toEqual(ids);
    expect(fakes.transports.sent[0]?.message).toMatchObject({ from: 'Branch Library <notices@branch.example.edu>', envelope: { to: ['patron@example.org'] } });
    // Lease and record: two compare-and-sets per notice, each on the version read before.
    expect(transitions().map((t) => [t.id, t.expectVersion, t.set.status])).toEqual(ids.flatMap((id) => [[id, 1, 'sending'], [id, 2, 'sent']]));
    expect(ids.map((id) => fakes.store.peek(id)?.status)).toEqual(['sent', 'sent', 'sent']);
    expect(log.lines.filter((l) => l.message === 'notice sent')).toHaveLength(3);
  });

  it('sends nothing for a notice another sender leased first', async () => {
    // Prepare: the lease's compare-and-set finds another version, as the store reports it
    fakes.store.failNext('apply', new StaleNoticeError('changed'));
    // Act
    const response = await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(fakes.transports.sent).toEqual([]);
  });

  it('skips a doorbell for a notice already sent', async () => {
    // Prepare
    fakes.store.seed({ notice: stored(ids[0]!, { status: 'sent' }), content });
    // Act
    const response = await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(fakes.store.timesCalled('apply')).toBe(0);
    expect(fakes.transports.sent).toEqual([]);
  });

  it('rings again, with the rest as delay, a doorbell that came early', async () => {
    // Prepare
    fakes.store.seed({ notice: stored(ids[0]!, { nextAttemptAt: '2030-01-01T00:05:00.000Z' }), content });
    // Act
    await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(fakes.transports.sent).toEqual([]);
    expect(fakes.queue.rung).toEqual([{ id: ids[0], delaySeconds: 240 }]);
  });

  it('drops a message that is not a doorbell instead of retrying it forever', async () => {
    const response = await handler(sqsEvent(['{"hello":"world"}', 'not json']));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(log.lines.filter((l) => l.message === 'message that is not a doorbell dropped')).toHaveLength(2);
  });

  it('hands back only the doorbell whose outcome could not be recorded', async () => {
    // Prepare: the store fails when recording the second notice's outcome
    fakes.store.failAlways('apply', serviceFault('store down'), (t: Transition) => t.id === ids[1] && t.set.status !== 'sending');
    const event = sqsEvent(ids.map(doorbell));
    // Act
    const response = await handler(event);
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]!.messageId }]);
    expect(log.lines.find((l) => l.message === 'delivery not recorded')?.attributes).toEqual({ noticeId: ids[1], code: 'InternalServerError' });
    expect([fakes.store.peek(ids[0]!)?.status, fakes.store.peek(ids[2]!)?.status]).toEqual(['sent', 'sent']);
  });

  it('hands doorbells back rather than start an attempt it has no time to finish', async () => {
    // Prepare
    const context = { getRemainingTimeInMillis: () => 5_000 } as Context;
    const event = sqsEvent(ids.map(doorbell));
    // Act
    const run = handler(event, context);
    // Assess: every record failed, so Powertools fails the whole batch for SQS to deliver again
    await expect(run).rejects.toThrow();
    expect(fakes.transports.sent).toEqual([]);
  });

  it('records a permanent refusal and creates the report once', async () => {
    // Prepare
    fakes.transports.refuseWith(sesRefusal('MessageRejected', 'Message length is more than 10485760 bytes long.'));
    // Act
    const response = await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(fakes.store.peek(ids[0]!)).toMatchObject({ status: 'failed', attemptCount: 1 });
    const reports = fakes.store.all().filter((notice) => notice.kind === 'report');
    expect(reports).toEqual([expect.objectContaining({ reportFor: ids[0], to: 'it@branch.example.edu', status: 'queued' })]);
    expect(fakes.store.timesCalled('createReport')).toBe(1);
    expect(fakes.queue.rung).toEqual([expect.objectContaining({ id: reports[0]?.id })]);
    expect(log.lines.find((l) => l.message === 'notice not sent')?.attributes).toMatchObject({ noticeId: ids[0], code: 'ESESREJECTED', scope: 'message', verdict: 'permanent' });
  });

  it('never logs a patron address or a message body', async () => {
    // Prepare
    fakes.transports.refuseWith(sesRefusal('InvalidParameterValue', 'Illegal address: patron@example.org'));
    // Act
    await handler(sqsEvent(ids.map(doorbell)));
    // Assess
    const logged = JSON.stringify(log.lines);
    expect(fakes.transports.sent).toHaveLength(3);
    expect(logged).not.toContain('patron@example.org');
    expect(logged).not.toContain('Please return it.');
  });

  it("reads the institution's transport record and the batch's suppression entries together, once per batch", async () => {
    // Act
    await handler(sqsEvent(ids.map(doorbell)));
    // Assess: one lookup, nothing read on its own
    const lookups = fakes.batchLookups.argsOf('lookup').map(([request]) => request as BatchLookupRequest);
    expect(lookups).toHaveLength(1);
    expect(new Set(lookups[0]?.institutionIds)).toEqual(new Set(['branch']));
    expect(lookups[0]?.addresses).toHaveLength(ids.length);
    expect(fakes.transportState.timesCalled('read')).toBe(0);
    expect(fakes.transportState.timesCalled('write')).toBe(0);
  });

  const throttled: Pause = { since: NOW.toISOString(), code: 'ETHROTTLED', reply: 'Throttling: Maximum sending rate exceeded.', server: 'ses', nextProbeAt: new Date(NOW.getTime() + 600_000).toISOString(), backoffSeconds: 600, probes: 0 };

  it('holds notices back while the institution is paused, without counting an attempt or writing anything', async () => {
    // Prepare
    fakes.transportState.seed('branch', { pause: throttled });
    // Act
    const response = await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess: left as it was, its doorbell rung again for the probe's time
    expect(response).toEqual({ batchItemFailures: [] });
    expect(fakes.transports.sent).toEqual([]);
    expect(fakes.store.timesCalled('apply')).toBe(0);
    expect(fakes.queue.rung).toEqual([{ id: ids[0], delaySeconds: 600 }]);
  });

  it('defers a notice in the store when the pause outlasts the queue, and still when an event moved its version on meanwhile', async () => {
    // Prepare: the next probe is an hour away; SES appends a delay event to the leased notice just before the deferral is recorded
    fakes.transportState.seed('branch', { pause: { ...throttled, code: 'EQUOTA', nextProbeAt: new Date(NOW.getTime() + 3_600_000).toISOString() } });
    const sesEvent = { at: '2030-01-01T00:00:59.000Z', type: 'deliveryDelay' as const };
    fakes.store.interceptNext('apply', () => undefined); // the lease
    fakes.store.interceptNext('apply', (t: Transition) => {
      const leased = fakes.store.peek(t.id) as Notice;
      fakes.store.seed({ notice: { ...leased, version: leased.version + 1, events: [sesEvent] } });
    });
    // Act
    await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess: the second deferral was made on the notice as it now is, with one entry in its history and no attempt counted
    const deferrals = transitions().filter((t) => t.set.status === 'queued');
    expect(deferrals.map((t) => t.expectVersion)).toEqual([2, 3]);
    expect(deferrals.every((t) => !t.countAttempt)).toBe(true);
    expect(fakes.store.peek(ids[0]!)).toMatchObject({ status: 'queued', version: 4, attemptCount: 0, events: [sesEvent] });
    expect(fakes.store.peek(ids[0]!)?.attempts).toEqual([
      expect.objectContaining({ outcome: 'deferred', code: 'EQUOTA', message: "held while the institution's sending is paused (EQUOTA: a daily sending quota ran out)" }),
    ]);
    expect(log.lines.find((line) => line.message === 'notice held')).toBeDefined();
    expect(fakes.transports.sent).toEqual([]);
  });

  it("pauses the institution when its own setup refuses a notice, holding that notice and the rest of the batch without counting an attempt", async () => {
    // Prepare: SES is still verifying the domain
    fakes.transports.refuseWith(sesRefusal('MessageRejected', 'Email address is not verified. The following identities failed the check in region US-EAST-1: notices@branch.example.edu'));
    // Act
    const response = await handler(sqsEvent(ids.map(doorbell)));
    // Assess: one message went to SES; nothing failed, nothing was reported, and one ERROR line tells of the pause
    expect(response).toEqual({ batchItemFailures: [] });
    expect(fakes.transports.sent).toHaveLength(1);
    expect(ids.map((id) => fakes.store.peek(id)).map((notice) => [notice?.status === 'failed', notice?.attemptCount])).toEqual([
      [false, 0],
      [false, 0],
      [false, 0],
    ]);
    expect(fakes.store.timesCalled('createReport')).toBe(0);
    expect(fakes.transportState.peek('branch').pause).toMatchObject({ code: 'ESESNOTVERIFIED', server: 'ses', since: NOW.toISOString(), probes: 0 });
    expect(fakes.transportState.peek('branch').pause?.reply).not.toContain('notices@branch.example.edu');
    expect(log.lines.filter((line) => line.message === TRANSPORT_PAUSED_LOG)).toEqual([expect.objectContaining({ level: 'error', attributes: expect.objectContaining({ institution: 'branch', code: 'ESESNOTVERIFIED' }) })]);
  });

  it('sends the first notice due after the probe time as the probe, and resumes sending when it goes', async () => {
    // Prepare: the probe's time has come
    fakes.transportState.seed('branch', { pause: { ...throttled, code: 'ESESNOTVERIFIED', nextProbeAt: NOW.toISOString() }, firstUnsentAt: throttled.since });
    // Act
    await handler(sqsEvent(ids.map(doorbell)));
    // Assess
    expect(fakes.transports.sent).toHaveLength(3);
    expect(fakes.transportState.peek('branch')).toEqual({ version: expect.any(Number) });
    expect(log.lines.filter((line) => line.message === TRANSPORT_RESUMED_LOG)).toHaveLength(1);
  });

  it('sends a notice held for the pause at its doorbell once the pause is over, though the probe time it was given is later', async () => {
    // Prepare: held for a probe an hour away; the Test Server has ended the pause since
    const heldEntry = { at: '2030-01-01T00:00:30.000Z', outcome: 'deferred' as const, status: 'queued' as const, code: 'ESESNOTVERIFIED', message: "held while the institution's sending is paused" };
    fakes.store.seed({ notice: stored(ids[0]!, { nextAttemptAt: '2030-01-01T01:00:00.000Z', sweepAt: '2030-01-01T00:50:00.000Z', attempts: [heldEntry] }), content });
    // Act
    await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(fakes.transports.sent.map((sent) => sent.message.noticeId)).toEqual([ids[0]]);
    expect(fakes.store.peek(ids[0]!)).toMatchObject({ status: 'sent', attemptCount: 1 });
  });

  it('leaves a notice held for the pause to its time while the pause lasts', async () => {
    // Prepare
    const heldEntry = { at: '2030-01-01T00:00:30.000Z', outcome: 'deferred' as const, status: 'queued' as const, code: 'ESESNOTVERIFIED', message: "held while the institution's sending is paused" };
    fakes.transportState.seed('branch', { pause: { ...throttled, code: 'ESESNOTVERIFIED', nextProbeAt: '2030-01-01T00:05:00.000Z' } });
    fakes.store.seed({ notice: stored(ids[0]!, { nextAttemptAt: '2030-01-01T00:05:00.000Z', attempts: [heldEntry] }), content });
    // Act
    await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(fakes.transports.sent).toEqual([]);
    expect(fakes.store.timesCalled('apply')).toBe(0);
    expect(fakes.queue.rung).toEqual([{ id: ids[0], delaySeconds: 240 }]);
  });

  it('says nothing was discarded when another actor ended the notice first', async () => {
    // Prepare: past its give-up time, and the sweep discards it between our read and our write
    fakes.store.seed({ notice: stored(ids[0]!, { giveUpAt: '2030-01-01T00:00:00.000Z' }), content });
    fakes.store.failNext('apply', new StaleNoticeError('changed'));
    // Act
    await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(log.lines.find((line) => line.message === 'notice discarded')).toBeUndefined();
    expect(fakes.store.timesCalled('createReport')).toBe(0);
  });

  it('sends nothing when the store was so slow that the lease would end before the attempt did', async () => {
    // Prepare: taking the lease takes 88 of its 90 seconds, leaving less than the margin kept to record the outcome
    fakes.store.interceptNext('apply', () => fakes.clock.advanceSeconds(88));
    // Act
    const response = await handler(sqsEvent([doorbell(ids[0]!)]));
    // Assess: retried later like any transient failure, never sent past the lease
    expect(response).toEqual({ batchItemFailures: [] });
    expect(fakes.transports.sent).toEqual([]);
    expect(transitions()[1]?.set.status).toBe('retrying');
    expect(log.lines.find((l) => l.message === 'notice not sent')?.attributes).toMatchObject({ noticeId: ids[0], code: 'ELEASE' });
  });

  it('waits out a rate-limit slot that comes within a second, and sends in it, never before', async () => {
    // Prepare: 30 a minute; the next slot is 400 ms away
    const config = aConfig();
    config.institutions[1] = { ...config.institutions[1]!, transport: { kind: 'ses', existingIdentity: false, maxPerMinute: 30 } };
    fakes = fakeDeps({ config, now: NOW, log, random: () => 0 });
    fakes.store.seed({ notice: stored(ids[0]!), content });
    fakes.transportState.seed('branch', { nextSlotAt: NOW.getTime() + 400, day: '2030-01-01', dayCount: 1 });
    const sentAt: Date[] = [];
    fakes.transports.answerWith(() => (sentAt.push(fakes.clock.now()), {}));
    // Act
    await makeSenderHandler(fakes.deps)(sqsEvent([doorbell(ids[0]!)]));
    // Assess
    expect(fakes.slept).toEqual([400]);
    expect(sentAt).toEqual([new Date(NOW.getTime() + 400)]);
  });
});
