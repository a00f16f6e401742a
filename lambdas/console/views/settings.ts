// Email settings, as a library's staff know the page: how mail leaves, Server 1 and Server 2, limits, the
// transport's state, and the Test Server with Last Tested On and Last Test Results. Read-only: each
// setting says which configuration key or secret field changes it.
import { pauseReason } from '../../../shared/console/reasons';
import type { EmailSettings, Setting } from '../../../shared/console/settings';
import { html, type SafeHtml } from './html';
import { csrfField, layout, type PageContext, scrollingTable, when } from './layout';

const settingList = (settings: Setting[]): SafeHtml =>
  html`<dl class="settings">${settings.map((setting) => html`<dt>${setting.label}</dt><dd>${setting.value}<span class="key">Changed by: <code>${setting.changedBy}</code></span></dd>`)}</dl>`;

export const settingsPage = (ctx: PageContext, view: EmailSettings, typedTo?: string): string => {
  const status = view.status;
  const result = status.lastTestResult;
  const paused = status.paused;
  const why = paused ? pauseReason(paused.code, paused.server) : undefined;
  const sending = paused && why
    ? html`<dt>Sending</dt><dd id="sending-state"><strong>paused</strong> since ${when(paused.since)}: ${why.summary}<div class="small">${why.action ?? ''}</div></dd>
<dt>The mail server's reply</dt><dd><span class="mono">${paused.reply}</span> (${paused.server === 'ses' ? 'Amazon SES' : html`<span class="mono">${paused.server}</span>`}; code <code>${paused.code}</code>)</dd>
<dt>Next check</dt><dd>${when(paused.nextProbeAt)}: one notice is tried; the first that works resumes sending at once${paused.probes ? html` (${paused.probes} ${paused.probes === 1 ? 'check' : 'checks'} so far)` : ''}</dd>`
    : html`<dt>Sending</dt><dd id="sending-state">not paused</dd>`;
  const stalled = status.stalledSince ? html`<dt>Stalled</dt><dd><strong>notices waiting since ${when(status.stalledSince)}</strong>, none getting through</dd>` : '';
  const state = html`<dl class="settings">
${sending}${stalled}
<dt>Last refused login</dt><dd>${status.lastAuthFailure ? html`${when(status.lastAuthFailure.at)} by <span class="mono">${status.lastAuthFailure.server}</span> : ${pauseReason(status.lastAuthFailure.code, status.lastAuthFailure.server).summary} <span class="mono">${status.lastAuthFailure.message}</span>${status.lastAuthFailure.recoveredAt ? html` — sending worked again ${when(status.lastAuthFailure.recoveredAt)}` : html` — <strong>not recovered</strong>`}` : 'none'}</dd>
</dl>`;
  const servers = result?.servers.length
    ? scrollingTable(
        'Servers tried by the last test',
        html`<table><thead><tr><th scope="col">Server</th><th scope="col">Took the message</th><th scope="col">Reply</th></tr></thead><tbody>${result.servers.map(
          (tried) => html`<tr><td class="mono">${tried.server === 'ses' ? 'Amazon SES' : tried.server}</td><td>${tried.ok ? 'yes' : 'no'}</td><td class="mono">${tried.reply}</td></tr>`,
        )}</tbody></table>`,
      )
    : '';
  const test = html`<section class="panel" aria-labelledby="test-server">
<h2 id="test-server">Test Server</h2>
<p>Sends a test email now through ${view.servers.length > 1 ? 'each server in turn' : view.servers.length ? 'the server' : 'Amazon SES'}, to the address below (${view.testTo} unless you type another).</p>
<form method="post" action="${ctx.base}/settings/test" data-busy="Testing… (up to 30 seconds)">${csrfField(ctx)}
<label for="test-to">Send the test to</label><input type="email" id="test-to" name="to" value="${typedTo ?? ''}" placeholder="${view.testTo}" autocomplete="email" spellcheck="false">
<button type="submit">Test Server</button></form>
<dl class="settings">
<dt>Last Tested On</dt><dd id="last-tested-on">${status.lastTestedAt ? when(status.lastTestedAt) : 'never'}</dd>
<dt>Last Test Results</dt><dd id="last-test-results">${result ? html`<strong>${result.ok ? 'Successful' : 'Unsuccessful'}</strong>: ${result.ok ? 'taken by' : 'last tried'} <span class="mono">${result.server === 'ses' ? 'Amazon SES' : result.server}</span>, sent to <span class="mono">${result.to}</span>. Reply: <span class="mono">${result.reply}</span>${result.ok ? '' : html`<div class="small">Check the server's address and port, or try another port.</div>`}` : 'none yet'}</dd>
</dl>${servers}
</section>`;
  const serverSections = view.servers.map((server) => html`<section class="panel"><h2>${server.title}</h2>${settingList(server.settings)}</section>`);
  return layout(
    ctx,
    'Email settings',
    html`<section class="panel"><h2>How mail leaves: ${view.method.label}</h2><p>${view.method.description}</p><p class="small">Changed by: <code>${view.method.changedBy}</code></p>${settingList(view.general)}</section>
${serverSections}
${test}
<section class="panel"><h2>Sending limits</h2>${settingList(view.limits)}</section>
<section class="panel"><h2>State</h2>${state}</section>
<p class="small muted">These settings are read-only here. IT changes them in the configuration file (then restarts <code>npm start</code>, or runs <code>cdk deploy</code>), and passwords, tokens and keys in the institution's secret; none is ever shown.</p>`,
  );
};
