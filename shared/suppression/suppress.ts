// What puts an address on an institution's suppression list (docs/integrator/api.md: Suppressions and webhook deliveries), and the entry it
// makes: a hard bounce SES reported (a `Permanent` bounce, including SES's own account-level suppression,
// `OnAccountSuppressionList`), a complaint, a permanent refusal of the patron's address by the library's
// relay (the outcome catalogue's recipient scope), or the ILS through the API.
import { addSeconds, type Clock } from '../clock';
import type { NoticeId } from '../ids';
import type { Log } from '../log';
import type { SuppressionEntry, SuppressionReason, SuppressionStore } from '../store/suppression-store';
import { suppressionKey } from './address';

export interface SuppressionDeps {
  suppressions: SuppressionStore;
  /** `suppression.days`: how long an entry lasts; 0 keeps it until it is deleted. */
  suppressionDays: number;
  clock: Clock;
  log: Log;
}

/** The entry for `address`, made now, lasting `suppression.days`. */
export const suppressionEntry = (
  deps: Pick<SuppressionDeps, 'suppressionDays' | 'clock'>,
  fields: { institutionId: string; address: string; reason: SuppressionReason; detail?: string; noticeId?: NoticeId },
): SuppressionEntry => {
  const now = deps.clock.now();
  return Object.fromEntries(
    Object.entries({
      ...fields,
      address: suppressionKey(fields.address),
      createdAt: now.toISOString(),
      expiresAt: deps.suppressionDays > 0 ? addSeconds(now, deps.suppressionDays * 86_400).toISOString() : undefined,
    }).filter(([, value]) => value !== undefined),
  ) as unknown as SuppressionEntry;
};

/**
 * Puts the patron's address of a notice on the list. A failure is logged, not thrown: the notice's own
 * outcome is recorded already, and the next bounce adds the address again.
 * @example
 * await suppressAddress(deps, { institutionId, address: notice.to, reason: 'bounce', detail: 'Permanent/General', noticeId });
 */
export const suppressAddress = async (deps: SuppressionDeps, fields: Parameters<typeof suppressionEntry>[1]): Promise<void> => {
  try {
    await deps.suppressions.add(suppressionEntry(deps, fields));
    deps.log.info('address suppressed', { noticeId: fields.noticeId, institution: fields.institutionId, reason: fields.reason });
  } catch (error) {
    deps.log.error('address not suppressed: the store refused', { noticeId: fields.noticeId, code: (error as { name?: string }).name ?? 'Error' });
  }
};

/** Words for why an entry exists, for a notice's history and the digest. */
export const suppressionWords = (entry: Pick<SuppressionEntry, 'reason' | 'detail'>): string =>
  entry.reason === 'bounce'
    ? `mail to it bounced${entry.detail ? `: ${entry.detail}` : ''}`
    : entry.reason === 'complaint'
      ? 'the patron marked a notice as spam'
      : `added by the library${entry.detail ? `: ${entry.detail}` : ''}`;
