import { csvCell } from '../../../../shared/csv';
import { groupByReason, renderDigest } from '../../../../shared/digest/render';
import { lastReply } from '../../../../shared/notice/last-reply';
import { DIGEST_DAY, DIGEST_ZONE, listedNotices } from '../../../support/digest-day';

describe('Module: digest render', () => {
  it('writes its CSV as the console writes its export: quoted cells, never a formula, after a byte order mark', () => {
    // Act
    const rendered = renderDigest({ institutionName: 'Demo', date: DIGEST_DAY, timeZone: DIGEST_ZONE, groups: groupByReason(listedNotices()) });
    // Assess
    const [header, first] = rendered.csv.split('\r\n');
    expect(header).toBe(`\uFEFF${['date', 'status', 'reason', 'patron address', 'type', 'externalId', 'last reply', 'ended at (UTC)', 'notice id'].map((name) => csvCell(name)).join(',')}`);
    expect(first).toContain(csvCell('=HYPERLINK("http://evil.example/",\'x\')'));
    expect(first).toContain(`"'=HYPERLINK(""http://evil.example/"",'x')"`);
  });

  it('groups the notices by the reason staff read, the largest group first', () => {
    // Act
    const groups = groupByReason(listedNotices());
    // Assess
    expect(groups.map((group) => [group.reason, group.rows.map((row) => row.noticeId)])).toEqual([
      ["The patron's email address does not exist.", ['01JB00000000000000000000F1', '01JB00000000000000000000B1', '01JB00000000000000000000F2']],
      [
        'It could not be delivered in time, so Notice Relay gave up. Last problem: The mail server did not answer in time.',
        ['01JB00000000000000000000D1'],
      ],
      ['Not sent: the address is on the suppression list, because mail to it bounced or was marked as spam before.', ['01JB00000000000000000000S1']],
      ['The patron marked it as spam.', ['01JB00000000000000000000C1']],
    ]);
  });

  it("lists each notice's last reply as the webhook and the report read it", () => {
    // Act
    const rows = groupByReason(listedNotices()).flatMap((group) => group.rows);
    // Assess
    expect(Object.fromEntries(rows.map((row) => [row.noticeId, row.lastReply]))).toEqual(Object.fromEntries(listedNotices().map((notice) => [notice.id, lastReply(notice)?.message])));
    expect(rows.find((row) => row.noticeId === '01JB00000000000000000000B1')?.lastReply).toBe('Permanent/NoEmail: smtp; 550 5.1.1 mailbox unavailable');
  });

  it('says how many it lists when a large day lists fewer than all', () => {
    // Act
    const rendered = renderDigest({ institutionName: 'Demo', date: DIGEST_DAY, timeZone: DIGEST_ZONE, groups: groupByReason(listedNotices()), limits: { bodyRows: 2, csvRows: 3 } });
    // Assess
    expect(rendered.text).toContain('This email lists 2 of them; the CSV file lists 3; GET /v1/notices or the staff console lists all of them.');
    expect(rendered.csv.split('\r\n')).toHaveLength(1 + 3 + 1);
    expect(rendered.text).toContain("The patron's email address does not exist. (3 notices)");
  });
});
