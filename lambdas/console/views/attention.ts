// Needs attention: what did not arrive, with its reason and "send again"; what still waits; the transport's
// state when it holds everything back.
import type { Attention } from '../../../shared/console/attention';
import { pauseReason, reasonFor } from '../../../shared/console/reasons';
import { resendRefusal } from '../../../shared/lifecycle/transitions';
import type { Notice } from '../../../shared/notice/model';
import { html, type SafeHtml } from './html';
import { noticeRows } from './activity';
import { csrfField, layout, type PageContext, scrollingTable, when } from './layout';

const reasonCell = (ctx: PageContext, notice: Notice): SafeHtml => {
  const reason = reasonFor(notice);
  const again = notice.resentAs
    ? html`<div class="small">Sent again: <a href="${ctx.base}/notices/${encodeURIComponent(notice.resentAs)}">the new copy</a></div>`
    : resendRefusal(notice)
      ? ''
      : html`<form method="post" action="${ctx.base}/notices/${encodeURIComponent(notice.id)}/send-again" data-confirm="Send this notice again to the same address?">${csrfField(ctx)}<input type="hidden" name="back" value="attention"><button type="submit" class="secondary">Send again</button></form>`;
  return html`${reason.summary}${reason.action ? html`<div class="small muted">${reason.action}</div>` : ''}${again}`;
};

const waitingCell = (notice: Notice): SafeHtml => {
  const reason = reasonFor(notice);
  return html`Next try: ${when(notice.nextAttemptAt)}<div class="small muted">${notice.attemptCount} ${notice.attemptCount === 1 ? 'try' : 'tries'} · ${reason.summary}</div>`;
};

export const attentionPage = (ctx: PageContext, view: Attention): string => {
  const t = view.transport;
  const why = t.paused ? pauseReason(t.paused.code, t.paused.server) : undefined;
  const paused =
    t.paused && why
      ? html`<div class="message error" role="alert" id="sending-paused"><strong>Sending is paused</strong> since ${when(t.paused.since)}. ${why.summary} ${why.action ?? ''} The next check of the mail server is at ${when(t.paused.nextProbeAt)}; the first that works resumes sending at once.<div class="small">The mail server's reply: <span class="mono">${t.paused.reply}</span></div></div>`
      : '';
  const stalled = t.stalledSince
    ? html`<div class="message error" role="alert"><strong>Notices have been waiting since ${when(t.stalledSince)}</strong> with none getting through. Tell the library's IT: see <a href="${ctx.base}/settings">Email settings</a>.</div>`
    : '';
  const auth = t.lastAuthFailure && !t.lastAuthFailure.recoveredAt
    ? html`<div class="message error" role="alert"><strong>The mail server refused Notice Relay's login</strong> (${t.lastAuthFailure.server}, ${when(t.lastAuthFailure.at)}). Notices wait until IT fixes it: see <a href="${ctx.base}/settings">Email settings</a>.</div>`
    : '';
  const problems = view.problems.notices.length
    ? scrollingTable('Notices that did not arrive', noticeRows(ctx, view.problems.notices, { header: 'Why, and what to do', cell: (notice) => reasonCell(ctx, notice) }))
    : html`<p>Nothing failed, bounced or was given up among the notices kept.</p>`;
  const more = view.problems.cursor ? html`<p><a href="${ctx.base}/attention?problems=${encodeURIComponent(view.problems.cursor)}">Older problems</a></p>` : '';
  const waiting = view.waiting.notices.length
    ? scrollingTable('Notices still waiting', noticeRows(ctx, view.waiting.notices, { header: 'Next try', cell: waitingCell }))
    : html`<p>No notice is waiting to be sent.</p>`;
  const moreWaiting = view.waiting.cursor ? html`<p><a href="${ctx.base}/attention?waiting=${encodeURIComponent(view.waiting.cursor)}">More waiting notices</a></p>` : '';
  return layout(
    ctx,
    'Needs attention',
    html`${paused}${stalled}${auth}
<h2>Did not arrive</h2>
<p>Failed, bounced, marked as spam, suppressed or given up, newest first. <a class="button secondary" href="${ctx.base}/attention.csv" download>Export as CSV</a></p>
${problems}${more}
<h2>Waiting or paused</h2>${waiting}${moreWaiting}`,
  );
};
