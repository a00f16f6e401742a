import { makeDigestHandler } from '../../../lambdas/digest/digest-handler';
import { aConfig } from '../../support/factories';
import { asRecords, DIGEST_RUN_AT, DIGEST_ZONE, listedNotices } from '../../support/digest-day';
import { fakeDeps } from '../../support/fake-deps';
import { recordingLog } from '../../support/pipeline';

describe('Handler: digest', () => {
  it('makes the digests that are due and logs ids and counts, never a patron address', async () => {
    // Prepare
    const log = recordingLog();
    const fakes = fakeDeps({ config: aConfig({ reports: { mode: 'daily', timeOfDay: '07:00', timeZone: DIGEST_ZONE } }), now: DIGEST_RUN_AT, log });
    await fakes.store.createNotices(asRecords(listedNotices()));
    // Act
    const result = await makeDigestHandler(fakes.deps)();
    // Assess
    expect(result).toEqual({ sent: 1, empty: 1, existing: 0, caughtUp: 0 });
    expect(log.lines.map((line) => line.message)).toEqual(['daily digest created']);
    expect(JSON.stringify(log.lines)).not.toMatch(/@/);
  });

  it('fails the invocation, naming the institution and not its notices, when the store cannot be read, so the alarm hears of it', async () => {
    // Prepare
    const log = recordingLog();
    const fakes = fakeDeps({ config: aConfig({ reports: { mode: 'both', timeOfDay: '07:00', timeZone: DIGEST_ZONE } }), now: DIGEST_RUN_AT, log });
    fakes.store.failAlways('listNotices', Object.assign(new Error('injected'), { name: 'ProvisionedThroughputExceededException' }), (institutionId: string) => institutionId === 'demo');
    // Act & Assess: the branch's run still happens
    await expect(makeDigestHandler(fakes.deps)()).rejects.toThrow('daily digest failed for demo; the next run tries again');
    expect(log.lines).toEqual([{ level: 'error', message: 'daily digest failed', attributes: { institution: 'demo', date: '2030-03-10', code: 'ProvisionedThroughputExceededException' } }]);
    expect(fakes.store.argsOf('listNotices').map(([institutionId]) => institutionId)).toEqual(['demo', 'branch']);
  });
});
