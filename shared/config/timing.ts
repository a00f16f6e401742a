// Timeouts derived from the `sender` settings, shared by the CDK stack and the local runtime so that
// both keep the same order: attempt deadline < lease < function timeout < visibility timeout.
import type { SenderConfig } from './schema';

/** Time the sender needs besides its attempts: reading the batch, recording outcomes, ringing doorbells. */
const SENDER_OVERHEAD_SECONDS = 30;
/** Lambda's longest timeout. */
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

export interface SenderTimings {
  /** The sender function's timeout: a whole batch of attempts that all run to their deadline. */
  functionTimeoutSeconds: number;
  /**
   * The queue's visibility timeout: six times the function timeout plus the batching window, as AWS
   * advises for a queue that feeds Lambda (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html),
   * so that a throttled or still-gathering batch is not redelivered while it still runs.
   */
  visibilityTimeoutSeconds: number;
}

export const senderTimings = (sender: SenderConfig): SenderTimings => {
  const functionTimeoutSeconds = Math.min(LAMBDA_MAX_TIMEOUT_SECONDS, Math.ceil(sender.batchSize * (sender.attemptTimeoutSeconds + 5) + SENDER_OVERHEAD_SECONDS));
  return { functionTimeoutSeconds, visibilityTimeoutSeconds: Math.min(43_200, 6 * functionTimeoutSeconds + sender.batchingWindowSeconds) };
};

/** Webhook events one invocation takes; they are posted in parallel, each within its own deadline. */
export const WEBHOOK_BATCH_SIZE = 10;
/** Invocations at once locally (on AWS, the event source mapping's maximum concurrency). */
export const WEBHOOK_CONCURRENCY = 2;
/** The webhook function's timeout: one POST's longest deadline (30 s), with room for recording the outcomes. */
export const WEBHOOK_FUNCTION_TIMEOUT_SECONDS = 60;
/** Six times the function timeout, as for the doorbell queue. */
export const WEBHOOK_VISIBILITY_TIMEOUT_SECONDS = 6 * WEBHOOK_FUNCTION_TIMEOUT_SECONDS;
