import type { EventBridgeEvent } from 'aws-lambda';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeFeedbackHandler } from '../../../lambdas/feedback/feedback-handler';
import type { SesEventRecord } from '../../../shared/delivery/feedback';
import type { Transition } from '../../../shared/lifecycle/plan';
import type { Notice } from '../../../shared/notice/model';
import { fakeDeps } from '../../support/fake-deps';
import { aNotice } from '../../support/factories';

const NOW = new Date('2030-01-01T11:00:00Z');
const ID = '01JB0000000000000000000001';

/** An SES event as EventBridge delivers it (samples in the format of the SES Developer Guide). */
const sesEvent = (name: string) => JSON.parse(readFileSync(join(__dirname, '../../support/fixtures/ses-events', `${name}.json`), 'utf8')) as EventBridgeEvent<string, SesEventRecord>;

const sent = (overrides: Partial<Notice> = {}) => aNotice({ id: ID, status: 'sent', version: 4, messageId: 'ses-id', sentAt: '2030-01-01T09:00:00.000Z', ...overrides });

let fakes: ReturnType<typeof fakeDeps>;
let handler: ReturnType<typeof makeFeedbackHandler>;
const seed = (notice: Notice) => fakes.store.seed({ notice, content: { to: notice.to, subject: notice.subject, text: 'Please return it.' } });

/** The first transition the handler asked the store for (the feedback's), with what it sets, appends and removes. */
const feedbackUpdate = () => {
  const transition = fakes.store.argsOf('apply')[0]?.[0] as Transition | undefined;
  if (!transition) return undefined;
  return { set: transition.set, events: transition.appendEvents, history: transition.append, input: transition };
};

beforeEach(() => {
  fakes = fakeDeps({ now: NOW });
  handler = makeFeedbackHandler(fakes.deps);
  seed(sent());
});

describe('Handler: feedback', () => {
  it('marks a sent notice delivered and records the event', async () => {
    // Act
    const result = await handler(sesEvent('delivery'));
    // Assess
    expect(result).toEqual({ outcome: 'recorded' });
    expect(fakes.store.argsOf('getNotice')).toEqual([[ID]]);
    expect(feedbackUpdate()?.set).toMatchObject({ status: 'delivered' });
    expect(feedbackUpdate()?.events).toEqual([{ at: '2030-01-01T09:00:02.125Z', type: 'delivery', detail: '250 2.6.0 Message received' }]);
    expect(feedbackUpdate()?.input.expectVersion).toBe(4);
    expect(fakes.store.peek(ID)).toMatchObject({ status: 'delivered', version: 5 });
  });

  it('marks a hard bounce bounced and sends the return-to-sender report', async () => {
    // Act
    await handler(sesEvent('bounce-permanent'));
    // Assess
    const update = feedbackUpdate();
    expect(update?.set).toMatchObject({ status: 'bounced', reportPending: true });
    expect(update?.events).toEqual([{ at: '2030-01-01T09:00:03.669Z', type: 'bounce', detail: 'Permanent/General: smtp; 550 5.1.1 user unknown' }]);
    expect(update?.history).toEqual([
      { at: '2030-01-01T09:00:03.669Z', outcome: 'bounced', status: 'bounced', transport: 'ses', server: 'ses', enhancedStatus: '5.1.1', code: 'EBOUNCED', message: 'Permanent/General: smtp; 550 5.1.1 user unknown' },
    ]);
    expect(update?.input.id).toBe(ID);
    const report = fakes.store.all().find((notice) => notice.kind === 'report');
    expect(report).toMatchObject({ reportFor: ID, to: 'circulation@library.example.org', type: 'return-to-sender' });
    expect(fakes.queue.rung).toEqual([expect.objectContaining({ id: report?.id })]);
  });

  it.each([
    ['hard bounce', 'bounce-permanent', (detail: SesEventRecord) => (detail.bounce!.bouncedRecipients = [{ emailAddress: 'guardian@example.net', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 guardian@example.net: user unknown' }])],
    ['complaint', 'complaint', (detail: SesEventRecord) => (detail.complaint!.complainedRecipients = [{ emailAddress: 'guardian@example.net' }])],
    ['delivery', 'delivery', (detail: SesEventRecord) => (detail.delivery!.recipients = ['guardian@example.net'])],
  ])("records a copy's %s without taking it as the notice's fate", async (_, sample, aboutTheCopy) => {
    // Prepare: the notice went to the patron with a copy to a guardian; the event is about the copy
    seed(sent({ status: 'retrying', messageId: undefined, sentAt: undefined, nextAttemptAt: '2030-01-01T11:05:00.000Z', sweepAt: '2030-01-01T11:25:00.000Z' }));
    const event = sesEvent(sample);
    aboutTheCopy(event.detail);
    // Act
    const result = await handler(event);
    // Assess
    expect(result).toEqual({ outcome: 'recorded' });
    expect(feedbackUpdate()?.set).not.toHaveProperty('status');
    expect(feedbackUpdate()?.events).toHaveLength(1);
    expect(fakes.store.timesCalled('createReport')).toBe(0);
  });

  it('records a hard bounce of a return-to-sender report as bounced, and owes no report of it', async () => {
    // Prepare: the report of another notice, sent to bounceTo, bounces
    const report = sent({ kind: 'report', reportFor: '01JB0000000000000000000000', to: 'circulation@library.example.org', subject: 'Undelivered notice: Overdue', type: 'return-to-sender', externalId: undefined });
    seed(report);
    const event = sesEvent('bounce-permanent');
    event.detail.bounce!.bouncedRecipients = [{ emailAddress: 'circulation@library.example.org', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }];
    // Act
    const result = await handler(event);
    // Assess
    expect(result).toEqual({ outcome: 'recorded' });
    const update = feedbackUpdate();
    expect(update?.set).toMatchObject({ status: 'bounced' });
    expect(update?.set).not.toHaveProperty('reportPending');
    expect(update?.set).not.toHaveProperty('reportId');
    expect(update?.history).toEqual([expect.objectContaining({ outcome: 'bounced', status: 'bounced', enhancedStatus: '5.1.1' })]);
    expect(fakes.store.timesCalled('apply')).toBe(1);
    expect(fakes.store.timesCalled('createReport')).toBe(0);
    expect(fakes.queue.rung).toEqual([]);
  });

  it("takes the patron's own entry of a bounce that names several recipients", async () => {
    // Prepare
    const event = sesEvent('bounce-permanent');
    event.detail.bounce!.bouncedRecipients = [
      { emailAddress: 'guardian@example.net', status: '5.2.2', diagnosticCode: 'smtp; 552 5.2.2 mailbox full' },
      { emailAddress: 'Patron@Example.org', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' },
    ];
    // Act
    await handler(event);
    // Assess
    expect(feedbackUpdate()?.set).toMatchObject({ status: 'bounced', reportPending: true });
    expect(feedbackUpdate()?.history?.[0]).toMatchObject({ enhancedStatus: '5.1.1', message: 'Permanent/General: smtp; 550 5.1.1 user unknown' });
  });

  it('records a soft bounce without ending the notice', async () => {
    // Act
    await handler(sesEvent('bounce-transient'));
    // Assess
    expect(feedbackUpdate()?.set).not.toHaveProperty('status');
    expect(feedbackUpdate()?.events).toEqual([{ at: '2030-01-01T09:00:03.669Z', type: 'bounce', detail: 'Transient/MailboxFull: smtp; 452 4.2.2 mailbox full' }]);
    expect(fakes.store.timesCalled('createReport')).toBe(0);
  });

  it('marks a complaint complained, without a report', async () => {
    await handler(sesEvent('complaint'));
    expect(feedbackUpdate()?.set).toMatchObject({ status: 'complained' });
    expect(fakes.store.timesCalled('createReport')).toBe(0);
  });

  it('treats a rejected message as bounced', async () => {
    await handler(sesEvent('reject'));
    expect(feedbackUpdate()?.set).toMatchObject({ status: 'bounced' });
  });

  it('records a delivery delay as an event only', async () => {
    await handler(sesEvent('delivery-delay'));
    expect(feedbackUpdate()?.set).not.toHaveProperty('status');
    expect(feedbackUpdate()?.events).toEqual([{ at: '2030-01-01T09:30:00.000Z', type: 'deliveryDelay', detail: 'TransientCommunicationFailure' }]);
  });

  it('keeps a delivery that comes before the sender recorded sent on the notice, for that sender to apply', async () => {
    // Prepare: SES reported the delivery before the sender wrote `sent`
    seed(sent({ status: 'sending', version: 3, leaseExpiresAt: '2030-01-01T11:01:00.000Z' }));
    // Act
    const result = await handler(sesEvent('delivery'));
    // Assess: recorded at once, the status left to the sender, whose compare-and-set on the version sees it
    expect(result).toEqual({ outcome: 'recorded' });
    expect(feedbackUpdate()?.set).toMatchObject({ reportedBySes: 'delivered' });
    expect(feedbackUpdate()?.set).not.toHaveProperty('status');
    expect(feedbackUpdate()?.input.expectVersion).toBe(3);
    expect(fakes.store.peek(ID)).toMatchObject({ status: 'sending', reportedBySes: 'delivered' });
  });

  it('ends a notice waiting for a retry when SES reports an earlier attempt delivered, so no second copy is sent', async () => {
    // Prepare: the attempt timed out after SES had taken the message, so the notice was to be tried again
    seed(sent({ status: 'retrying', messageId: undefined, sentAt: undefined, nextAttemptAt: '2030-01-01T11:05:00.000Z', sweepAt: '2030-01-01T11:25:00.000Z' }));
    // Act
    const result = await handler(sesEvent('delivery'));
    // Assess: delivered, and out of the sweep's index with nothing left to attempt
    expect(result).toEqual({ outcome: 'recorded' });
    const update = feedbackUpdate();
    expect(update?.set).toMatchObject({ status: 'delivered', retainUntil: expect.any(String) });
    expect(update?.input.remove).toEqual(expect.arrayContaining(['nextAttemptAt', 'sweepAt', 'leaseToken']));
    expect(fakes.store.peek(ID)).not.toHaveProperty('sweepAt');
    expect(fakes.store.peek(ID)).not.toHaveProperty('nextAttemptAt');
  });

  it('ends a notice whose sender died after SES took it: bounced, with its report, instead of sent again', async () => {
    // Prepare: the lease lapsed at 10:59 without an outcome
    seed(sent({ status: 'sending', leaseExpiresAt: '2030-01-01T10:59:00.000Z', leaseToken: 'token', sweepAt: '2030-01-01T10:59:00.000Z' }));
    // Act
    await handler(sesEvent('bounce-permanent'));
    // Assess
    const update = feedbackUpdate();
    expect(update?.set).toMatchObject({ status: 'bounced', reportPending: true, sweepAt: expect.any(String) });
    expect(update?.history?.map((entry) => entry.outcome)).toEqual(['lease-expired', 'bounced']);
    expect(fakes.store.all().find((notice) => notice.kind === 'report')).toMatchObject({ reportFor: ID });
  });

  it('records a delivery delay on a notice being sent at once: it changes no status', async () => {
    seed(sent({ status: 'sending', version: 3 }));
    await expect(handler(sesEvent('delivery-delay'))).resolves.toEqual({ outcome: 'recorded' });
  });

  it('records an event delivered twice once', async () => {
    // Prepare
    seed(sent({ events: [{ at: '2030-01-01T09:00:02.125Z', type: 'delivery', detail: '250 2.6.0 Message received' }] }));
    // Act
    const result = await handler(sesEvent('delivery'));
    // Assess
    expect(result).toEqual({ outcome: 'duplicate' });
    expect(fakes.store.timesCalled('apply')).toBe(0);
  });

  it.each([
    ['never moves a bounced notice back to delivered', 'bounced'],
    ['leaves a cancelled notice cancelled', 'cancelled'],
  ] as const)('%s when a late delivery event arrives, and records the event', async (_, status) => {
    // Prepare
    seed(sent({ status }));
    // Act
    await handler(sesEvent('delivery'));
    // Assess
    expect(feedbackUpdate()?.set).not.toHaveProperty('status');
    expect(feedbackUpdate()?.events).toHaveLength(1);
    expect(fakes.store.peek(ID)?.status).toBe(status);
  });

  it('ignores events for messages that are not notices', async () => {
    // Prepare
    const event = sesEvent('delivery');
    delete event.detail.mail.tags?.['notice-id'];
    // Act
    const result = await handler(event);
    // Assess
    expect(result).toEqual({ outcome: 'unknown' });
    expect(fakes.store.timesCalled('getNotice')).toBe(0);
  });
});
