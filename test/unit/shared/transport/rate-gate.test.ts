import { nextSlot, type RateState, reserveSlot, slotSpacingMs } from '../../../../shared/transport/rate-gate';
import { InMemoryTransportState } from '../../../support/fakes';

const at = (iso: string) => new Date(iso);
const fresh: RateState = { nextSlotAt: 0, dayCount: 0 };

describe('Function: nextSlot', () => {
  it('gives the first slot now and spaces the next 60 s / maxPerMinute later, with 5 % to spare', () => {
    // Act
    const { slot, next } = nextSlot(fresh, { maxPerMinute: 30 }, at('2030-01-01T00:00:00Z'));
    // Assess
    expect(slot).toEqual({ at: at('2030-01-01T00:00:00Z'), reason: undefined });
    expect(next).toEqual({ nextSlotAt: at('2030-01-01T00:00:02.100Z').getTime(), day: '2030-01-01', dayCount: 1 });
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
