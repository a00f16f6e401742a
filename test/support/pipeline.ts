// The whole pipeline in the test process, hosted as `npm start` hosts it: the API's functions, the SQS
// poller driving the sender handler, and the sweep on a timer, with the real SDK clients against
// dynalite and fauxqs. Timings are seconds, so retries and give-ups happen within a test.
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { type LocalRuntimeOptions, type RunningFunctions, startLocalRuntime } from '../../infra/local/runtime';
import type { Clock } from '../../shared/clock';
import type { ConfigInput } from '../../shared/config/schema';
import { type Log, silentLog } from '../../shared/log';
import type { Notice } from '../../shared/notice/model';
import { aConfig, aConfigInput, apiEvent, DEMO_KEY } from './factories';
import { startTestQueue, startTestTable, type TestQueue, type TestTable } from './emulators';

/** Timings in seconds: retries after 1–2 s, then 3–4 s; a notice is given up after 12 s. */
export const FAST: Partial<ConfigInput> = {
  retry: { shortRangeSeconds: 4, shortDelaySeconds: [1, 2], longDelaySeconds: [3, 4], maxAgeSeconds: 12 },
  intake: { spreadSeconds: 0 },
  sweep: { intervalSeconds: 1 },
  sender: { attemptTimeoutSeconds: 2, leaseSeconds: 3, batchSize: 10, concurrency: 2, batchingWindowSeconds: 0 },
};

/** A configuration with FAST timings whose `demo` institution sends through `transport`. */
export const fastConfig = (transport: ConfigInput['institutions'][number]['transport'], overrides: Partial<ConfigInput> = {}) => {
  const input = aConfigInput({ ...FAST, ...overrides });
  input.institutions[0] = { ...input.institutions[0]!, transport };
  return aConfig(input);
};

/** Records log lines, for tests that read what a person would see. */
export const recordingLog = (): Log & { lines: Array<{ level: string; message: string; attributes?: Record<string, unknown> }> } => {
  const lines: Array<{ level: string; message: string; attributes?: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, attributes?: Record<string, unknown>) => void lines.push({ level, message, attributes });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

export interface Pipeline {
  /** The functions, wired and hosted by infra/local/runtime.ts as npm start wires them. */
  functions: RunningFunctions;
  /** The sweep's dependencies: the store and the queue, for a test to read or act as another actor. */
  deps: RunningFunctions['deps']['sweep'];
  table: TestTable;
  queue: TestQueue;
  /** POST /v1/notices through the intake handler. */
  submit(body: unknown, key?: string): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Any request through the API's functions (the intake, or the transport function for the Test Server). */
  api(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  notice(id: string): Promise<Notice>;
  /** Polls until `probe` answers something, or fails after `timeoutMs`. */
  waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs?: number, what?: string): Promise<T>;
  /** Polls until the notice is in one of `statuses`. */
  waitForStatus(id: string, statuses: string[], timeoutMs?: number): Promise<Notice>;
  /** Polls until the notice has had its first attempt recorded. */
  waitForFirstAttempt(id: string, timeoutMs?: number): Promise<Notice>;
  stop(): Promise<void>;
}

export interface PipelineOptions {
  sesEndpoint?: string;
  log?: Log;
  /** What the sender and the sweep use instead of what they were built with (fault injection). */
  decorate?: LocalRuntimeOptions['decorate'];
  /** More of the environment the functions read (the console's NOTICE_RELAY_DNS_RESOLVER…). */
  env?: LocalRuntimeOptions['env'];
  /** A webhook queue on the same emulator, and the webhook function behind a poller of its own. */
  webhooks?: boolean;
  /** The functions' clock instead of the system's (a test set on a given day). */
  clock?: Clock;
}

export const startPipeline = async (config: ReturnType<typeof aConfig>, options: PipelineOptions = {}): Promise<Pipeline> => {
  const [table, queue] = await Promise.all([startTestTable(), startTestQueue()]);
  const webhookQueueUrl = options.webhooks
    ? ((await queue.client.send(new CreateQueueCommand({ QueueName: 'webhooks', Attributes: { VisibilityTimeout: '30' } }))).QueueUrl as string)
    : undefined;
  const functions = await startLocalRuntime({
    config,
    resources: { dynamodb: table.url, sqs: queue.url, ses: options.sesEndpoint, tableName: table.tableName, queueUrl: queue.queueUrl, webhookQueueUrl },
    overrides: { random: Math.random, log: options.log ?? silentLog, ...(options.clock ? { clock: options.clock } : {}) },
    decorate: options.decorate,
    env: options.env,
    hosting: { sender: true, sweep: true, webhooks: options.webhooks },
  });
  const deps = functions.deps.sweep;
  const waitFor = async <T>(probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, what = 'the condition'): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const api = async (method: string, path: string, body?: unknown, key = DEMO_KEY) => {
    const [pathOnly = path, queryString] = path.split('?');
    const query = queryString ? Object.fromEntries(new URLSearchParams(queryString)) : undefined;
    const result: APIGatewayProxyResult = await functions.handlers.api(apiEvent({ method, path: pathOnly, body, key, query }));
    return { status: result.statusCode, body: JSON.parse(result.body) };
  };
  const notice = async (id: string) => {
    const found = await deps.store.getNotice(id);
    if (!found) throw new Error(`notice ${id} is not stored`);
    return found;
  };
  return {
    functions,
    deps,
    table,
    queue,
    submit: (body, key = DEMO_KEY) => api('POST', '/v1/notices', body, key),
    api,
    notice,
    waitFor,
    waitForStatus: (id, statuses, timeoutMs) =>
      waitFor(
        async () => {
          const found = await notice(id);
          return statuses.includes(found.status) ? found : undefined;
        },
        timeoutMs,
        `notice ${id} to be ${statuses.join(' or ')}`,
      ),
    waitForFirstAttempt: (id, timeoutMs) =>
      waitFor(
        async () => {
          const found = await notice(id);
          return found.attemptCount >= 1 ? found : undefined;
        },
        timeoutMs,
        `notice ${id}'s first attempt`,
      ),
    stop: async () => {
      await functions.stop();
      await Promise.all([table.stop(), queue.stop()]);
    },
  };
};
