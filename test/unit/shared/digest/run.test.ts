import { simpleParser } from 'mailparser';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIGEST_LOOK_BACK_DAYS, DIGEST_TYPE, digestId, runDigests } from '../../../../shared/digest/run';
import { localDayWindow } from '../../../../shared/digest/day';
import { composeMessage } from '../../../../shared/mime/compose';
import { aConfig, aNotice } from '../../../support/factories';
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
  '"date","status","reason","patron address","type","externalId","last reply","ended at (UTC)","notice id"',
  `"2030-03-10","failed","The patron's email address does not exist.","old.address@example.org","overdue","'=HYPERLINK(""http://evil.example/"",'x')","550 5.1.1 <old.address@example.org>: Recipient address rejected: User unknown","2030-03-10T15:00:00.000Z","01JB00000000000000000000F1"`,
  `"2030-03-10","bounced","The patron's email address does not exist.","gone@example.com","fine","fine-77","Permanent/NoEmail: smtp; 550 5.1.1 mailbox unavailable","2030-03-10T18:00:00.000Z","01JB00000000000000000000B1"`,
  `"2030-03-10","failed","The patron's email address does not exist.","Ünïcode.Patron@example.org","overdue","loan-2, ""second""","550 5.1.1 <old.address@example.org>: Recipient address rejected: User unknown","2030-03-10T21:00:00.000Z","01JB00000000000000000000F2"`,
  '"2030-03-10","discarded","It could not be delivered in time, so Notice Relay gave up. Last problem: The mail server did not answer in time.","far.away@example.net","hold","hold-5501","Connection timed out","2030-03-10T12:00:00.000Z","01JB00000000000000000000D1"',
  '"2030-03-10","suppressed","Not sent: the address is on the suppression list, because mail to it bounced or was marked as spam before.","old.address@example.org","overdue","loan-81299","","2030-03-10T22:00:00.000Z","01JB00000000000000000000S1"',
  '"2030-03-10","complained","The patron marked it as spam.","annoyed@example.com","overdue","loan-90210","abuse","2030-03-10T20:00:00.000Z","01JB00000000000000000000C1"',
  '',
].join('\r\n');

describe('Function: runDigests', () => {
  it("makes one digest of a mixed day for the desk, sent as a report to bounceTo: the email and its CSV byte for byte", async () => {
    // Prepare
    const { deps, store, queue } = await aMixedDay();
    // Act
    const result = await runDigests(deps);
    // Assess: the branch's one failure makes a digest of its own
    expect(result).toEqual({ sent: 2, empty: 0, existing: 0, caughtUp: 0 });
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
    expect(result).toEqual({ sent: 0, empty: 2, existing: 0, caughtUp: 0 });
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
    expect(later).toEqual({ sent: 0, empty: 0, existing: 2, caughtUp: 0 });
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
    expect(next).toEqual({ sent: 0, empty: 0, existing: 2, caughtUp: 0 });
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
      { sent: 0, empty: 0, existing: 0, caughtUp: 0 },
      { sent: 0, empty: 0, existing: 0, caughtUp: 0 },
    ]);
    expect(early.store.timesCalled('listNotices') + each.store.timesCalled('listNotices')).toBe(0);
  });

  it('makes a digest in both mode too', async () => {
    // Prepare
    const { deps } = await aMixedDay('both');
    // Act & Assess
    expect(await runDigests(deps)).toEqual({ sent: 2, empty: 0, existing: 0, caughtUp: 0 });
  });
});

// A weekend with the machine off, in Chicago (CDT, UTC-5), the digest due at 07:00: Friday's run makes
// Thursday's; the last run, Saturday 05:45, finds nothing due before 07:00; Monday 09:00's run finds Sunday's
// due and Friday's and Saturday's missed (their times, Saturday and Sunday 07:00, came while it was off).
const FRIDAY_RUN = '2030-03-15T12:30:00.000Z';
const LAST_RUN_BEFORE_OFF = '2030-03-16T10:45:00.000Z';
const MONDAY_RUN = '2030-03-18T14:00:00.000Z';
const dayId = (institution: string, date: string) => digestId(institution, date, localDayWindow(date, DIGEST_ZONE).end);
const failedOn = (id: string, at: string) =>
  aNotice({ id, status: 'failed', createdAt: at, updatedAt: at, attempts: [{ at, outcome: 'permanent', status: 'failed', transport: 'smtp', server: 'mail.library.example.org:587', responseCode: 550, message: '550 5.1.1 User unknown' }] });
/** One failure on Thursday, Friday afternoon and Saturday 03:00 local, none on Sunday; the branch has none. */
const weekendNotices = () => [
  failedOn('01JC00000000000000000000T4', '2030-03-14T17:00:00.000Z'),
  failedOn('01JC00000000000000000000F5', '2030-03-15T20:00:00.000Z'),
  failedOn('01JC00000000000000000000S6', '2030-03-16T08:00:00.000Z'),
];
const aWeekend = async (options: { retentionDays?: number } = {}) => {
  const fakes = fakeDeps({ config: aConfig({ reports: { mode: 'daily', timeOfDay: '07:00', timeZone: DIGEST_ZONE }, retention: { days: options.retentionDays ?? 30 } }), now: FRIDAY_RUN });
  await fakes.store.createNotices(asRecords(weekendNotices()));
  return fakes;
};

describe('Function: runDigests, after days when nothing ran', () => {
  it("makes Friday's and Saturday's digests on Monday after a weekend off, marks Sunday empty, and reads no day again on the next run", async () => {
    // Prepare
    const { deps, store, queue, clock } = await aWeekend();
    expect(await runDigests(deps)).toEqual({ sent: 1, empty: 1, existing: 0, caughtUp: 0 });
    clock.set(LAST_RUN_BEFORE_OFF);
    expect(await runDigests(deps)).toEqual({ sent: 0, empty: 0, existing: 0, caughtUp: 0 });
    clock.set(MONDAY_RUN);
    // Act
    const monday = await runDigests(deps);
    const readsAfterMonday = store.timesCalled('listNotices');
    clock.advanceSeconds(15 * 60);
    const next = await runDigests(deps);
    // Assess: each missed day with something to say has its digest, naming its day; empty days have a marker
    expect(monday).toEqual({ sent: 0, empty: 2, existing: 0, caughtUp: 2 });
    for (const date of ['2030-03-15', '2030-03-16']) {
      expect(store.peek(dayId('demo', date))).toMatchObject({ kind: 'report', type: DIGEST_TYPE, status: 'queued', subject: `Notices not delivered on ${date}: 1 notice (Demo Public Library)` });
      expect(store.peekContent(dayId('demo', date))?.attachments?.[0]?.filename).toBe(`undelivered-notices-${date}.csv`);
    }
    expect(queue.rung.map((ring) => ring.id)).toEqual([dayId('demo', '2030-03-14'), dayId('demo', '2030-03-15'), dayId('demo', '2030-03-16')]);
    expect(store.peek(dayId('demo', '2030-03-17'))).toBeUndefined();
    expect(store.peekEmptyDigestDay(dayId('demo', '2030-03-17'))).toMatchObject({ institutionId: 'demo', date: '2030-03-17', retainUntil: '2030-04-17T14:00:00.000Z' });
    for (const date of ['2030-03-14', '2030-03-15', '2030-03-16', '2030-03-17']) expect(store.peekEmptyDigestDay(dayId('branch', date))).toBeDefined();
    // The next run reads the look-back once per institution and no notices at all.
    expect(next).toEqual({ sent: 0, empty: 2, existing: 0, caughtUp: 0 });
    expect(store.timesCalled('listNotices')).toBe(readsAfterMonday);
    expect(store.argsOf('settledDigestDays').slice(-2).map(([ids]) => (ids as string[]).length)).toEqual([1 + DIGEST_LOOK_BACK_DAYS, 1 + DIGEST_LOOK_BACK_DAYS]);
    // One write per institution per empty day: the branch's Thursday, then its Friday to Sunday and demo's Sunday.
    expect(store.timesCalled('markDigestDayEmpty')).toBe(1 + 3 + 1);
  });

  it("makes no missed day's digest beyond the look-back: off for ten days, the days before it are left", async () => {
    // Prepare
    const { deps, store, clock } = await aWeekend();
    await runDigests(deps);
    clock.set('2030-03-25T14:00:00.000Z'); // Monday a week later: Sunday the 24th due, the 17th to the 23rd looked back at
    // Act
    const result = await runDigests(deps);
    // Assess
    expect(result).toEqual({ sent: 0, empty: 2, existing: 0, caughtUp: 0 });
    expect(store.peek(dayId('demo', '2030-03-15'))).toBeUndefined();
    expect(store.peek(dayId('demo', '2030-03-16'))).toBeUndefined();
    expect(store.argsOf('settledDigestDays').at(-1)?.[0]).not.toContain(dayId('branch', '2030-03-16'));
  });

  it('makes the due day\'s digest alone when no day of the look-back was settled (reports just turned to daily)', async () => {
    // Prepare
    const { deps, store, clock } = await aWeekend();
    clock.set(MONDAY_RUN);
    // Act
    const result = await runDigests(deps);
    // Assess: the days before were reported notice by notice; no digest repeats them
    expect(result).toEqual({ sent: 0, empty: 2, existing: 0, caughtUp: 0 });
    expect(store.timesCalled('createReport')).toBe(0);
    expect(store.timesCalled('listNotices')).toBe(2);
  });

  it('looks back at no day whose notices retention may have deleted', async () => {
    // Prepare: three days' retention, so Friday (from 05:00Z) is gone by Monday 05:00Z
    const { deps, store, clock } = await aWeekend({ retentionDays: 3 });
    await runDigests(deps);
    clock.set(MONDAY_RUN);
    // Act
    const result = await runDigests(deps);
    // Assess: Saturday alone is looked at, and with Friday unknown it is not taken for missed
    expect(store.argsOf('settledDigestDays').at(-1)?.[0]).toEqual([dayId('branch', '2030-03-17'), dayId('branch', '2030-03-16')]);
    expect(result).toEqual({ sent: 0, empty: 2, existing: 0, caughtUp: 0 });
    expect(store.peek(dayId('demo', '2030-03-15'))).toBeUndefined();
  });
});
