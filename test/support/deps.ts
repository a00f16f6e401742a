// Dependencies for tests, from the real composition root (shared/deps.ts): the SDK clients it builds
// are mocked in unit tests (aws-sdk-client-mock patches every instance) and aimed at the emulators in
// integration tests. The clock, random source and log are the test's.
import type { Clock, Random } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import { createDeps, type Deps } from '../../shared/deps';
import { type Log, silentLog } from '../../shared/log';
import type { SecretSource } from '../../shared/secrets';
import { aConfig } from './factories';

export interface TestDepsOptions {
  config?: Config;
  clock?: Clock;
  random?: Random;
  log?: Log;
  secrets?: SecretSource;
  /** Emulator endpoints; without them the clients aim at AWS (and unit tests mock them). */
  endpoints?: { dynamodb?: string; sqs?: string; ses?: string };
  tableName?: string;
  queueUrl?: string;
}

export const testDeps = (options: TestDepsOptions = {}): Deps =>
  createDeps(
    {
      AWS_REGION: 'us-east-1',
      NOTICE_RELAY_TABLE: options.tableName ?? 'notices',
      NOTICE_RELAY_QUEUE_URL: options.queueUrl ?? 'https://sqs.us-east-1.amazonaws.com/000000000000/doorbells',
      NOTICE_RELAY_DYNAMODB_ENDPOINT: options.endpoints?.dynamodb,
      NOTICE_RELAY_SQS_ENDPOINT: options.endpoints?.sqs,
      NOTICE_RELAY_SES_ENDPOINT: options.endpoints?.ses,
    },
    'test',
    { config: options.config ?? aConfig(), clock: options.clock, random: options.random ?? (() => 0.5), log: options.log ?? silentLog, secrets: options.secrets },
  );
