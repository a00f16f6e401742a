// `npm start`: the whole pipeline on one machine (docs/contributing/layout.md). The same handlers as on AWS, driven by
// a local API gateway, against embedded emulators, with no AWS account. This module reads the environment
// (ports, data directory, configuration) and starts the parts in order; TLS, the emulators' resources and
// the banner each have a module of their own.
import { join, resolve } from 'node:path';
import { loadConfig } from '../../shared/config/load';
import type { Config } from '../../shared/config/schema';
import type { Env } from '../../shared/deps';
import { errorCode } from '../../shared/errors';
import type { BannerFacts } from './banner';
import { freePort, type MailSink, type Running, startDynamo, startMailSink, startSes, startSqs } from './emulators';
import { provision, TABLE_NAME } from './provision';
import { reindexDueNotices } from './reindex';
import { type RunningFunctions, startLocalRuntime } from './runtime';
import { readTlsIdentity, urlCoveredBy } from './tls';
import { DEFAULT_SMTP_PORTS, type LocalSmtpDoor, startLocalSmtpDoor } from '../smtp-door/local';

/** What `npm start` runs, as the banner (banner.ts) and the tests see it. */
export interface LocalRuntime extends BannerFacts {
  /** The SMTP door (NOTICE_RELAY_SMTP_PORT, NOTICE_RELAY_SMTPS_PORT). */
  smtpDoor: LocalSmtpDoor;
  config: Config;
  /** The functions, as runtime.ts wired and hosts them. */
  functions: RunningFunctions;
  endpoints: { dynamodb: string; sqs: string; ses: string; smtpSink: { host: string; port: number } };
  queueUrl: string;
  stop(): Promise<void>;
}
const DEFAULT_API_PORT = 3000;
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
  NOTICE_RELAY_SMTP_PORT: "the SMTP door's STARTTLS",
  NOTICE_RELAY_SMTPS_PORT: "the SMTP door's TLS",
};

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** A port already taken, said in terms of the setting that chose it (PORT is 3000 unless set). */
const explainPortInUse = (error: unknown, env: Env): unknown => {
  const port = (error as { port?: unknown }).port;
  if (errorCode(error) !== 'EADDRINUSE' || typeof port !== 'number') return error;
  const chosen = (name: string) =>
    name === 'PORT' ? (portFrom(env, name) ?? DEFAULT_API_PORT) : (portFrom(env, name) ?? DEFAULT_SMTP_PORTS[name as keyof typeof DEFAULT_SMTP_PORTS]);
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

    const { queueUrl, queueArn, webhookQueueUrl, webhookQueueArn } = await provision({ dynamodb: dynamo.url, sqs: sqs.url }, config);
    const apiHost = env.HOST || '127.0.0.1';
    const functions = await startLocalRuntime({
      config,
      resources: { dynamodb: dynamo.url, sqs: sqs.url, ses: ses.url, tableName: TABLE_NAME, queueUrl, queueArn, webhookQueueUrl, webhookQueueArn },
      env,
      hosting: { sender: true, sweep: true, webhooks: true, digest: true, expiry: true, api: { port: portFrom(env, 'PORT') ?? DEFAULT_API_PORT, host: apiHost, tls } },
      beforeHosting: async ({ deps: { sweep } }) => {
        const left = await reindexDueNotices(sweep.clients.dynamodb, TABLE_NAME, sweep.clock.now());
        if (left.rewritten) sweep.log.info('due index brought up to date at start', { notices: left.rewritten });
        // Whatever the queue did not ring, the sweep rings after its grace.
        if (left.doorbells.length) await sweep.queue.ring(left.doorbells);
      },
    });
    started.push({ url: '', port: 0, stop: () => functions.stop() });
    const api = functions.api as Running;
    const smtp = await startLocalSmtpDoor(functions.deps.intake, env, { host: apiHost, tls });
    started.push({ url: '', port: 0, stop: () => smtp.door.stop() });

    return {
      apiUrl: tls ? urlCoveredBy(api.url, tls.cert) : api.url,
      api: { reachableFromOtherMachines: !LOOPBACK_HOSTS.has(apiHost), https: Boolean(tls) },
      configPath,
      dataDir,
      demoConfig: resolve(configPath) === resolve(DEMO_CONFIG_PATH),
      mailViewerUrl: sink.webUrl,
      smtpDoor: smtp.summary,
      config,
      functions,
      endpoints: { dynamodb: dynamo.url, sqs: sqs.url, ses: ses.url, smtpSink: { host: '127.0.0.1', port: sink.smtpPort } },
      queueUrl,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw explainPortInUse(error, env);
  }
};
