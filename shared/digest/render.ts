// The digest's words (docs/staff/reports.md, The daily digest): the day's undelivered notices grouped by why, in the
// staff console's words (shared/console/reasons.ts owns them), as a text part, an HTML part and a CSV file
// that a spreadsheet opens safely (shared/csv.ts, as the console's export).
import { reasonFor, statusLabel } from '../console/reasons';
import { toCsv } from '../csv';
import { escapeHtml } from '../html-escape';
import { lastReply } from '../notice/last-reply';
import type { Notice } from '../notice/model';
import { endedAt } from './collect';

export interface DigestRow {
  noticeId: string;
  status: string;
  endedAt: string;
  to: string;
  type?: string;
  externalId?: string;
  lastReply?: string;
}

export interface DigestGroup {
  reason: string;
  action?: string;
  rows: DigestRow[];
}

export interface RenderedDigest {
  subject: string;
  text: string;
  html: string;
  csv: string;
  filename: string;
}

/** The notices grouped by the reason staff read for them, the largest group first. */
export const groupByReason = (notices: Notice[]): DigestGroup[] => {
  const groups = new Map<string, DigestGroup>();
  for (const notice of notices) {
    const reason = reasonFor(notice);
    const group = groups.get(reason.summary) ?? { reason: reason.summary, ...(reason.action ? { action: reason.action } : {}), rows: [] };
    group.rows.push({ noticeId: notice.id, status: notice.status, endedAt: endedAt(notice), to: notice.to, type: notice.type, externalId: notice.externalId, lastReply: lastReply(notice)?.message });
    groups.set(reason.summary, group);
  }
  return [...groups.values()].sort((a, b) => b.rows.length - a.rows.length || a.reason.localeCompare(b.reason));
};

/** How many notices the email's parts list (a large day keeps the email within a notice's size). */
export interface DigestLimits {
  bodyRows: number;
  csvRows: number;
}

/** The groups with at most `rows` rows in all, the first groups first. */
const truncateGroups = (groups: DigestGroup[], rows: number): DigestGroup[] => {
  let left = rows;
  return groups.flatMap((group) => {
    const kept = group.rows.slice(0, Math.max(0, left));
    left -= kept.length;
    return kept.length ? [{ ...group, rows: kept }] : [];
  });
};

const CSV_HEADER = ['date', 'status', 'reason', 'patron address', 'type', 'externalId', 'last reply', 'ended at (UTC)', 'notice id'];

const sizeOf = (groups: DigestGroup[], reason: string): number => groups.find((group) => group.reason === reason)?.rows.length ?? 0;

const countWords = (count: number): string => `${count} notice${count === 1 ? '' : 's'}`;

/**
 * The digest of `date` for an institution: subject, text, HTML and CSV.
 * @example
 * renderDigest({ institutionName: 'Riverside Library', date: '2026-03-08', timeZone: 'America/Chicago', groups })
 */
export const renderDigest = (input: { institutionName: string; date: string; timeZone: string; groups: DigestGroup[]; limits?: DigestLimits }): RenderedDigest => {
  const { institutionName, date, timeZone, limits = { bodyRows: Infinity, csvRows: Infinity } } = input;
  const total = input.groups.reduce((sum, group) => sum + group.rows.length, 0);
  const groups = truncateGroups(input.groups, limits.bodyRows);
  const listed = groups.reduce((sum, group) => sum + group.rows.length, 0);
  const csvRows = input.groups.flatMap((group) => group.rows.map((row) => ({ row, reason: group.reason }))).slice(0, limits.csvRows);
  const more = [
    ...(listed < total ? [`This email lists ${listed} of them; `] : []),
    ...(csvRows.length < total ? [`the CSV file lists ${csvRows.length}; GET /v1/notices or the staff console lists all of them.`] : listed < total ? ['the CSV file lists all of them.'] : []),
  ].join('');
  const subject = `Notices not delivered on ${date}: ${countWords(total)} (${institutionName})`;
  const intro = `${countWords(total)} of ${institutionName} did not reach the patron on ${date} (${timeZone}). They are grouped by reason below; the attached CSV file lists them too.${more ? ` ${more}` : ''}`;
  const field = (label: string, value: string | undefined) => (value ? `  ${label}: ${value}` : undefined);
  const text = [
    intro,
    ...groups.flatMap((group) => [
      '',
      `${group.reason} (${countWords(sizeOf(input.groups, group.reason))})`,
      ...(group.action ? [`What to do: ${group.action}`] : []),
      ...group.rows.flatMap((row) =>
        [`- ${row.to}, ${statusLabel(row.status)}`, field('Type', row.type), field('External id', row.externalId), field('Last reply', row.lastReply), field('Notice', row.noticeId)].filter(
          (line): line is string => line !== undefined,
        ),
      ),
    ]),
    '',
    'This digest is sent by Notice Relay once a day; reports.mode in its configuration chooses it.',
    '',
  ].join('\n');
  const cell = (value: string | undefined) => `<td>${escapeHtml(value ?? '')}</td>`;
  const html = [
    '<!DOCTYPE html>',
    `<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body>`,
    `<p>${escapeHtml(intro)}</p>`,
    ...groups.flatMap((group) => [
      `<h2>${escapeHtml(group.reason)} (${countWords(sizeOf(input.groups, group.reason))})</h2>`,
      ...(group.action ? [`<p>What to do: ${escapeHtml(group.action)}</p>`] : []),
      '<table border="1" cellpadding="4" cellspacing="0">',
      '<tr><th>Patron address</th><th>Status</th><th>Type</th><th>External id</th><th>Last reply</th><th>Notice</th></tr>',
      ...group.rows.map((row) => `<tr>${[row.to, statusLabel(row.status), row.type, row.externalId, row.lastReply, row.noticeId].map(cell).join('')}</tr>`),
      '</table>',
    ]),
    '</body></html>',
    '',
  ].join('\n');
  const csv = toCsv(CSV_HEADER, csvRows.map(({ row, reason }) => [date, row.status, reason, row.to, row.type, row.externalId, row.lastReply, row.endedAt, row.noticeId]));
  return { subject, text, html, csv, filename: `undelivered-notices-${date}.csv` };
};
