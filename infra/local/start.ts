// `npm start`: the whole pipeline on one machine (README: How it is built). The same handlers as on AWS, driven by
// a local API gateway, against embedded emulators, with no AWS account.
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { makeSenderHandler } from '../../lambdas/sender/sender-handler';
import { makeSweepHandler } from '../../lambdas/sweep/sweep-handler';
import { loadConfig } from '../../shared/config/load';
import type { Config } from '../../shared/config/schema';
import { senderTimings } from '../../shared/config/timing';
import { consoleParts, createDeps, type Deps, type Env } from '../../shared/deps';
import { createTableInput } from '../../shared/store/table';
import { errorCode } from '../../shared/errors';
import { apiFunctions, startApiGateway, type TlsIdentity } from './api-gateway';
import { freePort, type MailSink, type Running, startDynamo, startMailSink, startSes, startSqs } from './emulators';
import { deleteExpired } from './expirer';
import { reindexDueNotices } from './reindex';
import { upgradeTable } from './upgrade-table';
import { startSchedule } from './schedule';
import { type SqsPoller, startSqsPoller } from './sqs-poller';

export const TABLE_NAME = 'notice-relay';
export const QUEUE_NAME = 'notice-relay-doorbells';
export const DEAD_LETTER_QUEUE_NAME = 'notice-relay-doorbells-dlq';
/** Receives after which SQS moves a doorbell to the dead-letter queue (the notice itself stays in the store). */
export const MAX_RECEIVE_COUNT = 5;

export interface LocalRuntime {
  apiUrl: string;
  /** Whether the API answers beyond this machine, and whether over HTTPS. */
  api: { reachableFromOtherMachines: boolean; https: boolean };
  /** The configuration file read; the committed demo's keys may be shown, a real one's never are. */
  configPath: string;
  demoConfig: boolean;
  /** Where the store keeps accepted notices across restarts (NOTICE_RELAY_DATA). */
  dataDir: string;
  mailViewerUrl: string;
  config: Config;
  deps: Deps;
  endpoints: { dynamodb: string; sqs: string; ses: string; smtpSink: { host: string; port: number } };
  queueUrl: string;
  poller: SqsPoller;
  stop(): Promise<void>;
}

const EXPIRY_INTERVAL_SECONDS = 3600;
const DEFAULT_API_PORT = 3000;
/** The key the committed demo configuration ships with: published in the README, so printing it gives nothing away. */
export const DEMO_API_KEY = 'local-only-demo-key';

/** The committed demo configuration, found from the project itself so `start` runs from any directory. */
const DEMO_CONFIG_PATH = join(__dirname, '..', '..', 'config', 'local.json');

/** The settings that fix a port, and what listens there. */
const PORT_SETTINGS: Record<string, string> = {
  PORT: 'the API',
  NOTICE_RELAY_DYNAMODB_PORT: 'DynamoDB',
  NOTICE_RELAY_SQS_PORT: 'SQS',
  NOTICE_RELAY_SES_PORT: 'SES',
  NOTICE_RELAY_SINK_SMTP_PORT: "the mail sink's SMTP",
  NOTICE_RELAY_SINK_WEB_PORT: 'the mail viewer',
};

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * The API's certificate and key, from the PEM files NOTICE_RELAY_TLS_CERT and NOTICE_RELAY_TLS_KEY name:
 * both or neither, checked to belong together before anything starts.
 */
const readTlsIdentity = (env: Env): TlsIdentity | undefined => {
  const certPath = env.NOTICE_RELAY_TLS_CERT || undefined;
  const keyPath = env.NOTICE_RELAY_TLS_KEY || undefined;
  if (!certPath && !keyPath) return undefined;
  if (!certPath || !keyPath) throw new Error('NOTICE_RELAY_TLS_CERT and NOTICE_RELAY_TLS_KEY go together: set both (PEM files) for HTTPS, or neither.');
  const read = (name: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`${name}: cannot read ${path} (${errorCode(error)})`, { cause: error });
    }
  };
  const identity = { cert: read('NOTICE_RELAY_TLS_CERT', certPath), key: read('NOTICE_RELAY_TLS_KEY', keyPath) };
  try {
    createSecureContext(identity);
  } catch (error) {
    throw new Error(`NOTICE_RELAY_TLS_CERT and NOTICE_RELAY_TLS_KEY are not a PEM certificate and its private key: ${(error as Error).message}`, { cause: error });
  }
  return identity;
};

/** The API's URL under a name its certificate covers, so that the banner's curl verifies it. */
export const urlCoveredBy = (url: string, cert: TlsIdentity['cert']): string => {
  const certificate = new X509Certificate(cert);
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) ? certificate.checkIP(host) : certificate.checkHost(host)) return url;
  const dnsName = certificate.subjectAltName
    ?.split(', ')
    .find((name) => name.startsWith('DNS:') && !name.includes('*'))
    ?.slice('DNS:'.length);
  if (!dnsName) return url;
  parsed.hostname = dnsName;
  return parsed.toString().replace(/\/$/, '');
};

/** A port already taken, said in terms of the setting that chose it (PORT is 3000 unless set). */
const explainPortInUse = (error: unknown, env: Env): unknown => {
  const port = (error as { port?: unknown }).port;
  if (errorCode(error) !== 'EADDRINUSE' || typeof port !== 'number') return error;
  const chosen = (name: string) => (name === 'PORT' ? (portFrom(env, name) ?? DEFAULT_API_PORT) : portFrom(env, name));
  const setting = Object.keys(PORT_SETTINGS).find((name) => chosen(name) === port);
  if (!setting) return error;
  return new Error(
    `port ${port}, for ${PORT_SETTINGS[setting]}, is already in use on this machine: stop what uses it, or set ${setting} to another port (0 picks a free one).`,
    { cause: error },
  );
};

const portFrom = (env: Env, name: string): number | undefined => {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number, not ${value}`);
  return port;
};

/** Creates the table and the queues on the emulators, or finds them there after a restart. */
export const provision = async (endpoints: { dynamodb: string; sqs: string }, config: Config): Promise<{ queueUrl: string; queueArn: string }> => {
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const dynamodb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region: 'us-east-1', credentials });
  const sqs = new SQSClient({ endpoint: endpoints.sqs, region: 'us-east-1', credentials });
  try {
    await dynamodb.send(new CreateTableCommand(createTableInput(TABLE_NAME)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  // A data directory of an earlier version gets the indexes added since, its notices kept.
  await upgradeTable(dynamodb, TABLE_NAME);
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: DEAD_LETTER_QUEUE_NAME, Attributes: { MessageRetentionPeriod: '1209600' } }));
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: QUEUE_NAME,
      Attributes: {
        VisibilityTimeout: String(senderTimings(config.sender).visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: MAX_RECEIVE_COUNT }),
      },
    }),
  );
  const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn as string;
  dynamodb.destroy();
  sqs.destroy();
  return { queueUrl: queue.QueueUrl as string, queueArn };
};

/**
 * Starts everything. Ports come from the environment when set (PORT for the API, default 3000;
 * NOTICE_RELAY_{DYNAMODB,SQS,SES}_PORT, NOTICE_RELAY_SINK_{SMTP,WEB}_PORT), else free ones are picked.
 */
export const startLocal = async (env: Env): Promise<LocalRuntime> => {
  const started: Running[] = [];
  const stopAll = async () => {
    for (const running of started.reverse()) await running.stop().catch(() => undefined);
  };
  try {
    const dataDir = resolve(env.NOTICE_RELAY_DATA || '.data');
    const configPath = env.NOTICE_RELAY_CONFIG || DEMO_CONFIG_PATH;
    const sinkSmtpPort = portFrom(env, 'NOTICE_RELAY_SINK_SMTP_PORT') || (await freePort());
    // The configuration may name the sink's port as ${NOTICE_RELAY_SINK_SMTP_PORT}; it is refused before anything starts.
    const config = loadConfig(configPath, { ...env, NOTICE_RELAY_SINK_SMTP_PORT: String(sinkSmtpPort) });
    const tls = readTlsIdentity(env);

    const sink: MailSink = await startMailSink({ smtpPort: sinkSmtpPort, webPort: portFrom(env, 'NOTICE_RELAY_SINK_WEB_PORT') });
    started.push(sink);
    const dynamo = await startDynamo({ port: portFrom(env, 'NOTICE_RELAY_DYNAMODB_PORT'), dataDir: join(dataDir, 'dynamodb') });
    started.push(dynamo);
    const sqs = await startSqs({ port: portFrom(env, 'NOTICE_RELAY_SQS_PORT') });
    started.push(sqs);
    const ses = await startSes({ port: portFrom(env, 'NOTICE_RELAY_SES_PORT'), forwardTo: { host: '127.0.0.1', port: sink.smtpPort } });
    started.push(ses);

    const { queueUrl, queueArn } = await provision({ dynamodb: dynamo.url, sqs: sqs.url }, config);
    const functionEnv = {
      ...env,
      AWS_REGION: 'us-east-1',
      NOTICE_RELAY_TABLE: TABLE_NAME,
      NOTICE_RELAY_QUEUE_URL: queueUrl,
      NOTICE_RELAY_DYNAMODB_ENDPOINT: dynamo.url,
      NOTICE_RELAY_SQS_ENDPOINT: sqs.url,
      NOTICE_RELAY_SES_ENDPOINT: ses.url,
    };
    const deps = createDeps(functionEnv, 'local', { config });
    started.push({ url: '', port: 0, stop: async () => deps.close() });
    const left = await reindexDueNotices(deps.clients.dynamodb, TABLE_NAME, deps.clock.now());
    if (left.rewritten) deps.log.info('due index brought up to date at start', { notices: left.rewritten });
    // Whatever the queue did not ring, the sweep rings after its grace.
    if (left.doorbells.length) await deps.queue.ring(left.doorbells);

    const reportError = (what: string) => (error: unknown) => deps.log.error(what, { code: errorCode(error) });
    const timings = senderTimings(config.sender);
    const poller = startSqsPoller({
      client: deps.clients.sqs,
      queueUrl,
      queueArn,
      handler: makeSenderHandler(deps),
      batchSize: config.sender.batchSize,
      concurrency: config.sender.concurrency,
      functionTimeoutSeconds: timings.functionTimeoutSeconds,
      visibilityTimeoutSeconds: timings.visibilityTimeoutSeconds,
      onError: reportError('sender invocation failed'),
    });
    started.push({ url: '', port: 0, stop: () => poller.stop() });
    const sweeper = startSchedule(makeSweepHandler(deps), config.sweep.intervalSeconds, reportError('sweep failed'));
    started.push({ url: '', port: 0, stop: () => sweeper.stop() });
    const expirer = startSchedule(() => deleteExpired(deps.clients.dynamodb, TABLE_NAME, new Date()), EXPIRY_INTERVAL_SECONDS, reportError('expiry failed'));
    started.push({ url: '', port: 0, stop: () => expirer.stop() });

    const apiHost = env.HOST || '127.0.0.1';
    const api = await startApiGateway(apiFunctions(deps, { ...deps, ...consoleParts(functionEnv, deps) }), { port: portFrom(env, 'PORT') ?? DEFAULT_API_PORT, host: apiHost, tls });
    started.push(api);

    return {
      apiUrl: tls ? urlCoveredBy(api.url, tls.cert) : api.url,
      api: { reachableFromOtherMachines: !LOOPBACK_HOSTS.has(apiHost), https: Boolean(tls) },
      configPath,
      dataDir,
      demoConfig: resolve(configPath) === resolve(DEMO_CONFIG_PATH),
      mailViewerUrl: sink.webUrl,
      config,
      deps,
      endpoints: { dynamodb: dynamo.url, sqs: sqs.url, ses: ses.url, smtpSink: { host: '127.0.0.1', port: sink.smtpPort } },
      queueUrl,
      poller,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw explainPortInUse(error, env);
  }
};

/** The key config/local.json gives the demo library's staff for the console: published like the demo API key. */
export const DEMO_STAFF_KEY = 'local-only-demo-staff-key';

/**
 * The console's banner line: its sign-in URL, and the demo staff key only for the committed demo
 * configuration on this machine alone, as for the API key.
 */
const consoleLine = (runtime: LocalRuntime): string => {
  const staff = runtime.config.institutions.find((inst) => inst.consoleKeys?.length || inst.consoleKeyHashes?.length);
  const url = `${runtime.apiUrl}/console${staff ? `/sign-in?institution=${staff.id}` : ''}`;
  const demo = runtime.demoConfig && staff?.consoleKeys?.[0] === DEMO_STAFF_KEY && !runtime.api.reachableFromOtherMachines;
  const key = !staff ? 'no staff key is configured (consoleKeys)' : demo ? `staff key ${DEMO_STAFF_KEY}` : `a staff key of "${staff.id}" in ${runtime.configPath} (not shown)`;
  return `  Console        ${url}   (${key})`;
};

/**
 * What `npm start` prints once everything listens. It shows an API key only for the committed demo
 * configuration on this machine alone: a relay that other machines use is a real one, whose output may
 * end up in a system log, and a key is a secret.
 */
export const banner = (runtime: LocalRuntime): string => {
  const institution = runtime.config.institutions.find((inst) => inst.apiKeys?.length) ?? runtime.config.institutions[0];
  const firstKey = institution?.apiKeys?.[0];
  // The file's path alone does not make it the demo: someone may have put a key of their own in it.
  const demoKey = runtime.demoConfig && firstKey === DEMO_API_KEY && !runtime.api.reachableFromOtherMachines ? firstKey : undefined;
  const key = demoKey ?? '<API key>';
  const keyLine = demoKey ? `${demoKey}   (institution "${institution?.id}")` : `one of institution "${institution?.id}"'s keys in ${runtime.configPath} (not shown)`;
  const plainBeyondThisMachine = runtime.api.reachableFromOtherMachines && !runtime.api.https;
  return [
    '',
    'Notice Relay is running on this machine.',
    '',
    `  API            ${runtime.apiUrl}   (OpenAPI: ${runtime.apiUrl}/v1/openapi.json)`,
    `  API key        ${keyLine}`,
    consoleLine(runtime),
    `  Mail viewer    ${runtime.mailViewerUrl}   (every email sent, as received)`,
    `  Mail sink      SMTP on ${runtime.endpoints.smtpSink.host}:${runtime.endpoints.smtpSink.port}   (${runtime.demoConfig ? 'the relay of config/local.json; ' : ''}NOTICE_RELAY_SINK_SMTP_PORT sets its port)`,
    ...(plainBeyondThisMachine
      ? [
          '',
          'Warning: the API answers other machines over plain HTTP, so API keys and patron addresses cross the',
          'network unencrypted. Set NOTICE_RELAY_TLS_CERT and NOTICE_RELAY_TLS_KEY for HTTPS, or put an HTTPS proxy in front.',
        ]
      : []),
    '',
    'Send a notice:',
    '',
    `  curl -sS -X POST ${runtime.apiUrl}/v1/notices \\`,
    `    -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\`,
    `    -d '{"to":"patron@example.org","subject":"Your hold is ready","text":"Pick it up at the front desk by Friday.","type":"hold-pickup"}'`,
    '',
    `Ctrl-C stops it; accepted notices are kept in ${runtime.dataDir} (NOTICE_RELAY_DATA) across restarts.`,
    '',
  ].join('\n');
};
