// Every handler's dependencies on the in-memory fakes (test/support/fakes.ts), for unit tests of the
// handlers: the real domain and lifecycle, with the store, queue, transports and key rates in memory.
import { KeyRing } from '../../shared/auth';
import type { Random } from '../../shared/clock';
import type { Config } from '../../shared/config/schema';
import { lifecycleSettings, TEST_SERVER_BUDGET_SECONDS } from '../../shared/deps';
import { type IdSource, ulidSource } from '../../shared/ids';
import { type Log, silentLog } from '../../shared/log';
import { noSecrets, type SecretSource } from '../../shared/secrets';
import { makeDesk } from '../../shared/transport/desk';
import type { TransportDeps } from '../../shared/transport/factory';
import { type FetchLike, OAuth2Tokens } from '../../shared/transport/oauth2';
import { ManualClock } from './clock';
import { aConfig } from './factories';
import {
  InMemoryDoorbellQueue,
  InMemoryIdempotencyStore,
  InMemoryKeyRateCounter,
  InMemoryNoticeStore,
  InMemorySuppressionStore,
  InMemoryBatchLookups,
  InMemoryTransports,
  InMemoryTransportState,
  InMemoryWebhookQueue,
  InMemoryWebhookStore,
} from './fakes';
import { subscriptionsOf } from '../../shared/webhooks/relay';

export interface FakeDepsOptions {
  config?: Config;
  /** The time the clock starts at; it moves only when a test (or a wait of the domain's) moves it. */
  now?: Date | string;
  random?: Random;
  log?: Log;
  newId?: IdSource;
  secrets?: SecretSource;
}

/** No token endpoint is reachable from a unit test. */
const noNetwork: FetchLike = async () => {
  throw new Error('a unit test reached for the network');
};

/**
 * The fakes and the dependencies built on them. `sleep` moves the clock on instead of waiting, so a
 * wait of the domain's (a rate-limit slot, a duplicate request polling) takes no time and is recorded.
 * @example
 * const { deps, store, transports } = fakeDeps();
 * const handler = makeSenderHandler(deps);
 */
export const fakeDeps = (options: FakeDepsOptions = {}) => {
  const config = options.config ?? aConfig();
  const clock = new ManualClock(options.now ?? '2030-01-01T00:00:00Z');
  const log = options.log ?? silentLog;
  const newId = options.newId ?? ulidSource(clock);
  const store = new InMemoryNoticeStore();
  const idempotency = new InMemoryIdempotencyStore();
  const queue = new InMemoryDoorbellQueue();
  const transports = new InMemoryTransports(clock);
  const transportState = new InMemoryTransportState();
  const keyRates = new InMemoryKeyRateCounter();
  const suppressions = new InMemorySuppressionStore();
  const batchLookups = new InMemoryBatchLookups(transportState, suppressions);
  const deliveries = new InMemoryWebhookStore();
  const webhookQueue = new InMemoryWebhookQueue();
  const slept: number[] = [];
  const transportDeps: TransportDeps = {
    clock,
    secrets: options.secrets ?? noSecrets,
    ses: InMemoryTransports.unreachableSes,
    tokens: new OAuth2Tokens({ fetch: noNetwork, clock }),
    decorate: (_real, institution) => transports.for(institution),
  };
  const institutions = new Map(config.institutions.map((institution) => [institution.id, institution]));
  const deps = {
    config,
    settings: lifecycleSettings(config),
    institutions,
    suppressions,
    suppressionDays: config.suppression.days,
    deliveries,
    webhookQueue,
    subscriptions: subscriptionsOf(institutions),
    store,
    idempotency,
    queue,
    clock,
    random: options.random ?? (() => 0.5),
    newId,
    log,
    keyRing: new KeyRing(config.institutions),
    keyRates,
    sleep: async (ms: number) => {
      slept.push(ms);
      clock.advanceSeconds(ms / 1000);
    },
    transports: transportDeps,
    transportStates: transportState,
    batchLookups,
    stalledAfterMinutes: config.alerts.stalledAfterMinutes,
    reports: config.reports,
    attemptTimeoutSeconds: config.sender.attemptTimeoutSeconds,
    desk: makeDesk({ transports: transportDeps, records: transportState, clock, newId, log, attemptTimeoutSeconds: config.sender.attemptTimeoutSeconds, budgetSeconds: TEST_SERVER_BUDGET_SECONDS }),
  };
  return { deps, clock, store, idempotency, queue, transports, transportState, batchLookups, keyRates, suppressions, deliveries, webhookQueue, slept };
};
