// The doorbell queue, its dead-letter queue, and the alarms that tell IT when notices pile up.
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { SenderTimings } from '../../../shared/config/timing';

/** Receives before a doorbell moves to the dead-letter queue; the notice itself stays in the store. */
export const MAX_RECEIVE_COUNT = 5;

/** An alarm as soon as any message waits in `deadLetterQueue`. */
const deadLettersAlarm = (scope: Construct, deadLetterQueue: Queue, alarmDescription: string): Alarm =>
  new Alarm(scope, 'DeadLetters', {
    alarmDescription,
    metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
    threshold: 0,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });

export class DoorbellQueue extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly alarms: Alarm[];

  public constructor(scope: Construct, id: string, props: { timings: SenderTimings }) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new Queue(this, 'Queue', {
      visibilityTimeout: Duration.seconds(props.timings.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(4),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    this.alarms = [
      deadLettersAlarm(
        this,
        this.deadLetterQueue,
        'Doorbells reached the dead-letter queue: the sender could not record outcomes (store unreachable?). The notices are safe in the table and the sweep rings them again.',
      ),
      new Alarm(this, 'Backlog', {
        alarmDescription: 'The oldest doorbell has waited over an hour: the sender is failing or throttled.',
        metric: this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5) }),
        threshold: 3600,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    ];
  }
}

/**
 * The webhook queue, a queue of its own so that a receiver that is slow or down never holds up a doorbell,
 * with its dead-letter queue: a message lands there only when its try could not be recorded five times
 * (the table unreachable); a receiver's own failures are tried again through the queue itself.
 */
export class WebhookQueue extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly alarms: Alarm[];

  public constructor(scope: Construct, id: string, props: { visibilityTimeoutSeconds: number }) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', { retentionPeriod: Duration.days(14), encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true });
    this.queue = new Queue(this, 'Queue', {
      visibilityTimeout: Duration.seconds(props.visibilityTimeoutSeconds),
      // A day of retries, with the waits between them: longer than the 24 h an event is tried.
      retentionPeriod: Duration.days(4),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    this.alarms = [
      deadLettersAlarm(this, this.deadLetterQueue, 'Webhook events reached the dead-letter queue: the webhook function could not record their tries (table unreachable?). Redrive them once it is back.'),
    ];
  }
}
