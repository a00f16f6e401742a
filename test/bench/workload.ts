// What every figure sends: overdue notices of the size an ILS produces (a text and an HTML part listing
// the items, about 2.5 KB in all), one institution that sends through an SMTP relay, and the emulators.
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseConfig } from '../../shared/config/load';
import type { Config } from '../../shared/config/schema';

export const BENCH_KEY = 'bench-key-0123456789abcdef';
export const INSTITUTION = { id: 'bench', from: 'Bench Public Library <notices@library.example.org>', bounceTo: 'circulation@library.example.org' };

export interface NoticeBody {
  to: string;
  subject: string;
  text: string;
  html: string;
  type: string;
  externalId: string;
}

const ITEMS = ['The Hobbit', 'A Wizard of Earthsea', 'The Left Hand of Darkness', 'Middlemarch', 'Beloved', 'The Remains of the Day'];

/** The `i`th notice: a patron, the items overdue, in text and HTML. */
export const aBenchNotice = (i: number): NoticeBody => {
  const lines = ITEMS.map((title, n) => `${title}, due ${n + 1} March 2030, barcode 3100${String(i).padStart(6, '0')}${n}`);
  const text = [
    `Dear patron ${i},`,
    '',
    'Our records show that the following items you borrowed are overdue:',
    '',
    ...lines.map((line) => `  - ${line}`),
    '',
    'Please return or renew them. You can renew online at https://library.example.org/account or by calling the circulation desk.',
    'Overdue fines are 25 cents a day per item, up to the cost of the item.',
    '',
    'Bench Public Library, 1 Main Street',
  ].join('\n');
  const html = `<html><body><p>Dear patron ${i},</p><p>Our records show that the following items you borrowed are overdue:</p><ul>${lines
    .map((line) => `<li>${line}</li>`)
    .join('')}</ul><p>Please return or renew them. You can <a href="https://library.example.org/account">renew online</a> or call the circulation desk.</p><p>Overdue fines are 25 cents a day per item, up to the cost of the item.</p><p>Bench Public Library, 1 Main Street</p></body></html>`;
  return { to: `patron${i}@example.org`, subject: `Overdue items: ${ITEMS[0]} and ${ITEMS.length - 1} more`, text, html, type: 'overdue', externalId: `loan-${i}` };
};

export const benchNotices = (count: number, from = 0): NoticeBody[] => Array.from({ length: count }, (_, i) => aBenchNotice(from + i));

/**
 * How notices reach the sender: the intake's spread and the event source mapping's settings. Figures of
 * capacity ask for no spread (every first attempt due at once) and no batching window (FULL_BATCHES).
 */
export interface Arrival {
  /** `intake.spreadSeconds`; the configuration's default when absent. */
  spreadSeconds?: number;
  batchSize: number;
  /** `sender.concurrency`; the configuration's default when absent. */
  concurrency?: number;
  /** `sender.batchingWindowSeconds`; the configuration's default when absent. */
  batchingWindowSeconds?: number;
}

/**
 * The configuration every figure runs with, as the file's JSON: one institution whose relay is the
 * bench's SMTP sink (no TLS), and the arrival asked for.
 */
export const benchConfigInput = (smtp: { host: string; port: number }, arrival: Arrival) => ({
  institutions: [
    {
      id: INSTITUTION.id,
      name: 'Bench Public Library',
      apiKeys: [BENCH_KEY],
      from: INSTITUTION.from,
      bounceTo: INSTITUTION.bounceTo,
      transport: { kind: 'smtp', servers: [{ host: smtp.host, port: smtp.port, tls: 'none' }] },
    },
  ],
  intake: { spreadSeconds: arrival.spreadSeconds },
  sweep: { intervalSeconds: 60 },
  sender: {
    attemptTimeoutSeconds: 30,
    leaseSeconds: 60,
    batchSize: arrival.batchSize,
    concurrency: arrival.concurrency,
    batchingWindowSeconds: arrival.batchingWindowSeconds,
  },
});

/** Every doorbell visible at once and no window: the sender always handed full batches. */
export const FULL_BATCHES = { spreadSeconds: 0, batchingWindowSeconds: 0 } as const;

export const benchConfig = (smtp: { host: string; port: number }, arrival: Arrival): Config => parseConfig(benchConfigInput(smtp, arrival));

/** A queue on the SQS emulator at `endpoint`, with its URL and ARN. */
export const createQueue = async (endpoint: string, name: string, visibilityTimeoutSeconds = 120): Promise<{ queueUrl: string; queueArn: string }> => {
  const client = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  try {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: String(visibilityTimeoutSeconds) } }));
    const attributes = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { queueUrl: QueueUrl as string, queueArn: attributes.Attributes?.QueueArn as string };
  } finally {
    client.destroy();
  }
};

/** Polls `probe` every `everyMs` until it answers true, or fails after `timeoutMs`. */
export const waitUntil = async (probe: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 10): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
};

/** Writes a progress line to stderr (stdout is the table; during some figures it is captured). */
export const progress = (message: string): void => void process.stderr.write(`bench: ${message}\n`);
