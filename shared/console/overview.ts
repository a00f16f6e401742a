// The console's Overview (docs/staff/console.md): per day, how many notices were sent, delivered,
// bounced, marked as spam, failed and suppressed, and the bounce and complaint rates against the levels
// at which Amazon SES reviews an account.
//
// How it is counted: from the institution's listing index (keys only) and the notices' small state items
// read by key, eventually consistent, for the days shown; no scan, and no write per notice (a counter
// would cost a write on every status it counts). A view reads at most OVERVIEW_MAX_NOTICES states, about
// half a read unit each; a warm function answers again from memory for a minute.
import { addSeconds, type Clock } from '../clock';
import type { InstitutionConfig } from '../config/schema';
import type { NoticeLookups, NoticeTally } from '../store/notice-store';

export const OVERVIEW_DAYS = 14;
/** States read at most for one overview: a large consortium's fortnight is counted from its newest notices. */
export const OVERVIEW_MAX_NOTICES = 20_000;
/** Amazon SES reviews an account whose bounce rate reaches 5 % or complaint rate 0.1 % (SES Developer Guide, "Sending review process FAQs"). */
export const SES_REVIEW_RATES = { bounce: 0.05, complaint: 0.001 } as const;
const CACHE_SECONDS = 60;

export interface DayCounts {
  /** The UTC day, YYYY-MM-DD. */
  day: string;
  /** Left for the patron's mail server: sent, delivered, bounced or marked as spam. */
  sent: number;
  delivered: number;
  bounced: number;
  complained: number;
  /** Refused for good or given up. */
  failed: number;
  suppressed: number;
}

export interface Overview {
  days: DayCounts[];
  totals: Omit<DayCounts, 'day'>;
  /** bounced ÷ sent over the days shown; null when nothing was sent. */
  bounceRate: number | null;
  complaintRate: number | null;
  /** False when more notices were accepted than were counted: the oldest days are then partial. */
  complete: boolean;
  computedAt: string;
}

const emptyCounts = (): Omit<DayCounts, 'day'> => ({ sent: 0, delivered: 0, bounced: 0, complained: 0, failed: 0, suppressed: 0 });

/** Adds one notice to its day's counts, by the status it has now. */
const count = (counts: Omit<DayCounts, 'day'>, notice: NoticeTally): void => {
  switch (notice.status as string) {
    case 'delivered':
      counts.delivered++;
      counts.sent++;
      break;
    case 'bounced':
      counts.bounced++;
      counts.sent++;
      break;
    case 'complained':
      counts.complained++;
      counts.sent++;
      break;
    case 'sent':
      counts.sent++;
      break;
    case 'failed':
    case 'discarded':
      counts.failed++;
      break;
    case 'suppressed':
      counts.suppressed++;
      break;
  }
};

const rate = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

/**
 * The counts of the last `days` UTC days, oldest first, from the notices' current statuses.
 * @example
 * const { days, bounceRate } = countByDay(tallies, now, 14, true);
 */
export const countByDay = (tallies: readonly NoticeTally[], now: Date, days: number, complete: boolean): Overview => {
  const today = Date.parse(`${now.toISOString().slice(0, 10)}T00:00:00.000Z`);
  const byDay = new Map<string, DayCounts>();
  for (let i = days - 1; i >= 0; i--) {
    const day = new Date(today - i * 86_400_000).toISOString().slice(0, 10);
    byDay.set(day, { day, ...emptyCounts() });
  }
  const totals = emptyCounts();
  for (const notice of tallies) {
    const counts = byDay.get(notice.createdAt.slice(0, 10));
    if (!counts) continue;
    count(counts, notice);
    count(totals, notice);
  }
  return {
    days: [...byDay.values()],
    totals,
    bounceRate: rate(totals.bounced, totals.sent),
    complaintRate: rate(totals.complained, totals.sent),
    complete,
    computedAt: now.toISOString(),
  };
};

export interface OverviewDeps {
  store: NoticeLookups;
  clock: Clock;
}

/** The overview of institutions, each kept in memory for a minute: staff reload; the store is not read again. */
export class OverviewReader {
  private readonly cache = new Map<string, { until: number; overview: Overview }>();

  public constructor(private readonly deps: OverviewDeps) {}

  public async read(institution: InstitutionConfig): Promise<Overview> {
    const now = this.deps.clock.now();
    const cached = this.cache.get(institution.id);
    if (cached && cached.until > now.getTime()) return cached.overview;
    const firstDay = new Date(Date.parse(`${now.toISOString().slice(0, 10)}T00:00:00.000Z`) - (OVERVIEW_DAYS - 1) * 86_400_000);
    const { notices, complete } = await this.deps.store.talliesSince(institution.id, firstDay.toISOString(), OVERVIEW_MAX_NOTICES);
    const overview = countByDay(notices, now, OVERVIEW_DAYS, complete);
    this.cache.set(institution.id, { until: addSeconds(now, CACHE_SECONDS).getTime(), overview });
    return overview;
  }
}
