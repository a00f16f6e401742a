// acceptNotices when the store fails part-way through a batch with an Idempotency-Key: what stays behind
// for the retry, and what the SMTP door's wholeOrNothing removes; and with a key per notice, as the door
// gives each recipient of a message.
import { ConflictError, UnavailableError } from '../../../../shared/errors';
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

describe('Function: acceptNotices, with a key per notice', () => {
  const noticeTo = (to: string) => aNoticeInput({ to, externalId: 'msg-1' });

  it('creates only the notices no earlier request created, and names those it found', async () => {
    // Prepare: a and b accepted, then a request for b and c
    const { deps, store } = fakeDeps();
    const first = await acceptNotices(deps, institution, { notices: [noticeTo('a@example.org'), noticeTo('b@example.org')] }, ['key-a', 'key-b']);
    // Act
    const second = await acceptNotices(deps, institution, { notices: [noticeTo('b@example.org'), noticeTo('c@example.org')] }, ['key-b', 'key-c']);
    // Assess
    const idOfB = first.notices[1]!.id;
    expect(second.notices[0]!.id).toBe(idOfB);
    expect(second).toMatchObject({ replayed: false, alreadyAccepted: [idOfB] });
    expect(store.all().map((notice) => notice.to).sort()).toEqual(['a@example.org', 'b@example.org', 'c@example.org']);
  });

  it('answers a replay when every notice was created before', async () => {
    // Prepare
    const { deps, store } = fakeDeps();
    const first = await acceptNotices(deps, institution, { notices: [noticeTo('a@example.org'), noticeTo('b@example.org')] }, ['key-a', 'key-b']);
    // Act
    const fewer = await acceptNotices(deps, institution, { notices: [noticeTo('b@example.org')] }, ['key-b']);
    // Assess
    expect(fewer).toEqual({ batch: true, replayed: true, alreadyAccepted: [first.notices[1]!.id], notices: [{ id: first.notices[1]!.id, status: 'queued' }] });
    expect(store.all()).toHaveLength(2);
  });

  it("refuses the whole request when one notice's key was used for other content, letting go of the keys it claimed", async () => {
    // Prepare: key-b is claimed first (keys are claimed in order), then key-c is found used for another notice
    const { deps, store, idempotency } = fakeDeps();
    await acceptNotices(deps, institution, { notices: [noticeTo('c@example.org')] }, ['key-c']);
    // Act
    const run = acceptNotices(deps, institution, { notices: [aNoticeInput({ to: 'c@example.org', subject: 'Other' }), noticeTo('b@example.org')] }, ['key-c', 'key-b']);
    // Assess
    await expect(run).rejects.toThrow(ConflictError);
    expect(store.all()).toHaveLength(1);
    expect(idempotency.peek(institution.id, 'key-b')).toMatchObject({ state: 'in-progress', leaseUntil: 0 });
  });

  it('removes every notice it wrote and lets go of every key with wholeOrNothing, when the store fails part-way', async () => {
    // Prepare
    const { deps, store, idempotency } = halfWritingFakes(0);
    // Act
    const run = acceptNotices(deps, institution, batch, ['key-a', 'key-b'], { wholeOrNothing: true });
    // Assess
    await expect(run).rejects.toThrow('nothing was accepted');
    expect(store.all()).toHaveLength(0);
    expect(idempotency.timesCalled('release')).toBe(2);
  });
});
