// SQS event (doorbells) → deliver (shared) → partial batch response
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DeliveryBatch, type DeliveryDeps } from '../../shared/delivery/deliver';
import { errorCode } from '../../shared/errors';
import type { NoticeId } from '../../shared/ids';
import { parseDoorbell } from '../../shared/queue/doorbell';

/** Time kept back from Lambda's timeout for recording and ringing after the last attempt. */
const RESERVE_MS = 10_000;

/**
 * Makes the sender handler. Doorbells are handled one after another, so a batch shares its relay
 * connections and honours rate limits in order. A doorbell whose outcome was recorded succeeds, even
 * when the notice failed; only one that could not be recorded goes back to SQS.
 * @example
 * export const handler = makeSenderHandler(createSenderDeps(process.env));
 */
export const makeSenderHandler = (deps: DeliveryDeps) => {
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    // A processor holds the state of one batch: one per invocation, as the local runtime runs several at once.
    const processor = new BatchProcessor(EventType.SQS);
    const ids = event.Records.map((record) => parseDoorbell(record.body)).filter((id): id is NoticeId => id !== undefined);
    const batch = await DeliveryBatch.open(deps, ids);
    try {
      return await processPartialResponse(
        event,
        async (record: SQSRecord) => {
          const id = parseDoorbell(record.body);
          if (!id) {
            // Not a doorbell: retrying it would not make it one.
            deps.log.warn('message that is not a doorbell dropped', { messageId: record.messageId });
            return;
          }
          // Not enough time left for a whole attempt: hand the doorbell back rather than be cut off mid-send.
          if (context && context.getRemainingTimeInMillis() < deps.attemptTimeoutSeconds * 1000 + RESERVE_MS) {
            throw new Error('not enough time left in this invocation');
          }
          try {
            await batch.deliver(id);
          } catch (error) {
            deps.log.error('delivery not recorded', { noticeId: id, code: errorCode(error) });
            throw error;
          }
        },
        processor,
        // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html: the event source
        // mapping needs ReportBatchItemFailures in FunctionResponseTypes for this answer to count.
        { context, processInParallel: false },
      );
    } finally {
      await batch.close();
    }
  };
};
