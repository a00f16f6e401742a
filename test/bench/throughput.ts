// localThroughputRatio: notices a second through `npm start`'s whole pipeline (the real local runtime,
// started in this process with startLocal: HTTP intake → dynalite → fauxqs → SQS poller → sender →
// SMTP) divided by what nodemailer's own pooled transport sends of the same messages to the same sink
// with as many connections, measured one after the other in this run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { TABLE_NAME } from '../../infra/local/provision';
import type { SqsPoller } from '../../infra/local/sqs-poller';
import { startLocal } from '../../infra/local/start';
import { type Counts, RequestCounter } from './counting';
import { captureStdout } from './invocations';
import { measureSdkFloor, type SdkFloor } from './sdk-floor';
import type { CountingSink } from './sink';
import { BENCH_KEY, benchConfigInput, benchNotices, INSTITUTION, progress, waitUntil, FULL_BATCHES } from './workload';

const SEND_TIMEOUT_MS = 240_000;
/** Messages sent before the clock starts, by both, so that neither is timed while still compiling code. */
export const WARM_UP = 100;

/** Where the time of a run went: the CPU this process used, and how busy its event loop was. */
export interface Load {
  /** User + system CPU of this process over the run, as a share of its wall time (2 cores: up to 2). */
  cpuShare: number;
  /** Share of the run the event loop spent running code (1: the one JavaScript thread was saturated). */
  eventLoopUtilization: number;
}

export interface RawRun {
  notices: number;
  ms: number;
  perSecond: number;
  connections: number;
  load: Load;
}

export interface PipelineRun extends RawRun {
  /** From the first POST to the last 202. */
  intakeMs: number;
  /** From the first POST to the first message at the sink. */
  firstMessageMs: number;
  /** Sender invocations and the messages they were handed. */
  invocations: number;
  /** AWS requests the runtime made while sending, and the time spent waiting for their answers. */
  requests: Counts;
  /** What one UpdateItem costs the runtime's thread, measured after the run on the notices it delivered. */
  sdkFloor: SdkFloor;
}

/**
 * The most the pipeline could send on one thread if it did nothing but what the raw pool does plus its
 * AWS requests per notice: 1000 ms ÷ (raw's busy ms per message + requests per notice × ms per request).
 */
export interface Ceiling {
  requestsPerNotice: number;
  rawBusyMsPerNotice: number;
  sdkBusyMsPerRequest: number;
  perSecond: number;
  /** perSecond ÷ the raw pool's notices a second: the best localThroughputRatio any such pipeline gets here. */
  ratio: number;
  /** CPU the whole process (every thread: the handlers, dynalite, fauxqs, the sink) used per notice. */
  cpuMsPerNotice: number;
  /** The machine's cores. */
  cores: number;
  /** Notices a second if that CPU were spread perfectly over every core of the machine, and ÷ raw. */
  allCoresPerSecond: number;
  allCoresRatio: number;
}

export interface ThroughputRun {
  concurrency: number;
  pipeline: PipelineRun;
  raw: RawRun;
  ratio: number;
  ceiling: Ceiling;
}

const loadMeter = () => {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  return (): Load => {
    const used = process.cpuUsage(cpu);
    const wall = performance.now() - started;
    return { cpuShare: (used.user + used.system) / 1000 / wall, eventLoopUtilization: performance.eventLoopUtilization(elu).utilization };
  };
};

/** The same messages the pipeline composes from the notices, through one nodemailer pool. */
export const measureRaw = async (sink: CountingSink, count: number, concurrency: number): Promise<RawRun> => {
  const transport = nodemailer.createTransport({ pool: true, maxConnections: concurrency, host: sink.host, port: sink.port, ignoreTLS: true });
  const send = (notices: ReturnType<typeof benchNotices>) =>
    Promise.all(notices.map((notice) => transport.sendMail({ from: INSTITUTION.from, to: notice.to, subject: notice.subject, text: notice.text, html: notice.html })));
  try {
    await send(benchNotices(WARM_UP, 100_000));
    sink.reset();
    const load = loadMeter();
    const started = performance.now();
    await send(benchNotices(count));
    await waitUntil(() => sink.count() >= count, SEND_TIMEOUT_MS, `${count} raw messages at the sink`);
    const ms = sink.lastAt() - started;
    return { notices: count, ms, perSecond: (count * 1000) / ms, connections: sink.connections(), load: load() };
  } finally {
    transport.close();
  }
};

const post = async (apiUrl: string, notices: unknown[]): Promise<string[]> => {
  const response = await fetch(`${apiUrl}/v1/notices`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ notices }),
  });
  const text = await response.text();
  if (response.status !== 202) throw new Error(`bench: POST /v1/notices answered ${response.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { notices: Array<{ id: string }> }).notices.map((notice) => notice.id);
};

/** `count` notices in batches of `batchSize` through startLocal's API, until the sink has them all. */
export const measurePipeline = async (sink: CountingSink, count: number, batchSize: number, concurrency: number): Promise<PipelineRun> => {
  const dir = mkdtempSync(join(tmpdir(), 'notice-relay-bench-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(benchConfigInput(sink, { ...FULL_BATCHES, batchSize: 10, concurrency })));
  // Powertools reads the level from process.env when the runtime builds its logger.
  const savedLevel = process.env.POWERTOOLS_LOG_LEVEL;
  process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
  // maildev announces its web viewer on stdout, which is the bench's table.
  const quiet = captureStdout();
  const runtime = await startLocal({ ...process.env, PORT: '0', NOTICE_RELAY_SMTP_PORT: '0', NOTICE_RELAY_SMTPS_PORT: '0', NOTICE_RELAY_CONFIG: configPath, NOTICE_RELAY_DATA: join(dir, 'data') })
    .catch((error: unknown) => {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    })
    .finally(() => {
      quiet.restore();
      process.env.POWERTOOLS_LOG_LEVEL = savedLevel;
    });
  try {
    await post(runtime.apiUrl, benchNotices(WARM_UP, 100_000));
    await waitUntil(() => sink.count() >= WARM_UP, SEND_TIMEOUT_MS, 'the warm-up notices at the sink');
    // Counts and times the runtime's own requests (unchanged: no ReturnConsumedCapacity asked).
    const counter = new RequestCounter();
    const { deps, poller } = runtime.functions;
    // Each function's own clients, once each (functions may share them).
    for (const client of new Set(Object.values(deps).map((each) => each.clients.dynamodb))) counter.instrument(client, 'DynamoDB', { capacity: false });
    for (const client of new Set(Object.values(deps).flatMap((each) => ('sqs' in each.clients ? [each.clients.sqs] : [])))) counter.instrument(client, 'SQS', { capacity: false });
    const before = (poller as SqsPoller).stats();
    sink.reset();

    const load = loadMeter();
    const started = performance.now();
    const notices = benchNotices(count);
    const ids: string[] = [];
    for (let i = 0; i < count; i += batchSize) ids.push(...(await post(runtime.apiUrl, notices.slice(i, i + batchSize))));
    const intakeMs = performance.now() - started;
    await waitUntil(() => sink.count() >= count, SEND_TIMEOUT_MS, `${count} notices at the sink`);
    const ms = sink.lastAt() - started;
    const measured = load();
    counter.freeze();
    const after = (poller as SqsPoller).stats();
    const sdkFloor = await measureSdkFloor(deps.sender.clients.dynamodb, TABLE_NAME, ids, concurrency);
    return {
      notices: count,
      ms,
      perSecond: (count * 1000) / ms,
      connections: sink.connections(),
      load: measured,
      intakeMs,
      firstMessageMs: sink.firstAt() - started,
      invocations: after.invocations - before.invocations,
      requests: counter.snapshot(),
      sdkFloor,
    };
  } finally {
    await runtime.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

/** One concurrency: the raw pool first, then the pipeline, against the same sink. */
export const measureThroughput = async (sink: CountingSink, options: { notices: number; batchSize: number; concurrency: number }): Promise<ThroughputRun> => {
  progress(`throughput: raw nodemailer pool, ${options.concurrency} connections`);
  const raw = await measureRaw(sink, options.notices, options.concurrency);
  sink.reset();
  progress(`throughput: npm start pipeline, sender concurrency ${options.concurrency}`);
  const pipeline = await measurePipeline(sink, options.notices, options.batchSize, options.concurrency);
  sink.reset();
  return { concurrency: options.concurrency, raw, pipeline, ratio: pipeline.perSecond / raw.perSecond, ceiling: ceilingOf(raw, pipeline) };
};

const ceilingOf = (raw: RawRun, pipeline: PipelineRun): Ceiling => {
  const requestsPerNotice = Object.values(pipeline.requests.requests).reduce((sum, n) => sum + n, 0) / pipeline.notices;
  const rawBusyMsPerNotice = (raw.ms * raw.load.eventLoopUtilization) / raw.notices;
  const perSecond = 1000 / (rawBusyMsPerNotice + requestsPerNotice * pipeline.sdkFloor.busyMsPerRequest);
  const cpuMsPerNotice = (pipeline.load.cpuShare * pipeline.ms) / pipeline.notices;
  const cores = availableParallelism();
  const allCoresPerSecond = (1000 * cores) / cpuMsPerNotice;
  return {
    requestsPerNotice,
    rawBusyMsPerNotice,
    sdkBusyMsPerRequest: pipeline.sdkFloor.busyMsPerRequest,
    perSecond,
    ratio: perSecond / raw.perSecond,
    cpuMsPerNotice,
    cores,
    allCoresPerSecond,
    allCoresRatio: allCoresPerSecond / raw.perSecond,
  };
};
