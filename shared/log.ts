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

/** The message of the log line an alarm matches when a relay refuses the credentials (see infra/cdk). */
export const AUTH_FAILURE_LOG = 'transport authentication failed';
