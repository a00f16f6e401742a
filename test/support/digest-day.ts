// A mixed day for the daily digest's tests: Sunday 10 March 2030 in Chicago, the 23-hour day of the
// spring clock change (06:00Z to 05:00Z next day), with one notice of each ending the digest lists, and
// notices it must leave out (the day before and after, a sent one, a report, another institution's).
import type { NewNotice, Notice } from '../../shared/notice/model';
import { aNotice } from './factories';

export const DIGEST_DAY = '2030-03-10';
export const DIGEST_ZONE = 'America/Chicago';
/** 07:00 CDT the day after: the digest is due. */
export const DIGEST_RUN_AT = '2030-03-11T12:00:00.000Z';

const failedAt = (id: string, at: string, overrides: Partial<Notice> = {}): Notice =>
  aNotice({
    id,
    status: 'failed',
    to: 'old.address@example.org',
    createdAt: at,
    updatedAt: at,
    attempts: [
      { at, outcome: 'permanent', status: 'failed', transport: 'smtp', server: 'mail.library.example.org:587', responseCode: 550, enhancedStatus: '5.1.1', message: '550 5.1.1 <old.address@example.org>: Recipient address rejected: User unknown' },
    ],
    ...overrides,
  });

/** The notices the digest of DIGEST_DAY lists, by the order they ended. */
export const listedNotices = (): Notice[] => [
  // Created four days before and given up on the day: the index's creation time is days before the window.
  aNotice({
    id: '01JB00000000000000000000D1',
    status: 'discarded',
    to: 'far.away@example.net',
    type: 'hold',
    externalId: 'hold-5501',
    createdAt: '2030-03-06T08:00:00.000Z',
    updatedAt: '2030-03-10T12:00:00.000Z',
    giveUpAt: '2030-03-10T12:00:00.000Z',
    attempts: [
      { at: '2030-03-10T11:00:00.000Z', outcome: 'transient', status: 'retrying', transport: 'smtp', server: 'mail.library.example.org:587', responseCode: 421, enhancedStatus: '4.4.2', code: 'ETIMEDOUT', message: 'Connection timed out' },
      { at: '2030-03-10T12:00:00.000Z', outcome: 'discarded', status: 'discarded', message: 'given up after 100 hours' },
    ],
  }),
  failedAt('01JB00000000000000000000F1', '2030-03-10T15:00:00.000Z', { externalId: '=HYPERLINK("http://evil.example/",\'x\')' }),
  aNotice({
    id: '01JB00000000000000000000B1',
    status: 'bounced',
    to: 'gone@example.com',
    type: 'fine',
    externalId: 'fine-77',
    createdAt: '2030-03-10T17:00:00.000Z',
    updatedAt: '2030-03-10T18:00:00.000Z',
    attempts: [
      { at: '2030-03-10T17:00:05.000Z', outcome: 'sent', status: 'sent', transport: 'ses', server: 'ses' },
      { at: '2030-03-10T18:00:00.000Z', outcome: 'bounced', status: 'bounced', transport: 'ses', server: 'ses', enhancedStatus: '5.1.1', code: 'EBOUNCED', message: 'Permanent/NoEmail: smtp; 550 5.1.1 mailbox unavailable' },
    ],
    events: [{ at: '2030-03-10T18:00:00.000Z', type: 'bounce', detail: 'Permanent/NoEmail: smtp; 550 5.1.1 mailbox unavailable' }],
  }),
  aNotice({
    id: '01JB00000000000000000000C1',
    status: 'complained',
    to: 'annoyed@example.com',
    externalId: 'loan-90210',
    createdAt: '2030-03-10T19:00:00.000Z',
    updatedAt: '2030-03-10T20:00:00.000Z',
    attempts: [
      { at: '2030-03-10T19:00:05.000Z', outcome: 'sent', status: 'sent', transport: 'ses', server: 'ses' },
      { at: '2030-03-10T20:00:00.000Z', outcome: 'complained', status: 'complained', transport: 'ses', server: 'ses', message: 'abuse' },
    ],
    events: [{ at: '2030-03-10T20:00:00.000Z', type: 'complaint', detail: 'abuse' }],
  }),
  failedAt('01JB00000000000000000000F2', '2030-03-10T21:00:00.000Z', { to: 'Ünïcode.Patron@example.org', type: 'overdue', externalId: 'loan-2, "second"' }),
  aNotice({
    id: '01JB00000000000000000000S1',
    status: 'suppressed',
    to: 'old.address@example.org',
    externalId: 'loan-81299',
    createdAt: '2030-03-10T22:00:00.000Z',
    updatedAt: '2030-03-10T22:00:00.000Z',
    attempts: [{ at: '2030-03-10T22:00:00.000Z', outcome: 'suppressed', status: 'suppressed', message: 'not sent: the address is on the suppression list since 2030-03-10T15:00:00.000Z (permanent bounce)' }],
  }),
];

/** Notices the digest of DIGEST_DAY leaves out. */
export const unlistedNotices = (): Notice[] => [
  failedAt('01JB00000000000000000000X1', '2030-03-10T05:30:00.000Z'), // 23:30 the evening before, local
  failedAt('01JB00000000000000000000X2', '2030-03-11T05:30:00.000Z'), // 00:30 the next day, local
  aNotice({ id: '01JB00000000000000000000X3', status: 'sent', createdAt: '2030-03-10T15:00:00.000Z', updatedAt: '2030-03-10T15:00:05.000Z' }),
  failedAt('01JB00000000000000000000X4', '2030-03-10T15:00:00.000Z', { kind: 'report', to: 'circulation@library.example.org' }),
  failedAt('01JB00000000000000000000X5', '2030-03-10T15:00:00.000Z', { institutionId: 'branch' }),
];

export const asRecords = (notices: Notice[]): NewNotice[] =>
  notices.map((notice) => ({ notice, content: { to: notice.to, subject: notice.subject, text: 'x' }, retainContentUntil: '2030-06-01T00:00:00.000Z' }));
