// `npm start` as a user runs it: a child process with its own data directory, stopped politely or killed.
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { aNoticeInput } from '../support/factories';
import { runCli, startLocalProcess } from '../support/local-runtime';
import { temporaryDirectories } from '../support/temp-dirs';
import { makePrivateCa } from '../support/tls';

const temporary = temporaryDirectories();
afterAll(() => temporary.removeAll());

const KEY = 'local-only-demo-key';

/** A JSON request over HTTPS trusting `ca` (fetch cannot be given a CA of its own). */
const httpsJson = (url: string, options: { ca?: string; method?: string; key?: string; body?: unknown }): Promise<{ status: number; body: unknown }> =>
  new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { ...(options.key ? { authorization: `Bearer ${options.key}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) };
    const request = httpsRequest(url, { method: options.method ?? 'GET', ca: options.ca, headers }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
    request.on('error', reject);
    request.end(payload);
  });

const post = (apiUrl: string, body: unknown) =>
  fetch(`${apiUrl}/v1/notices`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('Local runtime (notice-relay start)', () => {
  it('keeps every accepted notice across a SIGKILL and a restart', async () => {
    // Prepare
    const dataDir = temporary.make('notice-relay-data-');
    // A far sendAt keeps the notices queued, so the test sees exactly what was accepted.
    const scheduled = { sendAt: new Date(Date.now() + 300 * 86_400_000).toISOString() };
    // TMPDIR: the mail sink's directory, which a SIGKILL leaves behind, goes with the test's own.
    const tmp = temporary.make('notice-relay-tmp-');
    const first = await startLocalProcess({ NOTICE_RELAY_DATA: dataDir, TMPDIR: tmp });
    const ids: string[] = [];
    // Act
    const batch = await post(first.apiUrl, { notices: Array.from({ length: 40 }, (_, i) => aNoticeInput({ externalId: `kill-${i}`, ...scheduled })) });
    expect(batch.status).toBe(202);
    ids.push(...((await batch.json()) as { notices: Array<{ id: string }> }).notices.map((n) => n.id));
    const one = await post(first.apiUrl, aNoticeInput({ externalId: 'kill-one', ...scheduled }));
    expect(one.status).toBe(202);
    ids.push(((await one.json()) as { id: string }).id);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const second = await startLocalProcess({ NOTICE_RELAY_DATA: dataDir, TMPDIR: tmp });
    const found = await Promise.all(
      ids.map(async (id) => (await fetch(`${second.apiUrl}/v1/notices/${id}`, { headers: { authorization: `Bearer ${KEY}` } })).json() as Promise<{ id: string; status: string }>),
    );
    // A second copy on the same data directory refuses to start, and the running one is unharmed.
    const alongside = await runCli(['start'], { NOTICE_RELAY_DATA: dataDir, TMPDIR: tmp, PORT: '0' }, 30_000);
    const stillThere = await fetch(`${second.apiUrl}/v1/notices/${ids[0]}`, { headers: { authorization: `Bearer ${KEY}` } });
    second.child.kill('SIGTERM');
    // Assess
    expect(alongside.code).toBe(1);
    expect(alongside.stderr).toContain(`the data directory ${dataDir} is in use by another notice-relay: stop it, or set NOTICE_RELAY_DATA to another directory`);
    expect(stillThere.status).toBe(200);
    expect(found.map((n) => n.id)).toEqual(ids);
    expect(new Set(found.map((n) => n.status))).toEqual(new Set(['queued']));
    expect(await second.exited).toBe(0);
    expect(second.output()).toContain('Stopped.');
    // The banner names the mail viewer; maildev's own announcement of it is not printed besides.
    expect(second.output()).toContain('Mail viewer');
    expect(second.output()).not.toContain('MailDev API running');
  }, 120_000);

  it('rings at once after a restart the doorbell of a notice due now, which the in-memory queue lost', async () => {
    // Prepare: a notice due in a few seconds, its doorbell waiting in the queue when the runtime stops
    const dataDir = temporary.make('notice-relay-data-');
    const tmp = temporary.make('notice-relay-tmp-');
    const first = await startLocalProcess({ NOTICE_RELAY_DATA: dataDir, TMPDIR: tmp });
    const accepted = await post(first.apiUrl, aNoticeInput({ externalId: 'after-restart', sendAt: new Date(Date.now() + 8000).toISOString() }));
    const { id } = (await accepted.json()) as { id: string };
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // Act
    const second = await startLocalProcess({ NOTICE_RELAY_DATA: dataDir, TMPDIR: tmp });
    let status = '';
    // Well before the sweep's grace for a lost doorbell (2 × leaseSeconds = 120 s in config/local.json) runs out
    for (const deadline = Date.now() + 45_000; Date.now() < deadline && status !== 'sent'; await new Promise((resolve) => setTimeout(resolve, 500))) {
      status = ((await (await fetch(`${second.apiUrl}/v1/notices/${id}`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { status: string }).status;
    }
    second.child.kill('SIGTERM');
    // Assess
    expect(status).toBe('sent');
    expect(await second.exited).toBe(0);
  }, 120_000);

  it("delivers with the committed config/local.json, started from any directory: SMTP to maildev, SES through its emulator to maildev, and the banner's swaks example through the SMTP door, all in the mail viewer", async () => {
    // Prepare: a temporary folder of its own, to see what the mail sink leaves there, and to start in
    const tmp = temporary.make('notice-relay-tmp-');
    const local = await startLocalProcess({ NOTICE_RELAY_DATA: temporary.make('notice-relay-data-'), TMPDIR: tmp }, { cwd: tmp });
    let mailFiles: string[] | undefined;
    try {
      // Act
      const smtp = await post(local.apiUrl, aNoticeInput({ to: 'smtp-patron@example.org', subject: 'Hold ready: Dune' }));
      const ses = await fetch(`${local.apiUrl}/v1/notices`, {
        method: 'POST',
        headers: { authorization: 'Bearer local-only-branch-key', 'content-type': 'application/json' },
        body: JSON.stringify(aNoticeInput({ to: 'ses-patron@example.org', subject: 'Fine due: $2.00' })),
      });
      const ids = { smtp: ((await smtp.json()) as { id: string }).id, ses: ((await ses.json()) as { id: string }).id };
      // The banner's example, pasted into a shell as printed (swaks: what .ci/run installs when missing)
      const swaks = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn('sh', ['-c', local.swaksExample ?? 'false'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.once('exit', (code) => resolve({ code, output }));
      });
      const statusOf = async (id: string, key: string) =>
        ((await (await fetch(`${local.apiUrl}/v1/notices/${id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { status: string; messageId?: string }).status;
      const deadline = Date.now() + 30_000;
      let inbox: Array<{ subject: string; to: Array<{ address: string }>; from: Array<{ address: string }> }> = [];
      while (Date.now() < deadline) {
        inbox = (await (await fetch(`${local.mailViewerUrl}/api/email`)).json()) as typeof inbox;
        if (inbox.length >= 3) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      // Assess: what the mail viewer shows, and what the API says
      const bySubject = Object.fromEntries(inbox.map((mail) => [mail.subject, mail]));
      expect(bySubject['Hold ready: Dune']).toMatchObject({ to: [{ address: 'smtp-patron@example.org' }], from: [{ address: 'notices@library.example.org' }] });
      expect(bySubject['Fine due: $2.00']).toMatchObject({ to: [{ address: 'ses-patron@example.org' }], from: [{ address: 'notices@branch.example.edu' }] });
      expect(swaks.code).toBe(0);
      expect(swaks.output).toMatch(/<~ {2}250 2\.6\.0 Accepted: 1 notice \([0-9A-Z]{26}\) queued\./);
      expect(bySubject['Your hold is ready']).toMatchObject({ to: [{ address: 'patron@example.org' }], from: [{ address: 'notices@library.example.org' }] });
      expect(await statusOf(ids.smtp, KEY)).toBe('sent');
      expect(await statusOf(ids.ses, 'local-only-branch-key')).toBe('sent');
      mailFiles = readdirSync(tmp, { recursive: true, encoding: 'utf8' });
    } finally {
      local.child.kill('SIGTERM');
      await local.exited;
    }
    // The messages were kept in the sink's own directory while it ran, and went with it
    expect(mailFiles?.filter((name) => /^notice-relay-mail-[^/]+\/[^/]+\.eml$/.test(name))).toHaveLength(3);
    // (tsx, which runs npm start from TypeScript, keeps its compile cache there too)
    expect(readdirSync(tmp).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
  }, 90_000);

  it('refuses a bad configuration before starting anything, listing every problem by path', async () => {
    // Prepare
    const dir = temporary.make('notice-relay-config-');
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ institutions: [{ id: 'x', from: 'nobody', bounceTo: 'x@example.org', apiKeys: ['short'], transport: { kind: 'smtp', servers: [] } }], sender: { leaseSeconds: 5 } }));
    // Act
    const result = await runCli(['start'], { NOTICE_RELAY_CONFIG: path, NOTICE_RELAY_DATA: join(dir, 'data') });
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${path} is not valid (4 problems):`);
    expect(result.stderr).toContain('  institutions[0].apiKeys[0]: must be at least 16 characters');
    expect(result.stderr).toContain('  institutions[0].from: must be one mailbox');
    expect(result.stderr).toContain('  institutions[0].transport.servers: needs at least one server');
    expect(result.stderr).toContain('  sender.leaseSeconds: must be longer than sender.attemptTimeoutSeconds (60)');
  }, 60_000);

  it.each([
    ['the mail viewer', 'NOTICE_RELAY_SINK_WEB_PORT'],
    ['DynamoDB', 'NOTICE_RELAY_DYNAMODB_PORT'],
    ['SES', 'NOTICE_RELAY_SES_PORT'],
    ['the API', 'PORT'],
    ["the SMTP door's STARTTLS", 'NOTICE_RELAY_SMTP_PORT'],
  ])('stops at once, naming the setting, when the port for %s is taken, and leaves nothing running', async (what, setting) => {
    // Prepare: someone else listens on the port
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const tmp = temporary.make('notice-relay-tmp-');
    try {
      // Act: the process exits only if what did start (sink, DynamoDB thread, SQS, SES) was stopped
      const result = await runCli(['start'], { NOTICE_RELAY_DATA: temporary.make('notice-relay-data-'), TMPDIR: tmp, PORT: '0', [setting]: String(port) }, 30_000);
      // Assess
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port}, for ${what}, is already in use on this machine: stop what uses it, or set ${setting} to another port`);
      expect(readdirSync(tmp).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
    } finally {
      taken.close();
    }
  }, 60_000);

  it('serves the API over HTTPS with the certificate it is given, and not over plain HTTP', async () => {
    // Prepare: a certificate from a private CA, as a library's IT would issue for the relay's host
    const ca = makePrivateCa();
    const dir = temporary.make('notice-relay-tls-');
    const issued = ca.issueServerCertificate();
    writeFileSync(join(dir, 'cert.pem'), issued.cert);
    writeFileSync(join(dir, 'key.pem'), issued.key);
    const local = await startLocalProcess({ NOTICE_RELAY_DATA: join(dir, 'data'), TMPDIR: dir, NOTICE_RELAY_TLS_CERT: join(dir, 'cert.pem'), NOTICE_RELAY_TLS_KEY: join(dir, 'key.pem') });
    try {
      // Act
      const health = await httpsJson(`${local.apiUrl}/v1/health`, { ca: ca.cert });
      const accepted = await httpsJson(`${local.apiUrl}/v1/notices`, { ca: ca.cert, method: 'POST', key: KEY, body: aNoticeInput({ sendAt: new Date(Date.now() + 300 * 86_400_000).toISOString() }) });
      const openapi = await httpsJson(`${local.apiUrl}/v1/openapi.json`, { ca: ca.cert });
      const untrusted = httpsJson(`${local.apiUrl}/v1/health`, {});
      const plain = fetch(`${local.apiUrl.replace('https:', 'http:')}/v1/health`);
      // Assess
      expect(local.apiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(health.status).toBe(200);
      expect(accepted).toMatchObject({ status: 202, body: { status: 'queued' } });
      expect((openapi.body as { servers: Array<{ url: string }> }).servers[0]?.url).toBe(local.apiUrl);
      await expect(untrusted).rejects.toThrow(/unable to verify the first certificate/);
      await expect(plain).rejects.toThrow();
    } finally {
      local.child.kill('SIGTERM');
      await local.exited;
    }
  }, 90_000);

  it('refuses half a TLS setting before starting anything', async () => {
    const result = await runCli(['start'], { NOTICE_RELAY_TLS_CERT: '/nonexistent/cert.pem', NOTICE_RELAY_DATA: temporary.make('notice-relay-data-') });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('NOTICE_RELAY_TLS_CERT and NOTICE_RELAY_TLS_KEY go together');
  }, 60_000);

  it('explains its commands', async () => {
    const result = await runCli(['help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('start');
  }, 60_000);
});
