import { reportOwed } from '../../../../shared/lifecycle/reports';
import { aNotice } from '../../../support/factories';

describe('Function: reportOwed', () => {
  it.each([
    ['each', true],
    ['both', true],
    ['daily', false],
  ] as const)('owes a failed notice its own report when reports.mode is %s: %s', (reportsMode, owed) => {
    // Act & Assess
    expect(reportOwed(aNotice(), 'failed', { reportsMode })).toBe(owed);
  });

  it('owes none for a suppressed or delivered notice, a report, or a notice reported already', () => {
    // Act & Assess
    expect([
      reportOwed(aNotice(), 'suppressed', { reportsMode: 'each' }),
      reportOwed(aNotice(), 'delivered', { reportsMode: 'each' }),
      reportOwed(aNotice({ kind: 'report' }), 'discarded', { reportsMode: 'each' }),
      reportOwed(aNotice({ reportId: '01JB0000000000000000000009' }), 'bounced', { reportsMode: 'both' }),
    ]).toEqual([false, false, false, false]);
  });
});
