// The composition root: the only module that reads the environment and builds SDK clients. Each Lambda
// function's handler.ts calls its own builder at start-up, which builds only what that function uses (and
// so only that goes into its bundle); the local runtime calls the same builders with the emulators' endpoints.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { KeyRing } from './auth';
import { type Clock, type Random, systemClock } from './clock';
import { readRuntimeConfig } from './config/runtime';
import type { Config, InstitutionConfig } from './config/schema';
import type { CoreDeps } from './core-deps';
import { ulidSource } from './ids';
import type { LifecycleSettings } from './lifecycle/plan';
import type { Log, LogAttributes } from './log';
import { SqsDoorbell } from './queue/sqs-doorbell';
import { SqsWebhookQueue } from './queue/sqs-webhook-queue';
import { DynamoSuppressionStore } from './store/dynamo-suppression-store';
import { DynamoWebhookStore } from './store/dynamo-webhook-store';
import type { SuppressionStore } from './store/suppression-store';
import type { WebhookStore } from './store/webhook-store';
import type { WebhookDeliveryDeps } from './webhooks/deliver';
import { httpPoster } from './webhooks/http-poster';
import { subscriptionsOf } from './webhooks/relay';
import { noSecrets, type SecretSource } from './secrets';
import { SecretsManagerSource } from './secrets-manager';
import { DynamoIdempotencyStore } from './store/dynamo-idempotency-store';
import { DynamoNoticeStore } from './store/dynamo-notice-store';
import type { IdempotencyStore } from './store/idempotency-store';
import { type DeskDeps, makeDesk, type TransportDesk } from './transport/desk';
import type { KeyRateCounter } from './intake/key-rate';
import { DynamoKeyRateCounter } from './store/dynamo-key-rate';
import type { TransportDeps } from './transport/factory';
import { type FetchLike, OAuth2Tokens } from './transport/oauth2';
import type { TransportStates } from './transport/records';
import { DynamoTransportState } from './store/dynamo-transport-state';
import { DynamoBatchLookups } from './store/dynamo-batch-lookups';
import type { BatchLookups } from './store/batch-lookups';
import { type TlsIdentity, tlsIdentityOfSecret } from './submission/certificate';
import { DynamoConsoleSessions, DynamoSignInFailures } from './store/dynamo-console-state';
import type { NoticeLookups } from './store/notice-store';
import type { SessionStore, TokenSource } from './console/sessions';
import type { FailureCounter } from './console/sign-in';
import { StaffKeys } from './console/staff-keys';
import type { WebhookDeliveries } from './console/timeline';
import { consoleWebhookDeliveries } from './webhooks/deliveries';
import { OverviewReader } from './console/overview';
import type { DnsDeps } from './console/dns';
import type { Deployment } from './console/settings';
import type { DigestDeps } from './digest/run';

export type Env = Readonly<Record<string, string | undefined>>;

/** What the functions that act on notices share: the store, the queue, the configuration and the domain's inputs. */
export interface BaseDeps extends CoreDeps {
  config: Config;
  /** The institutions' suppression lists, and how long an entry lasts (`suppression.days`). */
  suppressions: SuppressionStore;
  suppressionDays: number;
  institutions: ReadonlyMap<string, InstitutionConfig>;
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient };
  /** Closes the SDK clients' connections (the local runtime's shutdown). */
  close(): void;
}

/** The sweep's: the base, and each institution's transport state, for the stall alert. */
export interface SweepFunctionDeps extends BaseDeps {
  transportStates: TransportStates;
  /** alerts.stalledAfterMinutes: the sweep tells of an institution whose notices have waited that long with none getting through. */
  stalledAfterMinutes: number;
}

/** The feedback's: the base and nothing more. */
export type FeedbackFunctionDeps = BaseDeps;

/** The sender's: the base, and the transports and each institution's transport state (rate limits, paused sending); no API keys. */
export interface SenderFunctionDeps extends BaseDeps {
  transports: TransportDeps;
  transportStates: TransportStates;
  batchLookups: BatchLookups;
  attemptTimeoutSeconds: number;
  sleep: (ms: number) => Promise<void>;
  clients: BaseDeps['clients'] & { ses: SESClient };
}

/** What authenticating an API request takes: the institutions' keys and the keys' rates. */
interface ApiKeyDeps {
  keyRing: KeyRing;
  keyRates: KeyRateCounter;
}

/** The transport function's: the Test Server and the transport's status, behind the API's keys; no notices. */
export interface TransportFunctionDeps extends ApiKeyDeps {
  config: Config;
  clock: Clock;
  log: Log;
  desk: TransportDesk;
  clients: { dynamodb: DynamoDBClient; ses: SESClient };
  close(): void;
}

/** A required environment variable; start-up fails at once, by name, when it is missing. */
export const requireEnv = (env: Env, name: string): string => {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
};

/** The lifecycle's settings from the configuration. */
export const lifecycleSettings = (config: Config): LifecycleSettings => ({
  retry: config.retry,
  leaseSeconds: config.sender.leaseSeconds,
  retentionDays: config.retention.days,
  spreadSeconds: config.intake.spreadSeconds,
  reportsMode: config.reports.mode,
});

/** Client options for an emulator endpoint (any credentials do), or none on AWS. */
const endpointOptions = (endpoint: string | undefined) =>
  endpoint ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {};

/** Uniform in [0, 1) from the crypto source: jitter need not be unpredictable, but this costs nothing. */
const cryptoRandom: Random = () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48;

/** Powertools' Logger behind the domain's Log: structured JSON lines, one per event. */
export const powertoolsLog = (logger: Logger): Log => {
  const at =
    (level: keyof Log) =>
    (message: string, attributes?: LogAttributes): void =>
      attributes ? logger[level](message, attributes) : logger[level](message);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

/** The log of one function: Powertools' Logger, naming the function on every line. */
const serviceLog = (service: string): Log => powertoolsLog(new Logger({ serviceName: 'notice-relay', persistentKeys: { handler: service } }));

export interface DepsOverrides {
  config?: Config;
  log?: Log;
  clock?: Clock;
  random?: Random;
  secrets?: SecretSource;
}

const REQUEST_HANDLER = { connectionTimeout: 3000, requestTimeout: 15_000 };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The Test Server's time in all when it answers POST /v1/transport/test: API Gateway gives up at 29 s,
 * and the result must be recorded and returned before then.
 */
export const TEST_SERVER_BUDGET_SECONDS = 24;

/** What every SDK client of the service is built with: its region, short timeouts, the emulator's endpoint if any. */
interface SdkClientOptions {
  region: string;
  requestHandler: typeof REQUEST_HANDLER;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * One SDK client, as every handler and command builds them (`endpoint`: an emulator's, when set). The
 * SDK's logger middleware is removed: it runs every request's input and output through a sensitive-data
 * filter for a logger these clients never get (the default one discards all), CPU on every store and
 * queue call of the sender's hot path, for nothing. The handlers log through Powertools, by notice id.
 */
const sdkClient = <T extends { middlewareStack: { remove(name: string): boolean } }>(Client: new (options: SdkClientOptions) => T, region: string, endpoint?: string): T => {
  const client = new Client({ region, requestHandler: REQUEST_HANDLER, ...endpointOptions(endpoint) });
  client.middlewareStack.remove('loggerMiddleware');
  return client;
};

const transportDeps = (config: Config, clock: Clock, secrets: SecretSource, ses: SESClient): TransportDeps => ({
  clock,
  secrets,
  ses,
  tokens: new OAuth2Tokens({ fetch: globalThis.fetch as FetchLike, clock }),
  // A relay that accepts the connection but never greets must leave time for the backup.
  connectSeconds: Math.min(10, config.sender.attemptTimeoutSeconds / 3),
});

/** Where `notice-relay send-test` finds what it needs beyond the configuration. */
export interface DeskOptions {
  /** The institution's Secrets Manager secret: a deployed configuration keeps its passwords and keys there. */
  secret?: { institutionId: string; secretId: string };
  /**
   * The deployment's DynamoDB table: the result is recorded there as POST /v1/transport/test records it,
   * so GET /v1/transport shows it (NOTICE_RELAY_DYNAMODB_ENDPOINT reaches an emulator instead).
   */
  tableName?: string;
}

/**
 * What `notice-relay send-test` needs: the Test Server alone, with the configuration's own secrets (or the
 * institution's Secrets Manager secret) and, when given a table, the store its results are kept in, so
 * IT can try a relay from any machine. AWS is reached with the machine's AWS credentials.
 */
export const createDeskDeps = (env: Env, config: Config, log: Log, options: DeskOptions = {}): DeskDeps & { close(): void } => {
  const region = env.AWS_REGION ?? 'us-east-1';
  const { secret, tableName } = options;
  const ses = sdkClient(SESClient, region, env.NOTICE_RELAY_SES_ENDPOINT);
  const secretsClient = secret ? sdkClient(SecretsManagerClient, region) : undefined;
  const secrets = secretsClient && secret ? new SecretsManagerSource({ client: secretsClient, secretIds: { [secret.institutionId]: secret.secretId }, clock: systemClock }) : noSecrets;
  const dynamodb = tableName ? sdkClient(DynamoDBClient, region, env.NOTICE_RELAY_DYNAMODB_ENDPOINT) : undefined;
  return {
    transports: transportDeps(config, systemClock, secrets, ses),
    ...(dynamodb && tableName ? { records: new DynamoTransportState({ client: dynamodb, tableName }) } : {}),
    clock: systemClock,
    newId: ulidSource(systemClock),
    log,
    attemptTimeoutSeconds: config.sender.attemptTimeoutSeconds,
    close: () => {
      ses.destroy();
      secretsClient?.destroy();
      dynamodb?.destroy();
    },
  };
};

/**
 * Builds what the functions that act on notices share, from the environment: NOTICE_RELAY_CONFIG (path of
 * the validated configuration the deployment wrote), NOTICE_RELAY_TABLE, NOTICE_RELAY_QUEUE_URL, and for
 * emulators NOTICE_RELAY_DYNAMODB_ENDPOINT and NOTICE_RELAY_SQS_ENDPOINT. Each function's own builder
 * below adds what only it uses.
 */
const createBaseDeps = (env: Env, service: string, overrides: DepsOverrides = {}, tableName = requireEnv(env, 'NOTICE_RELAY_TABLE')): BaseDeps => {
  // On Lambda, the configuration the deployment validated; npm start and tests pass theirs in.
  const config = overrides.config ?? readRuntimeConfig(requireEnv(env, 'NOTICE_RELAY_CONFIG'));
  const region = env.AWS_REGION ?? 'us-east-1';
  const dynamodb = sdkClient(DynamoDBClient, region, env.NOTICE_RELAY_DYNAMODB_ENDPOINT);
  const sqs = sdkClient(SQSClient, region, env.NOTICE_RELAY_SQS_ENDPOINT);
  const clock = overrides.clock ?? systemClock;
  const institutions = new Map(config.institutions.map((institution) => [institution.id, institution]));
  // Without the webhook queue (a deployment that predates it) no event is written: none could be relayed.
  const webhookQueueUrl = env.NOTICE_RELAY_WEBHOOK_QUEUE_URL;
  return {
    config,
    settings: lifecycleSettings(config),
    store: new DynamoNoticeStore({ client: dynamodb, tableName, random: cryptoRandom }),
    queue: new SqsDoorbell({ client: sqs, queueUrl: requireEnv(env, 'NOTICE_RELAY_QUEUE_URL') }),
    suppressions: new DynamoSuppressionStore({ client: dynamodb, tableName, random: cryptoRandom }),
    suppressionDays: config.suppression.days,
    ...(webhookQueueUrl ? { webhookQueue: new SqsWebhookQueue({ client: sqs, queueUrl: webhookQueueUrl }), subscriptions: subscriptionsOf(institutions) } : {}),
    clock,
    random: overrides.random ?? cryptoRandom,
    newId: ulidSource(clock),
    log: overrides.log ?? serviceLog(service),
    institutions,
    clients: { dynamodb, sqs },
    close: () => {
      dynamodb.destroy();
      sqs.destroy();
    },
  };
};

/** The intake's: the base, the institutions' API keys and their rates, the Idempotency-Keys. */
export interface IntakeFunctionDeps extends BaseDeps, ApiKeyDeps {
  idempotency: IdempotencyStore;
  /** The webhook deliveries' records (GET /v1/webhooks/deliveries). */
  deliveries: WebhookStore;
  sleep: (ms: number) => Promise<void>;
}

/** The keys of the configuration's institutions and their per-minute counts in the table. */
const apiKeys = (config: Config, dynamodb: DynamoDBClient, tableName: string): ApiKeyDeps => ({
  keyRing: new KeyRing(config.institutions),
  keyRates: new DynamoKeyRateCounter({ client: dynamodb, tableName }),
});

/** SES and the institutions' secrets, as the functions that send (the sender, the Test Server) build them. */
const sending = (env: Env, config: Config, clock: Clock, overrides: DepsOverrides) => {
  const region = env.AWS_REGION ?? 'us-east-1';
  const ses = sdkClient(SESClient, region, env.NOTICE_RELAY_SES_ENDPOINT);
  const secretArns = env.NOTICE_RELAY_SECRET_ARNS ? (JSON.parse(env.NOTICE_RELAY_SECRET_ARNS) as Record<string, string>) : undefined;
  const secrets =
    overrides.secrets ?? (secretArns ? new SecretsManagerSource({ client: sdkClient(SecretsManagerClient, region), secretIds: secretArns, clock }) : noSecrets);
  return { ses, transports: transportDeps(config, clock, secrets, ses) };
};

/**
 * Builds the intake's dependencies: the base, the institutions' API keys and the Idempotency-Keys. No
 * SES, secrets or SMTP: the Test Server, which sends, is a function of its own.
 * @example
 * export const handler = makeIntakeHandler(createIntakeDeps(process.env));
 */
export const createIntakeDeps = (env: Env, overrides: DepsOverrides = {}): IntakeFunctionDeps => {
  const tableName = requireEnv(env, 'NOTICE_RELAY_TABLE');
  const base = createBaseDeps(env, 'intake', overrides, tableName);
  return {
    ...base,
    ...apiKeys(base.config, base.clients.dynamodb, tableName),
    idempotency: new DynamoIdempotencyStore({ client: base.clients.dynamodb, tableName }),
    deliveries: new DynamoWebhookStore({ client: base.clients.dynamodb, tableName, random: cryptoRandom, retentionDays: base.config.retention.days }),
    sleep,
  };
};

/**
 * Builds the sender's dependencies: the base, and SES, the institutions' secrets (NOTICE_RELAY_SECRET_ARNS
 * on AWS: a JSON object of secret ARNs by institution id; NOTICE_RELAY_SES_ENDPOINT for the emulator), the
 * institutions' transport states (rate limits, paused sending). No API keys: the sender answers no request.
 * @example
 * export const handler = makeSenderHandler(createSenderDeps(process.env));
 */
export const createSenderDeps = (env: Env, overrides: DepsOverrides = {}): SenderFunctionDeps => {
  const tableName = requireEnv(env, 'NOTICE_RELAY_TABLE');
  const base = createBaseDeps(env, 'sender', overrides, tableName);
  const { ses, transports } = sending(env, base.config, base.clock, overrides);
  return {
    ...base,
    transports,
    transportStates: new DynamoTransportState({ client: base.clients.dynamodb, tableName }),
    batchLookups: new DynamoBatchLookups({ client: base.clients.dynamodb, tableName, random: cryptoRandom }),
    attemptTimeoutSeconds: base.config.sender.attemptTimeoutSeconds,
    sleep,
    clients: { ...base.clients, ses },
    close: () => {
      base.close();
      ses.destroy();
    },
  };
};

/**
 * Builds the transport function's dependencies: the API's keys and the Test Server, with SES and the
 * institutions' secrets and the table its results are kept in. No notice store and no queue.
 * @example
 * export const handler = makeTransportHandler(createTransportFunctionDeps(process.env));
 */
export const createTransportFunctionDeps = (env: Env, overrides: DepsOverrides = {}): TransportFunctionDeps => {
  const config = overrides.config ?? readRuntimeConfig(requireEnv(env, 'NOTICE_RELAY_CONFIG'));
  const clock = overrides.clock ?? systemClock;
  const log = overrides.log ?? serviceLog('transport');
  const dynamodb = sdkClient(DynamoDBClient, env.AWS_REGION ?? 'us-east-1', env.NOTICE_RELAY_DYNAMODB_ENDPOINT);
  const tableName = requireEnv(env, 'NOTICE_RELAY_TABLE');
  const { ses, transports } = sending(env, config, clock, overrides);
  const records = new DynamoTransportState({ client: dynamodb, tableName });
  const attemptTimeoutSeconds = config.sender.attemptTimeoutSeconds;
  return {
    config,
    clock,
    log,
    ...apiKeys(config, dynamodb, tableName),
    desk: makeDesk({ transports, records, clock, newId: ulidSource(clock), log, attemptTimeoutSeconds, budgetSeconds: TEST_SERVER_BUDGET_SECONDS }),
    clients: { dynamodb, ses },
    close: () => {
      dynamodb.destroy();
      ses.destroy();
    },
  };
};

/**
 * Builds the sweep's dependencies: the base and the institutions' transport states (the stall alert needs
 * no transport), so its bundle carries no SES, Secrets Manager or SMTP code.
 * @example
 * export const handler = makeSweepHandler(createSweepDeps(process.env));
 */
export const createSweepDeps = (env: Env, overrides: DepsOverrides = {}): SweepFunctionDeps => {
  const tableName = requireEnv(env, 'NOTICE_RELAY_TABLE');
  const base = createBaseDeps(env, 'sweep', overrides, tableName);
  return { ...base, transportStates: new DynamoTransportState({ client: base.clients.dynamodb, tableName }), stalledAfterMinutes: base.config.alerts.stalledAfterMinutes };
};

/** The digest function's: the base and the reports' schedule (`reports`). */
export type DigestFunctionDeps = BaseDeps & DigestDeps;

/**
 * Builds the daily digest's dependencies: the base (the digest is a notice in the table, rung on the
 * queue; the sender sends it), so its bundle carries no SES, Secrets Manager or SMTP code.
 * @example
 * export const handler = makeDigestHandler(createDigestDeps(process.env));
 */
export const createDigestDeps = (env: Env, overrides: DepsOverrides = {}): DigestFunctionDeps => {
  const base = createBaseDeps(env, 'digest', overrides);
  return { ...base, reports: base.config.reports };
};

/**
 * Builds the feedback's dependencies: the base alone, so its bundle carries no SES, Secrets Manager or SMTP code.
 * @example
 * export const handler = makeFeedbackHandler(createFeedbackDeps(process.env));
 */
export const createFeedbackDeps = (env: Env, overrides: DepsOverrides = {}): FeedbackFunctionDeps => createBaseDeps(env, 'feedback', overrides);

/** The webhook function's: the institutions and their secrets, the deliveries' records, its queue and a poster. */
export type WebhookFunctionDeps = WebhookDeliveryDeps & { clients: { dynamodb: DynamoDBClient; sqs: SQSClient }; close(): void };

/**
 * Builds the webhook function's dependencies: the configuration, the institutions' secrets (the signing
 * secrets, NOTICE_RELAY_SECRET_ARNS on AWS), the table (NOTICE_RELAY_TABLE) for the deliveries' records, the
 * webhook queue (NOTICE_RELAY_WEBHOOK_QUEUE_URL) for the next try. No notice store, no SES, no SMTP.
 * @example
 * export const handler = makeWebhooksHandler(createWebhookDeps(process.env));
 */
export const createWebhookDeps = (env: Env, overrides: DepsOverrides = {}): WebhookFunctionDeps => {
  const config = overrides.config ?? readRuntimeConfig(requireEnv(env, 'NOTICE_RELAY_CONFIG'));
  const region = env.AWS_REGION ?? 'us-east-1';
  const clock = overrides.clock ?? systemClock;
  const dynamodb = sdkClient(DynamoDBClient, region, env.NOTICE_RELAY_DYNAMODB_ENDPOINT);
  const sqs = sdkClient(SQSClient, region, env.NOTICE_RELAY_SQS_ENDPOINT);
  const secretArns = env.NOTICE_RELAY_SECRET_ARNS ? (JSON.parse(env.NOTICE_RELAY_SECRET_ARNS) as Record<string, string>) : undefined;
  const secretsClient = secretArns ? sdkClient(SecretsManagerClient, region) : undefined;
  const secrets = overrides.secrets ?? (secretsClient && secretArns ? new SecretsManagerSource({ client: secretsClient, secretIds: secretArns, clock }) : noSecrets);
  return {
    institutions: new Map(config.institutions.map((institution) => [institution.id, institution])),
    secrets,
    poster: httpPoster,
    deliveries: new DynamoWebhookStore({ client: dynamodb, tableName: requireEnv(env, 'NOTICE_RELAY_TABLE'), random: cryptoRandom, retentionDays: config.retention.days }),
    webhookQueue: new SqsWebhookQueue({ client: sqs, queueUrl: requireEnv(env, 'NOTICE_RELAY_WEBHOOK_QUEUE_URL') }),
    clock,
    random: overrides.random ?? cryptoRandom,
    log: overrides.log ?? serviceLog('webhooks'),
    // Lambda sets AWS_LAMBDA_FUNCTION_NAME: there a receiver must be public unless its entry says otherwise.
    privateTargets: env.AWS_LAMBDA_FUNCTION_NAME ? 'refuse-unless-allowed' : 'allow',
    retry: config.retry.webhooks,
    clients: { dynamodb, sqs },
    close: () => {
      dynamodb.destroy();
      sqs.destroy();
      secretsClient?.destroy();
    },
  };
};

/** What the SMTP door needs: what the intake needs, where to listen, and on AWS the certificate it serves. */
export interface SmtpDoorFunctionDeps extends IntakeFunctionDeps {
  /**
   * The container's address and ports: NOTICE_RELAY_SMTP_HOST (default every interface),
   * NOTICE_RELAY_SMTP_PORT and NOTICE_RELAY_SMTPS_PORT (2587 and 2465: the load balancer's 587 and 465
   * forward to them, and a process needs no privilege to listen there).
   */
  listen: { host: string; submissionPort: number; implicitTlsPort: number };
  /**
   * Reads the door's certificate from the Secrets Manager secret NOTICE_RELAY_SMTP_TLS_SECRET names:
   * undefined while IT has not filled it. Absent when no secret is named (npm start has its own).
   */
  readTlsSecret?: () => Promise<TlsIdentity | undefined>;
}

/**
 * Builds what the SMTP door's container needs: the intake's dependencies (the same acceptNotices, keys and
 * key rates), its configuration from NOTICE_RELAY_CONFIG_JSON (a container has no bundle to carry a file)
 * or NOTICE_RELAY_CONFIG, and the reader of its certificate's secret.
 * @example
 * const deps = createSmtpDoorDeps(process.env);
 */
export const createSmtpDoorDeps = (env: Env, overrides: DepsOverrides = {}): SmtpDoorFunctionDeps & { close(): void } => {
  const inline = env.NOTICE_RELAY_CONFIG_JSON ? (JSON.parse(env.NOTICE_RELAY_CONFIG_JSON) as Config) : undefined;
  const base = createIntakeDeps(env, { ...overrides, config: overrides.config ?? inline, log: overrides.log ?? serviceLog('smtp-door') });
  const port = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
  const listen = { host: env.NOTICE_RELAY_SMTP_HOST || '0.0.0.0', submissionPort: port('NOTICE_RELAY_SMTP_PORT', 2587), implicitTlsPort: port('NOTICE_RELAY_SMTPS_PORT', 2465) };
  const secretId = env.NOTICE_RELAY_SMTP_TLS_SECRET;
  if (!secretId) return { ...base, listen };
  const client = sdkClient(SecretsManagerClient, env.AWS_REGION ?? 'us-east-1');
  return {
    ...base,
    listen,
    readTlsSecret: async () => tlsIdentityOfSecret((await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString),
    close: () => {
      base.close();
      client.destroy();
    },
  };
};

/** What the staff console needs besides what sends mail (it runs the Test Server): its sessions, keys and lookups. */
export interface ConsoleParts {
  lookups: NoticeLookups;
  sessions: SessionStore;
  signInFailures: FailureCounter;
  staffKeys: StaffKeys;
  newToken: TokenSource;
  webhooks: WebhookDeliveries;
  overview: OverviewReader;
  dns: Omit<DnsDeps, 'config' | 'log'>;
  deployment: Deployment;
}

/** How long one DNS question of the console's DNS page may take, twice. */
const DNS_TIMEOUT_MS = 2000;

/** The console's: the base (it reads, cancels and sends notices again), the Test Server (it sends), and its own parts. */
export interface ConsoleFunctionDeps extends BaseDeps, ConsoleParts {
  desk: TransportDesk;
  clients: BaseDeps['clients'] & { ses: SESClient };
}

/**
 * Builds what the console needs: the base, the Test Server with SES and the institutions' secrets, the
 * table's sessions and sign-in counts, the staff keys, a DNS resolver (NOTICE_RELAY_DNS_RESOLVER, `IP:PORT`,
 * names one; else the system's) and the Easy DKIM tokens the stack knows (NOTICE_RELAY_DKIM_TOKENS, JSON of
 * token lists by domain).
 * @example
 * export const handler = makeConsoleHandler(createConsoleDeps(process.env));
 */
export const createConsoleDeps = (env: Env, overrides: DepsOverrides = {}): ConsoleFunctionDeps => {
  const tableName = requireEnv(env, 'NOTICE_RELAY_TABLE');
  const base = createBaseDeps(env, 'console', overrides, tableName);
  const { clock, config, log } = base;
  const client = base.clients.dynamodb;
  const { ses, transports } = sending(env, config, clock, overrides);
  const records = new DynamoTransportState({ client, tableName });
  const lookups = new DynamoNoticeStore({ client, tableName, random: cryptoRandom });
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: 2 });
  if (env.NOTICE_RELAY_DNS_RESOLVER) resolver.setServers([env.NOTICE_RELAY_DNS_RESOLVER]);
  return {
    ...base,
    desk: makeDesk({ transports, records, clock, newId: base.newId, log, attemptTimeoutSeconds: config.sender.attemptTimeoutSeconds, budgetSeconds: TEST_SERVER_BUDGET_SECONDS }),
    lookups,
    sessions: new DynamoConsoleSessions({ client, tableName }),
    signInFailures: new DynamoSignInFailures({ client, tableName }),
    staffKeys: new StaffKeys(config.institutions),
    newToken: () => randomBytes(32).toString('base64url'),
    webhooks: consoleWebhookDeliveries(new DynamoWebhookStore({ client, tableName, random: cryptoRandom, retentionDays: config.retention.days })),
    overview: new OverviewReader({ store: lookups, clock }),
    dns: {
      resolver,
      region: env.AWS_REGION ?? 'us-east-1',
      dkimTokens: env.NOTICE_RELAY_DKIM_TOKENS ? (JSON.parse(env.NOTICE_RELAY_DKIM_TOKENS) as Record<string, string[]>) : undefined,
      secrets: transports.secrets,
    },
    // Lambda sets AWS_LAMBDA_FUNCTION_NAME: secrets then live in Secrets Manager, not in the file.
    deployment: env.AWS_LAMBDA_FUNCTION_NAME ? 'aws' : 'local',
    clients: { ...base.clients, ses },
    close: () => {
      base.close();
      ses.destroy();
    },
  };
};
