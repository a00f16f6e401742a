// Debian's Chromium, headless, driven by playwright-core (whose own browser downloads cannot work here),
// with a fresh profile and every background service off, so it never tries to reach a network.
import { chromium, type BrowserContext } from 'playwright-core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { temporaryDirectories } from './temp-dirs';

/** Where Debian's chromium package puts the browser (NOTICE_RELAY_CHROMIUM names another). */
export const CHROMIUM = process.env.NOTICE_RELAY_CHROMIUM ?? '/usr/bin/chromium';

/** Where browser tests leave what a person reviews (screenshots, page weights): gitignored. */
export const TEST_OUTPUT = join(__dirname, '..', '..', 'test-output', 'console');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps', '--disable-extensions'];

/** A browser with a profile of its own, closed (and the profile removed) by `close`. */
export const launchBrowser = async (options: { width?: number; height?: number } = {}): Promise<{ context: BrowserContext; close(): Promise<void> }> => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set NOTICE_RELAY_CHROMIUM`);
  const profiles = temporaryDirectories();
  const context = await chromium.launchPersistentContext(profiles.make('notice-relay-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: options.width ?? 1200, height: options.height ?? 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      profiles.removeAll();
    },
  };
};
