// The daily digest on the local pipeline: the day's notices read from the byInstitution index of a real
// table (dynalite), the digest made once, and sent by the sender through the institution's relay on
// 127.0.0.1, its text, HTML and CSV whole; an empty day sends nothing.
import { simpleParser } from 'mailparser';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIGEST_TYPE, runDigests } from '../../shared/digest/run';
import { ManualClock } from '../support/clock';
import { asRecords, DIGEST_RUN_AT, DIGEST_ZONE, listedNotices, unlistedNotices } from '../support/digest-day';
import { fastConfig, type Pipeline, startPipeline } from '../support/pipeline';
import { receivedFor, type Relay, startRelay } from '../support/smtp-relay';

const BOUNCE_TO = 'circulation@library.example.org';
let pipeline: Pipeline | undefined;
let relay: Relay | undefined;

afterEach(async () => {
  await pipeline?.stop();
  await relay?.stop();
  pipeline = undefined;
  relay = undefined;
});

/** The pipeline at 07:00 the day after the mixed day, the demo institution sending through a relay on 127.0.0.1. */
const start = async () => {
  relay = await startRelay();
  const clock = new ManualClock(DIGEST_RUN_AT);
  const config = fastConfig({ kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }] }, {
    reports: { mode: 'daily', timeOfDay: '07:00', timeZone: DIGEST_ZONE },
    // The default give-up age: the day's discarded notice was created four days before it.
    retry: undefined,
  });
  pipeline = await startPipeline(config, { clock });
  await pipeline.deps.store.createNotices(asRecords([...listedNotices(), ...unlistedNotices()].filter((notice) => notice.institutionId === 'demo')));
  return { pipeline, relay, clock };
};

describe('The daily digest on the local pipeline', () => {
  it('reads a mixed day from the table and sends one digest to bounceTo, its text, HTML and CSV whole', async () => {
    // Prepare
    const { pipeline, relay } = await start();
    const expected = await simpleParser(readFileSync(join(__dirname, '../support/fixtures/daily-digest.eml')));
    // Act: two runs at once, as two schedules might overlap
    const results = await Promise.all([pipeline.functions.handlers.digest(), pipeline.functions.handlers.digest()]);
    const [message] = await pipeline.waitFor(async () => (receivedFor(relay, BOUNCE_TO).length ? receivedFor(relay, BOUNCE_TO) : undefined), 30_000, 'the digest at the relay');
    // Assess
    expect(results.reduce((sum, result) => sum + result.sent, 0)).toBe(1);
    expect(message!.envelope).toEqual({ from: '', to: [BOUNCE_TO] });
    expect(message!.parsed.subject).toBe(expected.subject);
    expect(message!.parsed.text).toBe(expected.text);
    expect(message!.parsed.html).toBe(expected.html);
    expect(message!.parsed.attachments.map((attachment) => [attachment.filename, attachment.content.toString('utf8')])).toEqual(
      expected.attachments.map((attachment) => [attachment.filename, attachment.content.toString('utf8')]),
    );
    const digests = (await pipeline.deps.store.listNotices('demo', { type: DIGEST_TYPE, limit: 10 })).notices;
    expect(digests.map((digest) => digest.kind)).toEqual(['report']);
    await pipeline.waitForStatus(digests[0]!.id, ['sent']);
    expect(receivedFor(relay, BOUNCE_TO)).toHaveLength(1);
  });

  it('sends nothing on an empty day', async () => {
    // Prepare: two days later, nothing ended on the day before
    const { pipeline, relay, clock } = await start();
    clock.set('2030-03-13T12:00:00.000Z');
    // Act
    const result = await runDigests(pipeline.functions.deps.digest);
    // Assess: no digest made, so none can be sent
    expect(result).toEqual({ sent: 0, empty: 2, existing: 0, caughtUp: 0 });
    expect((await pipeline.deps.store.listNotices('demo', { type: DIGEST_TYPE, limit: 10 })).notices).toEqual([]);
    expect(relay.received).toEqual([]);
  });
});
