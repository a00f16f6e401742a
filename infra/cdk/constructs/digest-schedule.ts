// The daily digest on AWS (docs/staff/reports.md, The daily digest): its function run every 15 minutes by EventBridge
// (each run makes the digests whose local time of day has come and that do not exist yet), allowed to
// read the day's notices from the byInstitution index, write the digest and ring its doorbell, and no
// more: the sender sends it, so the digest holds no secret and no SES permission. An alarm when it fails.
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { DIGEST_RUN_MINUTES } from '../../../shared/digest/run';
import type { NoticeRelayFunctions } from './functions';

export interface DigestScheduleProps {
  functions: NoticeRelayFunctions;
  tableArn: string;
  queueArn: string;
}

export class DigestSchedule extends Construct {
  public readonly alarm: Alarm;

  public constructor(scope: Construct, id: string, props: DigestScheduleProps) {
    super(scope, id);
    const { functions } = props;
    // BatchGetItem: which days' digests exist or were found empty; PutItem: the digest (conditional, so made once) and an empty day's marker.
    functions.allow(['digest'], ['dynamodb:BatchGetItem', 'dynamodb:PutItem'], [props.tableArn]);
    functions.allow(['digest'], ['dynamodb:Query'], [`${props.tableArn}/index/byInstitution`]);
    functions.allow(['digest'], ['sqs:SendMessage'], [props.queueArn]);
    new Rule(this, 'Schedule', {
      description: 'Runs the Notice Relay daily digest',
      schedule: Schedule.rate(Duration.minutes(DIGEST_RUN_MINUTES)),
      targets: [new LambdaFunction(functions.functions.digest, { retryAttempts: 0 })],
    });
    this.alarm = new Alarm(this, 'Errors', {
      alarmDescription: 'The daily digest failed for an institution (its log names which); the next run tries again.',
      metric: functions.functions.digest.metricErrors({ period: Duration.minutes(DIGEST_RUN_MINUTES) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
