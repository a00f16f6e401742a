import { decodeTime } from 'ulid';
import { isNoticeId, pooledCryptoRandom, ulidSource } from '../../../shared/ids';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const at = (iso: string) => ({ now: () => new Date(iso) });

describe('Function: ulidSource', () => {
  it('issues notice ids that carry the clock’s time', () => {
    const newId = ulidSource(at('2026-11-22T23:30:00.123Z'));
    const id = newId();
    expect(isNoticeId(id)).toBe(true);
    expect(new Date(decodeTime(id)).toISOString()).toBe('2026-11-22T23:30:00.123Z');
  });

  it('maps each draw of the random source to one character: the top five bits of its byte', () => {
    // Draws 0/256, 8/256, … 112/256 walk the alphabet; 7/256 still rounds down to its first letter. ulid
    // writes each new character in front of the ones before it.
    const draws = [...Array.from({ length: 15 }, (_, i) => (i * 8) / 256), 7 / 256];
    let next = 0;
    const id = ulidSource(at('2026-01-01T00:00:00Z'), () => draws[next++] as number)();
    expect(id.slice(10)).toBe(`0${[...CROCKFORD.slice(0, 15)].reverse().join('')}`);
  });

  it('never repeats an id within one millisecond', () => {
    const newId = ulidSource(at('2026-11-22T23:30:00Z'));
    const ids = new Set(Array.from({ length: 20_000 }, newId));
    expect(ids.size).toBe(20_000);
  });
});

describe('Function: pooledCryptoRandom', () => {
  it('draws whole 256ths in [0, 1), refilling the pool when it runs out', () => {
    const random = pooledCryptoRandom();
    const draws = Array.from({ length: 3 * 4096 + 5 }, random);
    for (const draw of draws) {
      expect(draw).toBeGreaterThanOrEqual(0);
      expect(draw).toBeLessThan(1);
      expect(Number.isInteger(draw * 256)).toBe(true);
    }
    // A refilled pool is new bytes, not the first pool again.
    expect(draws.slice(4096, 4096 + 64)).not.toEqual(draws.slice(0, 64));
  });

  it('gives every character of the random part an even chance', () => {
    const newId = ulidSource(at('2026-11-22T23:30:00Z'));
    const counts = new Map<string, number>();
    const ids = 4000;
    for (let i = 0; i < ids; i++) for (const char of newId().slice(10)) counts.set(char, (counts.get(char) ?? 0) + 1);
    // 64,000 characters over 32 letters: 2,000 each expected; ±15% is over ten standard deviations.
    expect([...counts.keys()].sort().join('')).toBe(CROCKFORD);
    for (const count of counts.values()) expect(Math.abs(count - 2000)).toBeLessThan(300);
  });
});
