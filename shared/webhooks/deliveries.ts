// GET /v1/webhooks/deliveries: what became of the institution's webhook events, newest first, and of one
// notice's (the staff console's timeline reads the same records).
import type { InstitutionConfig } from '../config/schema';
import type { WebhookDeliveries as ConsoleWebhookDeliveries } from '../console/timeline';
import type { NoticeId } from '../ids';
import type { WebhookDelivery, WebhookStore } from '../store/webhook-store';

/** A delivery as the API shows it: without the institution, which the key already names. */
export type WebhookDeliveryView = Omit<WebhookDelivery, 'institutionId'>;

const view = ({ institutionId: _institution, ...rest }: WebhookDelivery): WebhookDeliveryView => rest;

/** A page of the institution's deliveries, or all those of one notice (at most 100, oldest first). */
export const listWebhookDeliveries = async (
  deps: { deliveries: WebhookStore },
  institution: InstitutionConfig,
  query: { limit: number; cursor?: string; noticeId?: NoticeId },
): Promise<{ deliveries: WebhookDeliveryView[]; cursor: string | null }> => {
  if (query.noticeId) return { deliveries: (await deps.deliveries.listForNotice(institution.id, query.noticeId.toUpperCase())).map(view), cursor: null };
  const page = await deps.deliveries.list(institution.id, { limit: query.limit, cursor: query.cursor });
  return { deliveries: page.deliveries.map(view), cursor: page.cursor ?? null };
};

/**
 * The staff console's view of a notice's webhook tries (shared/console/timeline.ts), one line per try, read
 * from the deliveries' records.
 */
export const consoleWebhookDeliveries = (deliveries: Pick<WebhookStore, 'listForNotice'>): ConsoleWebhookDeliveries => ({
  forNotice: async (institutionId, noticeId) =>
    (await deliveries.listForNotice(institutionId, noticeId)).flatMap((delivery) =>
      delivery.tries.map((tried) => ({
        at: tried.at,
        event: delivery.eventType,
        url: delivery.url,
        ok: tried.statusCode !== undefined && tried.statusCode >= 200 && tried.statusCode <= 299,
        ...(tried.statusCode !== undefined ? { responseStatus: tried.statusCode } : {}),
        ...(tried.error ? { detail: tried.error } : {}),
      })),
    ),
});
