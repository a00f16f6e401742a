// `npm start`: the whole pipeline on one machine (README: How it is built). The same handlers as on AWS, driven by
// a local API gateway, against embedded emulators, with no AWS account.
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { join, resolve } from 'node:path';
import { makeIntakeHandler } from '../../lambdas/intake/intake-handler';
import { makeSenderHandler } from '../../lambdas/sender/sender-handler';
import { makeSweepHandler } from '../../lambdas/sweep/sweep-handler';
import { loadConfig } from '../../shared/config/load';
import type { Config } from '../../shared/config/schema';
import { senderTimings } from '../../shared/config/timing';
import { createDeps, type Deps, type Env } from '../../shared/deps';
import { createTableInput } from '../../shared/store/table';
import { errorCode } from '../../shared/errors';
import { startApiGateway } from './api-gateway';
import { freePort, type MailSink, type Running, startDynamo, startMailSink, startSes, startSqs } from './emulators';
import { deleteExpired } from './expirer';
import { reindexDueNotices } from './reindex';
import { startSchedule } from './schedule';
import { type SqsPoller, startSqsPoller } from './sqs-poller';

export const TABLE_NAME = 'notice-relay';
export const QUEUE_NAME = 'notice-relay-doorbells';
export const DEAD_LETTER_QUEUE_NAME = 'notice-relay-doorbells-dlq';
/** Receives after which SQS moves a doorbell to the dead-letter queue (the notice itself stays in the store). */
export const MAX_RECEIVE_COUNT = 5;

export interface LocalRuntime {
  apiUrl: string;
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

/** The settings that fix a port, and what listens there. */
const PORT_SETTINGS: Record<string, string> = {
  PORT: 'the API',
  NOTICE_RELAY_DYNAMODB_PORT: 'DynamoDB',
  NOTICE_RELAY_SQS_PORT: 'SQS',
  NOTICE_RELAY_SES_PORT: 'SES',
  NOTICE_RELAY_SINK_SMTP_PORT: "the mail sink's SMTP",
  NOTICE_RELAY_SINK_WEB_PORT: 'the mail viewer',
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
    const configPath = env.NOTICE_RELAY_CONFIG || 'config/local.json';
    const sinkSmtpPort = portFrom(env, 'NOTICE_RELAY_SINK_SMTP_PORT') || (await freePort());
    // The configuration may name the sink's port as ${NOTICE_RELAY_SINK_SMTP_PORT}; it is refused before anything starts.
    const config = loadConfig(configPath, { ...env, NOTICE_RELAY_SINK_SMTP_PORT: String(sinkSmtpPort) });

    const sink: MailSink = await startMailSink({ smtpPort: sinkSmtpPort, webPort: portFrom(env, 'NOTICE_RELAY_SINK_WEB_PORT') });
    started.push(sink);
    const dynamo = await startDynamo({ port: portFrom(env, 'NOTICE_RELAY_DYNAMODB_PORT'), dataDir: join(dataDir, 'dynamodb'), thread: true });
    started.push(dynamo);
    const sqs = await startSqs({ port: portFrom(env, 'NOTICE_RELAY_SQS_PORT') });
    started.push(sqs);
    const ses = await startSes({ port: portFrom(env, 'NOTICE_RELAY_SES_PORT'), forwardTo: { host: '127.0.0.1', port: sink.smtpPort } });
    started.push(ses);

    const { queueUrl, queueArn } = await provision({ dynamodb: dynamo.url, sqs: sqs.url }, config);
    const deps = createDeps(
      {
        ...env,
        AWS_REGION: 'us-east-1',
        NOTICE_RELAY_TABLE: TABLE_NAME,
        NOTICE_RELAY_QUEUE_URL: queueUrl,
        NOTICE_RELAY_DYNAMODB_ENDPOINT: dynamo.url,
        NOTICE_RELAY_SQS_ENDPOINT: sqs.url,
        NOTICE_RELAY_SES_ENDPOINT: ses.url,
      },
      'local',
      { config },
    );
    started.push({ url: '', port: 0, stop: async () => deps.close() });
    const reindexed = await reindexDueNotices(deps.clients.dynamodb, TABLE_NAME);
    if (reindexed) deps.log.info('due index repaired after restart', { notices: reindexed });

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

    const api = await startApiGateway(makeIntakeHandler(deps), { port: portFrom(env, 'PORT') ?? DEFAULT_API_PORT, host: env.HOST || '127.0.0.1' });
    started.push(api);

    return {
      apiUrl: api.url,
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

/** What `npm start` prints once everything listens. */
export const banner = (runtime: LocalRuntime): string => {
  const institution = runtime.config.institutions.find((inst) => inst.apiKeys?.length) ?? runtime.config.institutions[0];
  const key = institution?.apiKeys?.[0] ?? '<an API key of config>';
  return [
    '',
    'Notice Relay is running on this machine.',
    '',
    `  API            ${runtime.apiUrl}/v1   (OpenAPI: ${runtime.apiUrl}/v1/openapi.json)`,
    `  API key        ${key}   (institution "${institution?.id}")`,
    `  Mail viewer    ${runtime.mailViewerUrl}   (every email sent, as received)`,
    '',
    'Send a notice:',
    '',
    `  curl -sS -X POST ${runtime.apiUrl}/v1/notices \\`,
    `    -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\`,
    `    -d '{"to":"patron@example.org","subject":"Your hold is ready","text":"Pick it up at the front desk by Friday.","type":"hold-pickup"}'`,
    '',
    'Ctrl-C stops it; accepted notices are kept in NOTICE_RELAY_DATA (default .data/) across restarts.',
    '',
  ].join('\n');
};
