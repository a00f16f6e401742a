import { deliveryFailure } from '../../../shared/transport/classify';
import { aConfig } from '../../support/factories';
import { ManualClock } from '../../support/clock';
import { InMemoryDoorbellQueue, InMemoryIdempotencyStore, InMemoryKeyRateCounter, InMemoryNoticeStore, InMemoryTransports, InMemoryTransportState, serviceFault } from '../../support/fakes';
import { idempotencyStoreContract, noticeStoreContract, transportStateContract } from '../../support/store-contract';

describe('Class: InMemoryNoticeStore', () => {
  const store = new InMemoryNoticeStore();
  describe('honours the NoticeStore contract', () => noticeStoreContract(() => store));

  it('fails a call as a store does when told to, before it changes anything, and counts every call', async () => {
    // Prepare
    const failing = new InMemoryNoticeStore().failNext('createNotices', serviceFault());
    // Act
    const first = failing.createNotices([]).catch((error: unknown) => error);
    // Assess
    await expect(first).resolves.toMatchObject({ name: 'InternalServerError' });
    await expect(failing.createNotices([])).resolves.toBeUndefined();
    expect(failing.timesCalled('createNotices')).toBe(2);
  });
});

describe('Class: InMemoryIdempotencyStore', () => {
  const idempotency = new InMemoryIdempotencyStore();
  describe('honours the IdempotencyStore contract', () => idempotencyStoreContract(() => idempotency));
});

describe('Class: InMemoryDoorbellQueue', () => {
  it('refuses a delay SQS would not take, and reports back the doorbells it lost', async () => {
    // Prepare
    const queue = new InMemoryDoorbellQueue().loseNext(1);
    // Act
    const tooLong = queue.ring([{ id: 'A', delaySeconds: 901 }]);
    const unrung = await queue.ring([
      { id: 'B', delaySeconds: 0 },
      { id: 'C', delaySeconds: 900 },
    ]);
    // Assess
    await expect(tooLong).rejects.toThrow(RangeError);
    expect(unrung).toEqual(['B']);
    expect(queue.rung).toEqual([{ id: 'C', delaySeconds: 900 }]);
  });
});

describe('Class: InMemoryTransports', () => {
  it('keeps what was sent, answers as told, and sends nothing past the deadline', async () => {
    // Prepare
    const clock = new ManualClock('2030-01-01T00:00:00Z');
    const transports = new InMemoryTransports(clock);
    const transport = transports.for(aConfig().institutions[1]!);
    const message = { noticeId: 'N', messageId: '<N@branch.example.edu>', from: 'x', envelope: { from: 'a@example.org', to: ['b@example.org'] }, raw: Buffer.from('') };
    const deadline = new Date('2030-01-01T00:01:00Z');
    // Act
    const receipt = await transport.send(message, { deadline });
    transports.refuseWith(deliveryFailure('ESESREJECTED', 'MessageRejected: 550 5.1.1 no such user', { transport: 'ses', server: 'ses' }));
    const refused = transport.send(message, { deadline });
    const late = transport.send(message, { deadline: clock.now() });
    // Assess
    expect(receipt).toMatchObject({ transport: 'ses', server: 'ses', messageId: '<N@branch.example.edu>' });
    await expect(refused).rejects.toMatchObject({ verdict: 'permanent' });
    await expect(late).rejects.toMatchObject({ facts: { code: 'ETIMEDOUT' } });
    expect(transports.sent).toHaveLength(2);
  });
});

describe('Class: InMemoryTransportState', () => {
  const states = new InMemoryTransportState();
  describe('honours the TransportStates contract', () => transportStateContract(() => states));

  it('refuses a write planned before a state a test seeded, as one planned before another sender\'s write', async () => {
    // Prepare
    const seeded = new InMemoryTransportState();
    const seen = await seeded.read('demo');
    seeded.seed('demo', { firstUnsentAt: '2030-01-01T00:00:00.000Z' });
    // Act
    const written = await seeded.write('demo', seen.version, { set: { dayCount: 1 } });
    // Assess
    expect(written).toBe(false);
    expect([seeded.peek('demo'), seeded.writes]).toEqual([{ version: 1, firstUnsentAt: '2030-01-01T00:00:00.000Z' }, 0]);
  });
});

describe('Class: InMemoryKeyRateCounter', () => {
  it('admits up to the limit in a minute, then refuses', async () => {
    const counter = new InMemoryKeyRateCounter();
    const answers = [await counter.count('k', 60, 2, 240), await counter.count('k', 60, 2, 240), await counter.count('k', 60, 2, 240), await counter.count('k', 120, 2, 300)];
    expect(answers).toEqual([true, true, false, true]);
  });
});
