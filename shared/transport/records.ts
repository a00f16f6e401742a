// What the service keeps about an institution's transport, shared by every sender, the sweep and the Test
// Server (docs/integrator/api.md, The transport and its Test Server): the rate limit's slots, the pause and its probe, the
// safety net's run of identical refusals, what a stall is counted from, the last Test Server run and the
// last refused login. The store (shared/store/dynamo-transport-state.ts) only reads the state and writes
// it with a compare-and-set; every decision on it is made here and in rate-gate.ts and pause.ts.

export interface ServerTestResult {
  server: string;
  ok: boolean;
  reply: string;
}

/** The result of a Test Server run (POST /v1/transport/test, notice-relay send-test). */
export interface TransportTestResult {
  ok: boolean;
  /** The server that took the message (`host:port` or `ses`), else the last one tried: whose `reply` this is. */
  server: string;
  /** That server's reply or error. */
  reply: string;
  servers: ServerTestResult[];
  to: string;
}

/** A Test Server run as it is answered and recorded: the fields GET /v1/transport shows. */
export interface TransportTest {
  lastTestedAt: string;
  lastTestResult: TransportTestResult;
}

/** A relay refused the login (535) or an OAuth2 grant was refused. */
export interface AuthFailure {
  at: string;
  server: string;
  code: string;
  message: string;
}

/** The institution's sending is paused: its setup refused mail (shared/transport/pause.ts). */
export interface Pause {
  /** When it began. */
  since: string;
  /** The outcome that caused it, from the catalogue (shared/transport/classify.ts). */
  code: string;
  /** The reply or error, with any address taken out. */
  reply: string;
  /** `host:port` of the relay, or `ses`. */
  server: string;
  /** From then on, the next notice due is sent as the probe. */
  nextProbeAt: string;
  /** The wait before the next probe; it doubles with each failed probe, up to the long retry delay. */
  backoffSeconds: number;
  /** Probes that failed since it began. */
  probes: number;
}

/** One sender holds the probe until `until` (its lease): no other sender tries the relay meanwhile. */
export interface ProbeLock {
  token: string;
  until: string;
}

/** The same permanent refusal given to different patrons, one after another (the EREPEATED safety net). */
export interface RefusalRun {
  signature: string;
  /** Digests of the patrons' addresses, never the addresses. */
  recipients: string[];
}

/**
 * Sending resumed before the pause's next probe, so notices held for that probe wait for a time that no
 * longer means anything: the sweep rings them now, then removes this.
 */
export interface Resumption {
  /** When sending resumed. */
  at: string;
  /** The latest probe time notices were held for (the pause's `nextProbeAt`). */
  heldUntil: string;
}

/** A stall the sweep has told of: notices have waited and none got through, since `since`. */
export interface Stall {
  since: string;
  noticedAt: string;
}

export interface TransportState {
  /** Grows by one with every write: each write is a compare-and-set on it. */
  version: number;
  /** The rate limit (rate-gate.ts): the earliest time of the next slot (epoch ms). */
  nextSlotAt?: number;
  /** The rate limit: when the last sends (at most maxPerMinute) were admitted, oldest first (epoch ms). */
  recentSends?: number[];
  /** UTC day (YYYY-MM-DD) that `dayCount` counts recipients of. */
  day?: string;
  dayCount?: number;
  pause?: Pause;
  probe?: ProbeLock;
  refusals?: RefusalRun;
  /**
   * The first attempt since the last send after which its notice was left waiting (held, or to be tried
   * again) for a reason other than one patron's address: what a stall is counted from.
   */
  firstUnsentAt?: string;
  /** The notice whose attempt set `firstUnsentAt`. */
  firstUnsentBy?: string;
  stall?: Stall;
  /** Held notices the sweep is to ring now: sending resumed before the probe they were held for. */
  resumed?: Resumption;
  lastTestedAt?: string;
  lastTestResult?: TransportTestResult;
  lastAuthFailure?: AuthFailure;
  /** When a send succeeded again after the last authentication failure. */
  authRecoveredAt?: string;
}

export type TransportField = Exclude<keyof TransportState, 'version'>;

/** What one write changes: fields set, fields removed. */
export interface TransportChange {
  set?: Partial<Omit<TransportState, 'version'>>;
  remove?: TransportField[];
}

export interface TransportStates {
  /** The institution's state as it is now (a strongly consistent read); version 0 when nothing is kept yet. */
  read(institutionId: string): Promise<TransportState>;
  /** Applies `change` if the state is still at `expectVersion`; false when another writer came first. */
  write(institutionId: string, expectVersion: number, change: TransportChange): Promise<boolean>;
}

/** The state after `change`, as the store will hold it. */
export const applyChange = (state: TransportState, change: TransportChange | undefined): TransportState => {
  if (!change) return state;
  const next: Record<string, unknown> = { ...state, ...change.set, version: state.version + 1 };
  for (const field of change.remove ?? []) delete next[field];
  return next as unknown as TransportState;
};

/** Tries of one change when other senders write the same state at the same moment. */
const CHANGE_TRIES = 8;

/**
 * Reads the state, decides, and writes what was decided with a compare-and-set, again from a fresh read
 * whenever another writer came first. `decide` is pure; with no change it writes nothing.
 * @example
 * const { result } = await changeState(states, 'demo', (state) => ({ change: { set: { firstUnsentAt } }, result: true }));
 */
export const changeState = async <T>(
  states: TransportStates,
  institutionId: string,
  decide: (state: TransportState) => { change?: TransportChange; result: T },
): Promise<{ state: TransportState; result: T; written: boolean }> => {
  for (let attempt = 1; ; attempt++) {
    const state = await states.read(institutionId);
    const { change, result } = decide(state);
    const empty = !change || (Object.keys(change.set ?? {}).length === 0 && (change.remove ?? []).length === 0);
    if (empty) return { state, result, written: false };
    if (await states.write(institutionId, state.version, change)) return { state: applyChange(state, change), result, written: true };
    if (attempt >= CHANGE_TRIES) throw new Error(`the transport state of ${institutionId} kept changing under ${CHANGE_TRIES} writes`);
  }
};

/** Records a Test Server run. */
export const recordTest = (states: TransportStates, institutionId: string, test: TransportTest): Promise<unknown> =>
  changeState(states, institutionId, () => ({ change: { set: { lastTestedAt: test.lastTestedAt, lastTestResult: test.lastTestResult } }, result: undefined }));
