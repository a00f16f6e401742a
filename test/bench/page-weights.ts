// `npm run page-weights`: the weight of each console page as a browser loads it (the HTML and the style
// sheet, script and icon it asks for), with every list full: a page of Activity (50), Needs attention's
// two lists (40 that did not arrive, 20 waiting), a notice with the 80 tries of a relay down for 100
// hours, a Test Server result. The budget is 100 KB a page; the figures go to bench/page-weights.json,
// with the DynamoDB read units one overview costs (as dynalite reports them) for the notices it counts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { OVERVIEW_DAYS, OVERVIEW_MAX_NOTICES } from '../../shared/console/overview';
import type { HistoryEntry } from '../../shared/notice/model';
import { DynamoNoticeStore } from '../../shared/store/dynamo-notice-store';
import { aNoticeInput } from '../support/factories';
import { ConsoleClient, STAFF_KEY, startConsole, UNKNOWN_PATRON } from '../support/console';
import { RequestCounter } from './counting';

const BUDGET_BYTES = 100 * 1024;
const TRIES_OF_A_LONG_OUTAGE = 80;

interface Weight {
  page: string;
  htmlBytes: number;
  assetBytes: number;
  totalBytes: number;
  gzipBytes: number;
  met: boolean;
}

const main = async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const harness = await startConsole();
  try {
    // Full lists: Activity shows 50 a page, Needs attention 50; a notice retried for 100 hours.
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await harness.submit(aNoticeInput({ to: `reader-${i}@example.org`, subject: `Overdue: a book with a fairly long title, volume ${i}`, externalId: `loan-${100000 + i}` })));
    const later = new Date(Date.now() + 86_400_000).toISOString();
    for (let i = 0; i < 25; i++) await harness.submit(aNoticeInput({ to: `waiting-reader-${i}@example.org`, subject: `Courtesy: due soon, a long title, part ${i}`, externalId: `loan-${300000 + i}`, sendAt: later }));
    const failed: string[] = [];
    for (let i = 0; i < 45; i++) failed.push(await harness.submit(aNoticeInput({ to: UNKNOWN_PATRON, subject: `Hold ready: another long title, part ${i}`, externalId: `hold-${200000 + i}` })));
    // The first refusal puts the address on the suppression list: the rest end suppressed, which Needs attention lists as well.
    for (const id of failed) await harness.pipeline.waitForStatus(id, ['failed', 'suppressed']);
    const long = await harness.pipeline.waitForStatus(ids[0] as string, ['sent']);
    const tries: HistoryEntry[] = Array.from({ length: TRIES_OF_A_LONG_OUTAGE }, (_, i) => ({
      at: new Date(Date.parse(long.createdAt) + i * 75 * 60_000).toISOString(),
      outcome: 'transient',
      status: 'retrying',
      transport: 'smtp',
      server: 'mail.library.example.org:587',
      code: 'ECONNECTION',
      message: 'connect ECONNREFUSED 192.0.2.25:587: the library relay did not answer the connection within the time allowed',
    }));
    await harness.pipeline.deps.store.apply({ id: long.id, expectVersion: long.version, set: {}, remove: [], append: tries });

    // What one overview reads, on a client of its own so that the pipeline's own requests are not counted.
    const counter = new RequestCounter();
    const dynamodb = new DynamoDBClient({ endpoint: harness.pipeline.table.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    counter.instrument(dynamodb, 'DynamoDB');
    const store = new DynamoNoticeStore({ client: dynamodb, tableName: harness.pipeline.table.tableName });
    // What the console's OverviewReader reads for one view.
    const counted = (await store.talliesSince('demo', new Date(Date.now() - OVERVIEW_DAYS * 86_400_000).toISOString(), OVERVIEW_MAX_NOTICES)).notices.length;
    counter.freeze();
    dynamodb.destroy();
    const client = new ConsoleClient(harness.url);
    const signInPage = await client.get('/console/sign-in?institution=demo');
    await client.signIn('demo', STAFF_KEY);
    const csrf = await client.csrf();
    await client.post('/console/settings/test', { csrf });
    const pages: Array<[string, () => Promise<string>]> = [
      ['sign-in', async () => signInPage.body],
      ['activity (50 notices)', async () => (await client.get('/console/activity')).body],
      ['activity search by address', async () => (await client.post('/console/activity', { csrf, address: UNKNOWN_PATRON })).body],
      [`notice (${TRIES_OF_A_LONG_OUTAGE} tries)`, async () => (await client.get(`/console/notices/${long.id}`)).body],
      ['needs attention (40 failed, 20 waiting)', async () => (await client.get('/console/attention')).body],
      ['overview (14 days)', async () => (await client.get('/console/overview')).body],
      ['email settings', async () => (await client.get('/console/settings')).body],
      ['dns', async () => (await client.get('/console/dns')).body],
    ];
    const assetCache = new Map<string, string>();
    const weights: Weight[] = [];
    for (const [page, load] of pages) {
      const html = await load();
      const assets = [...html.matchAll(/(?:href|src)="(\/console\/assets\/[^"]+)"/g)].map((match) => match[1] as string);
      let assetBytes = 0;
      let gzipBytes = gzipSync(html).length;
      for (const path of assets) {
        if (!assetCache.has(path)) assetCache.set(path, (await client.get(path)).body);
        const body = assetCache.get(path) as string;
        assetBytes += Buffer.byteLength(body);
        gzipBytes += gzipSync(body).length;
      }
      const htmlBytes = Buffer.byteLength(html);
      weights.push({ page, htmlBytes, assetBytes, totalBytes: htmlBytes + assetBytes, gzipBytes, met: htmlBytes + assetBytes < BUDGET_BYTES });
    }
    console.log(`page weights (HTML + style sheet + script + icon, as first loaded; budget ${BUDGET_BYTES / 1024} KB)`);
    for (const w of weights) {
      console.log(`${w.page.padEnd(40)} ${(w.totalBytes / 1024).toFixed(1).padStart(6)} KB  (HTML ${(w.htmlBytes / 1024).toFixed(1)} KB, assets ${(w.assetBytes / 1024).toFixed(1)} KB; gzip ${(w.gzipBytes / 1024).toFixed(1)} KB)  ${w.met ? 'met' : 'MISSED'}`);
    }
    const reads = counter.snapshot();
    const readUnits = reads.readUnits + reads.queryFloorUnits;
    const overviewReads = { notices: counted, readUnits, readUnitsPerNotice: readUnits / counted, requests: reads.requests, writeUnits: reads.writeUnits };
    console.log(`overview: ${counted} notices read for ${readUnits} read units, ${overviewReads.readUnitsPerNotice.toFixed(3)} a notice; requests ${JSON.stringify(reads.requests)}; ${reads.writeUnits} write units`);
    writeFileSync(join(__dirname, '..', '..', 'bench', 'page-weights.json'), `${JSON.stringify({ measuredAt: new Date().toISOString(), budgetBytes: BUDGET_BYTES, pages: weights, overviewReads }, null, 2)}\n`);
    if (weights.some((w) => !w.met)) process.exitCode = 1;
  } finally {
    await harness.stop();
  }
};

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
