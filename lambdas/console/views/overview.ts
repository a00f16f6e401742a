// The Overview: a fortnight of outcomes per day as a stacked bar chart, the bounce and complaint rates
// against the levels at which Amazon SES reviews an account, and the same figures as a table (which is
// also what a screen reader reads). The charts are SVG drawn here: no script, no library, no request.
import { type DayCounts, type Overview, SES_REVIEW_RATES } from '../../../shared/console/overview';
import { html, type SafeHtml } from './html';
import { layout, type PageContext, scrollingTable } from './layout';

const SERIES: Array<[keyof Omit<DayCounts, 'day'>, string]> = [
  ['delivered', 'Delivered'],
  ['sent', 'Sent, no delivery report'],
  ['bounced', 'Bounced'],
  ['complained', 'Marked as spam'],
  ['failed', 'Failed or given up'],
  ['suppressed', 'Suppressed'],
];

const WIDTH = 720;
const HEIGHT = 240;
const LEFT = 44;
const BOTTOM = 28;
const TOP = 10;

/** The value of each stacked segment: "sent" counts every notice that left, so its own segment is what no report followed. */
const segments = (day: DayCounts): Record<string, number> => ({
  delivered: day.delivered,
  sent: Math.max(0, day.sent - day.delivered - day.bounced - day.complained),
  bounced: day.bounced,
  complained: day.complained,
  failed: day.failed,
  suppressed: day.suppressed,
});

/** Round numbers for an axis up to `max`. */
const ticks = (max: number, count = 4): number[] => {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1));
  const step = ([1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= raw) ?? raw) || 1;
  return Array.from({ length: Math.floor(max / step) + 1 }, (_, i) => i * step);
};

const px = (value: number) => value.toFixed(1);

const barChart = (overview: Overview): SafeHtml => {
  const totals = overview.days.map((day) => Object.values(segments(day)).reduce((a, b) => a + b, 0));
  const axisTicks = ticks(Math.max(4, ...totals));
  const max = axisTicks.at(-1) as number;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const slot = (WIDTH - LEFT) / overview.days.length;
  const y = (value: number) => TOP + plotHeight - (value / max) * plotHeight;
  const bars = overview.days.map((day, index) => {
    let stacked = 0;
    const x = LEFT + index * slot + slot * 0.15;
    const rects = SERIES.map(([series]) => {
      const value = segments(day)[series] as number;
      if (value === 0) return '';
      const rect = html`<rect class="${series}" x="${px(x)}" y="${px(y(stacked + value))}" width="${px(slot * 0.7)}" height="${px((value / max) * plotHeight)}"></rect>`;
      stacked += value;
      return rect;
    });
    return html`${rects}<text x="${px(x + slot * 0.35)}" y="${HEIGHT - 10}" text-anchor="middle">${day.day.slice(8)}</text>`;
  });
  return html`<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="outcomes-title"><title id="outcomes-title">Notices per day by outcome, ${overview.days[0]?.day ?? ''} to ${overview.days.at(-1)?.day ?? ''} (UTC); the table below has the figures</title>
${axisTicks.map((tick) => html`<line class="grid" x1="${LEFT}" x2="${WIDTH}" y1="${px(y(tick))}" y2="${px(y(tick))}"></line><text x="${LEFT - 6}" y="${px(y(tick) + 4)}" text-anchor="end">${tick}</text>`)}
${bars}<line class="axis" x1="${LEFT}" x2="${WIDTH}" y1="${px(y(0))}" y2="${px(y(0))}"></line></svg>`;
};

const percent = (value: number | null, digits = 2): string => (value === null ? '—' : `${(value * 100).toFixed(digits)} %`);

/** A line of the daily rate, with the SES review level as a dashed line. */
const rateChart = (overview: Overview, pick: (day: DayCounts) => number, threshold: number, label: string, id: string): SafeHtml => {
  const rates = overview.days.map((day) => (day.sent ? pick(day) / day.sent : null));
  const max = Math.max(threshold * 2, ...rates.map((rate) => rate ?? 0));
  const height = 140;
  const plotHeight = height - TOP - BOTTOM;
  const slot = (WIDTH - LEFT) / overview.days.length;
  const x = (index: number) => LEFT + index * slot + slot / 2;
  const y = (value: number) => TOP + plotHeight - (value / max) * plotHeight;
  const points = rates.flatMap((rate, index) => (rate === null ? [] : [`${px(x(index))},${px(y(rate))}`]));
  return html`<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="${id}"><title id="${id}">${label} per day against the SES review level of ${percent(threshold, 1)}</title>
<line class="threshold" x1="${LEFT}" x2="${WIDTH}" y1="${px(y(threshold))}" y2="${px(y(threshold))}"></line><text x="${LEFT - 6}" y="${px(y(threshold) + 4)}" text-anchor="end">${percent(threshold, 1)}</text>
<text x="${LEFT - 6}" y="${px(y(0) + 4)}" text-anchor="end">0</text><line class="axis" x1="${LEFT}" x2="${WIDTH}" y1="${px(y(0))}" y2="${px(y(0))}"></line>
${points.length > 1 ? html`<polyline class="rate" points="${points.join(' ')}"></polyline>` : ''}${rates.map((rate, index) => (rate === null ? '' : html`<circle class="rate" cx="${px(x(index))}" cy="${px(y(rate))}" r="3"></circle>`))}
${overview.days.map((day, index) => html`<text x="${px(x(index))}" y="${height - 10}" text-anchor="middle">${day.day.slice(8)}</text>`)}</svg>`;
};

const verdict = (rate: number | null, threshold: number, what: string): SafeHtml =>
  rate === null
    ? html`<p>No notice was sent in this period, so there is no ${what} rate.</p>`
    : rate >= threshold
      ? html`<p class="message error" role="alert">The ${what} rate, ${percent(rate)}, is at or above ${percent(threshold, 1)}, where Amazon SES reviews an account (and may pause its sending).</p>`
      : html`<p>The ${what} rate, ${percent(rate)}, is below ${percent(threshold, 1)}, where Amazon SES reviews an account.</p>`;

export const overviewPage = (ctx: PageContext, overview: Overview): string => {
  const table = html`<table><caption>Notices per day, by the day they were accepted (UTC)</caption><thead><tr><th scope="col">Day</th>${[
    'Sent',
    'Delivered',
    'Bounced',
    'Marked as spam',
    'Failed or given up',
    'Suppressed',
    'Bounce rate',
    'Complaint rate',
  ].map((label) => html`<th scope="col" class="num">${label}</th>`)}</tr></thead><tbody>${[...overview.days].reverse().map(
    (day) => html`<tr><th scope="row">${day.day}</th>${[day.sent, day.delivered, day.bounced, day.complained, day.failed, day.suppressed].map((n) => html`<td class="num">${n}</td>`)}<td class="num">${percent(day.sent ? day.bounced / day.sent : null)}</td><td class="num">${percent(day.sent ? day.complained / day.sent : null)}</td></tr>`,
  )}</tbody><tfoot><tr><th scope="row">All ${overview.days.length} days</th>${[overview.totals.sent, overview.totals.delivered, overview.totals.bounced, overview.totals.complained, overview.totals.failed, overview.totals.suppressed].map((n) => html`<td class="num">${n}</td>`)}<td class="num">${percent(overview.bounceRate)}</td><td class="num">${percent(overview.complaintRate)}</td></tr></tfoot></table>`;
  return layout(
    ctx,
    'Overview',
    html`${overview.complete ? '' : html`<p class="message">More notices were accepted in these days than one view counts; the oldest days are partial.</p>`}
<p id="how-counted">How these figures are counted: each notice once, on the day it was accepted (UTC), by what has become of it so far. A notice accepted on Monday that bounced on Tuesday counts as bounced on Monday, and a day's figures still change while its notices are tried again.</p>
<h2>Outcomes per day</h2>
<ul class="legend">${SERIES.map(([series, label]) => html`<li><span class="${series}"></span>${label}</li>`)}</ul>
${barChart(overview)}
<p class="small muted">Delivery reports come from Amazon SES; mail through the library's own servers ends at "sent".</p>
<h2>Bounce rate</h2>
<p id="whose-rates">These rates are this library's notices alone. Amazon SES reviews the whole AWS account, every library and anything else that sends from it, so the rates it acts on (its reputation metrics, in the SES console) can be higher or lower than these.</p>
${verdict(overview.bounceRate, SES_REVIEW_RATES.bounce, 'bounce')}${rateChart(overview, (day) => day.bounced, SES_REVIEW_RATES.bounce, 'Bounce rate', 'bounce-title')}
<h2>Complaint rate</h2>${verdict(overview.complaintRate, SES_REVIEW_RATES.complaint, 'complaint')}${rateChart(overview, (day) => day.complained, SES_REVIEW_RATES.complaint, 'Complaint rate', 'complaint-title')}
<h2>Figures</h2>${scrollingTable('Figures per day', table)}
<p class="small muted">Counted at ${overview.computedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} from each notice's status now; reloading within a minute shows the same count.</p>`,
  );
};
