// The intake's dependencies aimed at a test's emulators, from the real builder (shared/deps.ts): for what
// calls the intake's domain without an HTTP request (the SMTP door's tests, its bench).
import type { Clock, Random } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import { createIntakeDeps, type IntakeFunctionDeps } from '../../shared/deps';
import { type Log, silentLog } from '../../shared/log';

export interface IntakeDepsOptions {
  config: Config;
  endpoints: { dynamodb: string; sqs: string };
  tableName?: string;
  queueUrl: string;
  log?: Log;
  clock?: Clock;
  random?: Random;
}

export const intakeDepsFor = (options: IntakeDepsOptions): IntakeFunctionDeps =>
  createIntakeDeps(
    {
      AWS_REGION: 'us-east-1',
      NOTICE_RELAY_TABLE: options.tableName ?? 'notices',
      NOTICE_RELAY_QUEUE_URL: options.queueUrl,
      NOTICE_RELAY_DYNAMODB_ENDPOINT: options.endpoints.dynamodb,
      NOTICE_RELAY_SQS_ENDPOINT: options.endpoints.sqs,
    },
    { config: options.config, log: options.log ?? silentLog, clock: options.clock, random: options.random },
  );
