// The staff console in a real browser (Debian's Chromium, headless): sign in and out, a wrong key
// refused, a search by address and a notice's timeline, the Test Server, a failed notice sent again
// from Needs attention through the real pipeline to the relay, a paused sending in words, and a form
// without its CSRF token refused. Each page's screenshot is written under test-output/console for review.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page, Response } from 'playwright-core';
import { SCRIPT, STYLESHEET } from '../../lambdas/console/assets';
import { aNoticeInput } from '../support/factories';
import { launchBrowser, TEST_OUTPUT } from '../support/browser';
import { type ConsoleHarness, STAFF_KEY, startConsole, UNKNOWN_PATRON } from '../support/console';
import { receivedFor } from '../support/smtp-relay';

jest.setTimeout(90_000);

const PAGE_BUDGET_BYTES = 100 * 1024;

let harness: ConsoleHarness;
let browser: { context: BrowserContext; close(): Promise<void> };
let page: Page;
/** Problems the browser reported: a script error, a resource refused by the Content-Security-Policy. */
const browserErrors: string[] = [];
/** Bytes of each page as loaded: the document and everything it fetched. */
const weights: Record<string, number> = {};

const shoot = async (name: string) => {
  await page.screenshot({ path: join(TEST_OUTPUT, `${name}.png`), fullPage: true });
};

/**
 * Loads a page with the cache off, so its weight counts the style sheet and the script too: the bytes of
 * every response from the console (a redirect has none), each body awaited before the sum is taken.
 */
const visit = async (name: string, path: string) => {
  const bodies: Array<Promise<number>> = [];
  const count = (response: Response) => {
    if (response.request().url().startsWith(harness.url) && !(response.status() >= 300 && response.status() < 400)) bodies.push(response.body().then((body) => body.length));
  };
  page.on('response', count);
  await page.goto(`${harness.url}${path}`, { waitUntil: 'load' });
  await page.waitForLoadState('networkidle');
  page.off('response', count);
  weights[name] = (await Promise.all(bodies)).reduce((sum, bytes) => sum + bytes, 0);
};

beforeAll(async () => {
  mkdirSync(TEST_OUTPUT, { recursive: true });
  harness = await startConsole();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  // The console must work with its cache off (weights), and asks before cancelling or sending again.
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  page.on('dialog', (dialog) => void dialog.accept());
  page.on('console', (message) => {
    // The refusals the tests ask for (a wrong key: 401; a form without its token: 403) are pages, not errors.
    if (message.type() === 'error' && !/status of 40[13] /.test(message.text())) browserErrors.push(message.text());
  });
  page.on('pageerror', (error) => browserErrors.push(error.message));
});

afterAll(async () => {
  writeFileSync(join(TEST_OUTPUT, 'page-weights.json'), `${JSON.stringify(weights, null, 2)}\n`);
  await browser?.close();
  await harness?.stop();
});

describe('Console in a browser', () => {
  it('refuses a wrong staff key and signs in with the right one', async () => {
    // Act: a wrong key first
    await visit('sign-in', '/console/sign-in?institution=demo');
    await shoot('sign-in');
    await page.getByLabel('Staff key').fill('not-the-right-key-000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refusal = await page.getByRole('alert').textContent();
    await shoot('sign-in-refused');
    // Act: the right key
    await page.getByLabel('Staff key').fill(STAFF_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/console\/activity$/);
    // Assess
    expect(refusal).toContain('That library ID and staff key do not match.');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Activity');
    expect(await page.getByRole('navigation', { name: 'Console' }).isVisible()).toBe(true);
  });

  it('finds a notice by the patron\'s address and shows its timeline', async () => {
    // Prepare
    const id = await harness.submit(aNoticeInput({ to: 'ada.reader@example.org', subject: 'Overdue: Middlemarch', externalId: 'loan-4242' }));
    await harness.pipeline.waitForStatus(id, ['sent']);
    // Act
    await visit('activity', '/console/activity');
    await page.getByLabel("Patron's email address").fill('ada.reader@example.org');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Notices found' }).waitFor();
    await shoot('activity-search');
    const searchUrl = page.url();
    await page.getByRole('link', { name: 'Overdue: Middlemarch' }).click();
    await page.waitForURL(new RegExp(`/console/notices/${id}$`));
    await visit('notice', `/console/notices/${id}`);
    await shoot('notice');
    const timeline = await page.locator('ol.timeline').textContent();
    // Assess
    expect(searchUrl).not.toContain('ada.reader');
    expect(timeline).toContain('Accepted from the ILS');
    expect(timeline).toContain('Try 1: sent');
    expect(timeline).toContain(`127.0.0.1:${harness.relay.port}`);
  });

  it('runs the Test Server and shows Last Tested On and Last Test Results, kept by the store', async () => {
    // Prepare
    await visit('settings', '/console/settings');
    const before = await page.locator('#last-tested-on').textContent();
    // Act
    await page.getByLabel('Send the test to').fill('it-desk@library.example.org');
    await page.getByRole('button', { name: 'Test Server' }).click();
    await page.waitForURL(/done=tested/);
    await shoot('settings-tested');
    // Assess
    expect(before).toBe('never');
    expect(await page.locator('#last-tested-on time').count()).toBe(1);
    expect(await page.locator('#last-test-results').textContent()).toMatch(/Successful: taken by 127\.0\.0\.1:\d+, sent to it-desk@library\.example\.org/);
    expect(receivedFor(harness.relay, 'it-desk@library.example.org')).toHaveLength(1);
    expect((await harness.consoleDeps.desk.status(harness.pipeline.deps.config.institutions[0]!)).lastTestResult).toMatchObject({ ok: true });
  });

  it('lists a failed notice under Needs attention with its reason, and sends it again through the pipeline', async () => {
    // Prepare: the relay refuses this patron's address for good
    const id = await harness.submit(aNoticeInput({ to: UNKNOWN_PATRON, subject: 'Hold ready: Beloved', externalId: 'hold-9' }));
    await harness.pipeline.waitForStatus(id, ['failed']);
    // Act
    await visit('attention', '/console/attention');
    await shoot('attention');
    const row = page.locator('tr', { hasText: 'Hold ready: Beloved' }).first();
    const reason = await row.textContent();
    await page.goto(`${harness.url}/console/notices/${id}`);
    await page.getByLabel('Send to').fill('beloved.reader@example.org');
    await page.getByRole('button', { name: 'Send again' }).click();
    await page.waitForURL(/done=resent$/);
    const newId = /\/console\/notices\/([0-9A-Z]{26})\?/.exec(page.url())?.[1] as string;
    await harness.pipeline.waitForStatus(newId, ['sent']);
    await page.reload();
    await shoot('notice-sent-again');
    // Assess
    expect(reason).toContain("The patron's email address does not exist.");
    expect(reason).toContain('Failed');
    expect(receivedFor(harness.relay, 'beloved.reader@example.org')).toHaveLength(1);
    expect(await page.locator('ol.timeline').textContent()).toContain('Created from the console');
    expect(await harness.pipeline.notice(id)).toMatchObject({ resentAs: newId });
  });

  it('refuses a form whose CSRF token was taken out, and changes nothing', async () => {
    // Prepare: a notice still waiting, whose page has a Cancel form
    const id = await harness.submit(aNoticeInput({ to: 'later@example.org', sendAt: new Date(Date.now() + 86_400_000).toISOString() }));
    await page.goto(`${harness.url}/console/notices/${id}`);
    // Act
    await page.locator('form[action$="/cancel"] input[name=csrf]').evaluate((input) => input.remove());
    await page.getByRole('button', { name: 'Cancel this notice' }).click();
    await page.getByRole('heading', { name: 'Refused' }).waitFor();
    await shoot('csrf-refused');
    // Assess
    expect(await page.textContent('main')).toContain('This form did not come from this console');
    expect((await harness.pipeline.notice(id)).status).toBe('queued');
  });

  it("shows a paused sending in a clerk's words on Needs attention and Email settings, with no script or policy error", async () => {
    // Prepare: the demo library's relay refused the login, so its sending is paused (as the sender records it)
    const states = harness.pipeline.functions.deps.sender.transportStates;
    const since = new Date().toISOString();
    const nextProbeAt = new Date(Date.now() + 600_000).toISOString();
    const pause = { since, code: 'EAUTH', reply: '535 5.7.8 Authentication credentials invalid', server: `127.0.0.1:${harness.relay.port}`, nextProbeAt, backoffSeconds: 600, probes: 1 };
    const change = async (set: boolean) => {
      for (let written = false; !written; ) {
        const seen = await states.read('demo');
        written = await states.write('demo', seen.version, set ? { set: { pause } } : { remove: ['pause'] });
      }
    };
    await change(true);
    try {
      // Act
      await page.goto(`${harness.url}/console/attention`, { waitUntil: 'load' });
      await shoot('attention-paused');
      const banner = await page.locator('#sending-paused').textContent();
      const probeAt = await page.locator('#sending-paused time').last().getAttribute('datetime');
      await page.goto(`${harness.url}/console/settings`, { waitUntil: 'load' });
      await shoot('settings-paused');
      const state = await page.locator('#sending-state').textContent();
      // Assess: the catalogue's words, the reply and the next check; no code a clerk must look up
      expect(banner).toContain("The mail server refused Notice Relay's login.");
      expect(banner).toContain("the mail server's password or account needs checking");
      expect(banner).toContain('535 5.7.8 Authentication credentials invalid');
      expect(probeAt).toBe(nextProbeAt);
      expect(state).toContain("paused since");
      expect(state).toContain("The mail server refused Notice Relay's login.");
      expect(browserErrors).toEqual([]);
    } finally {
      await change(false);
    }
  });

  it('shows the overview chart and the DNS records with a copy button, with no script or policy error', async () => {
    // Act
    await visit('overview', '/console/overview');
    await shoot('overview');
    const chart = await page.locator('svg.chart').first().getAttribute('role');
    await visit('dns', '/console/dns');
    await shoot('dns');
    const copy = page.getByRole('button', { name: 'Copy the zone lines' });
    // Assess
    expect(chart).toBe('img');
    expect(await copy.isVisible()).toBe(true);
    expect(await page.getByLabel(/^Zone lines for /).inputValue()).toContain('_dmarc.library.example.org. 3600 IN TXT');
    expect(browserErrors).toEqual([]);
  });

  it('is usable by keyboard, labels every field, and reads on a phone', async () => {
    // Act
    await page.setViewportSize({ width: 390, height: 844 });
    await visit('activity-phone', '/console/activity');
    await page.keyboard.press('Tab');
    // Run in the page (as text: this project's TypeScript knows Node, not the DOM).
    const focused = await page.evaluate('({ text: document.activeElement.textContent, outline: getComputedStyle(document.activeElement).outlineStyle })');
    const unlabelled = await page.evaluate("[...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter((field) => field.labels.length === 0).map((field) => field.outerHTML)");
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    await shoot('activity-phone');
    await page.setViewportSize({ width: 1200, height: 900 });
    // Assess
    expect(focused).toEqual({ text: 'Skip to the content', outline: 'solid' });
    expect(unlabelled).toEqual([]);
    expect(overflow).toBeLessThanOrEqual(0);
  });

  it('keeps every page under 100 KB with its style sheet and script, which each weight counts', () => {
    // The page itself comes on top of the two files every page loads: a weight no larger than they would miss something.
    const assets = Buffer.byteLength(STYLESHEET.body) + Buffer.byteLength(SCRIPT.body);
    expect(Object.keys(weights).sort()).toEqual(['activity', 'activity-phone', 'attention', 'dns', 'notice', 'overview', 'settings', 'sign-in']);
    for (const [name, bytes] of Object.entries(weights)) expect([name, bytes > assets && bytes < PAGE_BUDGET_BYTES]).toEqual([name, true]);
  });

  it('signs out, after which the console asks to sign in again', async () => {
    // Act
    await page.goto(`${harness.url}/console/activity`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/console\/sign-in\?done=signed-out$/);
    await shoot('signed-out');
    await page.goto(`${harness.url}/console/attention`);
    // Assess
    expect(page.url()).toMatch(/\/console\/sign-in/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in to the staff console');
  });
});
