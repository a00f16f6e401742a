// requestsPerNotice, ours: the happy path of `count` notices (one intake request of a batch → doorbells →
// sender → recorded `sent`) through the real handlers, with the real SDK clients against dynalite and
// fauxqs, and every AWS request counted by middleware on those clients and again on the wire. The sender is driven the way
// Lambda's event source mapping drives it (infra/local/sqs-poller.ts), whose ReceiveMessage and
// DeleteMessageBatch calls AWS bills too, so the poller is given the counted SQS client. How the
// doorbells arrive is the caller's: all at once in full batches, or spread over the intake's
// spreadSeconds and handed out as the poller finds them, with or without a batching window.
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startLocalRuntime } from '../../infra/local/runtime';
import { type SqsPollerOptions, startSqsPoller } from '../../infra/local/sqs-poller';
import { senderTimings } from '../../shared/config/timing';
import { createTableInput } from '../../shared/store/table';
import { apiEvent } from '../support/factories';
import { type Counts, RequestCounter } from './counting';
import { captureStdout, type FunctionUse, InvocationMeter } from './invocations';
import { type Arrival, BENCH_KEY, benchConfig, benchNotices, createQueue, waitUntil } from './workload';

/** What one design's happy path asked of AWS, for `notices` notices delivered. */
export interface HappyPath {
  notices: number;
  counts: Counts;
  /** Lambda functions by name (`intake`, `sender`) and memory. */
  functions: Record<string, FunctionUse & { memoryMb: number }>;
  /** Bytes the handlers logged (CloudWatch Logs ingestion). */
  logBytes: number;
  elapsedMs: number;
  /** How many sender invocations were handed how many doorbells: { "10": 48, "2": 1 }. */
  batchSizes: Record<string, number>;
  /** The arrival's settings as the configuration had them (ours only). */
  arrival?: { spreadSeconds: number; batchSize: number; concurrency: number; batchingWindowSeconds: number };
}

export interface Emulators {
  dynamodb: string;
  sqs: string;
  smtp: { host: string; port: number };
}

/** Memory of each function as deployed (infra/cdk/constructs/functions.ts MEMORY_MB). */
export const MEMORY_MB = { intake: 512, sender: 512, sweep: 256 } as const;

const HAPPY_PATH_TIMEOUT_MS = 180_000;

/** One design's run as it goes: what is counted, and the figures filled in when it is over. */
export interface HappyPathRun {
  counter: RequestCounter;
  meter: InvocationMeter;
  stdout: { bytes(): number };
  /** performance.now() when the run started. */
  started: number;
  measured: { logBytes: number; elapsedMs: number };
}

/**
 * Drives the sender as the event source mapping does until the `count`th doorbell is deleted, and
 * freezes the counts and the meter then, so that idle polls after it are not counted.
 */
export const sendUntilAllDeleted = async (run: HappyPathRun, count: number, what: string, poller: SqsPollerOptions): Promise<void> => {
  const allDeleted = run.counter.frozenAfterDeleted(count);
  let finished = false;
  void allDeleted.then(() => (finished = true));
  const polling = startSqsPoller(poller);
  try {
    await waitUntil(() => finished, HAPPY_PATH_TIMEOUT_MS, what);
  } finally {
    run.meter.freeze();
    run.measured.elapsedMs = performance.now() - run.started;
    run.measured.logBytes = run.stdout.bytes();
    await polling.stop();
  }
};

/** One design's figures once its run is over (ours and the naive design alike). */
export const happyPath = (notices: number, counter: RequestCounter, meter: InvocationMeter, measured: { logBytes: number; elapsedMs: number }): HappyPath => {
  const use = meter.snapshot();
  return {
    batchSizes: meter.batchSizes('sender'),
    notices,
    counts: counter.snapshot(),
    functions: {
      intake: { ...(use.intake ?? { invocations: 0, billedMs: 0 }), memoryMb: MEMORY_MB.intake },
      sender: { ...(use.sender ?? { invocations: 0, billedMs: 0 }), memoryMb: MEMORY_MB.sender },
    },
    logBytes: measured.logBytes,
    elapsedMs: measured.elapsedMs,
  };
};

/** One API Gateway request per HTTP request: API Gateway bills each. */
export const API_GATEWAY_REQUEST = 'APIGateway.Request';

/**
 * `count` notices in one intake request, delivered as `arrival` has them arrive; `name` keeps each run's
 * table and queue apart on the shared emulators.
 */
export const measureOurs = async (emulators: Emulators, count: number, arrival: Arrival, name: string): Promise<HappyPath> => {
  const tableName = `bench-notices-${name}`;
  const setup = new DynamoDBClient({ endpoint: emulators.dynamodb, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  await setup.send(new CreateTableCommand(createTableInput(tableName)));
  setup.destroy();
  const config = benchConfig(emulators.smtp, arrival);
  const timings = senderTimings(config.sender);
  const { queueUrl, queueArn } = await createQueue(emulators.sqs, `bench-doorbells-${name}`, timings.visibilityTimeoutSeconds);

  // Logs at the level the stack deploys (POWERTOOLS_LOG_LEVEL=INFO), so their bytes are what AWS ingests.
  const savedLevel = process.env.POWERTOOLS_LOG_LEVEL;
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  // Each function with clients of its own, as on AWS, wired as npm start wires them; nothing hosted but
  // the sender's poller, started below with the counted client. SES is not used by an SMTP institution;
  // its client is counted all the same (0 requests).
  const runtime = await startLocalRuntime({
    config,
    resources: { dynamodb: emulators.dynamodb, sqs: emulators.sqs, ses: 'http://127.0.0.1:9', tableName, queueUrl, queueArn },
  });
  process.env.POWERTOOLS_LOG_LEVEL = savedLevel;
  const { deps } = runtime;

  const counter = new RequestCounter();
  // Once each: functions may share their clients.
  for (const each of new Set([deps.intake, deps.sender])) {
    counter.instrument(each.clients.dynamodb, 'DynamoDB');
    counter.instrument(each.clients.sqs, 'SQS');
  }
  counter.instrument(deps.sender.clients.ses, 'SES');
  counter.watchWire({ DynamoDB: emulators.dynamodb, SQS: emulators.sqs });
  const meter = new InvocationMeter();
  const intake = meter.wrap('intake', runtime.handlers.intake);
  const sender = meter.wrap('sender', runtime.handlers.sender);

  const stdout = captureStdout();
  // Filled in as the run goes; read once it is over.
  const measured = { logBytes: 0, elapsedMs: 0, ids: [] as string[] };
  const started = performance.now();
  try {
    const response = await intake(apiEvent({ method: 'POST', path: '/v1/notices', body: { notices: benchNotices(count) }, key: BENCH_KEY }));
    counter.add(API_GATEWAY_REQUEST);
    if (response.statusCode !== 202) throw new Error(`bench: the intake answered ${response.statusCode}: ${response.body}`);
    measured.ids = (JSON.parse(response.body) as { notices: Array<{ id: string }> }).notices.map((notice) => notice.id);

    await sendUntilAllDeleted({ counter, meter, stdout, started, measured }, count, `${count} doorbells handled`, { ...runtime.senderPolling, handler: sender });
  } finally {
    stdout.restore();
    counter.unwatchWire();
  }

  // The counts are frozen: these reads check the outcome and are not counted.
  const stored = await deps.sender.store.getNotices(measured.ids);
  const notSent = measured.ids.filter((id) => stored.get(id)?.status !== 'sent');
  await runtime.stop();
  if (notSent.length) throw new Error(`bench: ${notSent.length} of ${count} notices are not sent`);

  const { spreadSeconds } = config.intake;
  const { batchSize, concurrency, batchingWindowSeconds } = config.sender;
  return { ...happyPath(count, counter, meter, measured), arrival: { spreadSeconds, batchSize, concurrency, batchingWindowSeconds } };
};
