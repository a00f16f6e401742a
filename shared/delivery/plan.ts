// Applying what the lifecycle decided: the transition (a compare-and-set), the doorbell it rings and
// the report it owes, and the webhook events it wrote. Shared by the sender, the sweep and the feedback,
// without the transports.
import { StaleNoticeError } from '../errors';
import type { Doorbell, LifecycleContext, Plan } from '../lifecycle/plan';
import type { Notice } from '../notice/model';
import { relayOutbox, type RelayDeps } from '../webhooks/relay';
import { createReport, type ReportDeps } from './report';

export const lifecycleContext = (deps: Pick<LifecycleContext, 'random' | 'newId' | 'settings' | 'subscriptions'>): LifecycleContext => ({
  settings: deps.settings,
  random: deps.random,
  newId: deps.newId,
  subscriptions: deps.subscriptions,
});

/**
 * Applies a plan. Returns the notice as stored, or undefined when another actor changed it first.
 * Doorbells to ring are added to `doorbells`, for the caller to ring in one batch.
 */
export const applyPlan = async (deps: ReportDeps & Partial<Pick<RelayDeps, 'webhookQueue'>>, plan: Plan, doorbells: Doorbell[]): Promise<Notice | undefined> => {
  let updated: Notice;
  try {
    updated = await deps.store.apply(plan.transition);
  } catch (error) {
    if (error instanceof StaleNoticeError) return undefined;
    throw error;
  }
  if (plan.ring) doorbells.push(plan.ring);
  // The events were stored with the change: handed on now, or by the sweep if this stops first.
  if (updated.outbox?.length) await relayOutbox(deps, updated);
  if (plan.reportOwed) await createReport(deps, updated, doorbells);
  return updated;
};
