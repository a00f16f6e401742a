// Return-to-sender reports (DESIGN.md §2): which endings owe one (the one rule, `reportOwed`), what a
// notice carries until its report exists, and the report itself, a notice of kind `report` to the
// institution's `bounceTo`, which is never reported on in turn.
import { addSeconds } from '../clock';
import type { NoticeId } from '../ids';
import type { NewNotice, Notice, NoticeStatus, ReturnToSenderReport } from '../notice/model';
import { type Doorbell, dropUndefined, iso, type LifecycleContext, type LifecycleSettings, type Transition } from './plan';
import { contentRetention, doorbellGraceSeconds, queued } from './scheduling';

/**
 * The endings that owe the institution a return-to-sender report. Not `suppressed`: the bounce or complaint
 * that put the address on the list was reported already, and a desk should not get one email per patron
 * per night for an address it knows is bad; the daily digest lists suppressed notices instead.
 */
const REPORTED_ENDINGS: ReadonlySet<NoticeStatus> = new Set(['failed', 'discarded', 'bounced']);

/**
 * Whether a notice that ends as `ending` owes a return-to-sender report: a notice (a report is never
 * reported on) that failed, was discarded or bounced, and has none yet (a bounce after a failure owes
 * nothing more), while `reports.mode` asks for a report per notice (`each` or `both`; `daily` sends the
 * digest alone).
 */
export const reportOwed = (notice: Pick<Notice, 'kind' | 'reportId'>, ending: NoticeStatus, settings: Pick<LifecycleSettings, 'reportsMode'>): boolean =>
  REPORTED_ENDINGS.has(ending) && notice.kind === 'notice' && !notice.reportId && settings.reportsMode !== 'daily';

/**
 * What a notice that owes a return-to-sender report carries until the report exists: its id, fixed here
 * (a compare-and-set lets one actor end the notice, so one id exists), and a place in the sweep's index,
 * so a crash cannot lose the report.
 */
export const owesReport = (now: Date, ctx: LifecycleContext): Pick<Notice, 'reportPending' | 'reportId' | 'sweepAt'> => ({
  reportPending: true,
  reportId: ctx.newId(),
  sweepAt: iso(addSeconds(now, doorbellGraceSeconds(ctx.settings))),
});

/**
 * The return-to-sender report owed by a failed or discarded notice: a notice of kind `report` to the
 * institution's `bounceTo`, sent like any other but never reported on itself. It names the original's
 * externalId in its text but does not take it as its own, so an ILS that looks its notice up by
 * externalId finds that notice alone, not a report that was `sent`.
 */
export const newReport = (original: Notice & { reportId: NoticeId }, ctx: { bounceTo: string; now: Date; settings: LifecycleSettings }): { record: NewNotice; ring: Doorbell } => {
  const { now, settings } = ctx;
  const id = original.reportId;
  const outcome = original.status === 'failed' ? 'failed' : original.status === 'bounced' ? 'bounced' : 'discarded';
  // A bounce is the reason even when the attempt that sent the message is recorded after it (SES may
  // report before the sender has written its outcome).
  // Staff may send it again before the report is made: that is not why it failed.
  const last = [...original.attempts].reverse().find((entry) => (outcome === 'bounced' ? entry.outcome === 'bounced' : entry.outcome !== 'deferred' && entry.outcome !== 'resent'));
  const report: ReturnToSenderReport = dropUndefined({
    noticeId: original.id,
    outcome,
    recipient: original.to,
    subject: original.subject,
    type: original.type,
    externalId: original.externalId,
    createdAt: original.createdAt,
    attempts: original.attempts,
    reason: last?.message ?? outcome,
  });
  const subject = `Undelivered notice: ${original.subject}`.slice(0, 998);
  const giveUpAt = addSeconds(now, settings.retry.maxAgeSeconds);
  const { notice, ring } = queued(
    { id, institutionId: original.institutionId, kind: 'report', reportFor: original.id, to: ctx.bounceTo, subject, type: 'return-to-sender' },
    { now, first: now, giveUpAt },
    settings,
  );
  return { record: { notice, content: { to: ctx.bounceTo, subject, report }, retainContentUntil: contentRetention(giveUpAt) }, ring: ring as Doorbell };
};

/** The report exists: the original leaves the sweep's index, unless webhook events still wait to be relayed. */
export const reportCreated = (original: Notice): Transition => ({
  id: original.id,
  expectVersion: original.version,
  set: {},
  remove: original.outbox?.length ? ['reportPending'] : ['reportPending', 'sweepAt'],
});
