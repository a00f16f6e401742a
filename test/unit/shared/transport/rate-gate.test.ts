import { ADMISSION_WINDOW_MS, admitReserved, admitReservedSend, nextSlot, type RateState, reserveSlot, slotSpacingMs } from '../../../../shared/transport/rate-gate';
import { InMemoryTransportState } from '../../../support/fakes';

const at = (iso: string) => new Date(iso);
const fresh: RateState = { nextSlotAt: 0, dayCount: 0 };

describe('Function: admitReserved', () => {
  const T0 = at('2030-01-01T00:00:00Z').getTime();
  /** maxPerMinute sends admitted on time, one per slot, from T0. */
  const onTime = (maxPerMinute: number) => Array.from({ length: maxPerMinute }, (_, i) => T0 + i * slotSpacingMs(maxPerMinute));

  it('admits a notice coming back on time to its slot, and records the send', () => {
    // Act
    const admission = admitReserved({ nextSlotAt: 0, dayCount: 0, recentSends: onTime(40).slice(0, 10) }, 40, new Date(T0 + 10 * slotSpacingMs(40)), new Date(T0 + 10 * slotSpacingMs(40)), 1000);
    // Assess
    expect(admission).toMatchObject({ admitted: true, at: new Date(T0 + 10 * slotSpacingMs(40)) });
    expect(admission.next?.recentSends).toHaveLength(11);
  });

  it('holds a notice that comes back late until the last minute has room, so it never goes beside notices on time', () => {
    // Prepare: 40 a minute, a whole minute's slots sent on time; a notice of the first slot comes back 20 s late
    const recentSends = onTime(40);
    const now = new Date(T0 + 20_000);
    // Act
    const admission = admitReserved({ nextSlotAt: 0, dayCount: 0, recentSends }, 40, new Date(T0), now, 1000);
    // Assess: it goes when the first of the last 40 sends leaves the window
    expect(admission).toEqual({ admitted: false, at: new Date(T0 + ADMISSION_WINDOW_MS) });
  });

  it('keeps every minute within maxPerMinute whatever the lateness of the notices coming back', () => {
    // Prepare: 200 notices reserved slots in turn; each comes back up to 8 s late, in any order (as on a busy machine)
    let state: RateState = { nextSlotAt: 0, dayCount: 0 };
    const slots: number[] = [];
    for (let i = 0; i < 200; i++) {
      const taken = nextSlot(state, { maxPerMinute: 40 }, new Date(T0));
      slots.push(taken.slot.at.getTime());
      state = taken.next;
    }
    let seed = 7;
    const random = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
    const pending = slots.map((slot) => ({ reserved: slot, comesBack: slot + random() * 8000 }));
    const sent: number[] = [];
    // Act: each comes back, goes if admitted (after at most a second's wait), else comes back when told
    while (pending.length) {
      pending.sort((a, b) => a.comesBack - b.comesBack);
      const next = pending.shift()!;
      const admission = admitReserved(state, 40, new Date(next.reserved), new Date(next.comesBack), 1000);
      if (admission.admitted) {
        state = admission.next!;
        sent.push(admission.at.getTime());
      } else pending.push({ reserved: admission.at.getTime(), comesBack: admission.at.getTime() + random() * 8000 });
    }
    // Assess: counted as the relay counts, any 60 s window, with up to 3 s between admission and arrival
    const busiest = Math.max(...sent.map((start) => sent.filter((t) => t >= start && t < start + 60_000).length));
    expect(sent).toHaveLength(200);
    expect(busiest).toBeLessThanOrEqual(40);
  });

  it('is kept in the transport state by admitReservedSend, with its compare-and-set', async () => {
    // Prepare
    const states = new InMemoryTransportState().seed('demo', { recentSends: onTime(40) });
    // Act
    const late = await admitReservedSend(states, 'demo', 40, new Date(T0), new Date(T0 + 20_000), 1000);
    const later = await admitReservedSend(states, 'demo', 40, new Date(T0), new Date(T0 + ADMISSION_WINDOW_MS), 1000);
    // Assess
    expect(late.admitted).toBe(false);
    expect(later.admitted).toBe(true);
    expect(states.peek('demo').recentSends).toHaveLength(40);
    expect(states.peek('demo').recentSends?.at(-1)).toBe(T0 + ADMISSION_WINDOW_MS);
  });
});

describe('Function: nextSlot', () => {
  it('gives the first slot now and spaces the next 60 s / maxPerMinute later, with 5 % to spare', () => {
    // Act
    const { slot, next } = nextSlot(fresh, { maxPerMinute: 30 }, at('2030-01-01T00:00:00Z'));
    // Assess
    expect(slot).toEqual({ at: at('2030-01-01T00:00:00Z'), reason: undefined });
    // The slot is now, so the send is admitted with it.
    expect(next).toEqual({ nextSlotAt: at('2030-01-01T00:00:02.100Z').getTime(), day: '2030-01-01', dayCount: 1, recentSends: [at('2030-01-01T00:00:00Z').getTime()] });
  });

  it('keeps any 60 s window within maxPerMinute however many ask at once', () => {
    // Prepare
    let state = fresh;
    const now = at('2030-01-01T00:00:00Z');
    const slots: number[] = [];
    // Act: 100 notices ask at the same instant
    for (let i = 0; i < 100; i++) {
      const taken = nextSlot(state, { maxPerMinute: 30 }, now);
      slots.push(taken.slot.at.getTime());
      state = taken.next;
    }
    // Assess
    const busiest = Math.max(...slots.map((start) => slots.filter((t) => t >= start && t < start + 60_000).length));
    expect(busiest).toBeLessThanOrEqual(30);
    expect(slots[99]! - slots[0]!).toBe(99 * slotSpacingMs(30));
  });

  it('says why a slot is later than asked', () => {
    const { slot } = nextSlot({ nextSlotAt: at('2030-01-01T00:01:00Z').getTime(), dayCount: 1, day: '2030-01-01' }, { maxPerMinute: 30 }, at('2030-01-01T00:00:00Z'));
    expect(slot).toEqual({ at: at('2030-01-01T00:01:00Z'), reason: 'held back by maxPerMinute (30)' });
  });

  it('moves to the next UTC day once maxPerDay slots are taken', () => {
    // Act
    const { slot, next } = nextSlot({ nextSlotAt: 0, day: '2030-01-01', dayCount: 10_000 }, { maxPerDay: 10_000 }, at('2030-01-01T15:00:00Z'));
    // Assess
    expect(slot.at).toEqual(at('2030-01-02T00:00:00Z'));
    expect(slot.reason).toBe('held back by maxPerDay (10000) until 2030-01-02T00:00:00.000Z');
    expect(next).toMatchObject({ day: '2030-01-02', dayCount: 1 });
  });

  it('keeps every UTC day within maxPerDay however many ask at once, with no maxPerMinute', () => {
    // Prepare
    let state = fresh;
    const now = at('2030-01-01T15:00:00Z');
    const days = new Map<string, number>();
    // Act: three days' worth ask at the same instant
    for (let i = 0; i < 30; i++) {
      const taken = nextSlot(state, { maxPerDay: 10 }, now);
      const day = taken.slot.at.toISOString().slice(0, 10);
      days.set(day, (days.get(day) ?? 0) + 1);
      state = taken.next;
    }
    // Assess
    expect(Object.fromEntries(days)).toEqual({ '2030-01-01': 10, '2030-01-02': 10, '2030-01-03': 10 });
  });

  it('counts recipients against maxPerDay: a message that would pass the limit waits for the next day', () => {
    // A notice with two cc addresses is three recipients, as Microsoft 365 counts them.
    const state = { nextSlotAt: 0, day: '2030-01-01', dayCount: 9_998 };
    expect(nextSlot(state, { maxPerDay: 10_000 }, at('2030-01-01T15:00:00Z'), 2).next).toMatchObject({ day: '2030-01-01', dayCount: 10_000 });
    const { slot, next } = nextSlot(state, { maxPerDay: 10_000 }, at('2030-01-01T15:00:00Z'), 3);
    expect(slot.at).toEqual(at('2030-01-02T00:00:00Z'));
    expect(next).toMatchObject({ day: '2030-01-02', dayCount: 3 });
  });

  it('sends a message with more recipients than maxPerDay at the start of a day rather than never', () => {
    expect(nextSlot({ nextSlotAt: 0, day: '2030-01-01', dayCount: 0 }, { maxPerDay: 2 }, at('2030-01-01T15:00:00Z'), 5).slot.at).toEqual(at('2030-01-01T15:00:00Z'));
  });

  it('starts counting afresh on a new day', () => {
    expect(nextSlot({ nextSlotAt: 0, day: '2029-12-31', dayCount: 10_000 }, { maxPerDay: 10_000 }, at('2030-01-01T00:00:01Z')).next).toMatchObject({ day: '2030-01-01', dayCount: 1 });
  });

});

describe('Function: reserveSlot', () => {
  it('takes the next slot with a compare-and-set, reading again when another sender took one first', async () => {
    // Prepare: another sender takes the first slot between this one's read and write
    const states = new InMemoryTransportState();
    states.interceptNext('write', () => states.seed('demo', { nextSlotAt: at('2030-01-01T00:00:02.100Z').getTime(), day: '2030-01-01', dayCount: 1 }));
    // Act
    const slot = await reserveSlot(states, 'demo', { maxPerMinute: 30 }, at('2030-01-01T00:00:00Z'));
    // Assess
    expect(slot).toEqual({ at: at('2030-01-01T00:00:02.100Z'), reason: 'held back by maxPerMinute (30)' });
    expect(states.writes).toBe(1);
    expect(states.peek('demo')).toMatchObject({ nextSlotAt: at('2030-01-01T00:00:04.200Z').getTime(), dayCount: 2 });
  });
});
