// The logging the domain needs. Powertools' Logger satisfies it (built in shared/deps.ts); tests pass
// a silent or recording one. Attributes carry notice ids and error codes, never addresses or bodies.

export type LogAttributes = Record<string, string | number | boolean | undefined | string[]>;

export interface Log {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
}

export const silentLog: Log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** The message of the log line an alarm matches when a relay refuses the credentials of a Test Server run (see infra/cdk). */
export const AUTH_FAILURE_LOG = 'transport authentication failed';
/**
 * The ERROR line, one per change of state, when the institution's own setup refuses mail and its sending
 * pauses, or stays paused for another reason: the alarm on paused transports matches it (see infra/cdk).
 */
export const TRANSPORT_PAUSED_LOG = 'transport paused';
/** The WARN line when a relay asks to slow down, or a quota runs out: sending waits, nothing is broken. */
export const TRANSPORT_SLOWED_LOG = 'transport slowed down';
/** The INFO line, once, when sending resumes after a pause. */
export const TRANSPORT_RESUMED_LOG = 'transport resumed';
/** The ERROR line, once, when an institution's notices have waited for alerts.stalledAfterMinutes with none getting through. */
export const TRANSPORT_STALLED_LOG = 'transport stalled';
/** The line the sweep writes every run while an institution is stalled: the per-institution alarm's metric. */
export const TRANSPORT_STALL_GAUGE_LOG = 'transport stall continues';
/** The INFO line, once, when a stall is over. */
export const TRANSPORT_STALL_OVER_LOG = 'transport stall over';
/**
 * The ERROR line when a return-to-sender report reaches its own give-up time unsent: the desk never got
 * it, and no report is made of a report, so IT must hear of it here.
 */
export const REPORT_UNDELIVERED_LOG = 'return-to-sender report discarded unsent';
