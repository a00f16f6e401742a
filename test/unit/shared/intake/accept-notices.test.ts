// acceptNotices when the store fails part-way through a batch with an Idempotency-Key: what stays behind
// for the retry, and what the SMTP door's wholeOrNothing removes.
import { UnavailableError } from '../../../../shared/errors';
import { acceptNotices, type IntakeDeps } from '../../../../shared/intake/accept-notices';
import type { NewNotice } from '../../../../shared/notice/model';
import type { IdempotencyRequest, NoticeStore } from '../../../../shared/store/notice-store';
import { recordingLog } from '../../../support/pipeline';
import { aConfig, aNoticeInput, settingsOf } from '../../../support/factories';

/** A store that keeps notices in memory and fails the write after its first notice. */
const halfWritingStore = (advance: () => void) => {
  const stored = new Set<string>();
  const released: IdempotencyRequest[] = [];
  const store = {
    claimIdempotencyKey: async (request: IdempotencyRequest) => ({ kind: 'proceed' as const, ids: request.ids, takeover: false }),
    createNotices: async (records: NewNotice[]) => {
      stored.add(records[0]!.notice.id);
      advance();
      throw new UnavailableError('the store left 1 write unprocessed after 8 tries');
    },
    deleteNotices: async (ids: string[]) => void ids.forEach((id) => stored.delete(id)),
    releaseIdempotencyKey: async (request: IdempotencyRequest) => void released.push(request),
  } as unknown as NoticeStore;
  return { store, stored, released };
};

const depsWith = (store: NoticeStore, now: { at: number }): IntakeDeps & { log: ReturnType<typeof recordingLog> } => {
  let n = 0;
  return {
    store,
    queue: { ring: async () => [] } as unknown as IntakeDeps['queue'],
    clock: { now: () => new Date(now.at) },
    random: () => 0.5,
    newId: () => `01JB00000000000000000000${String(n++).padStart(2, '0')}`,
    log: recordingLog(),
    settings: settingsOf(),
    sleep: async () => undefined,
  };
};

const institution = aConfig().institutions[0]!;
const batch = { notices: [aNoticeInput({ to: 'a@example.org' }), aNoticeInput({ to: 'b@example.org' })] };

describe('Function: acceptNotices, when the store fails part-way', () => {
  it('leaves what was written for a retry with the same Idempotency-Key to complete, as the API does', async () => {
    // Prepare
    const now = { at: Date.parse('2030-01-01T00:00:00Z') };
    const { store, stored, released } = halfWritingStore(() => undefined);
    // Act
    const run = acceptNotices(depsWith(store, now), institution, batch, 'run-1');
    // Assess
    await expect(run).rejects.toThrow(UnavailableError);
    expect(stored.size).toBe(1);
    expect(released).toHaveLength(1);
  });

  it('removes what was written with wholeOrNothing, so nothing of a refused message is ever sent', async () => {
    // Prepare
    const now = { at: Date.parse('2030-01-01T00:00:00Z') };
    const { store, stored, released } = halfWritingStore(() => (now.at += 5_000));
    // Act
    const run = acceptNotices(depsWith(store, now), institution, batch, 'smtp-1', { wholeOrNothing: true });
    // Assess
    await expect(run).rejects.toThrow('nothing was accepted');
    expect(stored.size).toBe(0);
    expect(released).toHaveLength(1);
  });

  it('leaves them, and says so, when the write failed so late that a retry may have taken the key over', async () => {
    // Prepare: the failure comes 40 s after the request began, past half the key's 60 s lease
    const now = { at: Date.parse('2030-01-01T00:00:00Z') };
    const { store, stored } = halfWritingStore(() => (now.at += 40_000));
    const deps = depsWith(store, now);
    // Act
    await acceptNotices(deps, institution, batch, 'smtp-2', { wholeOrNothing: true }).catch(() => undefined);
    // Assess
    expect(stored.size).toBe(1);
    expect(deps.log.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'notices of a refused request left for its retry to complete' }));
  });
});
