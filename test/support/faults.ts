// Fault injection for the reliability suite: every call the sender and the sweep make to the store, the
// queue and the transport may throw, time out or be throttled, before or (for the store) after it took
// effect. The injector remembers the one case in which a duplicate email is allowed: a message the relay
// accepted whose outcome then could not be recorded.
import type { SenderFunctionDeps, SweepFunctionDeps } from '../../shared/deps';
import type { Transition } from '../../shared/lifecycle/plan';
import type { DoorbellQueue } from '../../shared/queue/doorbell';
import type { NoticeStore } from '../../shared/store/notice-store';
import { deliveryFailure } from '../../shared/transport/classify';
import type { TransportStates } from '../../shared/transport/records';
import type { Transport } from '../../shared/transport/transport';

type Kind = 'throw' | 'throw-after' | 'timeout' | 'throttle' | 'lost';

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
export const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
};

export class FaultInjector {
  public enabled = true;
  public readonly injected = new Map<string, number>();
  /** Notices a relay accepted in an attempt whose outcome was then not recorded. */
  public readonly recordLost = new Set<string>();
  private readonly sentThisAttempt = new Set<string>();

  public constructor(
    private readonly rate: number,
    private readonly random: () => number,
  ) {}

  private pick(kinds: Kind[]): Kind | undefined {
    if (!this.enabled || this.random() >= this.rate) return undefined;
    return kinds[Math.floor(this.random() * kinds.length)] as Kind;
  }

  private count(point: string, kind: Kind) {
    const key = `${point}:${kind}`;
    this.injected.set(key, (this.injected.get(key) ?? 0) + 1);
  }

  private sleep = () => new Promise((resolve) => setTimeout(resolve, 200 + this.random() * 800));

  /** Runs `call`, unless a fault is injected before it (or, with `after`, after it took effect). */
  public async around<T>(point: string, call: () => Promise<T>, options: { after?: boolean; onSkipped?: () => void } = {}): Promise<T> {
    const kind = this.pick(options.after ? ['throw', 'throw-after', 'timeout', 'throttle'] : ['throw', 'timeout', 'throttle']);
    if (!kind) return call();
    this.count(point, kind);
    if (kind === 'throw-after') {
      await call();
      throw new Error(`injected fault after ${point}`);
    }
    options.onSkipped?.();
    if (kind === 'timeout') {
      await this.sleep();
      throw Object.assign(new Error(`injected timeout at ${point}`), { name: 'TimeoutError' });
    }
    if (kind === 'throttle') throw Object.assign(new Error(`injected throttling at ${point}`), { name: 'ThrottlingException', $fault: 'client' });
    throw new Error(`injected fault at ${point}`);
  }

  public store(store: NoticeStore): NoticeStore {
    const records = (transition: Transition) => transition.countAttempt === true && transition.set.status === 'sent';
    return {
      ...store,
      getForDelivery: (ids) => this.around('store.getForDelivery', () => store.getForDelivery(ids)),
      getNotices: (ids) => this.around('store.getNotices', () => store.getNotices(ids)),
      findDue: (now, limit) => this.around('store.findDue', () => store.findDue(now, limit)),
      createReport: (record) => this.around('store.createReport', () => store.createReport(record), { after: true }),
      apply: (transition) =>
        this.around('store.apply', () => store.apply(transition), {
          after: true,
          // A sent message whose record never happened: the one duplicate the design cannot prevent.
          onSkipped: () => {
            if (records(transition) && this.sentThisAttempt.has(transition.id)) this.recordLost.add(transition.id);
          },
        }),
      getNotice: store.getNotice.bind(store),
      listNotices: store.listNotices.bind(store),
      createNotices: store.createNotices.bind(store),
      deleteNotices: store.deleteNotices.bind(store),
      existingIds: store.existingIds.bind(store),
      ping: store.ping.bind(store),
    };
  }

  public queue(queue: DoorbellQueue): DoorbellQueue {
    return {
      ping: () => queue.ping(),
      ring: async (doorbells) => {
        const kind = this.pick(['throw', 'lost']);
        if (!kind) return queue.ring(doorbells);
        this.count('queue.ring', kind);
        // SqsDoorbell reports failed doorbells rather than throwing; both must leave nothing lost.
        if (kind === 'lost') return doorbells.map((doorbell) => doorbell.id);
        throw new Error('injected fault at queue.ring');
      },
    };
  }

  public transport(transport: Transport): Transport {
    return {
      kind: transport.kind,
      close: () => transport.close(),
      send: async (message, options) => {
        this.sentThisAttempt.delete(message.noticeId);
        const kind = this.pick(['throw', 'timeout', 'throttle']);
        if (kind) {
          this.count('transport.send', kind);
          if (kind === 'timeout') {
            await this.sleep();
            throw deliveryFailure('ETIMEDOUT', 'injected: the attempt deadline passed', { transport: 'smtp' });
          }
          if (kind === 'throttle') throw deliveryFailure('ETHROTTLED', '421 4.3.2 injected: slow down', { transport: 'smtp', responseCode: 421, enhancedStatus: '4.3.2' });
          throw new Error('injected fault at transport.send');
        }
        const receipt = await transport.send(message, options);
        this.sentThisAttempt.add(message.noticeId);
        return receipt;
      },
    };
  }

  public transportStates(states: TransportStates): TransportStates {
    return {
      read: (institutionId) => this.around('transportStates.read', () => states.read(institutionId)),
      write: (institutionId, version, change) => this.around('transportStates.write', () => states.write(institutionId, version, change), { after: true }),
    };
  }

  /** The sweep's dependencies with every store, queue and transport-state call exposed to faults. */
  public sweepDeps(deps: SweepFunctionDeps): SweepFunctionDeps {
    return { ...deps, store: this.store(deps.store), queue: this.queue(deps.queue), transportStates: this.transportStates(deps.transportStates) };
  }

  /** The sender's dependencies with every store, queue and transport call exposed to faults. */
  public senderDeps(deps: SenderFunctionDeps): SenderFunctionDeps {
    return {
      ...deps,
      store: this.store(deps.store),
      queue: this.queue(deps.queue),
      transportStates: this.transportStates(deps.transportStates),
      transports: { ...deps.transports, decorate: (transport) => this.transport(transport) },
    };
  }
}
