// The console's only style sheet and script, served by the function itself (no CDN: the console works
// offline and behind a firewall). Their names carry a digest of their content, so browsers may keep them
// for a year and still fetch a new version the moment it changes. The script only adds comfort: every
// page and form works without it.
import { createHash } from 'node:crypto';

const CSS = `
:root{--ink:#1b1f23;--muted:#4a5560;--line:#c9d1d9;--bg:#fff;--panel:#f4f6f8;--brand:#0b4f8a;--brand-ink:#fff;--ok:#17603a;--warn:#7a4b00;--bad:#a31515;--focus:#ffbf47;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;line-height:1.45;color:var(--ink);background:var(--bg)}
*{box-sizing:border-box}body{margin:0}
a{color:var(--brand)}a:hover{text-decoration-thickness:2px}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px;box-shadow:0 0 0 5px var(--ink)}
.skip{position:absolute;left:-999px;top:0;background:var(--focus);color:var(--ink);padding:.5rem 1rem;z-index:2}.skip:focus{left:0}
header.top{background:var(--brand);color:var(--brand-ink);padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center}
header.top a{color:var(--brand-ink)}header.top .who{font-weight:600;margin-right:auto}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0 1rem}h2{font-size:1.25rem;margin:1.5rem 0 .5rem}h3{font-size:1.05rem;margin:1rem 0 .25rem}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:1rem;margin:0 0 1rem}.panel>h2:first-child{margin-top:0}
form.inline{display:inline}
label{display:block;font-weight:600;margin:.5rem 0 .2rem}
input,select,textarea{font:inherit;padding:.45rem .5rem;border:2px solid var(--muted);border-radius:4px;max-width:100%;background:#fff;color:var(--ink)}
input[type=text],input[type=email],input[type=password],input[type=date]{width:100%}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:0 1rem}
button,.button{font:inherit;font-weight:600;padding:.5rem 1rem;border-radius:4px;border:2px solid var(--brand);background:var(--brand);color:var(--brand-ink);cursor:pointer;text-decoration:none;display:inline-block;margin:.5rem .5rem 0 0}
button.secondary,.button.secondary{background:#fff;color:var(--brand)}button.danger{background:var(--bad);border-color:var(--bad)}
button[disabled]{opacity:.6;cursor:progress}
.table-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:6px;margin:0 0 1rem}
table{border-collapse:collapse;width:100%;font-size:.95rem}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--panel)}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:.5rem .6rem}
.status{display:inline-block;padding:.05rem .45rem;border-radius:999px;border:1px solid currentColor;font-size:.85rem;font-weight:600;white-space:nowrap}
.status.good{color:var(--ok)}.status.bad{color:var(--bad)}.status.wait{color:var(--warn)}.status.plain{color:var(--muted)}
.message{border-left:6px solid var(--brand);background:var(--panel);padding:.6rem 1rem;margin:0 0 1rem}
.message.error{border-color:var(--bad)}.message.ok{border-color:var(--ok)}
.muted{color:var(--muted)}.small{font-size:.875rem}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere}
dl.settings{display:grid;grid-template-columns:minmax(10rem,16rem) 1fr;gap:.35rem 1rem;margin:0 0 1rem}dl.settings dt{font-weight:600}dl.settings dd{margin:0}
dl.settings .key{display:block;color:var(--muted);font-size:.85rem}
ol.timeline{list-style:none;padding:0;margin:0;border-left:3px solid var(--line)}ol.timeline li{margin:0 0 .9rem;padding-left:1rem;position:relative}
ol.timeline li::before{content:"";position:absolute;left:-.5rem;top:.4rem;width:.75rem;height:.75rem;border-radius:50%;background:var(--brand)}ol.timeline li.problem::before{background:var(--bad)}
.reply{display:block;white-space:pre-wrap;background:#fff;border:1px solid var(--line);padding:.25rem .5rem;margin-top:.25rem}
textarea.zone{width:100%;min-height:8rem;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
.chart{width:100%;height:auto;max-width:48rem}.chart text{font-size:11px;fill:var(--ink)}.chart .axis{stroke:var(--muted)}.chart .grid{stroke:var(--line)}
.chart .delivered{fill:#17603a}.chart .sent{fill:#5b8db8}.chart .bounced{fill:#a31515}.chart .complained{fill:#6f2da8}.chart .failed{fill:#7a4b00}.chart .suppressed{fill:#4a5560}
.chart .rate{fill:none;stroke:var(--brand);stroke-width:2}.chart .threshold{stroke:var(--bad);stroke-dasharray:6 4;stroke-width:2}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}.legend span{display:inline-block;width:.9rem;height:.9rem;margin-right:.3rem;vertical-align:-2px;border:1px solid var(--ink)}
.legend .delivered{background:#17603a}.legend .sent{background:#5b8db8}.legend .bounced{background:#a31515}.legend .complained{background:#6f2da8}.legend .failed{background:#7a4b00}.legend .suppressed{background:#4a5560}
.sign-in{max-width:26rem;margin:3rem auto}
@media (max-width:40rem){dl.settings{grid-template-columns:1fr}dl.settings dd{margin-bottom:.5rem}main{padding:.75rem}h1{font-size:1.35rem}
table.cards thead{position:absolute;left:-9999px}table.cards tr{display:block;border-bottom:2px solid var(--line);padding:.4rem 0}
table.cards td{display:block;border:0;padding:.2rem .6rem}table.cards td::before{content:attr(data-label);display:inline-block;min-width:6.5rem;font-weight:600;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:.95rem}}
@media (prefers-reduced-motion:reduce){*{transition:none!important}}
`;

const JS = `
(function () {
  'use strict';
  // Times are rendered in UTC; show them in the reader's own time zone.
  var format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  document.querySelectorAll('time[datetime]').forEach(function (node) {
    var date = new Date(node.getAttribute('datetime'));
    if (!isNaN(date.getTime()) && node.dataset.keep === undefined) { node.title = node.textContent; node.textContent = format.format(date); }
  });
  // Date searches mean the reader's days, not UTC's.
  document.querySelectorAll('input[name=tz]').forEach(function (input) { input.value = String(-new Date().getTimezoneOffset()); });
  // Forms that ask first (cancel, send again) and buttons that take a while (the Test Server).
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) { if (!window.confirm(form.dataset.confirm)) event.preventDefault(); });
  });
  document.querySelectorAll('form[data-busy]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (event.defaultPrevented) return;
      var button = form.querySelector('button[type=submit]');
      if (button) { button.disabled = true; button.textContent = form.dataset.busy; }
    });
  });
  // Copy buttons: the text of the element they name.
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    button.hidden = false;
    button.addEventListener('click', function () {
      var source = document.getElementById(button.dataset.copy);
      if (!source || !navigator.clipboard) return;
      navigator.clipboard.writeText(source.value || source.textContent).then(function () {
        var status = document.getElementById(button.dataset.copy + '-status');
        if (status) status.textContent = 'Copied.';
      });
    });
  });
})();
`;

/** A mark for the browser's tab, so that it does not ask for /favicon.ico, which the API does not serve. */
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b4f8a"/><path d="M6 10h20v13H6z" fill="#fff"/><path d="M6 10l10 8 10-8" fill="none" stroke="#0b4f8a" stroke-width="2"/></svg>`;

const fingerprint = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

export interface Asset {
  name: string;
  contentType: string;
  body: string;
}

export const STYLESHEET: Asset = { name: `console.${fingerprint(CSS)}.css`, contentType: 'text/css; charset=utf-8', body: CSS.trim() };
export const SCRIPT: Asset = { name: `console.${fingerprint(JS)}.js`, contentType: 'text/javascript; charset=utf-8', body: JS.trim() };

export const ICON_ASSET: Asset = { name: `icon.${fingerprint(ICON)}.svg`, contentType: 'image/svg+xml', body: ICON };

/** The assets by name, as the console serves them under /console/assets/. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([STYLESHEET, SCRIPT, ICON_ASSET].map((asset) => [asset.name, asset]));
