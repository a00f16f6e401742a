// smtpDoorRatio: notices a second accepted through the SMTP door (each 250 given once the notices are in
// dynalite and their doorbells in fauxqs) divided by what the same messages, sent the same way by
// nodemailer's pool, reach a plain smtp-server sink that keeps nothing, measured one after the other.
import nodemailer from 'nodemailer';
import { performance } from 'node:perf_hooks';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { startSmtpDoor } from '../../infra/smtp-door/listener';
import { startDynamo } from '../../infra/local/emulators';
import { parseConfig } from '../../shared/config/load';
import { silentLog } from '../../shared/log';
import { createTableInput } from '../../shared/store/table';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startTestQueue } from '../support/emulators';
import { RequestCounter } from './counting';
import { intakeDepsFor } from '../support/intake-deps';
import { benchConfigInput, benchNotices, INSTITUTION, progress, FULL_BATCHES } from './workload';

/** Messages each side sends before the clock starts, so that neither is timed while still compiling code. */
export const SMTP_DOOR_WARM_UP = 50;

export interface SmtpRun {
  messages: number;
  ms: number;
  perSecond: number;
  /** Replies other than 250: none when every message was taken. */
  refused: number;
}

export interface SmtpDoorRun {
  concurrency: number;
  door: SmtpRun;
  sink: SmtpRun;
  ratio: number;
  /** The door's AWS requests per message, by `Service.Command`. */
  requestsPerMessage: Record<string, number>;
}

/** The messages an ILS would send: the bench's notices, each with a Message-ID of its own. */
const messagesOf = (count: number, from: number) =>
  benchNotices(count, from).map((notice, i) => ({
    from: 'circulation@library.example.org',
    to: notice.to,
    subject: notice.subject,
    text: notice.text,
    html: notice.html,
    messageId: `<bench-${from + i}@ils.library.example.org>`,
    headers: { 'X-Notice-Type': notice.type, 'X-Notice-External-Id': notice.externalId },
  }));

/**
 * Sends `count` messages through one nodemailer pool of `concurrency` connections, and times them to the
 * last reply; `onTimed` runs once the warm-up is done, before the clock starts.
 */
const sendAll = async (port: number, count: number, concurrency: number, onTimed: () => void = () => undefined): Promise<SmtpRun> => {
  const transport = nodemailer.createTransport({ pool: true, maxConnections: concurrency, maxMessages: Infinity, host: '127.0.0.1', port, ignoreTLS: true });
  const send = (messages: ReturnType<typeof messagesOf>) => Promise.all(messages.map((message) => transport.sendMail(message).then(() => 0, () => 1)));
  try {
    await send(messagesOf(SMTP_DOOR_WARM_UP, 100_000));
    onTimed();
    const started = performance.now();
    const refused = (await send(messagesOf(count, 0))).reduce((sum: number, n) => sum + n, 0);
    const ms = performance.now() - started;
    return { messages: count, ms, perSecond: ((count - refused) * 1000) / ms, refused };
  } finally {
    transport.close();
  }
};

/** A plain smtp-server sink: every message read to its end and dropped. */
const startSink = async (): Promise<{ port: number; stop(): Promise<void> }> => {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    onData: (stream, _session, callback) => {
      stream.on('data', () => undefined);
      stream.on('end', () => callback());
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.server.address() as AddressInfo).port, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
};

/**
 * The door against dynalite and fauxqs, the ILS sending from this machine without a login (the
 * institution's allowFrom), as the sink is sent to; the sender is not running, so the door alone is timed.
 */
export const measureSmtpDoor = async (count: number, concurrency: number): Promise<SmtpDoorRun> => {
  progress(`smtp door: a plain smtp-server sink, ${count} messages, ${concurrency} connections`);
  const sinkServer = await startSink();
  let sink: SmtpRun;
  try {
    sink = await sendAll(sinkServer.port, count, concurrency);
  } finally {
    await sinkServer.stop();
  }

  progress(`smtp door: the door, ${count} messages, ${concurrency} connections`);
  const input = benchConfigInput({ host: '127.0.0.1', port: 2525 }, { ...FULL_BATCHES, batchSize: 10, concurrency: 2 });
  input.institutions[0] = { ...input.institutions[0]!, smtpSubmission: { allowFrom: ['127.0.0.1'] } } as (typeof input.institutions)[number];
  // Every message counts against the key's rate; the figure is the door's pace, not the limit's.
  const config = parseConfig({ ...input, intake: { ...input.intake, requestsPerMinutePerKey: 1_000_000 } });
  const dynamo = await startDynamo();
  const queue = await startTestQueue('bench-smtp-door');
  const client = new DynamoDBClient({ endpoint: dynamo.url, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  await client.send(new CreateTableCommand(createTableInput('bench-smtp-door')));
  client.destroy();
  const deps = intakeDepsFor({ config, log: silentLog, endpoints: { dynamodb: dynamo.url, sqs: queue.url }, tableName: 'bench-smtp-door', queueUrl: queue.queueUrl });
  const door = await startSmtpDoor(deps, { host: '127.0.0.1', submissionPort: 0, implicitTlsPort: 0 });
  const counter = new RequestCounter();
  counter.instrument(deps.clients.dynamodb, 'DynamoDB', { capacity: false });
  counter.instrument(deps.clients.sqs, 'SQS', { capacity: false });
  try {
    const run = await sendAll(door.submissionPort, count, concurrency, () => counter.reset());
    counter.freeze();
    if (run.refused > 0) throw new Error(`bench: the door refused ${run.refused} of ${count} messages of ${INSTITUTION.id}`);
    const requestsPerMessage = Object.fromEntries(Object.entries(counter.snapshot().requests).map(([name, n]) => [name, Number((n / count).toPrecision(3))]));
    return { concurrency, door: run, sink, ratio: run.perSecond / sink.perSecond, requestsPerMessage };
  } finally {
    await door.stop();
    deps.close();
    await Promise.all([queue.stop(), dynamo.stop()]);
  }
};
