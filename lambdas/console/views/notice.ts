// A notice's page: what it is, why it is where it is, what staff can do, and its timeline.
import type { NoticePage } from '../../../shared/console/activity';
import type { TimelineEntry } from '../../../shared/console/timeline';
import { html, type SafeHtml } from './html';
import { csrfField, layout, noticeLink, type PageContext, statusBadge, when } from './layout';

const timelineItem = (ctx: PageContext, entry: TimelineEntry): SafeHtml =>
  html`<li class="${entry.problem ? 'problem' : ''}"><strong>${entry.title}</strong> · ${when(entry.at)}
${entry.detail ? html`<div>${entry.detail}</div>` : ''}
${entry.server ? html`<div class="small">Server: <span class="mono">${entry.server === 'ses' ? 'Amazon SES' : entry.server}</span></div>` : ''}
${entry.reply ? html`<div class="small">Reply: <span class="reply mono">${entry.reply}</span></div>` : ''}
${entry.link ? html`<div class="small">See ${noticeLink(ctx, entry.link.noticeId, entry.link.label)}.</div>` : ''}</li>`;

export const noticePageView = (ctx: PageContext, page: NoticePage): string => {
  const { notice, reason } = page;
  const facts = html`<dl class="settings">
<dt>Status</dt><dd>${statusBadge(notice.status)}</dd>
<dt>To</dt><dd class="mono">${notice.to}</dd>
<dt>Subject</dt><dd>${notice.subject}</dd>
<dt>Type</dt><dd>${notice.type ?? '—'}</dd>
<dt>ILS id (externalId)</dt><dd class="mono">${notice.externalId ?? '—'}</dd>
<dt>Notice id</dt><dd class="mono">${notice.id}</dd>
<dt>Accepted</dt><dd>${when(notice.createdAt)}</dd>
${notice.nextAttemptAt ? html`<dt>Next try</dt><dd>${when(notice.nextAttemptAt)}</dd>` : ''}
${page.cancellable ? html`<dt>Given up at</dt><dd>${when(notice.giveUpAt)}</dd>` : ''}
${notice.sentAt ? html`<dt>Sent</dt><dd>${when(notice.sentAt)}</dd>` : ''}
<dt>Tries</dt><dd>${notice.attemptCount}</dd>
${notice.resentFrom ? html`<dt>Sent again from</dt><dd>${noticeLink(ctx, notice.resentFrom)}</dd>` : ''}
${notice.resentAs ? html`<dt>Sent again as</dt><dd>${noticeLink(ctx, notice.resentAs)}</dd>` : ''}
</dl>`;
  const why = html`<div class="panel"><h2>What happened</h2><p>${reason.summary}</p>${reason.action ? html`<p><strong>What to do:</strong> ${reason.action}</p>` : ''}</div>`;
  const cancel = page.cancellable
    ? html`<form method="post" action="${ctx.base}/notices/${encodeURIComponent(notice.id)}/cancel" data-confirm="Cancel this notice? It will not be sent.">${csrfField(ctx)}<button type="submit" class="danger">Cancel this notice</button></form>`
    : '';
  const again = page.resendRefusal
    ? html`<p class="muted">Send again: ${page.resendRefusal}</p>`
    : html`<form method="post" action="${ctx.base}/notices/${encodeURIComponent(notice.id)}/send-again" data-confirm="Send this notice again as a new notice?">${csrfField(ctx)}
<label for="to">Send to</label><input type="email" id="to" name="to" value="${notice.to}" required autocomplete="off" spellcheck="false">
<p class="small muted">Correct the address here if the patron's was wrong (and in the ILS too).</p>
<button type="submit">Send again</button></form>`;
  const actions = html`<div class="panel"><h2>Actions</h2>${cancel}${again}</div>`;
  const timeline = html`<h2>Timeline</h2><ol class="timeline">${page.timeline.map((entry) => timelineItem(ctx, entry))}</ol>`;
  return layout(ctx, `Notice: ${notice.subject}`, html`${facts}${why}${actions}${timeline}`);
};
