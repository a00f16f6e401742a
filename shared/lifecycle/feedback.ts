// What SES feedback does to a notice (DESIGN.md §1: delivery, bounce, complaint events): which statuses an
// event may move a notice from, which verdict wins when SES reports twice, and how a notice that had not
// recorded `sent` (its sender timed out, or died, after SES took the message) ends as SES says.
import { type FeedbackEvent, type HistoryEntry, type Notice, type NoticeStatus, PENDING_STATUSES } from '../notice/model';
import { announced } from './events';
import { leaseExpiredEntry, shorten } from './history';
import { at, dropUndefined, iso, type LifecycleContext, type Plan, spent, type Transition } from './plan';
import { owesReport, reportOwed } from './reports';
import { retainUntil } from './scheduling';

/** What an SES event means for a notice: the event to record and, maybe, the status it reaches. */
export interface Feedback {
  event: FeedbackEvent;
  becomes?: 'delivered' | 'bounced' | 'complained';
  /** The receiving side's enhanced status code (a bounce's `status`). */
  enhancedStatus?: string;
  /** The catalogue's code of a bounce or a reject (shared/transport/classify.ts). */
  code?: string;
}

/** From which final statuses SES feedback may move a notice: a bounce can follow a delivery, never the reverse. */
const FEEDBACK_FROM: Record<SesVerdict, ReadonlySet<NoticeStatus>> = {
  delivered: new Set(['sent']),
  bounced: new Set(['sent', 'delivered']),
  complained: new Set(['sent', 'delivered']),
};

export type SesVerdict = NonNullable<Feedback['becomes']>;

/** Of two things SES reported about one notice, the one it ends with: a bounce or a complaint outranks a delivery. */
const strongest = (seen: SesVerdict | undefined, next: SesVerdict): SesVerdict => (seen === undefined || seen === 'delivered' ? next : seen);

/** A `sending` notice whose sender died: its lease has lapsed and no outcome will be recorded for it. */
const leaseLapsed = (notice: Notice, now: Date): boolean => notice.status === 'sending' && (!notice.leaseExpiresAt || at(notice.leaseExpiresAt) <= now);

/**
 * Ends as SES reported a notice that had not recorded `sent` (still to be tried again after an attempt
 * whose answer was lost, or held by a sender): `delivered`, `bounced` (owing its report) or `complained`,
 * with nothing left of its schedule, lease or slot.
 */
export const settleBySes = (
  notice: Notice,
  verdict: SesVerdict,
  now: Date,
  ctx: LifecycleContext,
  append: HistoryEntry[],
  extra: { set?: Transition['set']; countAttempt?: boolean; appendEvents?: FeedbackEvent[] } = {},
): Plan => {
  const owed = reportOwed(notice, verdict, ctx.settings);
  return {
    transition: {
      id: notice.id,
      expectVersion: notice.version,
      countAttempt: extra.countAttempt,
      set: {
        ...extra.set,
        status: verdict,
        updatedAt: iso(now),
        retainUntil: retainUntil(now, ctx.settings),
        ...(owed ? owesReport(now, ctx) : {}),
      },
      remove: [...spent, 'nextAttemptAt', 'sweepRings', 'reportedBySes', ...(owed ? [] : (['sweepAt'] as Array<keyof Notice>))],
      append: append.length ? append : undefined,
      appendEvents: extra.appendEvents,
    },
    reportOwed: owed,
  };
};

/**
 * Records SES feedback on a notice SES took. `undefined` when the event was recorded before (EventBridge
 * delivers at least once). SES reports only on a message it accepted, so a delivery, a hard bounce or a
 * complaint also ends a notice that had not recorded `sent`: one waiting to be tried again (an attempt
 * timed out after SES took the message) ends at once; one a sender holds keeps the verdict for that
 * sender, or for the sweep if the sender died. A hard bounce of a notice owes one return-to-sender report.
 */
export const onFeedback = (notice: Notice, feedback: Feedback, now: Date, ctx: LifecycleContext): Plan | undefined => announced(planFeedback(notice, feedback, now, ctx), notice, now, ctx);

const planFeedback = (notice: Notice, feedback: Feedback, now: Date, ctx: LifecycleContext): Plan | undefined => {
  const { event } = feedback;
  // EventBridge delivers at least once: the same event again changes nothing. Two recipients' events may
  // share a type and a time, so the detail counts too.
  if (notice.events.some((seen) => seen.type === event.type && seen.at === event.at && seen.detail === event.detail)) return undefined;
  const entry = (status: NoticeStatus): HistoryEntry =>
    dropUndefined({ at: event.at, outcome: feedback.becomes as SesVerdict, status, transport: 'ses' as const, server: 'ses', enhancedStatus: feedback.enhancedStatus, code: feedback.code, message: shorten(event.detail) });
  const becomes = feedback.becomes;
  if (becomes && notice.status === 'sending' && !leaseLapsed(notice, now)) {
    // The sender's compare-and-set on the version sees this, and plans its outcome again on it.
    return {
      transition: { id: notice.id, expectVersion: notice.version, set: { updatedAt: iso(now), reportedBySes: strongest(notice.reportedBySes, becomes) }, remove: [], appendEvents: [event], append: [entry('sending')] },
    };
  }
  if (becomes && (PENDING_STATUSES.has(notice.status) || notice.status === 'sending')) {
    const verdict = strongest(notice.reportedBySes, becomes);
    const lapsed = notice.status === 'sending' ? [leaseExpiredEntry(notice, now, verdict)] : [];
    return settleBySes(notice, verdict, now, ctx, [...lapsed, entry(verdict)], { appendEvents: [event] });
  }
  const moves = becomes && FEEDBACK_FROM[becomes].has(notice.status) ? becomes : undefined;
  const owed = moves !== undefined && reportOwed(notice, moves, ctx.settings);
  return {
    transition: {
      id: notice.id,
      expectVersion: notice.version,
      set: {
        updatedAt: iso(now),
        ...(moves ? { status: moves } : {}),
        ...(owed ? owesReport(now, ctx) : {}),
      },
      remove: [],
      appendEvents: [event],
      append: moves ? [entry(moves)] : undefined,
    },
    reportOwed: owed,
  };
};
