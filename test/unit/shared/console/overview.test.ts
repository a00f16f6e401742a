import { countByDay } from '../../../../shared/console/overview';
import type { NoticeTally } from '../../../../shared/store/notice-store';

const tally = (createdAt: string, status: string): NoticeTally => ({ id: createdAt, kind: 'notice', status: status as NoticeTally['status'], createdAt });

describe('Function: countByDay', () => {
  it('counts each notice on the day it was accepted by the status it has now, and the rates over the period', () => {
    // Prepare
    const tallies = [
      tally('2030-01-03T10:00:00.000Z', 'delivered'),
      tally('2030-01-03T11:00:00.000Z', 'bounced'),
      tally('2030-01-03T12:00:00.000Z', 'sent'),
      tally('2030-01-03T13:00:00.000Z', 'complained'),
      tally('2030-01-02T09:00:00.000Z', 'failed'),
      tally('2030-01-02T09:30:00.000Z', 'discarded'),
      tally('2030-01-02T10:00:00.000Z', 'suppressed'),
      tally('2030-01-02T10:30:00.000Z', 'queued'),
      tally('2030-01-02T11:00:00.000Z', 'cancelled'),
      // Before the first day shown: not counted.
      tally('2029-12-30T11:00:00.000Z', 'delivered'),
    ];
    // Act
    const overview = countByDay(tallies, new Date('2030-01-03T15:00:00Z'), 3, true);
    // Assess
    expect(overview.days).toEqual([
      { day: '2030-01-01', sent: 0, delivered: 0, bounced: 0, complained: 0, failed: 0, suppressed: 0 },
      { day: '2030-01-02', sent: 0, delivered: 0, bounced: 0, complained: 0, failed: 2, suppressed: 1 },
      { day: '2030-01-03', sent: 4, delivered: 1, bounced: 1, complained: 1, failed: 0, suppressed: 0 },
    ]);
    expect(overview.totals).toEqual({ sent: 4, delivered: 1, bounced: 1, complained: 1, failed: 2, suppressed: 1 });
    expect([overview.bounceRate, overview.complaintRate]).toEqual([0.25, 0.25]);
  });

  it('has no rate when nothing was sent', () => {
    expect(countByDay([], new Date('2030-01-03T15:00:00Z'), 14, true)).toMatchObject({ bounceRate: null, complaintRate: null });
  });
});
