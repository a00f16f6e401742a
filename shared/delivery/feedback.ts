// SES feedback (docs/contributing/notice-flow.md): delivery, bounce, complaint and reject events, which SES publishes through
// the configuration set to EventBridge, recorded on the notice they concern. The notice is found by the
// `notice-id` message tag the SES transport sets on every message.
import type { InstitutionConfig } from '../config/schema';
import type { CoreDeps } from '../core-deps';
import { StaleNoticeError } from '../errors';
import { type Feedback, onFeedback } from '../lifecycle/feedback';
import type { Doorbell } from '../lifecycle/plan';
import { classifySesEvent } from '../transport/classify';
import { NOTICE_ID_TAG } from '../transport/transport';
import { type SuppressionDeps, suppressAddress } from '../suppression/suppress';
import { applyPlan, lifecycleContext } from './plan';

/** The part of an SES event record this service reads (Amazon SES Developer Guide, "Contents of event data"). */
export interface SesEventRecord {
  eventType: string;
  mail: { messageId: string; timestamp: string; tags?: Record<string, string[]> };
  delivery?: { timestamp: string; recipients?: string[]; smtpResponse?: string; reportingMTA?: string };
  bounce?: {
    timestamp: string;
    bounceType: 'Permanent' | 'Transient' | 'Undetermined';
    bounceSubType?: string;
    bouncedRecipients?: Array<{ emailAddress: string; status?: string; diagnosticCode?: string }>;
  };
  complaint?: { timestamp: string; complainedRecipients?: Array<{ emailAddress: string }>; complaintFeedbackType?: string };
  reject?: { reason?: string };
  deliveryDelay?: { timestamp: string; delayType?: string };
}

const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * What an SES event means for the notice sent to `patron`, or undefined for events this service does not
 * track (send, open, click…). The verdict is the catalogue's (classifySesEvent in
 * shared/transport/classify.ts); this reads the event's fields for it: whether the event names the patron
 * (a delivery, bounce or complaint that names only a copy (cc) is recorded on the notice, not taken as its
 * fate), the bounce's type and the receiving side's diagnostic.
 */
export const feedbackOf = (record: SesEventRecord, patron?: string): Feedback | undefined => {
  const concernsPatron = (recipients: string[] | undefined) => patron === undefined || !recipients?.length || recipients.some((address) => sameAddress(address, patron));
  const bounce = record.bounce;
  const bounced = bounce?.bouncedRecipients ?? [];
  const named: Record<string, string[] | undefined> = {
    Delivery: record.delivery?.recipients,
    Bounce: bounced.map((recipient) => recipient.emailAddress),
    Complaint: record.complaint?.complainedRecipients?.map((complained) => complained.emailAddress),
  };
  const verdict = classifySesEvent(record.eventType, { bounceType: bounce?.bounceType, concernsPatron: concernsPatron(named[record.eventType]) });
  if (!verdict) return undefined;
  const becomes = verdict.becomes ? { becomes: verdict.becomes } : {};
  switch (record.eventType) {
    case 'Delivery':
      return { event: { at: record.delivery?.timestamp ?? record.mail.timestamp, type: 'delivery', detail: record.delivery?.smtpResponse }, ...becomes };
    case 'Bounce': {
      const recipient = bounced.find((entry) => patron !== undefined && sameAddress(entry.emailAddress, patron)) ?? bounced[0];
      const detail = [`${bounce?.bounceType ?? 'Undetermined'}/${bounce?.bounceSubType ?? 'General'}`, recipient?.diagnosticCode].filter(Boolean).join(': ');
      return { event: { at: bounce?.timestamp ?? record.mail.timestamp, type: 'bounce', detail }, ...becomes, ...(verdict.becomes ? { enhancedStatus: recipient?.status, code: verdict.code } : {}) };
    }
    case 'Complaint':
      return { event: { at: record.complaint?.timestamp ?? record.mail.timestamp, type: 'complaint', detail: record.complaint?.complaintFeedbackType }, ...becomes };
    case 'Reject':
      return { event: { at: record.mail.timestamp, type: 'reject', detail: record.reject?.reason }, ...becomes, code: verdict.code };
    default:
      return { event: { at: record.deliveryDelay?.timestamp ?? record.mail.timestamp, type: 'deliveryDelay', detail: record.deliveryDelay?.delayType } };
  }
};

const RECORD_TRIES = 3;

/**
 * Whether an SES event puts the patron's address on the suppression list: a `Permanent` bounce of it
 * (SES's own account-level suppression reports so too, as `OnAccountSuppressionList`), or a complaint.
 */
export const suppressionOf = (record: SesEventRecord, patron: string): { reason: 'bounce' | 'complaint'; detail: string } | undefined => {
  if (record.eventType === 'Bounce' && record.bounce?.bounceType === 'Permanent') {
    const recipients = record.bounce.bouncedRecipients ?? [];
    if (recipients.length && !recipients.some((bounced) => sameAddress(bounced.emailAddress, patron))) return undefined;
    return { reason: 'bounce', detail: `SES Permanent/${record.bounce.bounceSubType ?? 'General'}` };
  }
  if (record.eventType === 'Complaint') {
    const recipients = record.complaint?.complainedRecipients ?? [];
    if (recipients.length && !recipients.some((complained) => sameAddress(complained.emailAddress, patron))) return undefined;
    return { reason: 'complaint', detail: record.complaint?.complaintFeedbackType ?? 'complaint' };
  }
  return undefined;
};

/** The feedback needs the store, the queue and the institutions (for the report a bounce owes), and the suppression list. */
export interface FeedbackDeps extends CoreDeps, Partial<Pick<SuppressionDeps, 'suppressions' | 'suppressionDays'>> {
  institutions: ReadonlyMap<string, InstitutionConfig>;
}

/**
 * Records one SES event on its notice.
 * @example
 * await recordFeedback(deps, eventBridgeEvent.detail);
 */
export const recordFeedback = async (deps: FeedbackDeps, record: SesEventRecord): Promise<'recorded' | 'duplicate' | 'ignored' | 'unknown'> => {
  const feedback = feedbackOf(record);
  if (!feedback) return 'ignored';
  const noticeId = record.mail.tags?.[NOTICE_ID_TAG]?.[0];
  if (!noticeId) {
    deps.log.info('SES event for a message without a notice id', { sesMessageId: record.mail.messageId, eventType: record.eventType });
    return 'unknown';
  }
  for (let attempt = 1; ; attempt++) {
    const notice = await deps.store.getNotice(noticeId);
    if (!notice) {
      deps.log.info('SES event for a notice that does not exist', { noticeId, eventType: record.eventType });
      return 'unknown';
    }
    const plan = onFeedback(notice, feedbackOf(record, notice.to) ?? feedback, deps.clock.now(), lifecycleContext(deps));
    if (!plan) return 'duplicate';
    const doorbells: Doorbell[] = [];
    const updated = await applyPlan(deps, plan, doorbells);
    if (updated) {
      if (doorbells.length) await deps.queue.ring(doorbells);
      const suppression = updated.kind === 'notice' ? suppressionOf(record, updated.to) : undefined;
      if (suppression && deps.suppressions && deps.suppressionDays !== undefined) {
        await suppressAddress({ ...deps, suppressions: deps.suppressions, suppressionDays: deps.suppressionDays }, { institutionId: updated.institutionId, address: updated.to, noticeId: updated.id, ...suppression });
      }
      deps.log.info('SES feedback recorded', { noticeId, eventType: record.eventType, status: updated.status });
      return 'recorded';
    }
    if (attempt >= RECORD_TRIES) throw new StaleNoticeError(`notice ${noticeId} kept changing while its feedback was recorded`);
  }
};
