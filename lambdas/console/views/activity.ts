// Activity: the search form (posted, so that a patron's address never appears in a URL) and its results.
import type { ActivityQuery } from '../../../shared/console/activity';
import { statusLabel } from '../../../shared/console/reasons';
import type { ErrorDetail } from '../../../shared/errors';
import { isDigest, NOTICE_STATUSES, type Notice } from '../../../shared/notice/model';
import { attribute, html, type SafeHtml } from './html';
import { csrfField, layout, noticeLink, type PageContext, scrollingTable, statusBadge, when } from './layout';

/** The filters again, as hidden fields of the "next page" form. */
const carried = (query: ActivityQuery): SafeHtml =>
  html`${(['address', 'externalId', 'type', 'from', 'to', 'tz'] as const).map((name) => (query[name] !== undefined ? html`<input type="hidden" name="${name}" value="${String(query[name])}">` : ''))}${(query.status ?? []).map((status) => html`<input type="hidden" name="status" value="${status}">`)}`;

/** The rows of a list of notices, as Activity and Needs attention show them (as cards on a phone: each cell names its column). */
export const noticeRows = (ctx: PageContext, notices: Notice[], extra?: { header: string; cell: (notice: Notice) => SafeHtml }): SafeHtml =>
  html`<table class="cards"><thead><tr><th scope="col">Accepted</th><th scope="col">Status</th><th scope="col">To</th><th scope="col">Subject</th><th scope="col">Type</th><th scope="col">ILS id</th>${extra ? html`<th scope="col">${extra.header}</th>` : ''}</tr></thead>
<tbody>${notices.map(
    (notice) =>
      html`<tr><td data-label="Accepted">${when(notice.createdAt)}</td><td data-label="Status">${statusBadge(notice.status)}</td><td data-label="To" class="mono">${notice.to}</td><td data-label="Subject">${noticeLink(ctx, notice.id, notice.subject)}${notice.kind === 'report' ? html` <span class="small muted">(${isDigest(notice) ? 'daily digest' : 'return-to-sender report'})</span>` : ''}</td><td data-label="Type">${notice.type ?? ''}</td><td data-label="ILS id" class="mono">${notice.externalId ?? ''}</td>${extra ? html`<td data-label="${extra.header}">${extra.cell(notice)}</td>` : ''}</tr>`,
  )}</tbody></table>`;

export const activityPage = (ctx: PageContext, view: { query: ActivityQuery; notices: Notice[]; cursor?: string; errors?: ErrorDetail[]; searched: boolean }): string => {
  const { query } = view;
  const errors = view.errors?.length
    ? html`<div class="message error" role="alert"><p>The search could not be run:</p><ul>${view.errors.map((e) => html`<li>${e.path}: ${e.message}</li>`)}</ul></div>`
    : '';
  const statuses = new Set(query.status ?? []);
  const form = html`<form method="post" action="${ctx.base}/activity" class="panel" aria-label="Search notices">
${csrfField(ctx)}<input type="hidden" name="tz" value="${query.tz === undefined ? '' : String(query.tz)}">
<div class="grid">
<div><label for="address">Patron's email address</label><input type="email" id="address" name="address" value="${query.address ?? ''}" autocomplete="off" spellcheck="false"></div>
<div><label for="externalId">ILS id (externalId)</label><input type="text" id="externalId" name="externalId" value="${query.externalId ?? ''}" spellcheck="false"></div>
<div><label for="type">Type</label><input type="text" id="type" name="type" value="${query.type ?? ''}" placeholder="overdue, hold-pickup…" spellcheck="false"></div>
<div><label for="status">Status</label><select id="status" name="status"><option value="">Any</option>${NOTICE_STATUSES.map(
    (status) => html`<option value="${status}"${attribute('selected', statuses.has(status))}>${statusLabel(status)}</option>`,
  )}</select></div>
<div><label for="from">Accepted from</label><input type="date" id="from" name="from" value="${query.from ?? ''}"></div>
<div><label for="to">Accepted until</label><input type="date" id="to" name="to" value="${query.to ?? ''}"></div>
</div>
<button type="submit">Search</button> <a class="button secondary" href="${ctx.base}/activity">Clear</a>
</form>`;
  const heading = view.searched ? 'Notices found' : 'Latest notices';
  const results = view.notices.length
    ? scrollingTable(heading, noticeRows(ctx, view.notices))
    : html`<p>${view.searched ? 'No notice matches this search.' : 'No notice has been accepted yet.'}</p>`;
  const next = view.cursor
    ? html`<form method="post" action="${ctx.base}/activity">${csrfField(ctx)}${carried(query)}<input type="hidden" name="cursor" value="${view.cursor}"><button type="submit" class="secondary">Older notices</button></form>`
    : '';
  return layout(ctx, 'Activity', html`${errors}${form}<h2>${heading}</h2>${results}${next}`);
};
