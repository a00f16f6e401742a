// The SMTP door's container as it is deployed: main.ts bundled by infra/smtp-door/bundle.cjs (what the
// Dockerfile runs), started with the task's environment alone against dynalite and fauxqs, checked by the
// container's health check, stopped by SIGTERM as ECS stops a task.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { freePort } from '../../infra/local/emulators';
import { NO_CERTIFICATE_LOG } from '../../shared/submission/certificate';
import { intakeDepsFor } from '../support/intake-deps';
import { aConfig, DEMO_KEY } from '../support/factories';
import { startTestQueue, startTestTable, type TestQueue, type TestTable } from '../support/emulators';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the build script is CommonJS, run by the Dockerfile as is
const { bundleSmtpDoor } = require('../../infra/smtp-door/bundle.cjs') as { bundleSmtpDoor: (outdir: string) => void };

jest.setTimeout(90_000);

const exitOf = (child: ChildProcess) => new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));

describe('SMTP door container: the bundle the image runs', () => {
  let outdir: string;
  let table: TestTable;
  let queue: TestQueue;

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'notice-relay-smtp-door-'));
    bundleSmtpDoor(outdir);
    [table, queue] = await Promise.all([startTestTable(), startTestQueue()]);
  });

  afterAll(async () => {
    await Promise.all([table?.stop(), queue?.stop()]);
    rmSync(outdir, { recursive: true, force: true });
  });

  it('starts from the environment alone, passes its health check, takes a message, logs no address or key, and stops on SIGTERM', async () => {
    // Prepare: the task's environment, as the stack writes it, with no certificate put in the secret yet
    const [submissionPort, implicitTlsPort] = [await freePort(), await freePort()];
    const config = aConfig();
    const child = spawn(process.execPath, [join(outdir, 'main.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_REGION: 'us-east-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        NOTICE_RELAY_CONFIG_JSON: JSON.stringify(config),
        NOTICE_RELAY_TABLE: table.tableName,
        NOTICE_RELAY_QUEUE_URL: queue.queueUrl,
        NOTICE_RELAY_DYNAMODB_ENDPOINT: table.url,
        NOTICE_RELAY_SQS_ENDPOINT: queue.url,
        NOTICE_RELAY_SMTP_HOST: '127.0.0.1',
        NOTICE_RELAY_SMTP_PORT: String(submissionPort),
        NOTICE_RELAY_SMTPS_PORT: String(implicitTlsPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = exitOf(child);
    const deps = intakeDepsFor({ config, endpoints: { dynamodb: table.url, sqs: queue.url }, tableName: table.tableName, queueUrl: queue.queueUrl });
    try {
      const deadline = Date.now() + 30_000;
      while (!output.includes('smtp door listening') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      // Act
      const health = await exitOf(spawn(process.execPath, [join(outdir, 'health-check.cjs'), String(submissionPort)]));
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: submissionPort, ignoreTLS: true, auth: { user: 'demo', pass: DEMO_KEY } });
      const info = await transport.sendMail({ from: 'circulation@library.example.org', to: 'container-patron@example.org', subject: 'Overdue', text: 'Due yesterday.' });
      transport.close();
      const id = /\(([0-9A-Z]{26})\)/.exec(info.response)?.[1] as string;
      const stored = await deps.store.getNotice(id);
      child.kill('SIGTERM');
      // Assess
      expect(health).toBe(0);
      expect(info.response).toMatch(/^250 2\.6\.0 Accepted: 1 notice/);
      expect(stored).toMatchObject({ institutionId: 'demo', to: 'container-patron@example.org', status: 'queued' });
      expect(await exited).toBe(0);
      const lines = output.trim().split('\n').map((line) => JSON.parse(line) as { level: string; message: string });
      // Without a certificate the door still takes mail, and says every few minutes what is missing.
      expect(lines).toContainEqual(expect.objectContaining({ level: 'ERROR', message: NO_CERTIFICATE_LOG }));
      expect(lines).toContainEqual(expect.objectContaining({ level: 'INFO', message: 'smtp message accepted', ids: [id] }));
      expect(output).not.toContain('container-patron@example.org');
      expect(output).not.toContain(DEMO_KEY);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      deps.close();
    }
  });
});
