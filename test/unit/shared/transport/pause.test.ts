import { deliveryFailure, SAME_REFUSAL_LIMIT } from '../../../../shared/transport/classify';
import { afterAttempt, afterTestSent, checkStall, gate, needsRecording, releaseProbe } from '../../../../shared/transport/pause';
import { applyChange, type TransportState } from '../../../../shared/transport/records';

const at = (iso: string) => new Date(iso);
const NOW = at('2030-01-01T00:00:00Z');
const timing = { shortSeconds: 180, longSeconds: 3600 };
const SERVER = 'relay.library.example.org:587';
const loginRefused = deliveryFailure('EAUTH', '535 5.7.8 Authentication credentials invalid', { transport: 'smtp', server: SERVER, responseCode: 535, enhancedStatus: '5.7.8' });
const relayDenied = deliveryFailure('ERELAYDENIED', '554 5.7.1 <patron@example.org>: Relay access denied', { transport: 'smtp', server: SERVER, responseCode: 554, enhancedStatus: '5.7.1' });
const unknownUser = (address: string) => deliveryFailure('ERECIPIENT', `550 5.1.1 <${address}>: Recipient address rejected: User unknown`, { transport: 'smtp', server: SERVER, responseCode: 550, enhancedStatus: '5.1.1' });
const greylisted = deliveryFailure('ERECIPIENTLATER', '451 4.7.1 Greylisted', { transport: 'smtp', server: SERVER, responseCode: 451, enhancedStatus: '4.7.1' });
const fresh: TransportState = { version: 0 };
const paused = (overrides: Partial<NonNullable<TransportState['pause']>> = {}): TransportState => ({
  version: 3,
  pause: { since: '2030-01-01T00:00:00.000Z', code: 'EAUTH', reply: '535 5.7.8 Authentication credentials invalid', server: SERVER, nextProbeAt: '2030-01-01T00:03:00.000Z', backoffSeconds: 180, probes: 0, ...overrides },
  firstUnsentAt: '2030-01-01T00:00:00.000Z',
});

describe('Function: afterAttempt', () => {
  it('pauses the institution at a refusal of its setup, for the short retry delay, and holds the notice until the probe', () => {
    // Act
    const verdict = afterAttempt(fresh, { error: loginRefused }, NOW, timing);
    // Assess
    expect(verdict).toMatchObject({ event: 'paused', heldUntil: at('2030-01-01T00:03:00Z'), escalated: false });
    expect(applyChange(fresh, verdict.change)).toEqual({
      version: 1,
      pause: { since: NOW.toISOString(), code: 'EAUTH', reply: '535 5.7.8 Authentication credentials invalid', server: SERVER, nextProbeAt: '2030-01-01T00:03:00.000Z', backoffSeconds: 180, probes: 0 },
      firstUnsentAt: NOW.toISOString(),
      lastAuthFailure: { at: NOW.toISOString(), server: SERVER, code: 'EAUTH', message: '535 5.7.8 Authentication credentials invalid' },
    });
  });

  it('keeps patron addresses out of the reply it keeps', () => {
    const verdict = afterAttempt(fresh, { error: relayDenied }, NOW, timing);
    expect(verdict.pause?.reply).toBe('554 5.7.1 <address>: Relay access denied');
  });

  it('waits the long retry delay after a quota, the short one after throttling', () => {
    const quota = deliveryFailure('EQUOTA', '550 5.4.5 Daily user sending limit exceeded', { transport: 'smtp', server: SERVER });
    const throttled = deliveryFailure('ETHROTTLED', '421 4.3.2 Slow down', { transport: 'smtp', server: SERVER });
    expect(afterAttempt(fresh, { error: quota }, NOW, timing).pause).toMatchObject({ backoffSeconds: 3600, nextProbeAt: '2030-01-01T01:00:00.000Z' });
    expect(afterAttempt(fresh, { error: throttled }, NOW, timing).pause).toMatchObject({ backoffSeconds: 180 });
  });

  it('backs the next probe off when the probe fails the same way, doubling up to the long retry delay', () => {
    // Prepare: the probe lock is this sender's
    let state: TransportState = { ...paused(), probe: { token: 'p1', until: '2030-01-01T00:04:30.000Z' } };
    const backoffs: number[] = [];
    let now = at('2030-01-01T00:03:00Z');
    // Act: probe after probe fails
    for (let i = 0; i < 7; i++) {
      const verdict = afterAttempt(state, { error: loginRefused, probeToken: 'p1' }, now, timing);
      expect(verdict.event).toBe('probe-failed');
      state = { ...applyChange(state, verdict.change), probe: { token: 'p1', until: '2030-01-10T00:00:00.000Z' } };
      backoffs.push(state.pause!.backoffSeconds);
      now = new Date(state.pause!.nextProbeAt);
    }
    // Assess
    expect(backoffs).toEqual([360, 720, 1440, 2880, 3600, 3600, 3600]);
    expect(state.pause).toMatchObject({ since: '2030-01-01T00:00:00.000Z', probes: 7 });
  });

  it('says so when the probe fails for another reason: a change of state', () => {
    const state: TransportState = { ...paused(), probe: { token: 'p1', until: '2030-01-01T00:04:30.000Z' } };
    const verdict = afterAttempt(state, { error: relayDenied, probeToken: 'p1' }, at('2030-01-01T00:03:00Z'), timing);
    expect(verdict).toMatchObject({ event: 'cause-changed', pause: { code: 'ERELAYDENIED', since: '2030-01-01T00:00:00.000Z' } });
  });

  it('leaves the pause alone for a notice that was already being sent when it began, and holds that notice too', () => {
    const verdict = afterAttempt(paused(), { error: loginRefused }, at('2030-01-01T00:00:01Z'), timing);
    expect(verdict.event).toBeUndefined();
    expect(verdict.heldUntil).toEqual(at('2030-01-01T00:03:00Z'));
    expect(verdict.change?.set?.pause).toBeUndefined();
  });

  it('resumes at the first send that works, and clears what a stall is counted from', () => {
    // Prepare
    const state: TransportState = { ...paused(), probe: { token: 'p1', until: '2030-01-01T00:04:30.000Z' }, lastAuthFailure: { at: NOW.toISOString(), server: SERVER, code: 'EAUTH', message: '535' } };
    // Act
    const verdict = afterAttempt(state, { probeToken: 'p1' }, at('2030-01-01T00:03:05Z'), timing);
    // Assess
    expect(verdict.event).toBe('resumed');
    const after = applyChange(state, verdict.change);
    expect(after).toMatchObject({ authRecoveredAt: '2030-01-01T00:03:05.000Z' });
    expect(after.pause).toBeUndefined();
    expect(after.probe).toBeUndefined();
    expect(after.firstUnsentAt).toBeUndefined();
  });

  it('leaves the held notices to the sweep to ring when a send works before the probe time', () => {
    // A notice already being sent when the pause began gets through a minute later.
    const after = applyChange(paused(), afterAttempt(paused(), {}, at('2030-01-01T00:01:00Z'), timing).change);
    expect(after).toMatchObject({ resumed: { at: '2030-01-01T00:01:00.000Z', heldUntil: '2030-01-01T00:03:00.000Z' } });
    expect(after.pause).toBeUndefined();
  });

  it("resumes when the probe's relay takes the login and the envelope, whatever it says of the patron", () => {
    const state: TransportState = { ...paused(), probe: { token: 'p1', until: '2030-01-01T00:04:30.000Z' } };
    expect(afterAttempt(state, { error: greylisted, probeToken: 'p1' }, at('2030-01-01T00:03:05Z'), timing).event).toBe('resumed');
  });

  it('gives the probe back without a verdict when its notice never reached the relay', () => {
    const state: TransportState = { ...paused(), probe: { token: 'p1', until: '2030-01-01T00:04:30.000Z' } };
    const gone = deliveryFailure('ENOCONTENT', 'the content of the notice is no longer stored', { transport: 'smtp' });
    expect(afterAttempt(state, { error: gone, probeToken: 'p1' }, at('2030-01-01T00:03:05Z'), timing)).toEqual({ change: { remove: ['probe'] } });
  });

  it('writes nothing for a send while all is well, nor for one greylisted patron', () => {
    expect(afterAttempt(fresh, {}, NOW, timing).change).toBeUndefined();
    expect(needsRecording(fresh, {})).toBe(false);
    expect(needsRecording(fresh, { error: greylisted, recipientKey: 'a' })).toBe(false);
    expect(needsRecording(fresh, { error: loginRefused })).toBe(true);
    expect(needsRecording({ version: 2, firstUnsentAt: NOW.toISOString() }, {})).toBe(true);
  });

  it(`takes the same permanent refusal for ${SAME_REFUSAL_LIMIT} different patrons in a row for a refusal of the institution (EREPEATED)`, () => {
    // Prepare
    let state = fresh;
    const verdicts = [];
    // Act: three patrons refused alike; the first patron again counts once
    for (const [address, key] of [['a@example.org', 'ka'], ['a@example.org', 'ka'], ['b@example.org', 'kb'], ['c@example.org', 'kc']] as const) {
      const verdict = afterAttempt(state, { error: unknownUser(address), recipientKey: key }, NOW, timing);
      verdicts.push(verdict);
      state = applyChange(state, verdict.change);
    }
    // Assess
    expect(verdicts.map((v) => Boolean(v.escalated))).toEqual([false, false, false, true]);
    expect(verdicts[3]).toMatchObject({ event: 'paused', pause: { code: 'EREPEATED' }, heldUntil: at('2030-01-01T00:03:00Z') });
  });

  it('starts the run of identical refusals again after a send that works, or another refusal', () => {
    // Prepare
    const two = [unknownUser('a@example.org'), unknownUser('b@example.org')].reduce<TransportState>(
      (state, error, i) => applyChange(state, afterAttempt(state, { error, recipientKey: `k${i}` }, NOW, timing).change),
      fresh,
    );
    // Act
    const afterSend = applyChange(two, afterAttempt(two, { recipientKey: 'x' }, NOW, timing).change);
    const other = deliveryFailure('EMESSAGE', '554 5.6.0 Message content rejected', { transport: 'smtp', server: SERVER, responseCode: 554 });
    const afterOther = applyChange(two, afterAttempt(two, { error: other, recipientKey: 'y' }, NOW, timing).change);
    // Assess
    expect(two.refusals?.recipients).toHaveLength(2);
    expect(afterSend.refusals).toBeUndefined();
    expect(afterOther.refusals?.recipients).toEqual(['y']);
    expect(afterAttempt(afterSend, { error: unknownUser('c@example.org'), recipientKey: 'kc' }, NOW, timing).escalated).toBeFalsy();
  });
});

describe('Function: gate', () => {
  const probe = { token: 'p2', leaseSeconds: 90 };

  it('lets every notice go while the institution is not paused', () => {
    expect(gate(fresh, NOW, probe)).toEqual({ kind: 'send' });
  });

  it('holds a notice until the next probe, with a reason that stays the same for the whole pause', () => {
    expect(gate(paused(), at('2030-01-01T00:01:00Z'), probe)).toEqual({ kind: 'hold', until: at('2030-01-01T00:03:00Z'), reason: "held while the institution's sending is paused (EAUTH: the relay refused the login)" });
  });

  it('makes the first notice due after the probe time the probe, under a lock as long as its lease', () => {
    const decision = gate(paused(), at('2030-01-01T00:03:01Z'), probe);
    expect(decision).toEqual({ kind: 'probe', change: { set: { probe: { token: 'p2', until: '2030-01-01T00:04:31.000Z' } } } });
  });

  it('holds every other notice while the probe is in flight, until its lock ends', () => {
    const state: TransportState = { ...paused(), probe: { token: 'p1', until: '2030-01-01T00:04:30.000Z' } };
    expect(gate(state, at('2030-01-01T00:03:02Z'), probe)).toMatchObject({ kind: 'hold', until: at('2030-01-01T00:04:30Z') });
    // A probe whose sender died: its lock lapses with its lease, and another notice probes.
    expect(gate(state, at('2030-01-01T00:04:31Z'), probe).kind).toBe('probe');
  });

  it('lets every sender go once the wait a relay asked for is over: throttling is waited out, not probed', () => {
    const throttled = paused({ code: 'ETHROTTLED', reply: '421 4.3.2 Slow down' });
    expect(gate(throttled, at('2030-01-01T00:02:59Z'), probe).kind).toBe('hold');
    expect(gate(throttled, at('2030-01-01T00:03:00Z'), probe)).toEqual({ kind: 'send' });
    // The first outcome then speaks for the relay: throttled again, the wait doubles; sent, it resumes.
    const again = deliveryFailure('ETHROTTLED', '421 4.3.2 Slow down', { transport: 'smtp', server: SERVER });
    expect(afterAttempt(throttled, { error: again }, at('2030-01-01T00:03:01Z'), timing)).toMatchObject({ event: 'probe-failed', pause: { backoffSeconds: 360 } });
    expect(afterAttempt(throttled, {}, at('2030-01-01T00:03:01Z'), timing).event).toBe('resumed');
  });

  it('gives the probe back, and only its own', () => {
    const state: TransportState = { ...paused(), probe: { token: 'p1', until: '2030-01-01T00:04:30.000Z' } };
    expect(releaseProbe(state, 'p1')).toEqual({ remove: ['probe'] });
    expect(releaseProbe(state, 'p2')).toBeUndefined();
  });
});

describe('Function: afterTestSent', () => {
  it('ends a pause when the Test Server gets a message through', () => {
    expect(afterTestSent(paused(), NOW)).toMatchObject({ event: 'resumed', change: { remove: ['pause', 'firstUnsentAt'] } });
  });

  it('leaves the notices held for the next probe to the sweep to ring now, when the probe is still to come', () => {
    // Act
    const before = applyChange(paused(), afterTestSent(paused(), at('2030-01-01T00:01:00Z')).change);
    const after = applyChange(paused(), afterTestSent(paused(), at('2030-01-01T00:03:00Z')).change);
    // Assess: after the probe time, held notices come back within the intake's spread of their own accord
    expect(before.resumed).toEqual({ at: '2030-01-01T00:01:00.000Z', heldUntil: '2030-01-01T00:03:00.000Z' });
    expect(after.resumed).toBeUndefined();
  });

  it('keeps the latest probe time of a resumption the sweep has not rung yet', () => {
    const state: TransportState = { ...paused({ nextProbeAt: '2030-01-01T00:05:00.000Z' }), resumed: { at: '2030-01-01T00:00:30.000Z', heldUntil: '2030-01-01T01:00:00.000Z' } };
    expect(applyChange(state, afterTestSent(state, at('2030-01-01T00:01:00Z')).change).resumed).toEqual({ at: '2030-01-01T00:01:00.000Z', heldUntil: '2030-01-01T01:00:00.000Z' });
  });
});

describe('Function: checkStall', () => {
  it('tells of a stall once it has lasted stalledAfterMinutes, once, and of its end once', () => {
    // Prepare
    const state = paused();
    // Act
    const before = checkStall(state, at('2030-01-01T00:29:59Z'), 30);
    const begins = checkStall(state, at('2030-01-01T00:30:00Z'), 30);
    const told = applyChange(state, begins.change);
    const lasts = checkStall(told, at('2030-01-01T00:45:00Z'), 30);
    const recovered = applyChange(told, afterAttempt(told, { probeToken: undefined }, at('2030-01-01T00:46:00Z'), timing).change);
    const ends = checkStall(recovered, at('2030-01-01T00:47:00Z'), 30);
    // Assess
    expect(before).toEqual({ stalledSince: undefined });
    expect(begins).toMatchObject({ event: 'stalled', stalledSince: at('2030-01-01T00:00:00Z') });
    expect(lasts).toEqual({ stalledSince: at('2030-01-01T00:00:00Z') });
    expect(ends).toMatchObject({ event: 'recovered', change: { remove: ['stall'] } });
  });

  it('counts no stall after a message refused for good: nothing waits', () => {
    // Prepare: one content refusal, and no other traffic
    const refused = deliveryFailure('EMESSAGE', '554 5.6.0 Message content rejected', { transport: 'smtp', server: SERVER, responseCode: 554, enhancedStatus: '5.6.0' });
    const state = applyChange(fresh, afterAttempt(fresh, { error: refused, recipientKey: 'ka', noticeId: 'N1' }, NOW, timing).change);
    // Act
    const later = checkStall(state, at('2030-01-01T00:31:00Z'), 30);
    // Assess
    expect(state.firstUnsentAt).toBeUndefined();
    expect(later).toEqual({ stalledSince: undefined });
  });

  it('counts a stall from a notice left to be tried again, until that notice is refused for good', () => {
    // Prepare
    const timedOut = deliveryFailure('ETIMEDOUT', 'the relay did not answer in time', { transport: 'smtp', server: SERVER });
    const refused = deliveryFailure('EMESSAGE', '554 5.6.0 Message content rejected', { transport: 'smtp', server: SERVER, responseCode: 554, enhancedStatus: '5.6.0' });
    const waiting = applyChange(fresh, afterAttempt(fresh, { error: timedOut, recipientKey: 'ka', noticeId: 'N1' }, NOW, timing).change);
    const another = applyChange(waiting, afterAttempt(waiting, { error: timedOut, recipientKey: 'kb', noticeId: 'N2' }, at('2030-01-01T00:01:00Z'), timing).change);
    // Act: another notice refused for good leaves the count alone; the one it started with ends it
    const otherRefused = applyChange(another, afterAttempt(another, { error: refused, recipientKey: 'kb', noticeId: 'N2' }, at('2030-01-01T00:05:00Z'), timing).change);
    const firstRefused = applyChange(otherRefused, afterAttempt(otherRefused, { error: refused, recipientKey: 'ka', noticeId: 'N1' }, at('2030-01-01T00:06:00Z'), timing).change);
    // Assess
    expect(waiting).toMatchObject({ firstUnsentAt: NOW.toISOString(), firstUnsentBy: 'N1' });
    expect(otherRefused).toMatchObject({ firstUnsentAt: NOW.toISOString(), firstUnsentBy: 'N1' });
    expect(checkStall(otherRefused, at('2030-01-01T00:30:00Z'), 30).event).toBe('stalled');
    expect(firstRefused.firstUnsentAt).toBeUndefined();
    expect(firstRefused.firstUnsentBy).toBeUndefined();
    expect(checkStall(firstRefused, at('2030-01-01T00:31:00Z'), 30)).toEqual({ stalledSince: undefined });
  });

  it('keeps counting a stall through a refusal for good while sending is paused: held notices still wait', () => {
    const refused = deliveryFailure('EMESSAGE', '554 5.6.0 Message content rejected', { transport: 'smtp', server: SERVER, responseCode: 554, enhancedStatus: '5.6.0' });
    const state: TransportState = { ...paused(), firstUnsentBy: 'N1' };
    const after = applyChange(state, afterAttempt(state, { error: refused, recipientKey: 'ka', noticeId: 'N1' }, at('2030-01-01T00:01:00Z'), timing).change);
    expect(checkStall(after, at('2030-01-01T00:30:00Z'), 30).event).toBe('stalled');
  });

  it('counts a stall from the first attempt that failed for a reason other than one patron', () => {
    expect(checkStall({ version: 1, firstUnsentAt: '2030-01-01T00:00:00.000Z' }, at('2030-01-01T00:30:00Z'), 30).event).toBe('stalled');
    expect(checkStall({ version: 1 }, at('2030-01-01T05:00:00Z'), 30)).toEqual({ stalledSince: undefined });
  });
});
