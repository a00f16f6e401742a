// Handler dependencies for tests: the real store and queue adapters over whatever SDK clients the test
// gives them (mocked in unit tests, emulators in integration tests), a fixed clock and random source.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { IntakeHandlerDeps } from '../../lambdas/intake/intake-handler';
import { KeyRing } from '../../shared/auth';
import type { Clock, Random } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import { lifecycleSettings } from '../../shared/deps';
import { NotImplementedError } from '../../shared/errors';
import { ulidSource } from '../../shared/ids';
import { type Log, silentLog } from '../../shared/log';
import { SqsDoorbell } from '../../shared/queue/sqs-doorbell';
import { DynamoNoticeStore } from '../../shared/store/dynamo-notice-store';
import { aConfig } from './factories';

export interface TestDepsOptions {
  config?: Config;
  clock?: Clock;
  random?: Random;
  log?: Log;
  dynamodb?: DynamoDBClient;
  sqs?: SQSClient;
  tableName?: string;
  queueUrl?: string;
}

export const testIntakeDeps = (options: TestDepsOptions = {}): IntakeHandlerDeps => {
  const config = options.config ?? aConfig();
  const clock = options.clock ?? { now: () => new Date() };
  return {
    store: new DynamoNoticeStore({ client: options.dynamodb ?? new DynamoDBClient({ region: 'us-east-1' }), tableName: options.tableName ?? 'notices' }),
    queue: new SqsDoorbell({ client: options.sqs ?? new SQSClient({ region: 'us-east-1' }), queueUrl: options.queueUrl ?? 'https://sqs.us-east-1.amazonaws.com/000000000000/doorbells' }),
    clock,
    random: options.random ?? (() => 0.5),
    newId: ulidSource(clock),
    log: options.log ?? silentLog,
    settings: lifecycleSettings(config),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    keyRing: new KeyRing(config.institutions),
    desk: {
      status: async () => {
        throw new NotImplementedError('Transport status is not available yet.');
      },
      test: async () => {
        throw new NotImplementedError('The transport test is not available yet.');
      },
    },
  };
};
