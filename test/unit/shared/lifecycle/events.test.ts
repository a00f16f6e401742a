import { announce } from '../../../../shared/lifecycle/events';
import { onFeedback } from '../../../../shared/lifecycle/feedback';
import type { Transition } from '../../../../shared/lifecycle/plan';
import { afterAttempt, cancel } from '../../../../shared/lifecycle/transitions';
import { deliveryFailure } from '../../../../shared/transport/classify';
import { NOTICE_STATUSES } from '../../../../shared/notice/model';
import { ANNOUNCED_STATUSES, type WebhookEventType } from '../../../../shared/webhooks/events';
import { aNotice, settingsOf } from '../../../support/factories';

const NOW = new Date('2030-01-01T00:01:00Z');
const listening = (...types: WebhookEventType[]) => ({ subscriptions: () => new Set(types), newId: () => '01JB00000000000000000000EV', settings: { leaseSeconds: 90 } });
const sent = (): Transition => ({ id: '01JB0000000000000000000001', expectVersion: 2, set: { status: 'sent', updatedAt: NOW.toISOString() }, remove: ['sweepAt', 'nextAttemptAt'], append: [{ at: NOW.toISOString(), outcome: 'sent', status: 'sent', message: '250 2.0.0 Ok: queued' }] });

describe('Function: announce', () => {
  it('adds the event to the outbox with the next sequence, and keeps the notice in the sweep until it is relayed', () => {
    // Prepare
    const notice = aNotice({ id: '01JB0000000000000000000001', status: 'sending', version: 2, externalId: 'loan-42', type: 'overdue', eventSeq: 3 });
    // Act
    const announced = announce(sent(), notice, NOW, listening('notice.sent'));
    // Assess
    expect(announced.appendOutbox).toEqual([
      { id: '01JB00000000000000000000EV', type: 'notice.sent', createdAt: NOW.toISOString(), sequence: 4, notice: { id: notice.id, externalId: 'loan-42', type: 'overdue', status: 'sent', lastReply: '250 2.0.0 Ok: queued' } },
    ]);
    expect(announced.set).toMatchObject({ eventSeq: 4, sweepAt: '2030-01-01T00:04:00.000Z' });
    expect(announced.remove).not.toContain('sweepAt');
  });

  it('writes nothing for an event nobody listens to, for a report, or for a change that is no new status', () => {
    // Prepare
    const notice = aNotice({ status: 'sending', version: 2 });
    // Act
    const unheard = announce(sent(), notice, NOW, listening('notice.bounced'));
    const report = announce(sent(), { ...notice, kind: 'report' }, NOW, listening('notice.sent'));
    const same = announce(sent(), { ...notice, status: 'sent' }, NOW, listening('notice.sent'));
    // Assess
    expect([unheard, report, same]).toEqual([sent(), sent(), sent()]);
  });

  it('announces a cancellation when asked to, and names only statuses the lifecycle has', () => {
    // Prepare
    const notice = aNotice({ status: 'queued', version: 1 });
    // Act
    const transition = cancel(notice, NOW, settingsOf(), 'ils', { subscriptions: () => new Set(['notice.cancelled' as const]), newId: () => 'E1' });
    // Assess
    expect(transition?.appendOutbox).toEqual([expect.objectContaining({ type: 'notice.cancelled', sequence: 1 })]);
    expect(ANNOUNCED_STATUSES.every((status) => (NOTICE_STATUSES as readonly string[]).includes(status))).toBe(true);
  });

  describe('keeps the patron out of the event', () => {
    const ctx = { settings: settingsOf(), random: () => 0, newId: () => 'E1', subscriptions: () => new Set(['notice.failed' as const, 'notice.bounced' as const]) };

    it("takes the address out of a relay's 550 that names it, in whatever case it is written", () => {
      // Prepare
      const notice = aNotice({ to: "O'Neil@Example.org", status: 'sending', version: 2, leaseToken: 't', leaseExpiresAt: '2030-01-01T00:02:00.000Z' });
      const refused = deliveryFailure('ERECIPIENT', "550 5.1.1 <o'neil@example.org>: Recipient address rejected: User unknown in virtual mailbox table (o'neil@example.org)", {
        transport: 'smtp',
        server: 'mail.example.org:587',
        responseCode: 550,
        enhancedStatus: '5.1.1',
      });
      // Act
      const plan = afterAttempt(notice, { ok: false, error: refused, startedAt: NOW }, NOW, ctx);
      // Assess
      const [event] = plan.transition.appendOutbox ?? [];
      expect(event?.notice).toMatchObject({ status: 'failed', lastReply: '550 5.1.1 <address>: Recipient address rejected: User unknown in virtual mailbox table (<address>)' });
      expect(JSON.stringify(event).toLowerCase()).not.toContain('neil');
    });

    it("takes the address out of an SES bounce's diagnostic that names it", () => {
      // Prepare
      const notice = aNotice({ to: 'gone@example.org', status: 'sent', version: 3 });
      const bounce = { event: { at: '2030-01-01T00:00:41.000Z', type: 'bounce' as const, detail: 'Permanent/General: smtp; 550-5.1.1 The email account that you tried to reach does not exist: gone@example.org' }, becomes: 'bounced' as const, enhancedStatus: '5.1.1' };
      // Act
      const plan = onFeedback(notice, bounce, NOW, ctx);
      // Assess
      const [event] = plan?.transition.appendOutbox ?? [];
      expect(event?.notice).toMatchObject({ status: 'bounced', lastReply: 'Permanent/General: smtp; 550-5.1.1 The email account that you tried to reach does not exist: <address>' });
      expect(JSON.stringify(event)).not.toContain('@');
    });
  });
});
