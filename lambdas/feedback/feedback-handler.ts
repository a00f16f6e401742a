// EventBridge event (SES feedback) → recordFeedback (shared)
import type { EventBridgeEvent } from 'aws-lambda';
import { type FeedbackDeps, recordFeedback, type SesEventRecord } from '../../shared/delivery/feedback';

/**
 * Makes the feedback handler. A failure throws, so that EventBridge retries the event.
 * @example
 * export const handler = makeFeedbackHandler(createFeedbackDeps(process.env));
 */
export const makeFeedbackHandler =
  (deps: FeedbackDeps) =>
  async (event: EventBridgeEvent<string, SesEventRecord>): Promise<{ outcome: string }> => ({ outcome: await recordFeedback(deps, event.detail) });
