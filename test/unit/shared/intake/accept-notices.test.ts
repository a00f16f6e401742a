// acceptNotices when the store fails part-way through a batch with an Idempotency-Key: what stays behind
// for the retry, and what the SMTP door's wholeOrNothing removes.
import { UnavailableError } from '../../../../shared/errors';
import { acceptNotices } from '../../../../shared/intake/accept-notices';
import type { NewNotice } from '../../../../shared/notice/model';
import { fakeDeps } from '../../../support/fake-deps';
import { aConfig, aNoticeInput } from '../../../support/factories';
import { recordingLog } from '../../../support/pipeline';

/** Fakes whose store writes the first notice of the next batch, `lateBySeconds` after the request began, then fails. */
const halfWritingFakes = (lateBySeconds: number) => {
  const fakes = fakeDeps({ log: recordingLog() });
  fakes.store
    .interceptNext('createNotices', (records: NewNotice[]) => {
      const first = records[0]!;
      fakes.store.seed({ notice: first.notice, content: first.content });
      fakes.clock.advanceSeconds(lateBySeconds);
    })
    .failNext('createNotices', new UnavailableError('the store left 1 write unprocessed after 8 tries'));
  return { ...fakes, log: fakes.deps.log as ReturnType<typeof recordingLog> };
};

const institution = aConfig().institutions[0]!;
const batch = { notices: [aNoticeInput({ to: 'a@example.org' }), aNoticeInput({ to: 'b@example.org' })] };

describe('Function: acceptNotices, when the store fails part-way', () => {
  it('leaves what was written for a retry with the same Idempotency-Key to complete, as the API does', async () => {
    // Prepare
    const { deps, store, idempotency } = halfWritingFakes(0);
    // Act
    const run = acceptNotices(deps, institution, batch, 'run-1');
    // Assess
    await expect(run).rejects.toThrow(UnavailableError);
    expect(store.all()).toHaveLength(1);
    expect(idempotency.timesCalled('release')).toBe(1);
  });

  it('removes what was written with wholeOrNothing, so nothing of a refused message is ever sent', async () => {
    // Prepare
    const { deps, store, idempotency } = halfWritingFakes(5);
    // Act
    const run = acceptNotices(deps, institution, batch, 'smtp-1', { wholeOrNothing: true });
    // Assess
    await expect(run).rejects.toThrow('nothing was accepted');
    expect(store.all()).toHaveLength(0);
    expect(idempotency.timesCalled('release')).toBe(1);
  });

  it('leaves them, and says so, when the write failed so late that a retry may have taken the key over', async () => {
    // Prepare: the failure comes 40 s after the request began, past half the key's 60 s lease
    const { deps, store, log } = halfWritingFakes(40);
    // Act
    await acceptNotices(deps, institution, batch, 'smtp-2', { wholeOrNothing: true }).catch(() => undefined);
    // Assess
    expect(store.all()).toHaveLength(1);
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'notices of a refused request left for its retry to complete' }));
  });
});
