// A notice's timeline for the console (docs/staff/console.md): accepted, each try with its server and
// reply, what Amazon SES reported, the return-to-sender report, a copy sent again, and the webhook
// deliveries about it, in the order they happened, each in words.
import { type FeedbackEvent, type HistoryEntry, isDigest, type Notice } from '../notice/model';
import { explainAttempt, explainEvent, statusLabel } from './reasons';

export type TimelineKind = 'accepted' | 'scheduled' | 'attempt' | 'held' | 'event' | 'status' | 'report' | 'resent' | 'webhook';

export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  title: string;
  /** What it means, in words. */
  detail?: string;
  /** `host:port` or `ses`. */
  server?: string;
  /** The server's own reply, as recorded (code, enhanced status, text). */
  reply?: string;
  /** Another notice this entry is about: the report, the copy sent again, the original. */
  link?: { noticeId: string; label: string };
  /** Whether it went wrong, for the page to mark it. */
  problem?: boolean;
}

/**
 * One try of a webhook about a notice: `WebhookDeliveries` is the seam the webhook deliveries' records plug
 * into (shared/webhooks/deliveries.ts), and the timeline shows what it answers.
 */
export interface WebhookDelivery {
  at: string;
  event: string;
  url: string;
  ok: boolean;
  responseStatus?: number;
  detail?: string;
}

export interface WebhookDeliveries {
  forNotice(institutionId: string, noticeId: string): Promise<WebhookDelivery[]>;
}

const replyOf = (entry: HistoryEntry): string | undefined => {
  const parts = [entry.responseCode, entry.enhancedStatus].filter((part) => part !== undefined).join(' ');
  const text = entry.message ?? '';
  if (!parts && !text) return entry.code;
  return text.startsWith(parts) || !parts ? text || parts : `${parts} ${text}`.trim();
};

const attemptEntry = (entry: HistoryEntry, tryNumber: number): TimelineEntry => {
  const reason = explainAttempt(entry);
  const base = { at: entry.at, server: entry.server, reply: entry.outcome === 'deferred' ? undefined : replyOf(entry) };
  switch (entry.outcome) {
    case 'sent':
      return { ...base, kind: 'attempt', title: `Try ${tryNumber}: sent`, detail: reason.summary };
    case 'transient':
      return { ...base, kind: 'attempt', title: `Try ${tryNumber}: did not work, ${entry.status === 'discarded' ? 'given up' : 'will try again'}`, detail: reason.summary, problem: true };
    case 'permanent':
      return { ...base, kind: 'attempt', title: `Try ${tryNumber}: refused for good`, detail: reason.summary, problem: true };
    case 'deferred':
      return { ...base, kind: 'held', title: 'Held back', detail: reason.summary };
    default:
      return { ...base, kind: 'attempt', title: `Try ${tryNumber}: interrupted`, detail: reason.summary, problem: true };
  }
};

const EVENT_TITLES: Record<FeedbackEvent['type'], string> = {
  delivery: 'Amazon SES: delivered',
  bounce: 'Amazon SES: bounced',
  complaint: 'Amazon SES: marked as spam',
  reject: 'Amazon SES: rejected',
  deliveryDelay: 'Amazon SES: delayed',
};

/**
 * The notice's timeline, oldest first.
 * @example
 * buildTimeline(notice, { report, webhooks: await deps.webhooks.forNotice(institution.id, notice.id) })
 */
export const buildTimeline = (notice: Notice, related: { report?: Notice; webhooks?: WebhookDelivery[] } = {}): TimelineEntry[] => {
  const entries: TimelineEntry[] = [];
  const accepted: TimelineEntry =
    isDigest(notice)
      ? { at: notice.createdAt, kind: 'accepted', title: 'Daily digest created', detail: `It lists for ${notice.to} the notices of a day that did not arrive.` }
      : notice.kind === 'report'
      ? { at: notice.createdAt, kind: 'accepted', title: 'Return-to-sender report created', detail: `It tells ${notice.to} that a notice could not be delivered.`, link: notice.reportFor ? { noticeId: notice.reportFor, label: 'the notice it reports' } : undefined }
      : notice.resentFrom
        ? { at: notice.createdAt, kind: 'accepted', title: 'Created from the console', detail: 'A copy of an earlier notice, sent again by library staff.', link: { noticeId: notice.resentFrom, label: 'the original notice' } }
        : { at: notice.createdAt, kind: 'accepted', title: 'Accepted from the ILS' };
  entries.push(accepted);
  if (notice.sendAt && notice.sendAt > notice.createdAt) entries.push({ at: notice.createdAt, kind: 'scheduled', title: 'Scheduled', detail: `To be sent at ${notice.sendAt}.` });
  let tries = 0;
  for (const entry of notice.attempts) {
    switch (entry.outcome) {
      case 'sent':
      case 'transient':
      case 'permanent':
      case 'lease-expired':
        tries += 1;
        entries.push(attemptEntry(entry, tries));
        break;
      case 'deferred':
        entries.push(attemptEntry(entry, tries));
        break;
      case 'discarded':
        entries.push({ at: entry.at, kind: 'status', title: 'Given up', detail: entry.message, problem: true });
        break;
      case 'cancelled':
        entries.push({ at: entry.at, kind: 'status', title: 'Cancelled', detail: entry.message });
        break;
      case 'resent':
        // The original's entry names the copy; the copy's own is its "created" line above.
        if (notice.resentAs && entry.message?.includes(notice.resentAs)) entries.push({ at: entry.at, kind: 'resent', title: 'Sent again from the console', detail: 'Library staff sent a new copy.', link: { noticeId: notice.resentAs, label: 'the new copy' } });
        break;
      default:
        // delivered, bounced, complained: the SES event below says it, with its details.
        if (!notice.events.some((event) => event.at === entry.at)) entries.push({ at: entry.at, kind: 'status', title: statusLabel(entry.status), detail: entry.message, problem: entry.outcome !== 'delivered' });
    }
  }
  for (const event of notice.events) {
    const reason = explainEvent(event);
    entries.push({ at: event.at, kind: 'event', title: EVENT_TITLES[event.type], detail: reason.summary, reply: event.detail, problem: event.type !== 'delivery' && event.type !== 'deliveryDelay' });
  }
  if (notice.reportId && !notice.reportPending) {
    const report = related.report;
    entries.push({
      at: report?.createdAt ?? notice.updatedAt,
      kind: 'report',
      title: 'Return-to-sender report',
      detail: report ? `Sent to ${report.to}: ${statusLabel(report.status).toLowerCase()}.` : 'A report was made for the library.',
      link: { noticeId: notice.reportId, label: 'the report' },
    });
  }
  for (const delivery of related.webhooks ?? []) {
    entries.push({
      at: delivery.at,
      kind: 'webhook',
      title: `Webhook ${delivery.event}`,
      detail: `${delivery.ok ? 'Delivered to' : 'Not delivered to'} ${delivery.url}${delivery.responseStatus ? ` (HTTP ${delivery.responseStatus})` : ''}${delivery.detail ? `: ${delivery.detail}` : ''}`,
      problem: !delivery.ok,
    });
  }
  // Stable: entries of the same instant keep the order in which they were recorded.
  return entries.map((entry, index) => ({ entry, index })).sort((a, b) => a.entry.at.localeCompare(b.entry.at) || a.index - b.index).map(({ entry }) => entry);
};
