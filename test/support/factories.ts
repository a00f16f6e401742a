// Test data with overrides: a configuration, notices, and the AWS events the handlers receive.
import type { APIGatewayProxyEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { generateKeyPairSync } from 'node:crypto';
import { parseConfig } from '../../shared/config/load';
import type { Config, ConfigInput } from '../../shared/config/schema';
import type { LifecycleSettings } from '../../shared/lifecycle/plan';
import type { Notice, NoticeInput } from '../../shared/notice/model';
import { lifecycleSettings } from '../../shared/deps';

export const DEMO_KEY = 'demo-key-0123456789';
export const BRANCH_KEY = 'branch-key-0123456789';

export const aConfigInput = (overrides: Partial<ConfigInput> = {}): ConfigInput => ({
  institutions: [
    {
      id: 'demo',
      name: 'Demo Public Library',
      apiKeys: [DEMO_KEY],
      from: 'Demo Public Library <notices@library.example.org>',
      bounceTo: 'circulation@library.example.org',
      testTo: 'it@library.example.org',
      transport: { kind: 'smtp', servers: [{ host: '127.0.0.1', port: 2525, tls: 'none' }] },
    },
    {
      id: 'branch',
      apiKeys: [BRANCH_KEY],
      from: 'Branch Library <notices@branch.example.edu>',
      bounceTo: 'it@branch.example.edu',
      transport: { kind: 'ses' },
    },
  ],
  ...overrides,
});

export const aConfig = (overrides: Partial<ConfigInput> = {}): Config => parseConfig(aConfigInput(overrides));

type InstitutionInput = ConfigInput['institutions'][number];

/** The demo institution sending through SES from a MAIL FROM domain of its own (the DNS records' tests). */
export const aSesInstitutionInput = (overrides: Partial<InstitutionInput> = {}): InstitutionInput => ({
  ...(aConfigInput().institutions[0] as InstitutionInput),
  transport: { kind: 'ses', mailFromDomain: 'bounce.library.example.org' },
  ...overrides,
});

/** The branch institution relaying through its campus server, DKIM-signing when `dkim` is given. */
export const aRelayingInstitutionInput = (dkim?: { selector: string; privateKey?: string }): InstitutionInput => ({
  ...(aConfigInput().institutions[1] as InstitutionInput),
  transport: { kind: 'smtp', servers: [{ host: 'mail.branch.example.edu', port: 587 }], ...(dkim ? { dkim } : {}) },
});

/** A new 2048-bit RSA private key in PKCS #8 PEM, as a DKIM signing key is configured. */
export const aDkimPrivateKey = (): string =>
  generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;

export const settingsOf = (config: Config = aConfig()): LifecycleSettings => lifecycleSettings(config);

export const aNoticeInput = (overrides: Partial<NoticeInput> = {}): NoticeInput => ({
  to: 'patron@example.org',
  subject: 'Overdue: The Hobbit',
  text: 'The Hobbit was due on 3 March. Please return or renew it.',
  type: 'overdue',
  externalId: 'loan-81234',
  ...overrides,
});

export const aNotice = (overrides: Partial<Notice> = {}): Notice => ({
  id: '01JB0000000000000000000000',
  institutionId: 'demo',
  version: 1,
  kind: 'notice',
  status: 'queued',
  to: 'patron@example.org',
  subject: 'Overdue: The Hobbit',
  type: 'overdue',
  externalId: 'loan-81234',
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
  giveUpAt: '2030-01-05T04:00:00.000Z',
  nextAttemptAt: '2030-01-01T00:00:30.000Z',
  attemptCount: 0,
  attempts: [],
  events: [],
  sweepAt: '2030-01-01T00:03:30.000Z',
  ...overrides,
});

/**
 * An API Gateway REST proxy event, as the local gateway or API Gateway builds it. A body given as `bytes`
 * comes in base64, as the deployed API hands every body on (lambdas/intake/gateway-body.ts).
 */
export const apiEvent = (options: {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  rawBody?: string;
  bytes?: Uint8Array;
  query?: Record<string, string>;
  key?: string | null;
}): APIGatewayProxyEvent => {
  const headers: Record<string, string> = {
    ...(options.body !== undefined || options.rawBody !== undefined || options.bytes !== undefined ? { 'Content-Type': 'application/json' } : {}),
    ...(options.key === null ? {} : { Authorization: `Bearer ${options.key ?? DEMO_KEY}` }),
    ...options.headers,
  };
  return {
    resource: '/{proxy+}',
    path: options.path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: options.query ? Object.fromEntries(Object.entries(options.query).map(([k, v]) => [k, [v]])) : null,
    pathParameters: { proxy: options.path.slice(1) },
    stageVariables: null,
    body: options.bytes ? Buffer.from(options.bytes).toString('base64') : (options.rawBody ?? (options.body === undefined ? null : JSON.stringify(options.body))),
    isBase64Encoded: options.bytes !== undefined,
    requestContext: { requestId: 'test-request', stage: 'test' } as APIGatewayProxyEvent['requestContext'],
  };
};

export const sqsRecord = (body: string, messageId = `m-${Math.random().toString(36).slice(2)}`): SQSRecord => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  body,
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: '0',
    SenderId: 'local',
    ApproximateFirstReceiveTimestamp: '0',
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:notice-relay-doorbells',
  awsRegion: 'us-east-1',
});

export const sqsEvent = (bodies: string[]): SQSEvent => ({ Records: bodies.map((body) => sqsRecord(body)) });
