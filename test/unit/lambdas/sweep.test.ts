import { makeSweepHandler } from '../../../lambdas/sweep/sweep-handler';
import { StaleNoticeError } from '../../../shared/errors';
import type { Notice } from '../../../shared/notice/model';
import { fakeDeps } from '../../support/fake-deps';
import { aNotice } from '../../support/factories';
import { recordingLog } from '../../support/pipeline';

const NOW = new Date('2030-01-01T00:10:00Z');
const ids = ['01JB0000000000000000000001', '01JB0000000000000000000002', '01JB0000000000000000000003'];

let fakes: ReturnType<typeof fakeDeps>;
let handler: ReturnType<typeof makeSweepHandler>;
const seed = (...notices: Notice[]) => fakes.store.seed(...notices.map((notice) => ({ notice, content: { to: notice.to, subject: notice.subject, text: 'Please return it.' } })));

beforeEach(() => {
  fakes = fakeDeps({ now: NOW });
  handler = makeSweepHandler(fakes.deps);
});

describe('Handler: sweep', () => {
  it('asks the store only for what is due, and examines nothing when nothing is', async () => {
    // Prepare: a notice due in an hour
    seed(aNotice({ id: ids[0], sweepAt: '2030-01-01T01:10:00.000Z', nextAttemptAt: '2030-01-01T01:00:00.000Z' }));
    // Act
    const result = await handler();
    // Assess
    expect(result.examined).toBe(0);
    expect(fakes.store.argsOf('findDue')).toEqual([[NOW, 500]]);
    expect(fakes.store.timesCalled('getNotices')).toBe(0);
  });

  it('rings a notice whose doorbell was lost', async () => {
    // Prepare: due at 00:00:30, its sweep time past
    seed(aNotice({ id: ids[0] }));
    // Act
    const result = await handler();
    // Assess
    expect(result).toMatchObject({ examined: 1, rung: 1 });
    expect(fakes.queue.rung).toEqual([{ id: ids[0], delaySeconds: 0 }]);
    expect(fakes.store.peek(ids[0]!)).toMatchObject({ version: 2, status: 'queued' });
  });

  it('rings nothing when an overlapping sweep changed the notice first', async () => {
    // Prepare: the compare-and-set finds another version, as the store reports it
    seed(aNotice({ id: ids[0] }));
    fakes.store.failNext('apply', new StaleNoticeError('changed'));
    // Act
    const result = await handler();
    // Assess
    expect(result).toMatchObject({ examined: 1, rung: 0, raced: 1 });
    expect(fakes.queue.timesCalled('ring')).toBe(0);
  });

  it('rings every doorbell it committed when the store refuses one notice, then fails the run for the alarm', async () => {
    // Prepare: three notices whose doorbells were lost; the store refuses to update the middle one
    seed(...ids.map((id) => aNotice({ id })));
    const throttled = Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' });
    fakes.store.failAlways('apply', throttled, (transition: { id: string }) => transition.id === ids[1]);
    // Act
    const run = handler();
    // Assess
    await expect(run).rejects.toThrow('the sweep could not handle 1 notice(s); the next sweep tries them again');
    expect(fakes.queue.rung.map((doorbell) => doorbell.id).sort()).toEqual([ids[0], ids[2]]);
  });

  it('discards a notice past its give-up time and creates its report', async () => {
    // Prepare
    seed(aNotice({ id: ids[0], status: 'retrying', attemptCount: 2, giveUpAt: '2030-01-01T00:09:00.000Z', sweepAt: '2030-01-01T00:09:00.000Z' }));
    // Act
    const result = await handler();
    // Assess
    expect(result).toMatchObject({ discarded: 1, reportsCreated: 1 });
    expect(fakes.store.peek(ids[0]!)).toMatchObject({ status: 'discarded' });
    const report = fakes.store.all().find((notice) => notice.kind === 'report');
    expect(report).toMatchObject({ reportFor: ids[0], to: 'circulation@library.example.org', status: 'queued' });
    expect(fakes.store.timesCalled('createReport')).toBe(1);
    expect(fakes.queue.rung.map((doorbell) => doorbell.id)).toContain(report?.id);
  });
});

describe('Handler: sweep, when sending resumes before the probe time', () => {
  const held = (id: string, overrides: Partial<Notice> = {}) =>
    aNotice({
      id,
      nextAttemptAt: '2030-01-01T01:00:30.000Z',
      sweepAt: '2030-01-01T00:50:30.000Z',
      attempts: [{ at: '2030-01-01T00:02:00.000Z', outcome: 'deferred', status: 'queued', code: 'ERELAYDENIED', message: "held while the institution's sending is paused" }],
      ...overrides,
    });
  const heldIds = ['01JB0000000000000000000011', '01JB0000000000000000000012', '01JB0000000000000000000013'];
  const otherIds = ['01JB0000000000000000000021', '01JB0000000000000000000022', '01JB0000000000000000000023'];

  it('rings now, spread over the intake spread, the notices held for the probe, and only those, once', async () => {
    // Prepare: the Test Server ended demo's pause at 00:09, before its probe at 01:00
    const log = recordingLog();
    fakes = fakeDeps({ now: NOW, log });
    handler = makeSweepHandler(fakes.deps);
    fakes.transportState.seed('demo', { resumed: { at: '2030-01-01T00:09:00.000Z', heldUntil: '2030-01-01T01:00:00.000Z' } });
    seed(
      // Held in the store for the probe; held by the attempt that met the refusal; held in the queue (due, unwritten)
      held(heldIds[0]!),
      held(heldIds[1]!, { status: 'retrying', attemptCount: 1, attempts: [{ at: '2030-01-01T00:01:00.000Z', outcome: 'transient', status: 'retrying', code: 'ERELAYDENIED', message: '454 4.7.1 <address>: Relay access denied' }] }),
      aNotice({ id: heldIds[2], nextAttemptAt: '2030-01-01T00:05:00.000Z', sweepAt: '2030-01-01T00:11:00.000Z' }),
      // Scheduled for later of its own accord; another institution's; held, but not for this resumption's probe
      aNotice({ id: otherIds[0], sendAt: '2030-01-01T00:58:00.000Z', nextAttemptAt: '2030-01-01T00:58:00.000Z', sweepAt: '2030-01-01T00:48:00.000Z' }),
      held(otherIds[1]!, { institutionId: 'branch' }),
      held(otherIds[2]!, { nextAttemptAt: '2030-01-01T03:00:00.000Z', sweepAt: '2030-01-01T02:50:00.000Z' }),
    );
    // Act
    await handler();
    const first = [...fakes.queue.rung];
    await handler();
    // Assess: each rung once, with the intake's jitter (0 to 60 s; the fake random gives the middle), no attempt counted
    expect(first.map((doorbell) => doorbell.id).sort()).toEqual([...heldIds].sort());
    expect(first.every((doorbell) => doorbell.delaySeconds === 30)).toBe(true);
    expect(fakes.queue.rung).toHaveLength(3);
    expect(fakes.transportState.peek('demo').resumed).toBeUndefined();
    expect(heldIds.map((id) => fakes.store.peek(id)?.attemptCount)).toEqual([0, 1, 0]);
    expect(log.lines.filter((line) => line.message === 'held notices rung').map((line) => line.attributes)).toEqual([{ institution: 'demo', count: 3, resumedAt: '2030-01-01T00:09:00.000Z' }]);
  });

  it('keeps the resumption for the next run when the held notices cannot be read', async () => {
    // Prepare
    fakes.transportState.seed('demo', { resumed: { at: '2030-01-01T00:09:00.000Z', heldUntil: '2030-01-01T01:00:00.000Z' } });
    seed(held(heldIds[0]!));
    fakes.store.failNext('getNotices', Object.assign(new Error('down'), { name: 'InternalServerError' }));
    // Act
    await handler();
    const kept = fakes.transportState.peek('demo').resumed;
    await handler();
    // Assess
    expect(kept).toBeDefined();
    expect(fakes.queue.rung.map((doorbell) => doorbell.id)).toEqual([heldIds[0]]);
    expect(fakes.transportState.peek('demo').resumed).toBeUndefined();
  });
});

describe('Handler: sweep, the stall alert', () => {
  const pause = { since: '2030-01-01T00:00:00.000Z', code: 'EAUTH', reply: '535 5.7.8 Authentication credentials invalid', server: 'relay.library.example.org:587', nextProbeAt: '2030-01-01T00:03:00.000Z', backoffSeconds: 180, probes: 0 };

  it('tells of a stall once when it begins, marks every run while it lasts, and tells of its end once', async () => {
    // Prepare: demo paused since midnight; nothing else due
    const log = recordingLog();
    fakes = fakeDeps({ now: '2030-01-01T00:00:00Z', log });
    handler = makeSweepHandler(fakes.deps);
    fakes.transportState.seed('demo', { pause, firstUnsentAt: pause.since });
    const told = (message: string) => log.lines.filter((line) => line.message === message);
    // Act: runs before, at, and after 30 minutes; then sending works again
    await handler();
    fakes.clock.set('2030-01-01T00:30:00Z');
    await handler();
    fakes.clock.set('2030-01-01T00:31:00Z');
    await handler();
    const whileStalled = fakes.transportState.peek('demo');
    fakes.transportState.seed('demo', { stall: whileStalled.stall });
    fakes.clock.set('2030-01-01T00:32:00Z');
    await handler();
    await handler();
    // Assess
    expect(told('transport stalled')).toEqual([{ level: 'error', message: 'transport stalled', attributes: { institution: 'demo', code: 'EAUTH', summary: 'the relay refused the login', since: '2030-01-01T00:00:00.000Z', minutes: 30 } }]);
    expect(told('transport stall continues').map((line) => line.attributes)).toEqual([
      { institution: 'demo', stalled: 1, since: '2030-01-01T00:00:00.000Z' },
      { institution: 'demo', stalled: 1, since: '2030-01-01T00:00:00.000Z' },
    ]);
    expect(whileStalled.stall).toEqual({ since: '2030-01-01T00:00:00.000Z', noticedAt: '2030-01-01T00:30:00.000Z' });
    expect(told('transport stall over')).toEqual([{ level: 'info', message: 'transport stall over', attributes: { institution: 'demo' } }]);
    expect(fakes.transportState.peek('demo').stall).toBeUndefined();
    // The other institution was never stalled.
    expect(JSON.stringify(log.lines)).not.toContain('branch');
  });

  it('still sweeps the notices when the transport state cannot be read, and looks again next run', async () => {
    // Prepare
    const log = recordingLog();
    fakes = fakeDeps({ now: NOW, log });
    handler = makeSweepHandler(fakes.deps);
    seed(aNotice({ id: ids[0] }));
    fakes.transportState.failAlways('read', Object.assign(new Error('down'), { name: 'InternalServerError' }));
    // Act
    const result = await handler();
    // Assess
    expect(result).toMatchObject({ rung: 1 });
    expect(log.lines.filter((line) => line.message === 'stall not checked').map((line) => line.attributes)).toEqual([
      { institution: 'demo', code: 'InternalServerError' },
      { institution: 'branch', code: 'InternalServerError' },
    ]);
  });
});
