// Which changes become webhook events (docs/integrator/webhooks.md): a notice (never a report) reaching a status an ILS
// acts on, for an institution listening to it. The event is added to the transition that makes the change,
// so it is stored by the same write (an outbox) and exists exactly when the change does; the notice then
// stays in the sweep's index until the event is handed on, so a crash loses none.
import { addSeconds } from '../clock';
import { lastReply } from '../notice/last-reply';
import type { Notice } from '../notice/model';
import { withoutAddresses } from '../privacy';
import { isAnnounced, type NoticeEvent } from '../webhooks/events';
import { at, dropUndefined, iso, type LifecycleContext, type LifecycleSettings, type Plan, type Subscriptions, type Transition } from './plan';
import { doorbellGraceSeconds } from './scheduling';

/**
 * The transition with the webhook event its change causes, if any: the event's id comes from `newId`, its
 * sequence follows the notice's last, its reply is the notice's last reply (shared/notice/last-reply.ts)
 * without any email address. The notice keeps (or gets) a `sweepAt` no later than a doorbell's grace, the
 * sweep's backstop for relaying the event.
 * @example
 * const plan = announced(decide(notice, now, ctx), notice, now, ctx);
 */
export const announce = (
  transition: Transition,
  notice: Notice,
  now: Date,
  ctx: { subscriptions?: Subscriptions; newId: () => string; settings: Pick<LifecycleSettings, 'leaseSeconds'> },
): Transition => {
  const status = transition.set.status;
  if (!ctx.subscriptions || !status || status === notice.status || notice.kind !== 'notice' || !isAnnounced(status)) return transition;
  const type = `notice.${status}` as const;
  if (!ctx.subscriptions(notice.institutionId).has(type)) return transition;
  const sequence = (notice.eventSeq ?? 0) + 1;
  const reply = lastReply({ attempts: [...notice.attempts, ...(transition.append ?? [])] });
  const event: NoticeEvent = {
    id: ctx.newId(),
    type,
    createdAt: transition.set.updatedAt ?? iso(now),
    sequence,
    // The reply goes to the ILS and waits in queues on the way: a server's refusal and an SES diagnostic often name the patron.
    notice: dropUndefined({ id: notice.id, externalId: notice.externalId, type: notice.type, status, lastReply: reply && withoutAddresses(reply.message, [notice.to]) }),
  };
  const backstop = addSeconds(now, doorbellGraceSeconds(ctx.settings));
  const planned = transition.set.sweepAt;
  const sweepAt = planned && at(planned) < backstop ? planned : iso(backstop);
  return {
    ...transition,
    set: { ...transition.set, eventSeq: sequence, sweepAt },
    remove: transition.remove.filter((attribute) => attribute !== 'sweepAt'),
    appendOutbox: [...(transition.appendOutbox ?? []), event],
  };
};

/** The plan with the webhook event its transition causes (see announce). */
export const announced = <P extends Plan | undefined>(plan: P, notice: Notice, now: Date, ctx: LifecycleContext): P =>
  (plan === undefined ? plan : { ...plan, transition: announce(plan.transition, notice, now, ctx) }) as P;
