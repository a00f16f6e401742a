import { overviewPage } from '../../../../lambdas/console/views/overview';
import { countByDay } from '../../../../shared/console/overview';
import { aConfig } from '../../../support/factories';

describe('View: the console’s Overview', () => {
  it('says how its figures are counted, and that SES reviews the whole account, not this library', () => {
    // Prepare
    const overview = countByDay([{ id: 'N1', kind: 'notice', status: 'bounced', createdAt: '2030-01-03T10:00:00.000Z' }], new Date('2030-01-03T15:00:00Z'), 14, true);
    // Act
    const page = overviewPage({ base: '/console', institution: aConfig().institutions[0], current: 'overview' }, overview);
    // Assess
    const text = page.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ');
    expect(text).toContain('each notice once, on the day it was accepted (UTC), by what has become of it so far');
    expect(text).toContain("These rates are this library's notices alone. Amazon SES reviews the whole AWS account");
  });
});
