// The sender killed mid-batch: `notice-relay start` is SIGKILLed while it sends, then started again on
// the same data. Every notice must be delivered; a notice whose send was cut off between the relay's
// acceptance and the record may be sent twice, and the test counts and reports those duplicates.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aConfigInput, aNoticeInput } from '../support/factories';
import { startLocalProcess } from '../support/local-runtime';
import { startRelay } from '../support/smtp-relay';
import { temporaryDirectories } from '../support/temp-dirs';

const temporary = temporaryDirectories();
afterAll(() => temporary.removeAll());

const KEY = 'crash-test-key-0123456789';
const COUNT = 60;

describe('Sender killed mid-batch', () => {
  it('delivers every notice after a restart, counting duplicates', async () => {
    // Prepare: a relay that takes 150 ms per message, so the kill lands mid-batch
    const relay = await startRelay({ dataDelayMs: 150 });
    const dir = temporary.make('notice-relay-crash-');
    const config = aConfigInput({
      retry: { shortRangeSeconds: 60, shortDelaySeconds: [1, 2], longDelaySeconds: [5, 10], maxAgeSeconds: 600 },
      intake: { spreadSeconds: 0 },
      sweep: { intervalSeconds: 1 },
      sender: { attemptTimeoutSeconds: 2, leaseSeconds: 3, batchSize: 10, concurrency: 2, batchingWindowSeconds: 0 },
    });
    config.institutions = [{ ...config.institutions[0]!, apiKeys: [KEY], transport: { kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }] } }];
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    // TMPDIR: the mail sink's directory, which a SIGKILL leaves behind, goes with the test's own.
    const env = { NOTICE_RELAY_CONFIG: join(dir, 'config.json'), NOTICE_RELAY_DATA: join(dir, 'data'), POWERTOOLS_LOG_LEVEL: 'INFO', TMPDIR: dir };
    const first = await startLocalProcess(env);
    // Act
    const response = await fetch(`${first.apiUrl}/v1/notices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ notices: Array.from({ length: COUNT }, (_, i) => aNoticeInput({ to: `patron${i}@example.org` })) }),
    });
    const ids = ((await response.json()) as { notices: Array<{ id: string }> }).notices.map((n) => n.id);
    const deadline = Date.now() + 30_000;
    while (relay.received.length < 12 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    first.child.kill('SIGKILL');
    await first.exited;
    const beforeKill = relay.received.length;
    const second = await startLocalProcess(env);
    const finalDeadline = Date.now() + 60_000;
    let statuses: string[] = [];
    while (Date.now() < finalDeadline) {
      // One list request a poll: the API key's rate limit (600 a minute) would refuse one request per notice.
      const page = (await (await fetch(`${second.apiUrl}/v1/notices?limit=100`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { notices?: Array<{ id: string; status: string }> };
      const byId = new Map((page.notices ?? []).map((notice) => [notice.id, notice.status]));
      statuses = ids.map((id) => byId.get(id) ?? 'missing');
      if (statuses.every((status) => status === 'sent')) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // On failure, what a person would look at: the notices left behind and what the runtime said of them.
    const stuck = ids.filter((_, i) => statuses[i] !== 'sent');
    for (const id of stuck) console.log(JSON.stringify(await (await fetch(`${second.apiUrl}/v1/notices/${id}`, { headers: { authorization: `Bearer ${KEY}` } })).json()));
    if (stuck.length) console.log(second.output().split('\n').filter((l) => stuck.some((id) => l.includes(id)) || l.includes('ERROR')).join('\n').slice(0, 5000));
    second.child.kill('SIGTERM');
    await second.exited;
    await relay.stop();
    // Assess
    const messageIds = relay.received.map((r) => r.parsed.messageId as string);
    const unique = new Set(messageIds);
    const duplicates = messageIds.length - unique.size;
    console.log(`sender killed after ${beforeKill} of ${COUNT} sent: all ${unique.size} delivered after restart, ${duplicates} duplicate(s) (cut off between the relay's acceptance and the record)`);
    expect(statuses).toEqual(Array(COUNT).fill('sent'));
    expect(unique).toEqual(new Set(ids.map((id) => `<${id}@library.example.org>`)));
    // Only sends in flight at the kill can be repeated: at most one per sender lane.
    expect(duplicates).toBeLessThanOrEqual(2);
  }, 150_000);
});
