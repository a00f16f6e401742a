import { simpleParser } from 'mailparser';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIGEST_TYPE, digestId, runDigests } from '../../../../shared/digest/run';
import { localDayWindow } from '../../../../shared/digest/day';
import { composeMessage } from '../../../../shared/mime/compose';
import { aConfig } from '../../../support/factories';
import { asRecords, DIGEST_DAY, DIGEST_RUN_AT, DIGEST_ZONE, listedNotices, unlistedNotices } from '../../../support/digest-day';
import { fakeDeps } from '../../../support/fake-deps';

const FIXTURE = join(__dirname, '../../../support/fixtures/daily-digest.eml');
const daily = (mode: 'each' | 'daily' | 'both' = 'daily') => aConfig({ reports: { mode, timeOfDay: '07:00', timeZone: DIGEST_ZONE } });
const demoDigestId = () => digestId('demo', DIGEST_DAY, localDayWindow(DIGEST_DAY, DIGEST_ZONE).end);

/** The fakes with a mixed day in the store, at the time the digest is due. */
const aMixedDay = async (mode: 'each' | 'daily' | 'both' = 'daily') => {
  const fakes = fakeDeps({ config: daily(mode), now: DIGEST_RUN_AT });
  await fakes.store.createNotices(asRecords([...listedNotices(), ...unlistedNotices()]));
  return fakes;
};

const CSV = [
  'date,status,reason,patron address,type,externalId,last reply,ended at (UTC),notice id',
  `2030-03-10,failed,The patron's email address does not exist.,old.address@example.org,overdue,"'=HYPERLINK(""http://evil.example/"",'x')",550 5.1.1 <old.address@example.org>: Recipient address rejected: User unknown,2030-03-10T15:00:00.000Z,01JB00000000000000000000F1`,
  "2030-03-10,bounced,The patron's email address does not exist.,gone@example.com,fine,fine-77,Permanent/NoEmail: smtp; 550 5.1.1 mailbox unavailable,2030-03-10T18:00:00.000Z,01JB00000000000000000000B1",
  `2030-03-10,failed,The patron's email address does not exist.,Ünïcode.Patron@example.org,overdue,"loan-2, ""second""",550 5.1.1 <old.address@example.org>: Recipient address rejected: User unknown,2030-03-10T21:00:00.000Z,01JB00000000000000000000F2`,
  '2030-03-10,discarded,"It could not be delivered in time, so Notice Relay gave up. Last problem: The mail server did not answer in time.",far.away@example.net,hold,hold-5501,given up after 100 hours,2030-03-10T12:00:00.000Z,01JB00000000000000000000D1',
  '2030-03-10,suppressed,"Not sent: the address is on the suppression list, because mail to it bounced or was marked as spam before.",old.address@example.org,overdue,loan-81299,not sent: the address is on the suppression list since 2030-03-10T15:00:00.000Z (permanent bounce),2030-03-10T22:00:00.000Z,01JB00000000000000000000S1',
  '2030-03-10,complained,The patron marked it as spam.,annoyed@example.com,overdue,loan-90210,abuse,2030-03-10T20:00:00.000Z,01JB00000000000000000000C1',
  '',
].join('\r\n');

describe('Function: runDigests', () => {
  it("makes one digest of a mixed day for the desk, sent as a report to bounceTo: the email and its CSV byte for byte", async () => {
    // Prepare
    const { deps, store, queue } = await aMixedDay();
    // Act
    const result = await runDigests(deps);
    // Assess: the branch's one failure makes a digest of its own
    expect(result).toEqual({ sent: 2, empty: 0, existing: 0 });
    const id = demoDigestId();
    const digest = store.peek(id);
    expect(digest).toMatchObject({ kind: 'report', type: DIGEST_TYPE, to: 'circulation@library.example.org', status: 'queued', institutionId: 'demo' });
    expect(digest?.sweepAt).toBeDefined();
    expect(queue.rung.map((ring) => ring.id)).toEqual([id, digestId('branch', DIGEST_DAY, localDayWindow(DIGEST_DAY, DIGEST_ZONE).end)]);
    const content = store.peekContent(id)!;
    const message = await composeMessage(digest!, content, deps.institutions.get('demo')!, { now: deps.clock.now(), baseBoundary: 'test' });
    expect(message.raw.toString()).toBe(readFileSync(FIXTURE, 'utf8'));
    expect(message.envelope).toEqual({ from: '', to: ['circulation@library.example.org'] });
    const parsed = await simpleParser(message.raw);
    expect(parsed.subject).toBe('Notices not delivered on 2030-03-10: 6 notices (Demo Public Library)');
    expect(parsed.attachments.map((attachment) => [attachment.filename, attachment.contentType])).toEqual([['undelivered-notices-2030-03-10.csv', 'text/csv']]);
    // A byte-order mark, so that a spreadsheet reads the file as UTF-8.
    expect(parsed.attachments[0]!.content.toString('utf8')).toBe(`\uFEFF${CSV}`);
  });

  it('sends nothing on an empty day', async () => {
    // Prepare
    const { deps, store, queue } = fakeDeps({ config: daily(), now: DIGEST_RUN_AT });
    await store.createNotices(asRecords(unlistedNotices().filter((notice) => notice.institutionId === 'demo')));
    // Act
    const result = await runDigests(deps);
    // Assess
    expect(result).toEqual({ sent: 0, empty: 2, existing: 0 });
    expect(store.timesCalled('createReport')).toBe(0);
    expect(queue.rung).toEqual([]);
  });

  it('makes exactly one digest when two runs overlap, and none more on a later run of the day', async () => {
    // Prepare
    const { deps, store, clock } = await aMixedDay();
    // Act
    const [first, second] = await Promise.all([runDigests(deps), runDigests(deps)]);
    clock.advanceSeconds(3600);
    const later = await runDigests(deps);
    // Assess
    expect(first.sent + second.sent).toBe(2);
    expect(first.existing + second.existing).toBe(2);
    expect(later).toEqual({ sent: 0, empty: 0, existing: 2 });
    expect((await store.listNotices('demo', { type: DIGEST_TYPE, limit: 10 })).notices.map((notice) => notice.id)).toEqual([demoDigestId()]);
  });

  it('leaves a digest whose doorbell was lost to the sweep, and does not make it again', async () => {
    // Prepare
    const { deps, store, queue } = await aMixedDay();
    queue.failNext('ring', new Error('injected: SQS did not answer'));
    // Act
    await expect(runDigests(deps)).rejects.toThrow('daily digest failed for demo');
    const next = await runDigests(deps);
    // Assess: the digest exists, in the sweep's index, and the next run finds it there
    expect(store.peek(demoDigestId())?.sweepAt).toBeDefined();
    expect(next).toEqual({ sent: 0, empty: 0, existing: 2 });
  });

  it('sends none before the local time of day, and none at all when reports.mode is each', async () => {
    // Prepare
    const early = await aMixedDay();
    early.clock.set('2030-03-11T11:59:00Z');
    const each = await aMixedDay('each');
    // Act
    const results = [await runDigests(early.deps), await runDigests(each.deps)];
    // Assess
    expect(results).toEqual([
      { sent: 0, empty: 0, existing: 0 },
      { sent: 0, empty: 0, existing: 0 },
    ]);
    expect(early.store.timesCalled('listNotices') + each.store.timesCalled('listNotices')).toBe(0);
  });

  it('makes a digest in both mode too', async () => {
    // Prepare
    const { deps } = await aMixedDay('both');
    // Act & Assess
    expect(await runDigests(deps)).toEqual({ sent: 2, empty: 0, existing: 0 });
  });
});
