import { ConflictError } from '../../../../shared/errors';
import { deliveryFailure } from '../../../../shared/transport/classify';
import { onFeedback } from '../../../../shared/lifecycle/feedback';
import type { LifecycleContext } from '../../../../shared/lifecycle/plan';
import { newReport } from '../../../../shared/lifecycle/reports';
import { doorbellAfterQueueLoss } from '../../../../shared/lifecycle/scheduling';
import { afterAttempt, cancel, defer, heldForPause, markResent, newNotice, onDoorbell, resendOf, resendRefusal, sweepAction, takeLease } from '../../../../shared/lifecycle/transitions';
import { aNotice, aNoticeInput, settingsOf } from '../../../support/factories';

const at = (iso: string) => new Date(iso);
const settings = settingsOf();
const ctx = (random = () => 0): LifecycleContext => ({ settings, random, newId: () => '01JBREPORT0000000000000000' });
const transient = deliveryFailure('ERECIPIENTLATER', '451 4.3.0 try again later', { transport: 'smtp', server: 'mail.example.org:587', responseCode: 451, enhancedStatus: '4.3.0' });
const permanent = deliveryFailure('ERECIPIENT', '550 5.1.1 no such user', { transport: 'smtp', server: 'mail.example.org:587', responseCode: 550, enhancedStatus: '5.1.1' });
const leased = (overrides = {}) => aNotice({ status: 'sending', version: 2, leaseToken: 't', leaseExpiresAt: '2030-01-01T00:02:00.000Z', nextAttemptAt: undefined, ...overrides });

describe('Function: newNotice', () => {
  it('queues the notice with a jittered first attempt and rings its doorbell with that delay', () => {
    // Act
    const { record, ring } = newNotice(aNoticeInput(), { id: 'N1', institutionId: 'demo', now: at('2030-01-01T00:00:00Z'), random: () => 0.5, settings });
    // Assess
    expect(record.notice).toMatchObject({ id: 'N1', status: 'queued', version: 1, kind: 'notice', nextAttemptAt: '2030-01-01T00:00:30.000Z', giveUpAt: '2030-01-05T04:00:00.000Z', attemptCount: 0 });
    // The sweep looks again two leases after the doorbell should have rung: a lost doorbell is found.
    expect(record.notice.sweepAt).toBe('2030-01-01T00:03:30.000Z');
    expect(ring).toEqual({ id: 'N1', delaySeconds: 30 });
    expect(record.content).toEqual({ to: 'patron@example.org', subject: 'Overdue: The Hobbit', text: aNoticeInput().text });
    expect(record.retainContentUntil).toBe('2030-01-06T04:00:00.000Z');
  });

  it('leaves a notice scheduled beyond 15 minutes to the sweep', () => {
    // Act
    const { record, ring } = newNotice(aNoticeInput({ sendAt: '2030-01-02T08:00:00.000Z' }), { id: 'N1', institutionId: 'demo', now: at('2030-01-01T00:00:00Z'), random: () => 0, settings });
    // Assess
    expect(ring).toBeUndefined();
    expect(record.notice.sweepAt).toBe('2030-01-02T07:50:00.000Z');
    expect(record.notice.giveUpAt).toBe('2030-01-06T12:00:00.000Z');
  });

  it('never plans the first attempt after the notice expires', () => {
    // Act
    const { record } = newNotice(aNoticeInput({ expiresAt: '2030-01-01T00:00:10.000Z' }), { id: 'N1', institutionId: 'demo', now: at('2030-01-01T00:00:00Z'), random: () => 0.999, settings });
    // Assess
    expect(record.notice.nextAttemptAt).toBe('2030-01-01T00:00:09.000Z');
    expect(record.notice.giveUpAt).toBe('2030-01-01T00:00:10.000Z');
  });
});

describe('Function: onDoorbell', () => {
  it.each([
    ['sends a due notice', aNotice(), '2030-01-01T00:00:30Z', { action: 'send' }],
    ['accepts a doorbell up to a second early', aNotice(), '2030-01-01T00:00:29Z', { action: 'send' }],
    ['waits for a notice rung early', aNotice(), '2030-01-01T00:00:10Z', { action: 'wait', until: at('2030-01-01T00:00:30Z') }],
    ['skips a notice another sender holds', leased(), '2030-01-01T00:01:00Z', { action: 'skip', reason: 'leased' }],
    ['sends a notice whose lease has expired', leased(), '2030-01-01T00:02:01Z', { action: 'send' }],
    ['never sends again a notice SES reported on while its sender held it', leased({ reportedBySes: 'delivered' }), '2030-01-01T00:02:01Z', { action: 'skip', reason: 'reported-by-ses' }],
    ['skips a sent notice (a duplicate doorbell)', aNotice({ status: 'sent' }), '2030-01-01T00:01:00Z', { action: 'skip', reason: 'final' }],
    ['skips a cancelled notice', aNotice({ status: 'cancelled' }), '2030-01-01T00:01:00Z', { action: 'skip', reason: 'final' }],
    ['gives up at giveUpAt', aNotice({ status: 'retrying' }), '2030-01-05T04:00:00Z', { action: 'give-up' }],
  ])('%s', (_, notice, now, decision) => {
    expect(onDoorbell(notice, at(now))).toEqual(decision);
  });

  describe('a notice held for the institution\'s paused sending', () => {
    const heldAt = '2030-01-01T00:01:00.000Z';
    const probeTime = '2030-01-01T01:00:00.000Z';
    const deferred = aNotice({ nextAttemptAt: probeTime, attempts: [{ at: heldAt, outcome: 'deferred', status: 'queued', code: 'ERELAYDENIED', message: 'held while the institution\'s sending is paused' }] });
    const metTheRefusal = aNotice({ status: 'retrying', nextAttemptAt: probeTime, attempts: [{ at: heldAt, outcome: 'transient', status: 'retrying', code: 'EAUTH', message: '535 5.7.8 Authentication credentials invalid' }] });
    const retrying = aNotice({ status: 'retrying', nextAttemptAt: probeTime, attempts: [{ at: heldAt, outcome: 'transient', status: 'retrying', code: 'ETIMEDOUT', message: 'the relay did not answer in time' }] });
    const rateLimited = aNotice({ nextAttemptAt: probeTime, attempts: [{ at: heldAt, outcome: 'deferred', status: 'queued', message: 'held back by maxPerMinute (30)' }] });

    it.each([
      ['deferred while paused', deferred],
      ['held by the attempt that met the refusal', metTheRefusal],
    ])('goes at once, %s, when the pause is over; waits for the probe time while it lasts', (_, notice) => {
      expect(onDoorbell(notice, at('2030-01-01T00:10:00Z'), true)).toEqual({ action: 'send' });
      expect(onDoorbell(notice, at('2030-01-01T00:10:00Z'), false)).toEqual({ action: 'wait', until: at(probeTime) });
    });

    it('is no notice retried for its own failure, or held back by the rate limit: those keep their time', () => {
      expect(heldForPause(retrying)).toBe(false);
      expect(heldForPause(rateLimited)).toBe(false);
      expect(onDoorbell(retrying, at('2030-01-01T00:10:00Z'), true)).toEqual({ action: 'wait', until: at(probeTime) });
      expect(onDoorbell(rateLimited, at('2030-01-01T00:10:00Z'), true)).toEqual({ action: 'wait', until: at(probeTime) });
    });
  });
});

describe('Function: takeLease', () => {
  it('leases the notice until leaseSeconds from now', () => {
    // Act
    const transition = takeLease(aNotice(), at('2030-01-01T00:00:30Z'), 'token-1', settings);
    // Assess
    expect(transition).toEqual({
      id: aNotice().id,
      expectVersion: 1,
      set: { status: 'sending', leaseExpiresAt: '2030-01-01T00:02:00.000Z', leaseToken: 'token-1', updatedAt: '2030-01-01T00:00:30.000Z' },
      remove: ['nextAttemptAt', 'sweepRings'],
      append: undefined,
    });
  });

  it('leaves the sweep time where the doorbell put it, within a grace, so the due index entry does not move', () => {
    // Prepare: rung at 00:00:00 with a grace of 2 × leaseSeconds (90 s)
    const rung = aNotice({ sweepAt: '2030-01-01T00:03:00.000Z' });
    // Act
    const transition = takeLease(rung, at('2030-01-01T00:00:05Z'), 'token-1', settings);
    // Assess
    expect(transition.set).not.toHaveProperty('sweepAt');
    expect(transition.set.leaseExpiresAt).toBe('2030-01-01T00:01:35.000Z');
  });

  it.each([
    ['not set', undefined],
    ['already past', '2030-01-01T00:00:00.000Z'],
    ['further off than a grace', '2030-01-01T01:00:00.000Z'],
  ])('moves a sweep time %s to the end of the lease, so a crash is noticed by then', (_case, sweepAt) => {
    // Act
    const transition = takeLease(aNotice({ sweepAt }), at('2030-01-01T00:00:05Z'), 'token-1', settings);
    // Assess
    expect(transition.set.sweepAt).toBe('2030-01-01T00:01:35.000Z');
  });

  it('records that a lapsed lease left no outcome when it takes the notice over', () => {
    expect(takeLease(leased(), at('2030-01-01T00:03:00Z'), 't2', settings).append).toEqual([expect.objectContaining({ outcome: 'lease-expired', status: 'sending' })]);
  });
});

describe('Function: afterAttempt', () => {
  const startedAt = at('2030-01-01T00:00:30Z');
  const now = at('2030-01-01T00:00:31Z');

  it('marks a delivered notice sent and takes it out of the sweep', () => {
    // Act
    const plan = afterAttempt(leased(), { ok: true, transport: 'smtp', server: 'mail.example.org:587', messageId: '<N1@library.example.org>', response: '250 2.0.0 OK queued', responseCode: 250, enhancedStatus: '2.0.0', startedAt }, now, ctx());
    // Assess
    expect(plan.transition).toMatchObject({
      expectVersion: 2,
      countAttempt: true,
      set: { status: 'sent', sentAt: '2030-01-01T00:00:31.000Z', messageId: '<N1@library.example.org>', retainUntil: '2030-01-31T00:00:31.000Z' },
      remove: expect.arrayContaining(['leaseToken', 'leaseExpiresAt', 'sweepAt', 'nextAttemptAt']),
      append: [{ at: '2030-01-01T00:00:31.000Z', startedAt: '2030-01-01T00:00:30.000Z', outcome: 'sent', status: 'sent', transport: 'smtp', server: 'mail.example.org:587', responseCode: 250, enhancedStatus: '2.0.0', message: '250 2.0.0 OK queued' }],
    });
    expect(plan.ring).toBeUndefined();
  });

  it('retries a transient failure 3–9 minutes later, through a delayed doorbell', () => {
    // Act
    const plan = afterAttempt(leased(), { ok: false, error: transient, startedAt }, now, ctx(() => 0));
    // Assess
    expect(plan.transition.set).toMatchObject({ status: 'retrying', nextAttemptAt: '2030-01-01T00:03:31.000Z' });
    expect(plan.transition.append?.[0]).toMatchObject({ outcome: 'transient', status: 'retrying', responseCode: 451, enhancedStatus: '4.3.0', code: 'ERECIPIENTLATER', server: 'mail.example.org:587' });
    expect(plan.ring).toEqual({ id: aNotice().id, delaySeconds: 180 });
  });

  it("holds a notice its institution's setup refused until the next probe: no attempt counted, its give-up time kept", () => {
    // Prepare: the relay refused the login; the institution's next probe is in three minutes
    const refused = deliveryFailure('EAUTH', '535 5.7.8 Authentication credentials invalid', { transport: 'smtp', server: 'mail.example.org:587', responseCode: 535, enhancedStatus: '5.7.8' });
    const notice = leased({ attemptCount: 0 });
    // Act
    const plan = afterAttempt(notice, { ok: false, error: refused, startedAt, heldUntil: at('2030-01-01T00:03:31Z') }, now, ctx());
    // Assess
    expect(plan.transition.countAttempt).toBeFalsy();
    expect(plan.transition.set).toMatchObject({ status: 'queued', nextAttemptAt: '2030-01-01T00:03:31.000Z' });
    expect(plan.transition.set.giveUpAt).toBeUndefined();
    expect(plan.transition.append).toEqual([expect.objectContaining({ outcome: 'transient', status: 'queued', code: 'EAUTH', responseCode: 535 })]);
    expect(plan.reportOwed).toBeFalsy();
    expect(plan.ring).toEqual({ id: notice.id, delaySeconds: 180 });
  });

  it('discards a held notice at its give-up time, as any other, when the pause outlasts it', () => {
    const refused = deliveryFailure('ECONNECTION', 'connect ECONNREFUSED', { transport: 'smtp', server: 'mail.example.org:587' });
    const plan = afterAttempt(leased({ giveUpAt: '2030-01-01T00:00:31.000Z' }), { ok: false, error: refused, startedAt, heldUntil: at('2030-01-01T00:03:31Z') }, now, ctx());
    expect(plan).toMatchObject({ reportOwed: true, transition: { set: { status: 'discarded' } } });
    // The refusal was the setup's, not the notice's: it counts no attempt, even as the last one.
    expect(plan.transition.countAttempt).toBe(false);
  });

  it('remembers the copies a relay took while it deferred the patron, so a retry does not send them again', () => {
    // Prepare: one copy taken in an earlier attempt, another (in other case) in this one
    const deferred = deliveryFailure('ERECIPIENTLATER', '450 4.2.1 Mailbox busy', { ...transient.facts, copiesAccepted: ['Teacher@example.org'] });
    // Act
    const plan = afterAttempt({ ...leased(), copiesSent: ['guardian@example.org'] }, { ok: false, error: deferred, startedAt }, now, ctx(() => 0));
    // Assess
    expect(plan.transition.set).toMatchObject({ status: 'retrying', copiesSent: ['guardian@example.org', 'teacher@example.org'] });
  });

  it('keeps a retry more than 15 minutes away in the store for the sweep', () => {
    // Act: two hours old, so the long range applies
    const plan = afterAttempt(leased(), { ok: false, error: transient, startedAt }, at('2030-01-01T02:00:00Z'), ctx(() => 0));
    // Assess
    expect(plan.transition.set).toMatchObject({ status: 'retrying', nextAttemptAt: '2030-01-01T03:00:00.000Z', sweepAt: '2030-01-01T02:50:00.000Z' });
    expect(plan.ring).toBeUndefined();
  });

  it('waits for giveUpAt when no retry fits before it', () => {
    // Act
    const plan = afterAttempt(leased(), { ok: false, error: transient, startedAt }, at('2030-01-05T03:30:00Z'), ctx());
    // Assess
    expect(plan.transition.set).toMatchObject({ status: 'retrying', sweepAt: '2030-01-05T04:00:00.000Z' });
    expect(plan.transition.remove).toContain('nextAttemptAt');
    expect(plan.ring).toBeUndefined();
  });

  it('fails a permanent refusal at once and owes one report', () => {
    // Act
    const plan = afterAttempt(leased(), { ok: false, error: permanent, startedAt }, now, ctx());
    // Assess
    expect(plan.reportOwed).toBe(true);
    expect(plan.transition.set).toMatchObject({ status: 'failed', reportPending: true, reportId: '01JBREPORT0000000000000000' });
    expect(plan.transition.append?.[0]).toMatchObject({ outcome: 'permanent', status: 'failed', responseCode: 550 });
    expect(plan.ring).toBeUndefined();
  });

  it('never reports on a report that fails', () => {
    // Act
    const plan = afterAttempt(leased({ kind: 'report', reportFor: 'N0' }), { ok: false, error: permanent, startedAt }, now, ctx());
    // Assess
    expect(plan.reportOwed).toBe(false);
    expect(plan.transition.set).not.toHaveProperty('reportPending');
    expect(plan.transition.remove).toContain('sweepAt');
  });

  it('discards a notice whose attempt fails after its give-up time', () => {
    // Act
    const plan = afterAttempt(leased(), { ok: false, error: transient, startedAt }, at('2030-01-05T04:00:05Z'), ctx());
    // Assess
    expect(plan.transition.set).toMatchObject({ status: 'discarded', reportPending: true });
    expect(plan.transition.append?.map((entry) => entry.outcome)).toEqual(['transient', 'discarded']);
  });
});

describe('Function: doorbellAfterQueueLoss', () => {
  const now = at('2030-01-01T00:10:00Z');

  it('rings a waiting notice due now at once, and one due within 15 minutes with the rest as delay', () => {
    expect(doorbellAfterQueueLoss(aNotice({ id: 'N1', status: 'queued', nextAttemptAt: '2030-01-01T00:09:00.000Z' }), now)).toEqual({ id: 'N1', delaySeconds: 0 });
    expect(doorbellAfterQueueLoss(aNotice({ id: 'N2', status: 'retrying', nextAttemptAt: '2030-01-01T00:20:00.000Z' }), now)).toEqual({ id: 'N2', delaySeconds: 600 });
  });

  it('leaves to the sweep a notice due later than SQS can delay, one being sent, one that is over, and a report still owed', () => {
    expect(doorbellAfterQueueLoss(aNotice({ status: 'retrying', nextAttemptAt: '2030-01-01T01:10:00.000Z' }), now)).toBeUndefined();
    expect(doorbellAfterQueueLoss(leased(), now)).toBeUndefined();
    expect(doorbellAfterQueueLoss(aNotice({ status: 'sent', nextAttemptAt: undefined }), now)).toBeUndefined();
    expect(doorbellAfterQueueLoss(aNotice({ status: 'failed', reportPending: true, reportId: 'R1', nextAttemptAt: undefined }), now)).toBeUndefined();
  });
});

describe('Function: sweepAction', () => {
  it('does nothing before sweepAt', () => {
    expect(sweepAction(aNotice(), at('2030-01-01T00:03:00Z'), ctx())).toEqual({ kind: 'none' });
  });

  it('rings a notice whose doorbell was lost, and looks again later', () => {
    // Act
    const action = sweepAction(aNotice(), at('2030-01-01T00:04:00Z'), ctx());
    // Assess
    expect(action).toEqual({ kind: 'plan', plan: { transition: { id: aNotice().id, expectVersion: 1, remove: [], set: { sweepAt: '2030-01-01T00:07:00.000Z', sweepRings: 1 } }, ring: { id: aNotice().id, delaySeconds: 0 } } });
  });

  it('waits twice as long after each ring that brought no attempt, so a backlog is not flooded', () => {
    // Act
    const third = sweepAction(aNotice({ sweepRings: 2 }), at('2030-01-01T00:04:00Z'), ctx());
    const capped = sweepAction(aNotice({ sweepRings: 40 }), at('2030-01-01T00:04:00Z'), ctx());
    // Assess: the grace of 180 s, times 4; then at most times 64
    expect(third).toMatchObject({ plan: { transition: { set: { sweepAt: '2030-01-01T00:16:00.000Z', sweepRings: 3 } } } });
    expect(capped).toMatchObject({ plan: { transition: { set: { sweepAt: '2030-01-01T03:16:00.000Z', sweepRings: 41 } } } });
  });

  it('rings a far-off notice ten minutes ahead, with the rest as delay', () => {
    // Prepare
    const notice = aNotice({ nextAttemptAt: '2030-01-02T08:00:00.000Z', sweepAt: '2030-01-02T07:50:00.000Z' });
    // Act
    const action = sweepAction(notice, at('2030-01-02T07:50:30Z'), ctx());
    // Assess
    expect(action).toMatchObject({ kind: 'plan', plan: { ring: { delaySeconds: 570 }, transition: { set: { sweepAt: '2030-01-02T08:03:00.000Z' } } } });
  });

  it('discards a pending notice at giveUpAt, owing a report', () => {
    // Act
    const action = sweepAction(aNotice({ status: 'retrying', sweepAt: '2030-01-05T04:00:00.000Z' }), at('2030-01-05T04:00:30Z'), ctx());
    // Assess
    expect(action).toMatchObject({ kind: 'plan', plan: { reportOwed: true, transition: { set: { status: 'discarded', reportPending: true } } } });
  });

  it('releases an expired lease: the notice is due again at once', () => {
    // Act
    const action = sweepAction(leased({ sweepAt: '2030-01-01T00:02:00.000Z', attemptCount: 1 }), at('2030-01-01T00:02:10Z'), ctx());
    // Assess
    expect(action).toMatchObject({
      kind: 'plan',
      plan: { ring: { delaySeconds: 0 }, transition: { set: { status: 'retrying', nextAttemptAt: '2030-01-01T00:02:10.000Z' }, append: [{ outcome: 'lease-expired', status: 'retrying' }] } },
    });
  });

  it('discards a notice whose lease lapsed after its give-up time, owing a report, instead of making it due again', () => {
    // Prepare: the sender died holding the notice; its lease ran out after giveUpAt (2030-01-05T04:00:00Z)
    const notice = leased({ attemptCount: 3, leaseExpiresAt: '2030-01-05T04:00:20.000Z', sweepAt: '2030-01-05T04:00:20.000Z' });
    // Act
    const action = sweepAction(notice, at('2030-01-05T04:00:30Z'), ctx());
    // Assess
    expect(action).toMatchObject({
      kind: 'plan',
      plan: {
        reportOwed: true,
        transition: {
          set: { status: 'discarded', reportPending: true, reportId: '01JBREPORT0000000000000000', retainUntil: '2030-02-04T04:00:30.000Z' },
          append: [{ outcome: 'lease-expired', status: 'discarded' }, { outcome: 'discarded', status: 'discarded' }],
        },
      },
    });
    expect(action.kind === 'plan' && action.plan.ring).toBeUndefined();
    expect(action.kind === 'plan' && action.plan.transition.set).not.toHaveProperty('nextAttemptAt');
    expect(action.kind === 'plan' && action.plan.transition.remove).toEqual(expect.arrayContaining(['leaseToken', 'leaseExpiresAt', 'nextAttemptAt']));
  });

  it('creates the report a failed notice still owes', () => {
    expect(sweepAction(aNotice({ status: 'failed', reportPending: true, reportId: 'R1', sweepAt: '2030-01-01T00:05:00.000Z' }), at('2030-01-01T00:06:00Z'), ctx())).toEqual({ kind: 'create-report' });
  });

  it('takes a final notice with a stale sweepAt out of the index', () => {
    expect(sweepAction(aNotice({ status: 'sent' }), at('2030-01-01T00:06:00Z'), ctx())).toMatchObject({ kind: 'plan', plan: { transition: { set: {}, remove: ['sweepAt'] } } });
  });
});

describe('Function: cancel', () => {
  const now = at('2030-01-01T00:00:10Z');

  it.each(['queued', 'retrying'] as const)('cancels a %s notice', (status) => {
    expect(cancel(aNotice({ status }), now, settings)).toMatchObject({ set: { status: 'cancelled' }, remove: ['nextAttemptAt', 'sweepAt'] });
  });

  it('answers nothing to do for a cancelled notice', () => {
    expect(cancel(aNotice({ status: 'cancelled' }), now, settings)).toBeUndefined();
  });

  it.each(['sending', 'sent', 'failed', 'discarded', 'delivered'] as const)('refuses to cancel a %s notice', (status) => {
    expect(() => cancel(aNotice({ status }), now, settings)).toThrow(ConflictError);
  });
});

describe('Sending again from the console', () => {
  const now = at('2030-01-03T10:00:00Z');
  const failed = () => aNotice({ id: 'N0', status: 'failed', version: 4, expiresAt: '2030-01-02T00:00:00.000Z', externalId: 'loan-81234' });
  const content = { to: 'patron@example.org', cc: ['guardian@example.org'], subject: 'Overdue: The Hobbit', text: 'Please return it.' };

  it('says why a cancel from the console is in the history', () => {
    expect(cancel(aNotice(), now, settings, 'console')?.append).toEqual([expect.objectContaining({ outcome: 'cancelled', message: 'cancelled from the console before it was sent' })]);
  });

  it.each([
    ['a notice still waiting', aNotice({ status: 'retrying' }), /still being sent/],
    ['a notice being sent', aNotice({ status: 'sending' }), /still being sent/],
    ['a return-to-sender report', aNotice({ status: 'failed', kind: 'report' }), /report is not sent again/],
    ['a notice marked as spam', aNotice({ status: 'complained' }), /marked this notice as spam/],
  ])('refuses %s', (_what, notice, reason) => {
    expect(resendRefusal(notice)).toMatch(reason);
    expect(() => markResent(notice, 'N1', now)).toThrow(ConflictError);
  });

  it.each(['failed', 'discarded', 'bounced', 'sent', 'delivered', 'cancelled'] as const)('lets a %s notice go again', (status) => {
    expect(resendRefusal(aNotice({ status }))).toBeUndefined();
  });

  it('lets a failed notice go again before its report is made, whose reason stays the refusal', () => {
    // Prepare
    const refused = { at: '2030-01-03T09:00:00.000Z', outcome: 'permanent' as const, status: 'failed' as const, message: '550 5.1.1 no such user' };
    const original = aNotice({ status: 'failed', reportPending: true, reportId: 'R1', attempts: [refused] });
    const marked = { ...original, resentAs: 'N1', attempts: [...original.attempts, ...(markResent(original, 'N1', now).append ?? [])] };
    // Act
    const { record } = newReport(marked as typeof original & { reportId: string }, { bounceTo: 'circulation@library.example.org', now, settings });
    // Assess
    expect(resendRefusal(original)).toBeUndefined();
    expect(record.content.report?.reason).toBe('550 5.1.1 no such user');
  });

  it('links the original to its copy once, in a compare-and-set with the history saying so', () => {
    // Act
    const mark = markResent(failed(), 'N1', now);
    // Assess
    expect(mark).toEqual({
      id: 'N0',
      expectVersion: 4,
      set: { resentAs: 'N1', updatedAt: '2030-01-03T10:00:00.000Z' },
      remove: [],
      append: [{ at: '2030-01-03T10:00:00.000Z', outcome: 'resent', status: 'failed', message: 'sent again from the console as N1' }],
    });
    expect(() => markResent(aNotice({ ...failed(), resentAs: 'N1' }), 'N2', now)).toThrow(/already sent again as N1/);
    // A link to a copy that was never written may be replaced by the next try.
    expect(markResent(aNotice({ ...failed(), resentAs: 'N1' }), 'N2', now, 'N1').set).toMatchObject({ resentAs: 'N2' });
  });

  it('makes the copy with the same content, due now, linked back, without an expiry that has passed', () => {
    // Act
    const { record, ring } = resendOf(failed(), content, { id: 'N1', now, random: () => 0.9, settings });
    // Assess
    expect(record.notice).toMatchObject({ id: 'N1', status: 'queued', resentFrom: 'N0', to: 'patron@example.org', externalId: 'loan-81234', type: 'overdue', nextAttemptAt: '2030-01-03T10:00:00.000Z' });
    expect(record.notice.expiresAt).toBeUndefined();
    expect(record.notice.attempts).toEqual([{ at: '2030-01-03T10:00:00.000Z', outcome: 'resent', status: 'queued', message: 'sent again from the console: a copy of N0' }]);
    expect(record.content).toEqual(content);
    expect(ring).toEqual({ id: 'N1', delaySeconds: 0 });
  });

  it('sends the copy to a corrected address and keeps an expiry still to come', () => {
    // Act
    const { record } = resendOf(aNotice({ ...failed(), expiresAt: '2030-01-04T00:00:00.000Z' }), content, { id: 'N1', now, random: () => 0, settings, to: 'right@example.org' });
    // Assess
    expect(record.notice).toMatchObject({ to: 'right@example.org', expiresAt: '2030-01-04T00:00:00.000Z' });
    expect(record.content.to).toBe('right@example.org');
    expect(record.notice.attempts[0]?.message).toBe('sent again from the console (to a corrected address): a copy of N0');
  });
});

describe('Function: newReport', () => {
  it('addresses a report notice to bounceTo, naming the patron, the notice and every attempt', () => {
    // Prepare
    const failed = { ...aNotice({ status: 'failed', attemptCount: 1, attempts: [{ at: '2030-01-01T00:00:31.000Z', outcome: 'permanent', status: 'failed', responseCode: 550, message: '550 5.1.1 no such user' }] }), reportId: 'R1' };
    // Act
    const { record, ring } = newReport(failed, { bounceTo: 'circulation@library.example.org', now: at('2030-01-01T00:01:00Z'), settings });
    // Assess
    expect(record.notice).toMatchObject({ id: 'R1', kind: 'report', reportFor: failed.id, to: 'circulation@library.example.org', status: 'queued', type: 'return-to-sender', subject: 'Undelivered notice: Overdue: The Hobbit' });
    expect(record.content.report).toEqual({
      noticeId: failed.id,
      outcome: 'failed',
      recipient: 'patron@example.org',
      subject: 'Overdue: The Hobbit',
      type: 'overdue',
      externalId: 'loan-81234',
      createdAt: failed.createdAt,
      attempts: failed.attempts,
      reason: '550 5.1.1 no such user',
    });
    expect(ring).toEqual({ id: 'R1', delaySeconds: 0 });
    // The ILS's id names its own notice only: looked up by externalId, the report is not found as `sent`.
    expect(record.notice.externalId).toBeUndefined();
  });

  it("gives a bounce as the reason though the attempt that sent it was recorded after it", () => {
    // Prepare: SES reported the bounce while the sender still held the notice; then the sender recorded its attempt
    const bounced = {
      ...aNotice({
        status: 'bounced',
        attemptCount: 1,
        attempts: [
          { at: '2030-01-01T00:00:41.000Z', outcome: 'bounced', status: 'sending', transport: 'ses', server: 'ses', enhancedStatus: '5.1.1', message: 'Permanent/General: 550 5.1.1 user unknown' },
          { at: '2030-01-01T00:00:42.000Z', startedAt: '2030-01-01T00:00:30.000Z', outcome: 'sent', status: 'bounced', transport: 'ses', server: 'ses', message: 'SES accepted the message as ses-1' },
        ],
      }),
      reportId: 'R1',
    };
    // Act
    const { record } = newReport(bounced, { bounceTo: 'circulation@library.example.org', now: at('2030-01-01T00:01:00Z'), settings });
    // Assess
    expect(record.content.report).toMatchObject({ outcome: 'bounced', reason: 'Permanent/General: 550 5.1.1 user unknown' });
  });
});

describe('SES feedback on a notice that has not recorded sent', () => {
  const delivery = { event: { at: '2030-01-01T00:00:40.000Z', type: 'delivery' as const, detail: '250 2.6.0 Message received' }, becomes: 'delivered' as const };
  const hardBounce = { event: { at: '2030-01-01T00:00:41.000Z', type: 'bounce' as const, detail: 'Permanent/General: 550 5.1.1 user unknown' }, becomes: 'bounced' as const, enhancedStatus: '5.1.1' };
  const now = at('2030-01-01T00:01:00Z');

  it('keeps what SES reported for the sender that holds the notice, without ending it under that sender', () => {
    // Act
    const plan = onFeedback(leased(), delivery, now, ctx());
    // Assess
    expect(plan?.transition).toMatchObject({ expectVersion: 2, set: { reportedBySes: 'delivered' }, appendEvents: [delivery.event], append: [{ outcome: 'delivered', status: 'sending' }] });
    expect(plan?.transition.set).not.toHaveProperty('status');
  });

  it('lets a hard bounce outrank a delivery reported before it, never the reverse', () => {
    expect(onFeedback(leased({ reportedBySes: 'delivered' }), hardBounce, now, ctx())?.transition.set).toMatchObject({ reportedBySes: 'bounced' });
    expect(onFeedback(leased({ reportedBySes: 'bounced' }), delivery, now, ctx())?.transition.set).toMatchObject({ reportedBySes: 'bounced' });
  });

  it('ends the notice as SES reported when its sender records the attempt, whatever the attempt said', () => {
    // Prepare: the attempt timed out after SES had taken the message
    const timedOut = deliveryFailure('EUNCONFIRMED', 'the attempt deadline passed', { transport: 'ses', server: 'ses' });
    // Act
    const plan = afterAttempt(leased({ reportedBySes: 'delivered' }), { ok: false, error: timedOut, startedAt: at('2030-01-01T00:00:30Z') }, now, ctx());
    // Assess: delivered, counted, nothing scheduled
    expect(plan.transition).toMatchObject({ countAttempt: true, set: { status: 'delivered', retainUntil: '2030-01-31T00:01:00.000Z' }, append: [{ outcome: 'transient', status: 'delivered', code: 'EUNCONFIRMED' }] });
    expect(plan.transition.remove).toEqual(expect.arrayContaining(['leaseToken', 'leaseExpiresAt', 'nextAttemptAt', 'sweepAt', 'reportedBySes']));
    expect(plan.ring).toBeUndefined();
  });

  it('keeps the message id of an attempt that succeeded, and owes the report of a hard bounce', () => {
    // Act
    const plan = afterAttempt(leased({ reportedBySes: 'bounced' }), { ok: true, transport: 'ses', server: 'ses', messageId: 'ses-1', startedAt: at('2030-01-01T00:00:30Z') }, now, ctx());
    // Assess
    expect(plan.reportOwed).toBe(true);
    expect(plan.transition.set).toMatchObject({ status: 'bounced', sentAt: '2030-01-01T00:01:00.000Z', messageId: 'ses-1', reportPending: true, reportId: '01JBREPORT0000000000000000', sweepAt: expect.any(String) });
    expect(plan.transition.remove).not.toContain('sweepAt');
  });

  it('ends it when the sweep finds the lease of a sender that died lapsed, instead of making it due again', () => {
    // Act
    const action = sweepAction(leased({ sweepAt: '2030-01-01T00:02:00.000Z', reportedBySes: 'delivered' }), at('2030-01-01T00:02:10Z'), ctx());
    // Assess
    expect(action).toMatchObject({ kind: 'plan', plan: { transition: { set: { status: 'delivered' }, append: [{ outcome: 'lease-expired', status: 'delivered' }] } } });
    expect(action.kind === 'plan' && action.plan.ring).toBeUndefined();
  });

  it('ends it rather than hold it back for a rate limit', () => {
    const plan = defer(leased({ reportedBySes: 'complained' }), at('2030-01-01T00:05:00Z'), now, ctx(), 'held back by maxPerMinute (30)');
    expect(plan.transition.set).toMatchObject({ status: 'complained' });
    expect(plan.ring).toBeUndefined();
  });

  it('ends at once a notice waiting to be tried again, and one whose lease lapsed', () => {
    // Act
    const retrying = onFeedback(aNotice({ status: 'retrying', attemptCount: 1, sweepAt: '2030-01-01T00:05:00.000Z' }), delivery, now, ctx());
    const lapsed = onFeedback(leased({ leaseExpiresAt: '2030-01-01T00:00:50.000Z' }), hardBounce, now, ctx());
    // Assess
    expect(retrying?.transition).toMatchObject({ set: { status: 'delivered' }, append: [{ outcome: 'delivered', status: 'delivered' }] });
    expect(retrying?.transition.remove).toEqual(expect.arrayContaining(['nextAttemptAt', 'sweepAt']));
    expect(lapsed).toMatchObject({ reportOwed: true, transition: { set: { status: 'bounced' }, append: [{ outcome: 'lease-expired', status: 'bounced' }, { outcome: 'bounced', status: 'bounced' }] } });
  });

  it('never owes a report for a return-to-sender report that bounces, sent or still held', () => {
    // Prepare
    const report = { kind: 'report' as const, reportFor: '01JB0000000000000000000009', type: 'return-to-sender' };
    // Act
    const afterSent = onFeedback(aNotice({ ...report, status: 'sent', sweepAt: undefined, sentAt: '2030-01-01T00:00:35.000Z' }), hardBounce, now, ctx());
    const afterLapse = onFeedback(leased({ ...report, leaseExpiresAt: '2030-01-01T00:00:50.000Z' }), hardBounce, now, ctx());
    // Assess
    for (const plan of [afterSent, afterLapse]) {
      expect(plan?.reportOwed).toBe(false);
      expect(plan?.transition.set).toMatchObject({ status: 'bounced' });
      expect(plan?.transition.set).not.toHaveProperty('reportPending');
      expect(plan?.transition.set).not.toHaveProperty('reportId');
    }
    expect(afterLapse?.transition.remove).toContain('sweepAt');
  });

  it('never sets and removes the same attribute in one write', () => {
    for (const plan of [
      afterAttempt(leased({ reportedBySes: 'bounced' }), { ok: true, transport: 'ses', server: 'ses', messageId: 'ses-1', startedAt: now }, now, ctx()),
      onFeedback(aNotice({ status: 'retrying' }), hardBounce, now, ctx()),
    ]) {
      const set = Object.keys(plan?.transition.set ?? {});
      expect(plan?.transition.remove.filter((name) => set.includes(name))).toEqual([]);
    }
  });
});

describe('Function: defer', () => {
  const now = at('2030-01-01T00:00:31Z');
  const reason = "held while the institution's sending is paused (EAUTH: the relay refused the login)";

  it("holds a notice while its institution's sending is paused, and writes the same hold into its history once", () => {
    // Act
    const first = defer(leased({ attemptCount: 1, status: 'sending' }), at('2030-01-01T00:03:00Z'), now, ctx(), reason, false, 'EAUTH');
    const again = defer(leased({ attemptCount: 1, attempts: [{ at: '2030-01-01T00:00:00.000Z', outcome: 'deferred', status: 'retrying', code: 'EAUTH', message: reason }] }), at('2030-01-01T00:09:00Z'), now, ctx(), reason, false, 'EAUTH');
    // Assess
    expect(first.transition).toMatchObject({ set: { status: 'retrying', nextAttemptAt: '2030-01-01T00:03:00.000Z' }, append: [{ outcome: 'deferred', status: 'retrying', code: 'EAUTH', message: reason }] });
    expect(first.transition.countAttempt).toBeFalsy();
    expect(again.transition.set).toMatchObject({ nextAttemptAt: '2030-01-01T00:09:00.000Z' });
    expect(again.transition.append).toEqual([]);
  });
});
