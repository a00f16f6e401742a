// The console's Activity (docs/staff/console.md): search an institution's notices by patron address,
// externalId, type, status and date, and a notice's page: its timeline, why it is where it is, and what
// staff may do with it. Every read goes through an index or by key, never a scan.
import * as z from 'zod/mini';
import type { InstitutionConfig } from '../config/schema';
import { ValidationError } from '../errors';
import { findOwned } from '../intake/manage-notices';
import { NOTICE_STATUSES, PENDING_STATUSES, type Notice, type NoticeStatus } from '../notice/model';
import { resendRefusal } from '../lifecycle/transitions';
import type { ListPage, NoticeLookups, NoticeStore } from '../store/notice-store';
import { emailAddress, issuesToDetails } from '../validation';
import { type Reason, reasonFor } from './reasons';
import { buildTimeline, type TimelineEntry, type WebhookDeliveries } from './timeline';

export interface ActivityDeps {
  store: NoticeStore;
  /** The lookups by address (and for the overview) the API does not make. */
  lookups: NoticeLookups;
  webhooks: WebhookDeliveries;
}

/** Rows on one page of results. */
export const ACTIVITY_PAGE_SIZE = 50;

const day = z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date (YYYY-MM-DD)' }));
const blankToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : typeof value === 'string' ? value.trim() : value);

/** Runs `fn` on the value before `schema` checks it (the full API's z.preprocess, which zod/mini spells as a pipe). */
const preprocess = <S extends z.ZodMiniType>(fn: (value: unknown) => unknown, schema: S) => z.pipe(z.transform(fn), schema);

/** The search form's fields, as the browser posts them (empty fields mean "any"). */
const activityForm = z.object({
  address: preprocess(blankToUndefined, z.optional(emailAddress)),
  externalId: preprocess(blankToUndefined, z.optional(z.string().check(z.maxLength(200)))),
  type: preprocess(blankToUndefined, z.optional(z.string().check(z.maxLength(64)))),
  status: preprocess(
    (value) => (value === undefined || value === '' ? undefined : [value].flat().filter((item) => item !== '')),
    z.optional(z.array(z.enum(NOTICE_STATUSES as unknown as [string, ...string[]], { message: 'is not a status' }))),
  ),
  from: preprocess(blankToUndefined, z.optional(day)),
  to: preprocess(blankToUndefined, z.optional(day)),
  /** The browser's offset from UTC in minutes (JavaScript's getTimezoneOffset, negated), when its script ran. */
  tz: preprocess(blankToUndefined, z.optional(z.coerce.number().check(z.int(), z.gte(-840), z.lte(840)))),
  cursor: preprocess(blankToUndefined, z.optional(z.string().check(z.maxLength(2000)))),
});

export type ActivityQuery = z.output<typeof activityForm>;

/** Reads the search form; a field that cannot be used is a ValidationError naming it. */
export const parseActivityQuery = (fields: Record<string, string | string[]>): ActivityQuery => {
  const result = activityForm.safeParse(fields);
  if (!result.success) throw new ValidationError('The search is not valid.', issuesToDetails(result.error.issues), 'invalid_search');
  if (result.data.from && result.data.to && result.data.from > result.data.to) {
    throw new ValidationError('The search is not valid.', [{ path: 'to', message: 'must not be before the "from" date' }], 'invalid_search');
  }
  return result.data;
};

/** Midnight starting `date` where the browser is (its offset from UTC in minutes), as an instant. */
const startOfDay = (date: string, offsetMinutes = 0, plusDays = 0): string => {
  const utcMidnight = Date.parse(`${date}T00:00:00.000Z`) + plusDays * 86_400_000;
  return new Date(utcMidnight - offsetMinutes * 60_000).toISOString();
};

/**
 * One page of an institution's notices matching the search, newest first. A search by address reads the
 * address index; by externalId, its index; otherwise the institution's, filtered.
 */
export const searchNotices = async (deps: ActivityDeps, institution: InstitutionConfig, query: ActivityQuery): Promise<ListPage> => {
  const listQuery = {
    limit: ACTIVITY_PAGE_SIZE,
    status: query.status as NoticeStatus[] | undefined,
    type: query.type,
    externalId: query.externalId,
    since: query.from ? startOfDay(query.from, query.tz) : undefined,
    before: query.to ? startOfDay(query.to, query.tz, 1) : undefined,
    cursor: query.cursor,
  };
  return query.address ? deps.lookups.listNoticesTo(institution.id, query.address, listQuery) : deps.store.listNotices(institution.id, listQuery);
};

export interface NoticePage {
  notice: Notice;
  timeline: TimelineEntry[];
  reason: Reason;
  /** Still waiting to be sent: staff may cancel it. */
  cancellable: boolean;
  /** Why it may not be sent again, or undefined when it may. */
  resendRefusal?: string;
}

/** Why a notice whose content the store has dropped cannot be sent again from here. */
export const CONTENT_GONE = 'Its text is no longer kept (a notice keeps it until a day after its give-up time); send it again from the ILS.';

/** A notice of the institution with its timeline, or NotFoundError. */
export const noticePage = async (deps: ActivityDeps, institution: InstitutionConfig, id: string): Promise<NoticePage> => {
  const notice = await findOwned(deps.store, institution, id);
  const refusedByStatus = resendRefusal(notice);
  const [report, webhooks, stored] = await Promise.all([
    notice.reportId && !notice.reportPending ? deps.store.getNotice(notice.reportId) : undefined,
    deps.webhooks.forNotice(institution.id, notice.id),
    // Only a notice that may be sent again needs its content, to tell whether it is still kept.
    refusedByStatus ? undefined : deps.store.getForDelivery([notice.id]),
  ]);
  const refusal = refusedByStatus ?? (stored?.get(notice.id)?.content ? undefined : CONTENT_GONE);
  return {
    notice,
    timeline: buildTimeline(notice, { report, webhooks }),
    reason: reasonFor(notice),
    cancellable: PENDING_STATUSES.has(notice.status),
    resendRefusal: refusal,
  };
};
