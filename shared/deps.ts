// The composition root: the only module that reads the environment and builds SDK clients. On Lambda
// the handlers call it at start-up; the local runtime calls it with the emulators' endpoints.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { randomBytes } from 'node:crypto';
import { KeyRing } from './auth';
import { type Clock, type Random, systemClock } from './clock';
import { readRuntimeConfig } from './config/runtime';
import type { Config, InstitutionConfig } from './config/schema';
import type { CoreDeps } from './core-deps';
import { ulidSource } from './ids';
import type { LifecycleSettings } from './lifecycle/transitions';
import type { Log } from './log';
import { SqsDoorbell } from './queue/sqs-doorbell';
import { noSecrets, type SecretSource } from './secrets';
import { SecretsManagerSource } from './secrets-manager';
import { DynamoNoticeStore } from './store/dynamo-notice-store';
import { type DeskDeps, makeDesk, type TransportDesk } from './transport/desk';
import type { KeyRateCounter } from './intake/key-rate';
import { DynamoKeyRateCounter } from './store/dynamo-key-rate';
import type { TransportDeps } from './transport/factory';
import { type FetchLike, OAuth2Tokens } from './transport/oauth2';
import type { TransportStates } from './transport/records';
import { DynamoTransportState } from './store/dynamo-transport-state';

export type Env = Readonly<Record<string, string | undefined>>;

/** What every handler needs: the store, the queue, the configuration and the domain's inputs. */
export interface BaseDeps extends CoreDeps {
  config: Config;
  institutions: ReadonlyMap<string, InstitutionConfig>;
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient };
  /** Each institution's transport state: the senders' rate limits and paused sending, the sweep's stall alert. */
  transportStates: TransportStates;
  /** alerts.stalledAfterMinutes: the sweep tells of an institution that has sent nothing while notices were due that long. */
  stalledAfterMinutes: number;
  /** Closes the SDK clients' connections (the local runtime's shutdown). */
  close(): void;
}

/** What the handlers that send mail need besides (the Test Server, the sender). */
export interface Deps extends IntakeFunctionDeps {
  desk: TransportDesk;
  transports: TransportDeps;
  attemptTimeoutSeconds: number;
  clients: BaseDeps['clients'] & { ses: SESClient };
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
});

/** Client options for an emulator endpoint (any credentials do), or none on AWS. */
const endpointOptions = (endpoint: string | undefined) =>
  endpoint ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {};

/** Uniform in [0, 1) from the crypto source: jitter need not be unpredictable, but this costs nothing. */
const cryptoRandom: Random = () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48;

/** Powertools' Logger behind the domain's Log: structured JSON lines, one per event. */
export const powertoolsLog = (logger: Logger): Log => ({
  debug: (message, attributes) => (attributes ? logger.debug(message, attributes) : logger.debug(message)),
  info: (message, attributes) => (attributes ? logger.info(message, attributes) : logger.info(message)),
  warn: (message, attributes) => (attributes ? logger.warn(message, attributes) : logger.warn(message)),
  error: (message, attributes) => (attributes ? logger.error(message, attributes) : logger.error(message)),
});

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
 * Builds what every handler needs from the environment: NOTICE_RELAY_CONFIG (path of the validated
 * configuration the deployment wrote), NOTICE_RELAY_TABLE, NOTICE_RELAY_QUEUE_URL, and for emulators
 * NOTICE_RELAY_DYNAMODB_ENDPOINT and NOTICE_RELAY_SQS_ENDPOINT. The sweep and the feedback need no more,
 * so their bundles carry no SES, Secrets Manager or SMTP code.
 * @example
 * export const handler = makeSweepHandler(createBaseDeps(process.env, 'sweep'));
 */
export const createBaseDeps = (env: Env, service: string, overrides: DepsOverrides = {}): BaseDeps => {
  // On Lambda, the configuration the deployment validated; npm start and tests pass theirs in.
  const config = overrides.config ?? readRuntimeConfig(requireEnv(env, 'NOTICE_RELAY_CONFIG'));
  const region = env.AWS_REGION ?? 'us-east-1';
  const dynamodb = sdkClient(DynamoDBClient, region, env.NOTICE_RELAY_DYNAMODB_ENDPOINT);
  const sqs = sdkClient(SQSClient, region, env.NOTICE_RELAY_SQS_ENDPOINT);
  const clock = overrides.clock ?? systemClock;
  return {
    config,
    settings: lifecycleSettings(config),
    store: new DynamoNoticeStore({ client: dynamodb, tableName: requireEnv(env, 'NOTICE_RELAY_TABLE'), random: cryptoRandom }),
    queue: new SqsDoorbell({ client: sqs, queueUrl: requireEnv(env, 'NOTICE_RELAY_QUEUE_URL') }),
    clock,
    random: overrides.random ?? cryptoRandom,
    newId: ulidSource(clock),
    log: overrides.log ?? powertoolsLog(new Logger({ serviceName: 'notice-relay', persistentKeys: { handler: service } })),
    institutions: new Map(config.institutions.map((institution) => [institution.id, institution])),
    clients: { dynamodb, sqs },
    transportStates: new DynamoTransportState({ client: dynamodb, tableName: requireEnv(env, 'NOTICE_RELAY_TABLE') }),
    stalledAfterMinutes: config.alerts.stalledAfterMinutes,
    close: () => {
      dynamodb.destroy();
      sqs.destroy();
    },
  };
};

/** What the intake needs besides the base: the API keys and their rates. */
export interface IntakeFunctionDeps extends BaseDeps {
  keyRing: KeyRing;
  keyRates: KeyRateCounter;
  sleep: (ms: number) => Promise<void>;
}

/** The base, and what answering the API takes: the institutions' keys, the keys' rates, a way to wait. */
const withApiKeys = (env: Env, base: BaseDeps): IntakeFunctionDeps => ({
  ...base,
  keyRing: new KeyRing(base.config.institutions),
  keyRates: new DynamoKeyRateCounter({ client: base.clients.dynamodb, tableName: requireEnv(env, 'NOTICE_RELAY_TABLE') }),
  sleep,
});

/**
 * Builds what the intake needs: the base, and the institutions' API keys. No SES, secrets or SMTP: the
 * Test Server, which sends, is a function of its own.
 * @example
 * export const handler = makeIntakeHandler(createIntakeDeps(process.env));
 */
export const createIntakeDeps = (env: Env, overrides: DepsOverrides = {}): IntakeFunctionDeps => withApiKeys(env, createBaseDeps(env, 'intake', overrides));

/**
 * Builds everything the handlers that send mail need: the base, and SES, the institutions' secrets
 * (NOTICE_RELAY_SECRET_ARNS on AWS: a JSON object of secret ARNs by institution id) and, for the
 * emulator, NOTICE_RELAY_SES_ENDPOINT.
 * @example
 * export const handler = makeSenderHandler(createDeps(process.env, 'sender'));
 */
export const createDeps = (env: Env, service: string, overrides: DepsOverrides = {}): Deps => {
  const base = withApiKeys(env, createBaseDeps(env, service, overrides));
  const { config, clock } = base;
  const region = env.AWS_REGION ?? 'us-east-1';
  const ses = sdkClient(SESClient, region, env.NOTICE_RELAY_SES_ENDPOINT);
  const secretArns = env.NOTICE_RELAY_SECRET_ARNS ? (JSON.parse(env.NOTICE_RELAY_SECRET_ARNS) as Record<string, string>) : undefined;
  const secrets =
    overrides.secrets ?? (secretArns ? new SecretsManagerSource({ client: sdkClient(SecretsManagerClient, region), secretIds: secretArns, clock }) : noSecrets);
  const transports = transportDeps(config, clock, secrets, ses);
  return {
    ...base,
    desk: makeDesk({ transports, records: base.transportStates, clock, newId: base.newId, log: base.log, attemptTimeoutSeconds: config.sender.attemptTimeoutSeconds, budgetSeconds: TEST_SERVER_BUDGET_SECONDS }),
    transports,
    attemptTimeoutSeconds: config.sender.attemptTimeoutSeconds,
    clients: { ...base.clients, ses },
    close: () => {
      base.close();
      ses.destroy();
    },
  };
};
