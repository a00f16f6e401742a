// The frame of every console page: a skip link, the institution's name, the navigation, sign-out, and the
// page's own content in <main>. Only the console's own style sheet and script are loaded.
import type { InstitutionConfig } from '../../../shared/config/schema';
import { statusLabel } from '../../../shared/console/reasons';
import { ICON_ASSET, SCRIPT, STYLESHEET } from '../assets';
import { attribute, html, type SafeHtml } from './html';

export type Section = 'activity' | 'attention' | 'overview' | 'settings' | 'dns';

export interface PageContext {
  /** The console's path as the browser sees it (`/console`, `/prod/console` on AWS). */
  base: string;
  institution?: InstitutionConfig;
  csrfToken?: string;
  current?: Section;
  message?: { kind: 'ok' | 'error' | 'info'; text: string };
}

const SECTIONS: Array<[Section, string, string]> = [
  ['activity', 'Activity', 'activity'],
  ['attention', 'Needs attention', 'attention'],
  ['overview', 'Overview', 'overview'],
  ['settings', 'Email settings', 'settings'],
  ['dns', 'DNS', 'dns'],
];

/** The hidden field every form that changes something carries. */
export const csrfField = (ctx: PageContext): SafeHtml => html`<input type="hidden" name="csrf" value="${ctx.csrfToken ?? ''}">`;

/** An instant, in UTC on the page; the script shows it in the reader's time zone. */
export const when = (iso: string | null | undefined): SafeHtml => (iso ? html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC')}</time>` : html`<span class="muted">—</span>`);

const STATUS_TONE: Record<string, string> = {
  delivered: 'good',
  sent: 'good',
  queued: 'wait',
  retrying: 'wait',
  sending: 'wait',
  bounced: 'bad',
  complained: 'bad',
  failed: 'bad',
  discarded: 'bad',
  suppressed: 'bad',
  cancelled: 'plain',
};

/** A status as a labelled badge (its words, never its colour alone, say what it is). */
export const statusBadge = (status: string): SafeHtml => html`<span class="status ${STATUS_TONE[status] ?? 'plain'}">${statusLabel(status)}</span>`;

/** A link to a notice's page. */
export const noticeLink = (ctx: PageContext, id: string, label: string | SafeHtml = id): SafeHtml => html`<a href="${ctx.base}/notices/${encodeURIComponent(id)}">${label}</a>`;

/** A table that scrolls sideways on a phone, reachable by keyboard. */
export const scrollingTable = (label: string, table: SafeHtml): SafeHtml => html`<div class="table-wrap" role="region" aria-label="${label}" tabindex="0">${table}</div>`;

/**
 * A whole page.
 * @example
 * layout(ctx, 'Activity', html`<p>…</p>`)
 */
export const layout = (ctx: PageContext, title: string, content: SafeHtml): string => {
  const institution = ctx.institution;
  const top = institution
    ? html`<header class="top">
  <span class="who">${institution.name ?? institution.id} <span class="small">· Notice Relay</span></span>
  <nav aria-label="Console"><ul>${SECTIONS.map(
    ([section, label, path]) => html`<li><a href="${ctx.base}/${path}"${attribute('aria-current="page"', ctx.current === section)}>${label}</a></li>`,
  )}</ul></nav>
  <form class="inline" method="post" action="${ctx.base}/sign-out">${csrfField(ctx)}<button type="submit" class="secondary">Sign out</button></form>
</header>`
    : html`<header class="top"><span class="who">Notice Relay</span></header>`;
  const message = ctx.message ? html`<div class="message ${ctx.message.kind}" role="${ctx.message.kind === 'error' ? 'alert' : 'status'}">${ctx.message.text}</div>` : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · Notice Relay${institution ? ` · ${institution.name ?? institution.id}` : ''}</title>
<link rel="icon" href="${ctx.base}/assets/${ICON_ASSET.name}" type="image/svg+xml">
<link rel="stylesheet" href="${ctx.base}/assets/${STYLESHEET.name}">
<script src="${ctx.base}/assets/${SCRIPT.name}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to the content</a>
${top}
<main id="main" tabindex="-1">
<h1>${title}</h1>
${message}
${content}
</main>
</body>
</html>
`.text;
};
