// Creates the return-to-sender report a failed or discarded notice owes: exactly one, however many
// actors try (its id was fixed by the transition that ended the notice, and creation is conditional).
import type { Clock } from '../clock';
import type { InstitutionConfig } from '../config/schema';
import { StaleNoticeError } from '../errors';
import type { Doorbell, LifecycleSettings } from '../lifecycle/plan';
import { newReport, reportCreated } from '../lifecycle/reports';
import type { Log } from '../log';
import type { Notice } from '../notice/model';
import type { NoticeStore } from '../store/notice-store';

export interface ReportDeps {
  store: NoticeStore;
  clock: Clock;
  settings: LifecycleSettings;
  institutions: ReadonlyMap<string, InstitutionConfig>;
  log: Log;
}

/**
 * Creates the report for `notice` (which must be reportPending with a reportId), then clears its
 * pending mark. If this stops part-way, the notice stays in the sweep's index and the sweep finishes.
 */
export const createReport = async (deps: ReportDeps, notice: Notice, doorbells: Doorbell[]): Promise<void> => {
  if (!notice.reportPending || !notice.reportId) return;
  const institution = deps.institutions.get(notice.institutionId);
  if (institution) {
    const { record, ring } = newReport({ ...notice, reportId: notice.reportId }, { bounceTo: institution.bounceTo, now: deps.clock.now(), settings: deps.settings });
    const created = await deps.store.createReport(record);
    // Rung even when another actor created it: a second doorbell is harmless, a missing one is not.
    doorbells.push(ring);
    deps.log.info(created ? 'return-to-sender report created' : 'return-to-sender report already existed', { noticeId: notice.id, reportId: notice.reportId });
  } else {
    deps.log.error('no return-to-sender report: the institution is not in the configuration', { noticeId: notice.id, institution: notice.institutionId });
  }
  try {
    await deps.store.apply(reportCreated(notice));
  } catch (error) {
    if (!(error instanceof StaleNoticeError)) throw error;
  }
};
