// The local runtime's wiring (docs/contributing/layout.md), in one place for `npm start`, the tests' pipeline
// and the bench: each function's dependencies built from the environment as on Lambda, its handler made,
// and hosted as AWS hosts it: the API's functions behind the local gateway, the sender behind an SQS
// poller as Lambda's event source mapping, the webhook function behind a poller of its own queue, the sweep
// and the daily digest on EventBridge's schedules, TTL as an hourly delete.
import type { SQSBatchResponse, SQSEvent, Context } from 'aws-lambda';
import { makeConsoleHandler } from '../../lambdas/console/console-handler';
import { makeDigestHandler } from '../../lambdas/digest/digest-handler';
import { makeIntakeHandler } from '../../lambdas/intake/intake-handler';
import { makeSenderHandler } from '../../lambdas/sender/sender-handler';
import { makeSweepHandler } from '../../lambdas/sweep/sweep-handler';
import { makeTransportHandler } from '../../lambdas/transport/transport-handler';
import { makeWebhooksHandler } from '../../lambdas/webhooks/webhooks-handler';
import type { Config } from '../../shared/config/schema';
import { senderTimings } from '../../shared/config/timing';
import type { SweepResult } from '../../shared/delivery/sweep';
import { DIGEST_RUN_MINUTES, type DigestResult } from '../../shared/digest/run';
import {
  type ConsoleFunctionDeps,
  createConsoleDeps,
  createDigestDeps,
  type DigestFunctionDeps,
  createIntakeDeps,
  createSenderDeps,
  createSweepDeps,
  createTransportFunctionDeps,
  createWebhookDeps,
  type DepsOverrides,
  type Env,
  type IntakeFunctionDeps,
  type SenderFunctionDeps,
  type SweepFunctionDeps,
  type TransportFunctionDeps,
  type WebhookFunctionDeps,
} from '../../shared/deps';
import { WEBHOOK_BATCH_SIZE, WEBHOOK_CONCURRENCY, WEBHOOK_FUNCTION_TIMEOUT_SECONDS, WEBHOOK_VISIBILITY_TIMEOUT_SECONDS } from '../../shared/config/timing';
import { errorCode } from '../../shared/errors';
import { type ProxyHandler, routeApi, startApiGateway, type TlsIdentity } from './api-gateway';
import type { Running } from './emulators';
import { deleteExpired } from './expirer';
import { startSchedule } from './schedule';
import { type SqsPoller, type SqsPollerOptions, startSqsPoller } from './sqs-poller';

/** Where the functions find the store, the queue and SES: the emulators, or a test's own. */
export interface LocalResources {
  dynamodb: string;
  sqs: string;
  ses?: string;
  tableName: string;
  queueUrl: string;
  queueArn?: string;
  /** The webhook queue; without it no webhook event is written or posted. */
  webhookQueueUrl?: string;
  webhookQueueArn?: string;
}

/** What to host; nothing is hosted unless asked, so a test or the bench can drive a function itself. */
export interface Hosting {
  /** The sender behind an SQS poller. */
  sender?: boolean;
  /** The sweep every `sweep.intervalSeconds`. */
  sweep?: boolean;
  /** The webhook function behind a poller of its own queue (needs `resources.webhookQueueUrl`). */
  webhooks?: boolean;
  /** The daily digest's run every DIGEST_RUN_MINUTES, as EventBridge runs it. */
  digest?: boolean;
  /** Deleting what DynamoDB's TTL would have deleted, hourly. */
  expiry?: boolean;
  /** The API's functions behind a local API Gateway. */
  api?: { port: number; host?: string; tls?: TlsIdentity };
}

export interface LocalRuntimeOptions {
  config: Config;
  resources: LocalResources;
  /** More of the environment the functions read (NOTICE_RELAY_SECRET_ARNS…). */
  env?: Env;
  /** The log, clock, random source and secrets instead of the functions' own. */
  overrides?: Omit<DepsOverrides, 'config'>;
  /** What the sender and the sweep use instead of what they were built with (fault injection, other secrets). */
  decorate?: { sender?: (deps: SenderFunctionDeps) => SenderFunctionDeps; sweep?: (deps: SweepFunctionDeps) => SweepFunctionDeps };
  hosting?: Hosting;
  /** Runs once the functions exist and before anything is hosted (npm start's repairs after a restart). */
  beforeHosting?: (functions: LocalFunctions) => Promise<void>;
  /** Told about what failed where no caller would see it: an invocation, a sweep, an expiry run. */
  onError?: (what: string, error: unknown) => void;
}

/** The functions as Lambda would run them, each with the dependencies its builder made. */
export interface LocalFunctions {
  deps: { intake: IntakeFunctionDeps; transport: TransportFunctionDeps; console: ConsoleFunctionDeps; sender: SenderFunctionDeps; sweep: SweepFunctionDeps; webhooks?: WebhookFunctionDeps; digest: DigestFunctionDeps };
  handlers: {
    intake: ProxyHandler;
    transport: ProxyHandler;
    console: ProxyHandler;
    /** The API's functions, routed by path as API Gateway routes them. */
    api: ProxyHandler;
    sender: (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;
    sweep: () => Promise<SweepResult>;
    webhooks?: (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;
    digest: () => Promise<DigestResult>;
  };
  /** How the sender is polled (Lambda's event source mapping, from the configuration), for a host of one's own. */
  senderPolling: SqsPollerOptions;
}

export interface RunningFunctions extends LocalFunctions {
  /** The sender's poller, when hosted. */
  poller?: SqsPoller;
  /** The webhook function's poller, when hosted: its own, so a slow receiver never holds up a doorbell. */
  webhookPoller?: SqsPoller;
  /** The local API Gateway, when hosted. */
  api?: Running;
  /** Stops what is hosted, then closes every function's clients. */
  stop(): Promise<void>;
}

const EXPIRY_INTERVAL_SECONDS = 3600;

/**
 * Builds every function of the pipeline against `resources` and hosts what `hosting` asks for.
 * @example
 * const runtime = await startLocalRuntime({ config, resources, hosting: { sender: true, sweep: true, api: { port: 0 } } });
 */
export const startLocalRuntime = async (options: LocalRuntimeOptions): Promise<RunningFunctions> => {
  const { config, resources, hosting = {} } = options;
  const env: Env = {
    ...options.env,
    AWS_REGION: 'us-east-1',
    NOTICE_RELAY_TABLE: resources.tableName,
    NOTICE_RELAY_QUEUE_URL: resources.queueUrl,
    NOTICE_RELAY_DYNAMODB_ENDPOINT: resources.dynamodb,
    NOTICE_RELAY_SQS_ENDPOINT: resources.sqs,
    NOTICE_RELAY_SES_ENDPOINT: resources.ses,
    NOTICE_RELAY_WEBHOOK_QUEUE_URL: resources.webhookQueueUrl,
  };
  const overrides: DepsOverrides = { ...options.overrides, config };
  // Each function with clients of its own, as on AWS, from its own builder.
  const built = {
    intake: createIntakeDeps(env, overrides),
    transport: createTransportFunctionDeps(env, overrides),
    console: createConsoleDeps(env, overrides),
    sender: createSenderDeps(env, overrides),
    sweep: createSweepDeps(env, overrides),
    ...(resources.webhookQueueUrl ? { webhooks: createWebhookDeps(env, overrides) } : {}),
    digest: createDigestDeps(env, overrides),
  };
  const deps = { ...built, sender: options.decorate?.sender?.(built.sender) ?? built.sender, sweep: options.decorate?.sweep?.(built.sweep) ?? built.sweep };
  const closeClients = () => {
    for (const each of Object.values(built)) each?.close();
  };
  const intake = makeIntakeHandler(deps.intake);
  const transport = makeTransportHandler(deps.transport);
  const staffConsole = makeConsoleHandler(deps.console);
  const sender = makeSenderHandler(deps.sender);
  const sweep = makeSweepHandler(deps.sweep);
  const webhooks = deps.webhooks ? makeWebhooksHandler(deps.webhooks) : undefined;
  const digest = makeDigestHandler(deps.digest);
  const timings = senderTimings(config.sender);
  const report = (what: string) => (error: unknown) =>
    options.onError ? options.onError(what, error) : deps.sweep.log.error(what, { code: errorCode(error) });
  const functions: LocalFunctions = {
    deps,
    handlers: { intake, transport, console: staffConsole, api: routeApi({ intake, transport, console: staffConsole }), sender, sweep: () => sweep(), webhooks, digest: () => digest() },
    senderPolling: {
      client: deps.sender.clients.sqs,
      queueUrl: resources.queueUrl,
      queueArn: resources.queueArn,
      handler: sender,
      batchSize: config.sender.batchSize,
      concurrency: config.sender.concurrency,
      batchingWindowSeconds: config.sender.batchingWindowSeconds,
      functionTimeoutSeconds: timings.functionTimeoutSeconds,
      visibilityTimeoutSeconds: timings.visibilityTimeoutSeconds,
      onError: report('sender invocation failed'),
    },
  };

  const hosted: Array<{ stop(): Promise<void> }> = [];
  const stop = async () => {
    for (const running of hosted.splice(0).reverse()) await running.stop().catch(() => undefined);
    closeClients();
  };
  try {
    await options.beforeHosting?.(functions);
    const poller = hosting.sender ? startSqsPoller(functions.senderPolling) : undefined;
    if (poller) hosted.push(poller);
    const webhookPoller =
      hosting.webhooks && webhooks && resources.webhookQueueUrl
        ? startSqsPoller({
            client: deps.sweep.clients.sqs,
            queueUrl: resources.webhookQueueUrl,
            queueArn: resources.webhookQueueArn,
            handler: webhooks,
            batchSize: WEBHOOK_BATCH_SIZE,
            concurrency: WEBHOOK_CONCURRENCY,
            functionTimeoutSeconds: WEBHOOK_FUNCTION_TIMEOUT_SECONDS,
            visibilityTimeoutSeconds: WEBHOOK_VISIBILITY_TIMEOUT_SECONDS,
            onError: report('webhook invocation failed'),
          })
        : undefined;
    if (webhookPoller) hosted.push(webhookPoller);
    if (hosting.sweep) hosted.push(startSchedule(functions.handlers.sweep, config.sweep.intervalSeconds, report('sweep failed')));
    if (hosting.digest) hosted.push(startSchedule(functions.handlers.digest, DIGEST_RUN_MINUTES * 60, report('daily digest failed')));
    if (hosting.expiry) {
      hosted.push(startSchedule(() => deleteExpired(deps.sweep.clients.dynamodb, resources.tableName, deps.sweep.clock.now()), EXPIRY_INTERVAL_SECONDS, report('expiry failed')));
    }
    const api = hosting.api ? await startApiGateway(functions.handlers.api, hosting.api) : undefined;
    if (api) hosted.push(api);
    return { ...functions, poller, webhookPoller, api, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};
