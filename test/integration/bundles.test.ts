// The Lambda bundles exactly as `cdk synth` builds them (esbuild, minified, ES module builds of the
// packages first), each run in a Node process of its own as Lambda runs it: loaded with the function's
// environment, handed its event, against dynalite, fauxqs and an SMTP relay on 127.0.0.1. What the other
// tests prove of the TypeScript source is then also true of what is deployed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { APIGatewayProxyResult, SQSEvent } from 'aws-lambda';
import { bundleSizes, type BundleSize } from '../../infra/cdk/bundle-sizes';
import { SDK_PARTS_LAMBDA_NEVER_LOADS } from '../../infra/cdk/constructs/functions';
import { apiEvent, aNoticeInput, sqsRecord } from '../support/factories';
import { FAST, fastConfig } from '../support/pipeline';
import { doorbellGraceSeconds } from '../../shared/lifecycle/scheduling';
import { startTestQueue, startTestTable, type TestQueue, type TestTable } from '../support/emulators';
import { receivedFor, startRelay, type Relay } from '../support/smtp-relay';

jest.setTimeout(120_000);

/** Loads `bundle` in a fresh Node process with `env` alone, calls its handler with `event`, and answers what it returned. */
const invoke = (bundle: string, env: Record<string, string>, event: unknown): Promise<any> => // eslint-disable-line @typescript-eslint/no-explicit-any
  new Promise((resolve, reject) => {
    const script = `
      const { handler } = require(${JSON.stringify(bundle)});
      const context = { awsRequestId: 'bundle-test', functionName: 'bundle-test', getRemainingTimeInMillis: () => 60000 };
      let input = '';
      process.stdin.on('data', (chunk) => (input += chunk)).on('end', async () => {
        const result = await handler(JSON.parse(input), context);
        process.stdout.write('\\nRESULT ' + JSON.stringify(result ?? null) + '\\n');
      });`;
    const child = spawn(process.execPath, ['-e', script], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('exit', (code) => {
      const line = stdout.split('\n').find((text) => text.startsWith('RESULT '));
      if (code !== 0 || !line) return reject(new Error(`the bundle ${bundle} exited with ${code}: ${stderr.slice(-2000)}`));
      resolve(JSON.parse(line.slice('RESULT '.length)));
    });
    child.stdin.end(JSON.stringify(event));
  });

describe('Bundles: the synthesized Lambda code against the emulators', () => {
  let bundles: Map<string, BundleSize>;
  let table: TestTable;
  let queue: TestQueue;
  let relay: Relay;
  let env: Record<string, string>;
  let configDir: string;

  beforeAll(async () => {
    bundles = new Map(bundleSizes().map((bundle) => [bundle.handler, bundle]));
    [table, queue, relay] = await Promise.all([startTestTable(), startTestQueue(), startRelay()]);
    configDir = mkdtempSync(join(tmpdir(), 'notice-relay-bundle-config-'));
    // What the CDK app writes beside each bundle, here for a relay on loopback.
    writeFileSync(join(configDir, 'config.json'), JSON.stringify(fastConfig({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }] })));
    env = {
      PATH: process.env.PATH ?? '',
      NOTICE_RELAY_CONFIG: join(configDir, 'config.json'),
      NOTICE_RELAY_TABLE: table.tableName,
      NOTICE_RELAY_QUEUE_URL: queue.queueUrl,
      NOTICE_RELAY_DYNAMODB_ENDPOINT: table.url,
      NOTICE_RELAY_SQS_ENDPOINT: queue.url,
      AWS_REGION: 'us-east-1',
      POWERTOOLS_SERVICE_NAME: 'notice-relay',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
  });

  afterAll(async () => {
    await Promise.all([table?.stop(), queue?.stop(), relay?.stop()]);
    const assembly = dirname(dirname([...(bundles?.values() ?? [])][0]?.path ?? ''));
    if (assembly.includes('notice-relay-bundles-')) rmSync(assembly, { recursive: true, force: true });
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  const run = (handler: string, event: unknown) => invoke(bundles.get(handler)?.path as string, env, event);

  it('takes a notice in, sends it, sweeps, and records SES feedback', async () => {
    // Act: the intake bundle accepts a notice and rings its doorbell
    const accepted: APIGatewayProxyResult = await run('intake', apiEvent({ method: 'POST', path: '/v1/notices', body: aNoticeInput({ to: 'bundled@example.org' }) }));
    const id = (JSON.parse(accepted.body) as { id: string }).id;
    const doorbells = await queue.receive(5);
    // Act: the sender bundle gets the doorbell as the event source mapping hands it over
    const event: SQSEvent = { Records: doorbells.map((message) => ({ ...sqsRecord(message.Body as string, message.MessageId), receiptHandle: message.ReceiptHandle as string })) };
    const batch = await run('sender', event);
    // Act: a second notice whose doorbell is lost; once its grace is over, the sweep bundle rings it again
    const lostAt = Date.now();
    const lost: APIGatewayProxyResult = await run('intake', apiEvent({ method: 'POST', path: '/v1/notices', body: aNoticeInput({ to: 'lost-doorbell@example.org' }) }));
    const lostId = (JSON.parse(lost.body) as { id: string }).id;
    await queue.purge();
    // The bundles read the system clock: no sweep can ring before the grace is over, so none is run sooner;
    // then the sweep runs until it rings, as the grace began when the intake bundle stored the notice, which
    // a busy machine may have started some seconds after lostAt.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lostAt + doorbellGraceSeconds(FAST.sender as { leaseSeconds: number }) * 1000 - Date.now())));
    const sweepUntilRung = async (deadline: number): Promise<{ rung: number }> => {
      const result = await run('sweep', { 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString(), detail: {} });
      if (result.rung > 0 || Date.now() > deadline) return result;
      await new Promise((resolve) => setTimeout(resolve, 500));
      return sweepUntilRung(deadline);
    };
    const sweep = await sweepUntilRung(Date.now() + 30_000);
    const rungAgain = await queue.receive(5);
    const feedback = JSON.parse(readFileSync(join(__dirname, '../support/fixtures/ses-events/delivery.json'), 'utf8'));
    feedback.detail.mail.tags['notice-id'] = [id];
    feedback.detail.mail.destination = ['bundled@example.org'];
    feedback.detail.delivery.recipients = ['bundled@example.org'];
    const recorded = await run('feedback', feedback);
    const read: APIGatewayProxyResult = await run('intake', apiEvent({ method: 'GET', path: `/v1/notices/${id}` }));
    // Assess
    expect(accepted.statusCode).toBe(202);
    expect(doorbells.map((message) => JSON.parse(message.Body as string))).toEqual([expect.objectContaining({ id })]);
    expect(batch).toEqual({ batchItemFailures: [] });
    expect(receivedFor(relay, 'bundled@example.org')).toHaveLength(1);
    expect(sweep).toMatchObject({ rung: 1, discarded: 0 });
    expect(rungAgain.map((message) => JSON.parse(message.Body as string))).toEqual([expect.objectContaining({ id: lostId })]);
    expect(recorded).toEqual({ outcome: 'recorded' });
    expect(read.statusCode).toBe(200);
    expect(JSON.parse(read.body)).toMatchObject({ id, status: 'delivered', attempts: expect.arrayContaining([expect.objectContaining({ outcome: 'sent' }), expect.objectContaining({ outcome: 'delivered' })]) });
  });

  it('signs with the credentials Lambda puts in the environment, the SDK parts it never loads left out', async () => {
    // Prepare: the environment as Lambda gives it, the emulators reached by the SDK's own endpoint variables
    const { NOTICE_RELAY_DYNAMODB_ENDPOINT, NOTICE_RELAY_SQS_ENDPOINT, ...lambdaEnv } = env;
    const asOnLambda = {
      ...lambdaEnv,
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEONLAMBDA',
      AWS_SECRET_ACCESS_KEY: 'secret-from-the-environment',
      AWS_SESSION_TOKEN: 'session-token',
      AWS_ENDPOINT_URL_DYNAMODB: NOTICE_RELAY_DYNAMODB_ENDPOINT as string,
      AWS_ENDPOINT_URL_SQS: NOTICE_RELAY_SQS_ENDPOINT as string,
    };
    // Act
    const swept = await invoke(bundles.get('sweep')?.path as string, asOnLambda, { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} });
    // Assess: the chain stopped at the environment; the providers it never reached, and the event-stream
    // code no operation of ours needs, are not in the bundle, each left as the SDK's own import()
    expect(swept).toMatchObject({ examined: expect.any(Number) });
    for (const bundle of bundles.values()) {
      const code = readFileSync(bundle.path, 'utf8');
      for (const part of SDK_PARTS_LAMBDA_NEVER_LOADS) expect(code).toContain(`import("${part}")`);
      expect(code).not.toContain('sso-oidc');
      expect(code).not.toContain('/latest/meta-data/iam/security-credentials');
    }
  });

  it('sends the Test Server\'s email from the transport bundle; the intake\'s has no SMTP code', async () => {
    // Act
    const tested: APIGatewayProxyResult = await run('transport', apiEvent({ method: 'POST', path: '/v1/transport/test', body: { to: 'it@library.example.org' } }));
    const shown: APIGatewayProxyResult = await run('transport', apiEvent({ method: 'GET', path: '/v1/transport' }));
    const notInIntake: APIGatewayProxyResult = await run('intake', apiEvent({ method: 'POST', path: '/v1/transport/test', body: {} }));
    // Assess
    expect(tested.statusCode).toBe(200);
    expect(JSON.parse(tested.body)).toMatchObject({ lastTestResult: { ok: true, server: `127.0.0.1:${relay.port}` } });
    expect(receivedFor(relay, 'it@library.example.org')).toHaveLength(1);
    expect(JSON.parse(shown.body)).toMatchObject({ lastTestedAt: JSON.parse(tested.body).lastTestedAt });
    expect(notInIntake.statusCode).toBe(404);
    // nodemailer's SMTP client names its EHLO; no other code does
    expect(readFileSync(bundles.get('intake')?.path as string, 'utf8')).not.toContain('EHLO');
    expect(readFileSync(bundles.get('transport')?.path as string, 'utf8')).toContain('EHLO');
  });

  it('serves the console\'s pages and its own assets from the console bundle, which the intake does not serve', async () => {
    // Act
    const signIn: APIGatewayProxyResult = await run('console', apiEvent({ method: 'GET', path: '/console/sign-in', key: null }));
    const stylesheet = /href="(\/console\/assets\/[^"]+\.css)"/.exec(signIn.body)?.[1] as string;
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(signIn.body)?.[1] as string;
    const css: APIGatewayProxyResult = await run('console', apiEvent({ method: 'GET', path: stylesheet, key: null }));
    const js: APIGatewayProxyResult = await run('console', apiEvent({ method: 'GET', path: script, key: null }));
    const unsigned: APIGatewayProxyResult = await run('console', apiEvent({ method: 'GET', path: '/console/activity', key: null }));
    const notInIntake: APIGatewayProxyResult = await run('intake', apiEvent({ method: 'GET', path: '/console/sign-in', key: null }));
    // Assess
    expect(signIn.statusCode).toBe(200);
    expect(signIn.headers?.['content-security-policy']).toContain("script-src 'self'");
    expect([css.statusCode, css.headers?.['content-type']]).toEqual([200, 'text/css; charset=utf-8']);
    expect([js.statusCode, js.headers?.['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect([unsigned.statusCode, unsigned.headers?.location]).toEqual([303, '/console/sign-in']);
    expect(notInIntake.statusCode).toBe(404);
  });

  it('runs the digest and the webhook functions from their bundles', async () => {
    // Act
    const digests = await run('digest', { 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString(), detail: {} });
    const webhooks = await invoke(bundles.get('webhooks')?.path as string, { ...env, NOTICE_RELAY_WEBHOOK_QUEUE_URL: queue.queueUrl }, { Records: [sqsRecord('not a webhook event', 'webhook-1')] });
    // Assess
    expect(digests).toEqual({ sent: expect.any(Number), empty: expect.any(Number), existing: expect.any(Number), caughtUp: expect.any(Number) });
    expect(webhooks).toEqual({ batchItemFailures: [] });
  });

  it('serves the OpenAPI document and refuses a bad request as the source does', async () => {
    // Act
    const document: APIGatewayProxyResult = await run('intake', apiEvent({ method: 'GET', path: '/v1/openapi.json', key: null }));
    const refused: APIGatewayProxyResult = await run('intake', apiEvent({ method: 'POST', path: '/v1/notices', body: { to: 'not an address' } }));
    // Assess
    expect(JSON.parse(document.body)).toMatchObject({ openapi: expect.stringMatching(/^3\.1/) });
    expect(refused.statusCode).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: expect.any(String) } });
  });
});
