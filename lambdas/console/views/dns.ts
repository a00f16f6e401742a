// DNS: the records IT publishes for the sending domain, each checked live (as `notice-relay dns-check`
// checks it), and all of them as zone lines to copy.
import type { DnsPage } from '../../../shared/console/dns';
import type { DnsCheckStatus } from '../../../shared/dns/check';
import { html } from './html';
import { layout, type PageContext, scrollingTable } from './layout';

const STATUS_WORDS: Record<DnsCheckStatus, [string, string]> = {
  ok: ['✔ right', 'good'],
  missing: ['✘ missing', 'bad'],
  wrong: ['✘ wrong', 'bad'],
  error: ['? lookup failed', 'wait'],
  unchecked: ['? not checked', 'wait'],
  info: ['ℹ for information', 'plain'],
};

export const dnsPageView = (ctx: PageContext, view: DnsPage, domain: string): string => {
  const rows = view.results.map((result) => {
    const [label, tone] = STATUS_WORDS[result.status];
    return html`<tr><td><span class="status ${tone}">${label}</span></td><td class="mono">${result.record.name}</td><td>${result.record.type}</td><td class="mono">${result.record.value}</td><td>${result.found.length ? html`<span class="mono">${result.found.join(', ')}</span>` : html`<span class="muted">nothing</span>`}${result.detail ? html`<div class="small">${result.detail}</div>` : ''}<div class="small muted">${result.record.description}</div></td></tr>`;
  });
  return layout(
    ctx,
    `DNS for ${domain}`,
    html`<p>${view.allRight ? 'Every record is published as it should be.' : 'Some records need publishing or fixing: IT adds the lines below to the domain\'s zone.'} Checked just now from this server.</p>
${scrollingTable('DNS records', html`<table><thead><tr><th scope="col">Check</th><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Value to publish</th><th scope="col">Found</th></tr></thead><tbody>${rows}</tbody></table>`)}
<h2>Zone lines</h2>
<p>Every record above as a DNS administrator pastes it into a zone file.</p>
<label for="zone-lines">Zone lines for ${domain}</label>
<textarea id="zone-lines" class="zone" readonly rows="${String(Math.max(4, view.zoneLines.length + 1))}">${view.zoneLines.join('\n')}</textarea>
<button type="button" class="secondary" data-copy="zone-lines" hidden>Copy the zone lines</button> <span id="zone-lines-status" role="status"></span>`,
  );
};
