// SQS event (webhook events) → deliverWebhook (shared) → partial batch response
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { errorCode } from '../../shared/errors';
import { parseWebhookMessage } from '../../shared/queue/webhook-queue';
import { deliverWebhook, type WebhookDeliveryDeps } from '../../shared/webhooks/deliver';

/**
 * Makes the webhook handler. Its messages post in parallel: one slow receiver holds up only its own. A
 * message whose try was recorded succeeds, whatever the receiver said; only one that could not be recorded
 * (store or queue down) goes back to SQS, and after its tries there, to the dead-letter queue.
 * @example
 * export const handler = makeWebhooksHandler(createWebhookDeps(process.env));
 */
export const makeWebhooksHandler = (deps: WebhookDeliveryDeps) => async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(
    event,
    async (record: SQSRecord) => {
      const message = parseWebhookMessage(record.body);
      if (!message) {
        deps.log.warn('message that is not a webhook event dropped', { messageId: record.messageId });
        return;
      }
      try {
        await deliverWebhook(deps, message);
      } catch (error) {
        deps.log.error('webhook try not recorded', { eventId: message.event.id, code: errorCode(error) });
        throw error;
      }
    },
    processor,
    // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html: ReportBatchItemFailures.
    { context, processInParallel: true },
  );
};
