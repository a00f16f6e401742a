import { sweep, type SweepDeps } from '../../../../shared/delivery/sweep';
import type { NoticeStore } from '../../../../shared/store/notice-store';
import { aConfig, settingsOf } from '../../../support/factories';
import { ManualClock } from '../../../support/clock';
import { recordingLog } from '../../../support/pipeline';
import { memoryStates } from '../../../support/transport-states';

const config = aConfig();
const pause = { since: '2030-01-01T00:00:00.000Z', code: 'EAUTH', reply: '535 5.7.8 Authentication credentials invalid', server: 'relay.library.example.org:587', nextProbeAt: '2030-01-01T00:03:00.000Z', backoffSeconds: 180, probes: 0 };

/** The sweep with nothing due, the institutions' transport states in memory, and a clock the test moves. */
const sweepDeps = () => {
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const log = recordingLog();
  const transportStates = memoryStates();
  const deps: SweepDeps = {
    // Nothing is due: this is about the institutions, not the notices.
    store: { findDue: async () => [] } as unknown as NoticeStore,
    queue: { ring: async () => [], ping: async () => undefined },
    clock,
    random: () => 0,
    newId: () => '01JB0000000000000000000000',
    log,
    settings: settingsOf(config),
    institutions: new Map(config.institutions.map((institution) => [institution.id, institution])),
    transportStates,
    stalledAfterMinutes: 30,
  };
  return { deps, clock, log, transportStates };
};

describe('Function: sweep, the stall alert', () => {
  it('tells of a stall once when it begins, marks every run while it lasts, and tells of its end once', async () => {
    // Prepare: demo paused since midnight
    const { deps, clock, log, transportStates } = sweepDeps();
    transportStates.put('demo', { pause, firstUnsentAt: pause.since });
    const told = (message: string) => log.lines.filter((line) => line.message === message);
    // Act: runs before, at, and after 30 minutes; then sending works again
    await sweep(deps);
    clock.set('2030-01-01T00:30:00Z');
    await sweep(deps);
    clock.set('2030-01-01T00:31:00Z');
    await sweep(deps);
    const whileStalled = await deps.transportStates!.read('demo');
    transportStates.put('demo', { stall: whileStalled.stall });
    clock.set('2030-01-01T00:32:00Z');
    await sweep(deps);
    await sweep(deps);
    // Assess
    expect(told('transport stalled')).toEqual([{ level: 'error', message: 'transport stalled', attributes: { institution: 'demo', code: 'EAUTH', summary: 'the relay refused the login', since: '2030-01-01T00:00:00.000Z', minutes: 30 } }]);
    expect(told('transport stall continues').map((line) => line.attributes)).toEqual([
      { institution: 'demo', stalled: 1, since: '2030-01-01T00:00:00.000Z' },
      { institution: 'demo', stalled: 1, since: '2030-01-01T00:00:00.000Z' },
    ]);
    expect(whileStalled.stall).toEqual({ since: '2030-01-01T00:00:00.000Z', noticedAt: '2030-01-01T00:30:00.000Z' });
    expect(told('transport stall over')).toEqual([{ level: 'info', message: 'transport stall over', attributes: { institution: 'demo' } }]);
    expect((await deps.transportStates!.read('demo')).stall).toBeUndefined();
    // The other institution was never stalled.
    expect(JSON.stringify(log.lines)).not.toContain('branch');
  });
});
