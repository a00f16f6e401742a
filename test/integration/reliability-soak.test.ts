// Soak: 5,000 notices through a relay that at random answers 421, 450, 451 or 550, or drops the connection.
// Each notice must end in a state the relay's own record explains, and the counts are reported.
import { aNoticeInput } from '../support/factories';
import type { Notice } from '../../shared/notice/model';
import { seeded } from '../support/faults';
import { FAST, fastConfig, type Pipeline, startPipeline } from '../support/pipeline';
import { type Relay, startRelay } from '../support/smtp-relay';

const COUNT = Number(process.env.SOAK_COUNT ?? 5000);
const BOUNCE_TO = 'circulation@library.example.org';

const FINAL = ['sent', 'failed', 'discarded'];

/**
 * Waits until every notice and every report is final, for as long as they keep becoming final: the
 * condition is progress, not a deadline, so a machine shared with other work is slower but not a
 * failure, while a pipeline that stops moving fails within `stalledMs`. Final states never change, so
 * each poll reads only what was still moving: polling 5,000 notices every 100 ms would itself load the
 * emulator.
 */
const untilFinal = async (pipeline: Pipeline, ids: string[], stalledMs: number) => {
  let progressAt = Date.now();
  const done = new Map<string, Notice>();
  const moving = new Set(ids);
  for (;;) {
    const read = await pipeline.deps.store.getNotices([...moving]);
    for (const [id, notice] of read) {
      if (notice.reportId && !done.has(notice.reportId)) moving.add(notice.reportId);
      if (FINAL.includes(notice.status) && !notice.reportPending) {
        done.set(id, notice);
        moving.delete(id);
        progressAt = Date.now();
      }
    }
    if (moving.size === 0) break;
    if (process.env.SOAK_PROGRESS) console.log(`${new Date().toISOString()} still moving: ${moving.size}`);
    if (Date.now() - progressAt > stalledMs) throw new Error(`no notice or report became final for ${stalledMs} ms; ${moving.size} still moving`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const states = ids.map((id) => done.get(id)!);
  const reports = states.flatMap((n) => (n.reportId ? [done.get(n.reportId)!] : []));
  return { states, reports };
};

let pipeline: Pipeline | undefined;
let relay: Relay | undefined;

afterAll(async () => {
  await pipeline?.stop();
  await relay?.stop();
}, 120_000);

describe('Reliability: soak through a misbehaving relay', () => {
  it('delivers, fails or discards each of 5,000 notices as the relay answered, with one report per failure', async () => {
    // Prepare: per RCPT TO, 0.3 % 421 (slow down: it pauses the whole institution for the short retry
    // delay, so it is rare here, as on a relay that is not overloaded), 2.7 % 450 (one mailbox busy),
    // 3 % 451, 1 % 550, 1 % a dropped connection
    const random = seeded(5000);
    const refusedForGood = new Set<string>();
    const answers = { accepted: 0, '421': 0, '450': 0, '451': 0, '550': 0, drop: 0 };
    relay = await startRelay({
      light: true,
      onRcptTo: (address) => {
        const draw = random();
        if (draw < 0.003) return (answers['421']++, { code: 421, message: '4.3.2 Try again later' });
        if (draw < 0.03) return (answers['450']++, { code: 450, message: '4.2.1 Mailbox busy, try again later' });
        if (draw < 0.06) return (answers['451']++, { code: 451, message: '4.3.0 Temporary failure' });
        if (draw < 0.07) return (answers['550']++, refusedForGood.add(address), { code: 550, message: '5.1.1 User unknown' });
        if (draw < 0.08) return (answers.drop++, 'drop');
        answers.accepted++;
        return undefined;
      },
    });
    // The relay's answers alone decide each notice: notices live longer than the machine, however busy,
    // takes to try them all (a give-up racing the backlog would discard thousands untried), and leases
    // outlast a busy event loop's stalls (no sender dies here, so no copy is allowed).
    const config = fastConfig(
      { kind: 'smtp', servers: [{ host: '127.0.0.1', port: relay.port, tls: 'none' }] },
      { retry: { ...FAST.retry!, maxAgeSeconds: 900 }, sender: { ...FAST.sender, concurrency: 4, attemptTimeoutSeconds: 5, leaseSeconds: 15 } },
    );
    pipeline = await startPipeline(config);
    const started = Date.now();
    // Act
    const ids: string[] = [];
    for (let batch = 0; batch < COUNT / 500; batch++) {
      const notices = Array.from({ length: 500 }, (_, i) => aNoticeInput({ to: `patron${batch * 500 + i}@example.org`, externalId: `soak-${batch * 500 + i}` }));
      const { status, body } = await pipeline.submit({ notices });
      expect(status).toBe(202);
      ids.push(...body.notices.map((n: { id: string }) => n.id));
    }
    const final = await untilFinal(pipeline, ids, 120_000);
    const seconds = (Date.now() - started) / 1000;
    // Assess
    const count = (status: string) => final.states.filter((n) => n.status === status).length;
    const atRelay = new Map<string, number>();
    for (const message of relay.received) atRelay.set(message.parsed.messageId as string, (atRelay.get(message.parsed.messageId as string) ?? 0) + 1);
    const sent = final.states.filter((n) => n.status === 'sent');
    const failed = final.states.filter((n) => n.status === 'failed');
    const discarded = final.states.filter((n) => n.status === 'discarded');
    const reportCounts = Object.fromEntries(['sent', 'failed', 'discarded'].map((status) => [status, final.reports.filter((r) => r.status === status).length]));
    console.log(
      `soak: ${COUNT} notices in ${seconds.toFixed(0)} s — sent ${count('sent')}, failed ${count('failed')}, discarded ${count('discarded')}; ` +
        `reports ${JSON.stringify(reportCounts)}; the relay answered ${JSON.stringify(answers)}; attempts ${final.states.reduce((n, s) => n + s.attemptCount, 0)}`,
    );
    expect(sent.length + failed.length + discarded.length).toBe(COUNT);
    // Every sent notice reached the relay exactly once (no sender died, so no copy is allowed).
    for (const notice of sent) expect(atRelay.get(`<${notice.id}@library.example.org>`)).toBe(1);
    // A notice failed exactly when the relay refused its address for good.
    expect(new Set(failed.map((n) => n.to))).toEqual(new Set([...refusedForGood].filter((address) => address !== BOUNCE_TO)));
    // One report each, about that notice.
    expect(final.reports.map((r) => r.reportFor).sort()).toEqual([...failed, ...discarded].map((n) => n.id).sort());
    expect(final.reports.every((r) => r.to === BOUNCE_TO && r.kind === 'report')).toBe(true);
    // What the relay took is what the store says was sent (notices and reports).
    const sentIds = new Set([...sent, ...final.reports.filter((r) => r.status === 'sent')].map((n) => `<${n.id}@library.example.org>`));
    expect(new Set(atRelay.keys())).toEqual(sentIds);
    // Jest's limit is only a backstop for a run that never ends: the wait above fails a stalled pipeline.
  }, 1_800_000);
});
